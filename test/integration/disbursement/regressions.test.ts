import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDisbursementUseCases, type DisbursementMessage } from '../../../shared/app/disbursement.js';
import type { PaymentStatus } from '../../../shared/domain/lifecycle.js';
import type { BatchStore, PaymentKey } from '../../../shared/ports/batch-store.js';
import type { PaymentProvider, TransferOutcome } from '../../../shared/ports/payment-provider.js';
import type { WorkQueue } from '../../../shared/ports/work-queue.js';
import {
  approver,
  decorate,
  drain,
  entitlementHolder,
  InjectedCrash,
  paymentsOf,
  RecordingQueue,
  seedVerifiedBatch,
  settleSent,
  startWorld,
  useCases,
  type World,
} from '../../support/disbursement-harness.js';

/** Regressions found by fault injection: each failed before its fix. */

let world: World;
beforeEach(async () => {
  world = await startWorld();
});
afterEach(async () => {
  await world?.stop();
});

const paymentIdOf = (key: PaymentKey) => `${key.batchId}-${String(key.shard).padStart(2, '0')}${key.refDigest}`;

describe('regressions found by fault injection', () => {
  it('A. a crash after the outcome status write: the redelivery still releases the FAILED payment\'s entitlement', async () => {
    const seeded = await seedVerifiedBatch(world, ['paid', 'closed', 'paid'], 1);
    const queue = new RecordingQueue<DisbursementMessage>();
    const crashed = new Set<string>();
    const batches = decorate<BatchStore>(world.batches, {
      transitionPayment: async (key, from, to, change) => {
        const moved = await world.batches.transitionPayment(key, from, to, change);
        if (moved && from.includes('QUEUED') && ['PAID', 'SENT', 'FAILED'].includes(to) && !crashed.has(paymentIdOf(key))) {
          crashed.add(paymentIdOf(key));
          throw new InjectedCrash(`after the ${to} write`);
        }
        return moved;
      },
    });
    const app = useCases(world, queue, { batches });
    await app.approve(approver('checker'), seeded.batch.batchId);
    await drain(app, queue);

    const payments = [...(await paymentsOf(world, seeded)).values()];
    const closed = payments.find((payment) => payment.status === 'FAILED')!;
    const batch = (await world.batches.getBatch(seeded.batch.batchId))!;
    const tally = await world.batches.tallyPayments(seeded.batch);
    expect(tally.counts).toMatchObject({ PAID: 2, FAILED: 1, QUEUED: 0 });
    expect.soft(await entitlementHolder(world, closed), 'a FAILED payment releases its entitlement').toBeUndefined();
    expect(batch.status).toBe('APPROVED');
    // Known limit: the counters of the crashed write lag until a recount (see docs/decisions.md).
  });

  it('C. two concurrent deliveries of a 5555 payment both record SENT (SENT > SENT), counters move it out of QUEUED twice', async () => {
    const seeded = await seedVerifiedBatch(world, ['pending'], 1);
    const queue = new RecordingQueue<DisbursementMessage>();
    // A barrier: each send waits until both deliveries have called the provider, so that both hold
    // the payment as QUEUED when they record the outcome (the interleaving SQS redelivery allows).
    let arrived = 0;
    let release!: () => void;
    const bothThere = new Promise<void>((resolve) => (release = resolve));
    const provider = decorate<PaymentProvider>(world.provider, {
      send: async (instruction): Promise<TransferOutcome> => {
        arrived += 1;
        if (arrived === 2) release();
        await bothThere;
        return world.provider.send(instruction);
      },
    });
    const app = useCases(world, queue, { provider });
    await app.approve(approver('checker'), seeded.batch.batchId);
    await app.handle(queue.take().find((message) => message.kind === 'shard')!);
    const [message] = queue.take();
    await Promise.all([app.handle(message!), app.handle(message!)]);

    const payment = [...(await paymentsOf(world, seeded)).values()][0]!;
    const batch = (await world.batches.getBatch(seeded.batch.batchId))!;
    const tally = await world.batches.tallyPayments(seeded.batch);
    expect(payment.status).toBe('SENT');
    expect.soft(payment.history.map((entry) => entry.status), 'history').toEqual(['RECEIVED', 'VERIFIED', 'QUEUED', 'SENT']);
    expect.soft(batch.counts, 'counters').toEqual(tally.counts);
  });

  it('D. a crash between the approval write and the fan-out: the retried approval fans nothing out, payments stay VERIFIED', async () => {
    const seeded = await seedVerifiedBatch(world, ['paid', 'paid', 'paid'], 1);
    const inner = new RecordingQueue<DisbursementMessage>();
    let failNext = true;
    const queue = decorate<WorkQueue<DisbursementMessage>>(inner, {
      send: async (messages) => {
        if (failNext) {
          failNext = false;
          throw new InjectedCrash('the fan-out send');
        }
        return inner.send(messages);
      },
    });
    const app = useCases(world, inner, {});
    const appWithFlakyQueue = createDisbursementUseCases({
      batches: world.batches,
      accounts: world.accounts,
      entitlements: world.entitlements,
      provider: world.provider,
      queue,
      clock: world.clock,
      deaths: world.deaths,
    });
    await expect(appWithFlakyQueue.approve(approver('checker'), seeded.batch.batchId)).rejects.toThrow(InjectedCrash);
    // The approver (or the API client) retries: 200 with the APPROVED batch.
    await expect(appWithFlakyQueue.approve(approver('checker'), seeded.batch.batchId)).resolves.toMatchObject({ status: 'APPROVED' });
    await drain(app, inner);

    const statuses = [...(await paymentsOf(world, seeded)).values()].map((payment) => payment.status);
    expect(statuses).toEqual(['PAID', 'PAID', 'PAID']);
  });

  it('E. exhausted() leaves a payment VERIFIED when its QUEUED write kept failing: the batch never completes', async () => {
    const seeded = await seedVerifiedBatch(world, ['paid', 'paid'], 1);
    const queue = new RecordingQueue<DisbursementMessage>();
    const victim = seeded.payments[0]!.paymentId;
    const batches = decorate<BatchStore>(world.batches, {
      transitionPayment: async (key, from, to, change) => {
        if (to === ('QUEUED' satisfies PaymentStatus) && paymentIdOf(key) === victim) throw new InjectedCrash('the QUEUED write failed');
        return world.batches.transitionPayment(key, from, to, change);
      },
    });
    const worker = useCases(world, queue, { batches });
    const deadLetterConsumer = useCases(world, queue);
    const app = decorate(worker, { exhausted: deadLetterConsumer.exhausted });
    await app.approve(approver('checker'), seeded.batch.batchId);
    const report = await drain(app, queue, { maxReceives: 3 });
    expect(report.deadLettered).toHaveLength(1);
    await settleSent(world, app, seeded);

    const victimNow = (await paymentsOf(world, seeded)).get(victim)!;
    expect.soft(victimNow.status, 'a sealed batch payment reaches a terminal state or ON_HOLD').not.toBe('VERIFIED');
    expect.soft((await world.batches.getBatch(seeded.batch.batchId))!.status).toBe('COMPLETED');
  });
});
