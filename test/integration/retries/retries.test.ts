import { ulid } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DisbursementMessage } from '../../../shared/app/disbursement.js';
import type { Principal } from '../../../shared/app/principal.js';
import { createRepairUseCases } from '../../../shared/app/repair.js';
import { createRetryUseCases } from '../../../shared/app/retries.js';
import type { VerificationMessage } from '../../../shared/app/verification.js';
import { attemptOf, type PaymentRecord } from '../../../shared/domain/batch.js';
import type { Clock } from '../../../shared/domain/dates.js';
import type { BatchStore } from '../../../shared/ports/batch-store.js';
import {
  approver,
  decorate,
  drain,
  entitlementHolder,
  InjectedCrash,
  ledger,
  MAKER,
  paymentsOf,
  PROVINCE,
  RecordingQueue,
  seedVerifiedBatch,
  settleSent,
  startWorld,
  useCases,
  type SeededBatch,
  type World,
} from '../../support/disbursement-harness.js';

/**
 * New attempts (issue 13) through the real DynamoDB wire protocol (dynalite):
 * an approval that dies half way is finished by the reconciler, every message
 * delivered twice, and still no entitlement is paid twice and every attempt is
 * booked once at the provider under its own reference.
 */

let world: World;
beforeEach(async () => {
  world = await startWorld();
});
afterEach(async () => {
  await world?.stop();
});

const maker: Principal = { sub: MAKER, scopes: new Set(['batches:read', 'batches:write']), provinceCode: PROVINCE, personalId: undefined };

function retriesOver(batches: BatchStore, queue: RecordingQueue<DisbursementMessage>, clock: Clock = world.clock) {
  return createRetryUseCases({ batches, accounts: world.accounts, entitlements: world.entitlements, queue, clock, newRetryId: ulid });
}

/** Links a working account (ends 1234: paid at once) for the person of each payment. */
async function relink(payments: PaymentRecord[]) {
  for (const payment of payments) {
    const accountNumber = `77${payment.seq}1234`;
    await world.accounts.link(payment.personHash, {
      linkId: ulid(),
      personalId: payment.personalId,
      provider: { type: 'BANK', code: '970436' },
      accountNumber,
      accountNumberMasked: `****${accountNumber.slice(-4)}`,
      accountName: payment.fullName,
      linkedAt: world.clock.now().toISOString(),
      linkedBy: 'beneficiary',
      consentRef: null,
    });
  }
}

/** A settled batch: approved, every message delivered, SENT ones settled. */
async function settledBatch(queue: RecordingQueue<DisbursementMessage>): Promise<SeededBatch> {
  const seeded = await seedVerifiedBatch(world, ['closed', 'closed', 'not-found', 'down', 'paid', 'paid', 'pending']);
  const app = useCases(world, queue);
  await app.approve(approver('hcm-checker'), seeded.batch.batchId);
  await drain(app, queue, { maxReceives: 3 });
  await settleSent(world, app, seeded);
  return seeded;
}

/** Accepted bookings at the sandbox provider, per payment (whatever the attempt). */
async function bookingsPerPayment(): Promise<Map<string, string[]>> {
  const byPayment = new Map<string, string[]>();
  for (const entry of await ledger(world)) {
    if (!entry.accepted) continue;
    const paymentId = entry.reference.replace(/-[0-9]+$/, '');
    byPayment.set(paymentId, [...(byPayment.get(paymentId) ?? []), entry.reference]);
  }
  return byPayment;
}

describe('new attempts through dynalite', () => {
  it('finishes an approval that died half way (reconciler), with every message delivered twice, paying each entitlement once', async () => {
    const queue = new RecordingQueue<DisbursementMessage>();
    const seeded = await settledBatch(queue);
    const failed = [...(await paymentsOf(world, seeded)).values()].filter((payment) => payment.status === 'FAILED');
    expect(failed.map((payment) => payment.reasonCode).sort()).toEqual(['ACCOUNT_CLOSED', 'ACCOUNT_CLOSED', 'ACCOUNT_NOT_FOUND', 'RETRIES_EXHAUSTED']);
    for (const payment of failed) expect(await entitlementHolder(world, payment), 'a failed payment released its entitlement').toBeUndefined();
    await relink(failed);

    const retry = await retriesOver(world.batches, queue).request(maker, seeded.batch.batchId, {});
    expect(retry.itemCount).toBe(4);

    // The approval dies after starting the first payment's new attempt: the rest stay FAILED, nothing is queued.
    let started = 0;
    const dying = decorate<BatchStore>(world.batches, {
      transitionPayment: async (...args: Parameters<BatchStore['transitionPayment']>) => {
        if (started >= 1) throw new InjectedCrash('approval died');
        started += 1;
        return world.batches.transitionPayment(...args);
      },
    });
    await expect(retriesOver(dying, queue).approve(approver('hcm-checker'), seeded.batch.batchId, retry.retryId)).rejects.toThrow(InjectedCrash);
    queue.take(); // whatever it sent is lost with it

    // The reconciler, later, resumes it.
    const clock: Clock = { now: () => new Date(world.clock.now().getTime() + 60_000) };
    const repair = createRepairUseCases({
      batches: world.batches,
      entitlements: world.entitlements,
      accounts: world.accounts,
      verificationQueue: new RecordingQueue<VerificationMessage>(),
      disbursementQueue: queue,
      clock,
      settings: { quietMs: 1_000, redriveAfterMs: 300_000, recheckMs: 1_000 },
    });
    const report = await repair.run();
    expect(report.repairs.map((entry) => entry.kind)).toContain('retry-resumed');
    await drain(useCases(world, queue), queue, { copies: 2 });

    const after = await paymentsOf(world, seeded);
    for (const payment of failed) {
      const now = after.get(payment.paymentId)!;
      expect(now.status, payment.reasonCode ?? '').toBe('PAID');
      expect(attemptOf(now)).toBe(2);
      expect(await entitlementHolder(world, now)).toBe(now.paymentId);
    }
    // Each payment booked once at the provider, whatever attempt paid it; attempt 2 under `<paymentId>-2`.
    const bookings = await bookingsPerPayment();
    for (const [paymentId, references] of bookings) expect(references, paymentId).toHaveLength(1);
    for (const payment of failed) expect(bookings.get(payment.paymentId)).toEqual([`${payment.paymentId}-2`]);

    // The batch's counters are a recount of its payments and it completed again: at once, or, when a unit's
    // late count found it completed early (decision 143), after the reconciler's next run.
    await repair.run();
    const batch = (await world.batches.getBatch(seeded.batch.batchId))!;
    const tally = await world.batches.tallyPayments(seeded.batch);
    expect(batch.counts).toEqual(tally.counts);
    expect(batch.amounts).toEqual(tally.amounts);
    expect(batch.status).toBe('COMPLETED');
    expect((await world.batches.getRetry(seeded.batch.batchId, retry.retryId))?.dispatched).toBe(true);
  });

  it('never starts a new attempt twice: two approvals racing and a replay start each payment once', async () => {
    const queue = new RecordingQueue<DisbursementMessage>();
    const seeded = await settledBatch(queue);
    const failed = [...(await paymentsOf(world, seeded)).values()].filter((payment) => payment.status === 'FAILED');
    await relink(failed);
    const retries = retriesOver(world.batches, queue);
    const retry = await retries.request(maker, seeded.batch.batchId, { paymentIds: failed.map((payment) => payment.paymentId) });
    const outcomes = await Promise.allSettled([retries.approve(approver('a'), seeded.batch.batchId, retry.retryId), retries.approve(approver('b'), seeded.batch.batchId, retry.retryId)]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const winner = outcomes.findIndex((outcome) => outcome.status === 'fulfilled') === 0 ? 'a' : 'b';
    await retries.approve(approver(winner), seeded.batch.batchId, retry.retryId); // a replay
    await drain(useCases(world, queue), queue, { copies: 2 });
    const after = await paymentsOf(world, seeded);
    for (const payment of failed) expect(attemptOf(after.get(payment.paymentId)!)).toBe(2);
    for (const [paymentId, references] of await bookingsPerPayment()) expect(references, paymentId).toHaveLength(1);
  });

  it('a new attempt started but never counted (its approval died) cannot leave a completed batch miscounted', async () => {
    const queue = new RecordingQueue<DisbursementMessage>();
    const seeded = await settledBatch(queue);
    const failed = [...(await paymentsOf(world, seeded)).values()].filter((payment) => payment.status === 'FAILED');
    await relink(failed);
    const retry = await retriesOver(world.batches, queue).request(maker, seeded.batch.batchId, {});
    // The approval dies after its first payment's new attempt started: that move is never counted.
    let started = 0;
    const dying = decorate<BatchStore>(world.batches, {
      transitionPayment: async (...args: Parameters<BatchStore['transitionPayment']>) => {
        if (started >= 1) throw new InjectedCrash('approval died');
        started += 1;
        return world.batches.transitionPayment(...args);
      },
    });
    await expect(retriesOver(dying, queue).approve(approver('hcm-checker'), seeded.batch.batchId, retry.retryId)).rejects.toThrow(InjectedCrash);
    queue.take();
    // The same official approves again: the rest start, counted; the counters now hold one QUEUED payment too few.
    await retriesOver(world.batches, queue).approve(approver('hcm-checker'), seeded.batch.batchId, retry.retryId);
    const toSend = queue.take().flatMap((message) => (message.kind === 'payments' ? message.payments : []));
    expect(toSend).toHaveLength(4);

    // One payment per unit. The first unit's counter update waits until the other three have counted theirs:
    // their counters reach zero unsettled while its payment is PAID but uncounted, so the batch completes
    // from a tally that has it, and then its count arrives.
    let release!: () => void;
    const othersDone = new Promise<void>((resolve) => (release = resolve));
    const waiting = decorate<BatchStore>(world.batches, {
      addToCounters: async (...args: Parameters<BatchStore['addToCounters']>) => {
        await othersDone;
        return world.batches.addToCounters(...args);
      },
    });
    const late = useCases(world, queue, { batches: waiting }).handle({ kind: 'payments', payments: [toSend[0]!] });
    const app = useCases(world, queue);
    for (const payment of toSend.slice(1)) await app.handle({ kind: 'payments', payments: [payment] });
    await new Promise((resolve) => setTimeout(resolve, 200)); // the first unit's status writes are done by now
    release();
    await late;

    const clock: Clock = { now: () => new Date(world.clock.now().getTime() + 60_000) };
    const repair = createRepairUseCases({
      batches: world.batches,
      entitlements: world.entitlements,
      accounts: world.accounts,
      verificationQueue: new RecordingQueue<VerificationMessage>(),
      disbursementQueue: queue,
      clock,
      settings: { quietMs: 1_000, redriveAfterMs: 300_000, recheckMs: 1_000 },
    });
    await repair.run();
    const batch = (await world.batches.getBatch(seeded.batch.batchId))!;
    const tally = await world.batches.tallyPayments(seeded.batch);
    expect(tally.counts).toMatchObject({ QUEUED: 0, SENT: 0, FAILED: 0 });
    expect(batch.status).toBe('COMPLETED');
    expect(batch.counts).toEqual(tally.counts);
    expect(batch.amounts).toEqual(tally.amounts);
    expect((await world.batches.listWatchedBatches()).map((watched) => watched.batchId)).not.toContain(seeded.batch.batchId);
  });

  it('a retry cancelled before its claims were released holds nothing: a new retry takes its payments, and no approval starts it', async () => {
    const queue = new RecordingQueue<DisbursementMessage>();
    const seeded = await settledBatch(queue);
    const failed = [...(await paymentsOf(world, seeded)).values()].filter((payment) => payment.status === 'FAILED');
    await relink(failed);
    const retries = retriesOver(world.batches, queue);
    const withdrawn = await retries.request(maker, seeded.batch.batchId, {});
    expect(withdrawn.itemCount).toBe(4);
    // The cancel's status write, and its end: the process died before any claim was released.
    expect(await world.batches.updateRetry(seeded.batch.batchId, withdrawn.retryId, ['AWAITING_APPROVAL'], { status: 'CANCELLED' }, world.clock.now().toISOString())).toBeDefined();
    const stale = await paymentsOf(world, seeded);
    for (const payment of failed) expect(stale.get(payment.paymentId)!.retryId, 'the claim is still there').toBe(withdrawn.retryId);

    await expect(retries.approve(approver('late'), seeded.batch.batchId, withdrawn.retryId)).rejects.toThrow(/CANCELLED/);
    const named = await retries.request(maker, seeded.batch.batchId, { paymentIds: [failed[0]!.paymentId] });
    expect(named.itemCount).toBe(1);
    const rest = await retries.request(maker, seeded.batch.batchId, {});
    expect([...rest.paymentIds].sort()).toEqual(failed.slice(1).map((payment) => payment.paymentId).sort());
    // The replayed cancel releases nothing of theirs (each release names the retry it ends).
    await retries.cancel(maker, seeded.batch.batchId, withdrawn.retryId);
    const claims = await paymentsOf(world, seeded);
    expect(claims.get(failed[0]!.paymentId)!.retryId).toBe(named.retryId);
    for (const payment of failed.slice(1)) expect(claims.get(payment.paymentId)!.retryId).toBe(rest.retryId);
    expect(queue.take(), 'nothing was sent for a retry not approved').toEqual([]);
  });
});
