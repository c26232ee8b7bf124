import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpPaymentProvider } from '../../../shared/adapters/provider/http-provider.js';
import { createBatchUseCases } from '../../../shared/app/batches.js';
import { CursorCodec } from '../../../shared/app/cursor.js';
import { createDisbursementUseCases, releaseHeldPayments, type DisbursementMessage } from '../../../shared/app/disbursement.js';
import type { Principal } from '../../../shared/app/principal.js';
import { createRepairUseCases, type RepairKind, type RepairReport } from '../../../shared/app/repair.js';
import { reportTotals } from '../../../shared/app/report.js';
import type { VerificationMessage } from '../../../shared/app/verification.js';
import type { BatchRecord, PaymentRecord } from '../../../shared/domain/batch.js';
import type { Clock } from '../../../shared/domain/dates.js';
import { InvalidStateError } from '../../../shared/domain/errors.js';
import { allowedFrom, paymentStatuses, type PaymentStatus } from '../../../shared/domain/lifecycle.js';
import type { BatchStore } from '../../../shared/ports/batch-store.js';
import type { PaymentProvider } from '../../../shared/ports/payment-provider.js';
import type { WorkQueue } from '../../../shared/ports/work-queue.js';
import {
  approver,
  decorate,
  drain,
  entitlementHolder,
  hash,
  InjectedCrash,
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
 * Regressions of issue 11 ("Crash-proof money"): one test per defect, each
 * through the real DynamoDB wire protocol (dynalite) with the real adapters.
 * A death is simulated as a dead process leaves it: the writes before the
 * point of death are made, nothing after it (no counter update, no message,
 * no release), and the message that was being handled is lost or redelivered
 * as SQS would. The reconciler (shared/app/repair.ts) then runs on a clock
 * moved past the quiet period, as its schedule would.
 */

let world: World;
beforeEach(async () => {
  world = await startWorld();
});
afterEach(async () => {
  await world?.stop();
});

const QUIET_MS = 1_000;
const REDRIVE_AFTER_MS = 5 * 60_000;

/** The reconciler over the world's store, on a clock `offsetMs` ahead of the world's (its schedule runs later). */
function reconciler(queue: WorkQueue<DisbursementMessage>, offsetMs: () => number) {
  const clock: Clock = { now: () => new Date(world.clock.now().getTime() + offsetMs()) };
  return createRepairUseCases({
    batches: world.batches,
    entitlements: world.entitlements,
    accounts: world.accounts,
    verificationQueue: new RecordingQueue<VerificationMessage>(),
    disbursementQueue: queue,
    clock,
    settings: { quietMs: QUIET_MS, redriveAfterMs: REDRIVE_AFTER_MS, recheckMs: QUIET_MS },
  });
}

const kinds = (report: RepairReport): RepairKind[] => report.repairs.map((repair) => repair.kind).sort();
const sum = (values: Record<PaymentStatus, number>) => paymentStatuses.reduce((total, status) => total + (values[status] ?? 0), 0);

async function batchOf(seeded: SeededBatch): Promise<BatchRecord> {
  return (await world.batches.getBatch(seeded.batch.batchId))!;
}

/** The batch's counters are a recount of its payments, and its report's totals add up to the control totals. */
async function expectCountersAreTheCensus(seeded: SeededBatch): Promise<BatchRecord> {
  const batch = await batchOf(seeded);
  const tally = await world.batches.tallyPayments(seeded.batch);
  expect(batch.counts, 'counts = recount of the payments').toEqual(tally.counts);
  expect(batch.amounts, 'amounts = recount of the payments').toEqual(tally.amounts);
  const totals = reportTotals(batch);
  const byStatus = Object.values(totals.byStatus);
  expect(byStatus.reduce((total, entry) => total + entry.count, 0), 'report count = control').toBe(batch.control.itemCount);
  expect(byStatus.reduce((total, entry) => total + entry.amount, 0), 'report amount = control').toBe(batch.control.totalAmount);
  return batch;
}

/** A store whose first counter update dies (the unit of work dies after its status writes, before it counts them). */
function counterUpdateDiesOnce(): { batches: BatchStore; died: () => boolean } {
  let died = false;
  const batches = decorate<BatchStore>(world.batches, {
    addToCounters: async (batchId, deltas, now, rejections) => {
      if (!died) {
        died = true;
        throw new InjectedCrash('before the counter update');
      }
      return world.batches.addToCounters(batchId, deltas, now, rejections);
    },
  });
  return { batches, died: () => died };
}

interface Instruction {
  reference: string;
  amount: number;
  providerCode: string;
  accountNumber: string;
}

/** What reached the sandbox provider: every instruction it received, and the bookings of its ledger by reference. */
async function providerRecords(): Promise<{ instructions: Instruction[]; bookings: Map<string, number> }> {
  const instructions: Instruction[] = [];
  const bookings = new Map<string, number>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await world.client.send(new ScanCommand({ TableName: world.dynamo.tableNames.sandboxProvider, ExclusiveStartKey: start, ConsistentRead: true }));
    for (const item of page.Items ?? []) {
      const pk = String(item.pk);
      if (pk.startsWith('INSTRUCTION#')) {
        instructions.push({ reference: item.reference as string, amount: item.amount as number, providerCode: item.providerCode as string, accountNumber: item.accountNumber as string });
      } else if (pk.startsWith('TRANSFER#') && item.accepted === true) {
        bookings.set(pk.slice('TRANSFER#'.length), Number(item.bookings ?? 1));
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return { instructions, bookings };
}

const maker: Principal = { sub: MAKER, scopes: new Set(['batches:read', 'batches:write']), provinceCode: PROVINCE, personalId: undefined };

function batchUseCases() {
  return createBatchUseCases({
    store: world.batches,
    entitlements: world.entitlements,
    clock: world.clock,
    newBatchId: ulid,
    newLeaseOwner: ulid,
    hash,
    cursors: new CursorCodec('self-repair-test-cursor-key-not-a-secret'),
    onSubmitted: async () => undefined,
  });
}

/** The CANCELLED write with cancelPending done, and the first `cancelled` payments cancelled and released: then the request died. */
async function interruptedCancel(seeded: SeededBatch, cancelled: number): Promise<void> {
  await world.batches.transitionBatch(seeded.batch.batchId, allowedFrom('batch', 'CANCELLED', ['AWAITING_APPROVAL']), 'CANCELLED', { cancelPending: true }, world.clock.now().toISOString());
  for (const payment of seeded.payments.slice(0, cancelled)) {
    const moved = await world.batches.transitionPayment(payment, allowedFrom('payment', 'CANCELLED', ['VERIFIED']), 'CANCELLED', { reasonCode: null, at: world.clock.now().toISOString() });
    expect(moved).toBeDefined();
    await world.entitlements.release({ personHash: payment.personHash, programCode: payment.programCode, period: payment.period, paymentId: payment.paymentId });
  }
}

async function expectCancelFinished(seeded: SeededBatch): Promise<void> {
  const payments = [...(await paymentsOf(world, seeded)).values()];
  expect(payments.map((payment) => payment.status)).toEqual(seeded.payments.map(() => 'CANCELLED'));
  for (const payment of payments) expect(await entitlementHolder(world, payment), `${payment.paymentRef} entitlement`).toBeUndefined();
  const batch = await batchOf(seeded);
  expect(batch.status).toBe('CANCELLED');
  expect(batch.cancelPending).toBeUndefined();
  expect(batch.counts.CANCELLED).toBe(seeded.payments.length);
  expect(batch.amounts.CANCELLED).toBe(seeded.batch.control.totalAmount);
  expect((await world.batches.listWatchedBatches()).map((watched) => watched.batchId)).not.toContain(seeded.batch.batchId);
}

describe('issue 11: what a death leaves behind is repaired', () => {
  // Old code: nothing recounted. A group whose counter update died left the counters at VERIFIED n (the
  // redelivery finds its payments past QUEUED and counts nothing), so the batch stayed APPROVED for ever
  // and the report's totals came from those counters.
  it('1. counters of a group that died before its counter update are recounted to the census, once, and only when quiet', async () => {
    const seeded = await seedVerifiedBatch(world, ['paid', 'paid', 'closed', 'pending', 'pending', 'paid', 'paid', 'paid'], 1);
    const queue = new RecordingQueue<DisbursementMessage>();
    const dying = counterUpdateDiesOnce();
    const app = useCases(world, queue, { batches: dying.batches });
    await app.approve(approver('hcm-checker'), seeded.batch.batchId);
    await drain(app, queue);
    expect(dying.died()).toBe(true);

    const tally = await world.batches.tallyPayments(seeded.batch);
    expect(tally.counts).toMatchObject({ PAID: 5, SENT: 2, FAILED: 1 });
    const drifted = await batchOf(seeded);
    expect(drifted.counts, 'the death left the counters behind').not.toEqual(tally.counts);
    expect(drifted.status).toBe('APPROVED');

    let offset = 0;
    const repair = reconciler(queue, () => offset);
    // Not quiet yet (the batch changed just now): a unit could be between a status write and its count.
    const early = await repair.run();
    expect(early.repairs).toEqual([]);
    expect((await batchOf(seeded)).counts, 'no recount while the batch is not quiet').toEqual(drifted.counts);

    offset = 60_000;
    const first = await repair.run();
    // With drifted counters, the failed payment's release is redone too (a conditional no-op here).
    expect(kinds(first)).toEqual(['counters-recounted']);
    const recounted = await expectCountersAreTheCensus(seeded);
    expect(recounted.status).toBe('APPROVED'); // two SENT wait for their callback
    expect(queue.take(), 'a recount sends nothing').toEqual([]);

    // Idempotent: the next runs find nothing to repair.
    offset = 120_000;
    expect((await repair.run()).repairs).toEqual([]);
    offset = 180_000;
    expect((await repair.run()).repairs).toEqual([]);
    expect((await batchOf(seeded)).counts).toEqual(recounted.counts);

    // The callbacks settle the SENT ones: with exact counters, the batch completes on the normal path.
    expect(await settleSent(world, app, seeded)).toBe(2);
    const completed = await expectCountersAreTheCensus(seeded);
    expect(completed.status).toBe('COMPLETED');
    expect(completed.counts).toMatchObject({ PAID: 7, FAILED: 1, SENT: 0, QUEUED: 0, VERIFIED: 0 });
    offset = 240_000;
    expect((await repair.run()).repairs).toEqual([]);
  });

  // Old code: the batch stayed APPROVED with counters VERIFIED n / PAID 0, and nothing completed it.
  it('1b. a settled batch whose last counter update died is completed by the reconciler, its counters the census', async () => {
    const seeded = await seedVerifiedBatch(world, ['paid', 'paid', 'paid', 'closed'], 1);
    const queue = new RecordingQueue<DisbursementMessage>();
    const app = useCases(world, queue, { batches: counterUpdateDiesOnce().batches });
    await app.approve(approver('hcm-checker'), seeded.batch.batchId);
    await drain(app, queue);
    expect((await batchOf(seeded)).status).toBe('APPROVED');
    // The death came before the failed payment's release as well: its entitlement is still held.
    const failed = [...(await paymentsOf(world, seeded)).values()].find((payment) => payment.status === 'FAILED')!;
    const entitlement = { personHash: failed.personHash, programCode: failed.programCode, period: failed.period, paymentId: failed.paymentId };
    expect(await world.entitlements.claim({ ...entitlement, batchId: seeded.batch.batchId, seq: 0 })).toMatchObject({ held: true });
    expect(await entitlementHolder(world, failed)).toBe(failed.paymentId);

    let offset = 60_000;
    const repair = reconciler(queue, () => offset);
    const first = await repair.run();
    expect(kinds(first)).toEqual(['completed', 'entitlements-released']);
    expect(first.repairs.find((repaired) => repaired.kind === 'entitlements-released')?.count, 'only the release a death lost').toBe(1);
    const batch = await expectCountersAreTheCensus(seeded);
    expect(batch.status).toBe('COMPLETED');
    expect(batch.counts).toMatchObject({ PAID: 3, FAILED: 1, VERIFIED: 0 });
    expect(await entitlementHolder(world, failed)).toBeUndefined();
    offset = 120_000;
    const again = await repair.run();
    expect(again.repairs).toEqual([]);
    expect(again.watched).toBe(0);
  });

  // Old code: cancelBatch returned early on CANCELLED, so 25 of 30 payments stayed VERIFIED in a CANCELLED
  // batch and their 25 entitlements stayed held (those people could not be paid that month).
  it('2. an interrupted cancel is finished by a retry of the cancel', async () => {
    const seeded = await seedVerifiedBatch(world, Array.from({ length: 30 }, () => 'paid' as const), 2);
    await interruptedCancel(seeded, 5);
    const stuck = [...(await paymentsOf(world, seeded)).values()].filter((payment) => payment.status === 'VERIFIED');
    expect(stuck).toHaveLength(25);

    const retried = await batchUseCases().cancelBatch(maker, seeded.batch.batchId);
    expect(retried.status).toBe('CANCELLED');
    await expectCancelFinished(seeded);
  });

  // Old code: nothing looked at a CANCELLED batch again; with nobody retrying, the payments stayed VERIFIED.
  it('2b. an interrupted cancel is finished by the reconciler, nobody retrying', async () => {
    const seeded = await seedVerifiedBatch(world, Array.from({ length: 30 }, () => 'paid' as const), 2);
    await interruptedCancel(seeded, 5);
    expect((await world.batches.listWatchedBatches()).map((watched) => watched.batchId)).toEqual([seeded.batch.batchId]);

    const queue = new RecordingQueue<DisbursementMessage>();
    const repair = reconciler(queue, () => 60_000);
    expect(kinds(await repair.run())).toEqual(['cancel-finished']);
    await expectCancelFinished(seeded);
    expect((await repair.run()).repairs).toEqual([]);
  });

  // Old code: only the same approver's retry fanned out again; another approver got 409 (INVALID_STATE), and
  // with nobody retrying the payments stayed VERIFIED in an APPROVED batch for ever.
  it('3. an approval that died before its fan-out is resumed by the reconciler, whoever retries', async () => {
    const seeded = await seedVerifiedBatch(world, ['paid', 'paid', 'paid', 'closed', 'no-account'], 1);
    const queue = new RecordingQueue<DisbursementMessage>();
    const deadQueue = decorate<WorkQueue<DisbursementMessage>>(queue, {
      send: async () => {
        throw new InjectedCrash('before the fan-out');
      },
    });
    const app = useCases(world, queue);
    const approvingThenDying = createDisbursementUseCases({
      batches: world.batches,
      accounts: world.accounts,
      entitlements: world.entitlements,
      provider: world.provider,
      queue: deadQueue,
      clock: world.clock,
      deaths: world.deaths,
    });
    await expect(approvingThenDying.approve(approver('hcm-checker'), seeded.batch.batchId)).rejects.toThrow(InjectedCrash);
    expect((await batchOf(seeded)).status).toBe('APPROVED');
    expect(queue.sent).toEqual([]);

    // Another official's retry is refused (the batch is approved already), and sends nothing.
    await expect(app.approve(approver('hcm-checker-2'), seeded.batch.batchId)).rejects.toThrow(InvalidStateError);
    expect(queue.sent).toEqual([]);
    expect([...(await paymentsOf(world, seeded)).values()].every((payment) => payment.status === 'VERIFIED')).toBe(true);

    let offset = 60_000;
    const repair = reconciler(queue, () => offset);
    const report = await repair.run();
    expect(report.repairs).toEqual([{ batchId: seeded.batch.batchId, kind: 'fan-out-resumed', count: 5 }]);
    const drained = await drain(app, queue);
    expect(drained.unexpectedErrors).toEqual([]);

    const statuses = Object.fromEntries([...(await paymentsOf(world, seeded)).values()].map((payment) => [payment.paymentRef, payment.status]));
    expect(Object.values(statuses).sort()).toEqual(['FAILED', 'ON_HOLD', 'PAID', 'PAID', 'PAID']);
    const batch = await expectCountersAreTheCensus(seeded);
    expect(batch.status).toBe('COMPLETED');
    offset = 120_000;
    expect((await repair.run()).repairs).toEqual([]);
  });

  // Old code: a payment QUEUED whose message was lost (the worker died after queueing it, or after the
  // provider call and before the outcome write) stayed QUEUED for ever; nothing re-drove it.
  it('4. payments stuck QUEUED without a message are re-driven after the horizon and paid exactly once', async () => {
    const seeded = await seedVerifiedBatch(world, ['paid', 'paid', 'paid', 'pending', 'paid'], 1);
    const queue = new RecordingQueue<DisbursementMessage>();
    const app = useCases(world, queue);
    await app.approve(approver('hcm-checker'), seeded.batch.batchId);
    for (const message of queue.take()) await app.handle(message); // the fan-out: one group message
    const groups = queue.take();
    expect(groups).toHaveLength(1);

    // The worker dies: for the first three payments after the provider took the instruction (before the
    // outcome write), for the others before the call. Its message is then lost.
    const reached = new Set(seeded.payments.slice(0, 3).map((payment) => payment.paymentId));
    const provider = decorate<PaymentProvider>(world.provider, {
      send: async (instruction) => {
        if (!reached.has(instruction.reference)) throw new InjectedCrash('before the provider call');
        await world.provider.send(instruction);
        throw new InjectedCrash('after the provider call, before the outcome write');
      },
    });
    await expect(useCases(world, queue, { provider }).handle(groups[0]!)).rejects.toThrow();
    expect(queue.take()).toEqual([]);
    expect([...(await paymentsOf(world, seeded)).values()].map((payment) => payment.status)).toEqual(['QUEUED', 'QUEUED', 'QUEUED', 'QUEUED', 'QUEUED']);

    let offset = 60_000;
    const repair = reconciler(queue, () => offset);
    // Quiet, but within the queue's retry horizon: the message may still be on its way.
    expect((await repair.run()).repairs).toEqual([]);
    expect(queue.take()).toEqual([]);

    offset = REDRIVE_AFTER_MS + 60_000;
    expect((await repair.run()).repairs).toEqual([{ batchId: seeded.batch.batchId, kind: 'queued-redriven', count: 5 }]);
    const drained = await drain(app, queue);
    expect(drained.unexpectedErrors).toEqual([]);
    expect(await settleSent(world, app, seeded)).toBe(1);

    const payments = await paymentsOf(world, seeded);
    expect([...payments.values()].every((payment) => payment.status === 'PAID')).toBe(true);
    const { instructions, bookings } = await providerRecords();
    for (const payment of payments.values()) {
      expect(bookings.get(payment.paymentId), `${payment.paymentRef}: one accepted booking`).toBe(1);
      const own = instructions.filter((instruction) => instruction.reference === payment.paymentId);
      expect(own.length, `${payment.paymentRef}: instructions`).toBe(reached.has(payment.paymentId) ? 2 : 1);
      for (const instruction of own) {
        expect(instruction).toEqual({ reference: payment.paymentId, amount: payment.amount, providerCode: payment.payout!.provider.code, accountNumber: payment.payout!.accountNumber });
      }
    }
    expect(instructions.every((instruction) => payments.has(instruction.reference))).toBe(true);
    const batch = await expectCountersAreTheCensus(seeded);
    expect(batch.status).toBe('COMPLETED');
  });

  // Old code: a provider 4xx (and any 404 of the lookup) was taken as "never accepted": the dead-letter
  // handler ended the payment FAILED RETRIES_EXHAUSTED and released its entitlement, though the provider
  // may have taken the transfer: a later batch could pay the person again.
  it('5. an ambiguous provider answer to the dead-letter handler ends nothing and releases no entitlement', async () => {
    const seeded = await seedVerifiedBatch(world, ['paid', 'paid', 'paid', 'paid'], 1);
    const [bare404, otherReference, unreachable, unknown] = seeded.payments.map((payment) => payment.paymentId) as [string, string, string, string];
    const fakeFetch: typeof fetch = async (input, init) => {
      const url = String(input);
      if ((init?.method ?? 'GET') === 'POST') {
        // The gateway refuses the request (our configuration): not a statement about the account.
        return new Response(JSON.stringify({ error: 'bad request' }), { status: 400, headers: { 'content-type': 'application/json' } });
      }
      const reference = decodeURIComponent(url.slice(url.lastIndexOf('/') + 1));
      if (reference === bare404) return new Response('Not Found', { status: 404 });
      if (reference === otherReference) return new Response(JSON.stringify({ reference: 'SOMETHING-ELSE', status: 'NOT_FOUND' }), { status: 404 });
      if (reference === unreachable) throw new TypeError('fetch failed');
      return new Response(JSON.stringify({ reference, status: 'NOT_FOUND' }), { status: 404 });
    };
    const silent = { info: () => undefined, warn: () => undefined };
    const provider = new HttpPaymentProvider({ baseUrl: 'http://127.0.0.1:9/gateway', secret: 'self-repair-test-secret-0123456789', fetch: fakeFetch, maxAttempts: 1, logger: silent });
    const queue = new RecordingQueue<DisbursementMessage>();
    const app = useCases(world, queue, { provider });
    await app.approve(approver('hcm-checker'), seeded.batch.batchId);
    for (const message of queue.take()) await app.handle(message);

    for (const [paymentId, expectation] of [
      [bare404, 'held'],
      [otherReference, 'held'],
      [unreachable, 'held'],
      [unknown, 'failed'],
    ] as const) {
      const payment = seeded.payments.find((candidate) => candidate.paymentId === paymentId)!;
      const message: DisbursementMessage = { kind: 'payments', payments: [{ paymentId, personHash: payment.personHash }] };
      // Every delivery is refused with a 400, then the dead-letter handler looks the transfer up.
      await expect(app.handle(message)).rejects.toThrow();
      const exhausted = app.exhausted(message);
      const now = () => world.batches.getPayment(payment);
      if (expectation === 'held') {
        await expect(exhausted, `${payment.paymentRef}: the ambiguous lookup fails the handler`).rejects.toThrow();
        const after = (await now())!;
        expect(after.status, `${payment.paymentRef}: not ended`).toBe('QUEUED');
        expect(await entitlementHolder(world, after), `${payment.paymentRef}: entitlement still held`).toBe(paymentId);
      } else {
        // The one unambiguous "never accepted" (a 404 naming this reference) does end it.
        await exhausted;
        const after = (await now())!;
        expect(after).toMatchObject({ status: 'FAILED', reasonCode: 'RETRIES_EXHAUSTED' });
        expect(await entitlementHolder(world, after)).toBeUndefined();
      }
    }
  });

  // Found by the chaos suite (seed 582605): the dead-letter handler looked a QUEUED payment up, the provider did
  // not know it yet, and it wrote FAILED RETRIES_EXHAUSTED (releasing the entitlement) while a re-driven delivery
  // of the same payment was handing it to the provider, which then took it: a FAILED payment the provider paid.
  it('5b. the dead-letter handler never fails a payment that a racing delivery hands to the provider', async () => {
    const seeded = await seedVerifiedBatch(world, ['paid', 'paid'], 1);
    const [racing, recent] = seeded.payments as [PaymentRecord, PaymentRecord];
    const messageOf = (payment: PaymentRecord): DisbursementMessage => ({ kind: 'payments', payments: [{ paymentId: payment.paymentId, personHash: payment.personHash }] });
    const queue = new RecordingQueue<DisbursementMessage>();
    // Every delivery until now claimed the hand-off and then failed before the provider got the call.
    const refusing: PaymentProvider = { send: () => Promise.reject(new Error('connection reset')), lookup: (reference) => world.provider.lookup(reference) };
    const failing = useCases(world, queue, { provider: refusing });
    await failing.approve(approver('hcm-checker'), seeded.batch.batchId);
    for (let messages = queue.take(); messages.length > 0; messages = queue.take()) {
      for (const message of messages) await failing.handle(message).catch(() => undefined);
    }
    for (const payment of [racing, recent]) expect((await world.batches.getPayment(payment))?.status).toBe('QUEUED');

    // A re-driven delivery claims the hand-off and is on its way to the provider when the dead-letter
    // handler's lookup gets there first ("unknown"); its call arrives after the handler's write.
    let reachedSend: () => void = () => undefined;
    const atSend = new Promise<void>((resolve) => (reachedSend = resolve));
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const slow: PaymentProvider = {
      send: async (instruction) => {
        reachedSend();
        await gate;
        return world.provider.send(instruction);
      },
      lookup: (reference) => world.provider.lookup(reference),
    };
    let delivery: Promise<unknown> | undefined;
    const racedLookup: PaymentProvider = {
      send: (instruction) => world.provider.send(instruction),
      lookup: async (reference) => {
        delivery ??= useCases(world, queue, { provider: slow }).handle(messageOf(racing));
        await atSend;
        return world.provider.lookup(reference);
      },
    };
    await useCases(world, queue, { provider: racedLookup }).exhausted(messageOf(racing));
    openGate();
    await delivery;
    const after = (await world.batches.getPayment(racing))!;
    expect(after.status, 'the provider took it: the payment says so').toBe('PAID');
    expect(await entitlementHolder(world, after)).toBe(racing.paymentId);

    // A hand-off claimed moments ago: the handler decides nothing and is retried later.
    await failing.handle(messageOf(recent)).catch(() => undefined);
    let looked = 0;
    const counting: PaymentProvider = { send: (instruction) => world.provider.send(instruction), lookup: (reference) => (looked++, world.provider.lookup(reference)) };
    await expect(useCases(world, queue, { provider: counting, handOffWindowMs: 60_000 }).exhausted(messageOf(recent))).rejects.toThrow(/moments ago/);
    expect(looked, 'no lookup within the window').toBe(0);
    expect((await world.batches.getPayment(recent))?.status).toBe('QUEUED');
  });

  // Old code: every caller passed its own `from` list and the store wrote whatever it was given, so a
  // write naming a step the lifecycle lacks (PAID -> QUEUED) was performed.
  it('6. the store refuses a status write the lifecycle tables lack', async () => {
    const seeded = await seedVerifiedBatch(world, ['paid', 'paid'], 1);
    const queue = new RecordingQueue<DisbursementMessage>();
    const app = useCases(world, queue);
    await app.approve(approver('hcm-checker'), seeded.batch.batchId);
    await drain(app, queue);
    const [paid, other] = [...(await paymentsOf(world, seeded)).values()] as [PaymentRecord, PaymentRecord];
    expect(paid.status).toBe('PAID');
    const at = world.clock.now().toISOString();

    await expect(world.batches.transitionPayment(paid, ['PAID'], 'QUEUED', { reasonCode: null, at })).rejects.toThrow(/Not a payment transition of the lifecycle: PAID -> QUEUED/);
    await expect(world.batches.transitionPayment(paid, ['PAID'], 'VERIFIED', { reasonCode: null, at })).rejects.toThrow(/PAID -> VERIFIED/);
    expect((await world.batches.getPayment(paid))!.status).toBe('PAID');

    // A cancelled payment never comes back.
    const cancelledSeed = await seedVerifiedBatch(world, ['paid'], 1);
    const victim = cancelledSeed.payments[0]!;
    expect(await world.batches.transitionPayment(victim, allowedFrom('payment', 'CANCELLED', ['VERIFIED']), 'CANCELLED', { reasonCode: null, at })).toBeDefined();
    await expect(world.batches.transitionPayment(victim, ['CANCELLED'], 'VERIFIED', { reasonCode: null, at })).rejects.toThrow(/CANCELLED -> VERIFIED/);
    expect((await world.batches.getPayment(victim))!.status).toBe('CANCELLED');
    await expect(world.batches.transitionPayment(other, [], 'PAID', { reasonCode: null, at })).rejects.toThrow(/names no status/);

    // Batches too: a COMPLETED batch is not approved again except by a released held payment (COMPLETED -> APPROVED),
    // and nothing leaves CANCELLED.
    const completed = await batchOf(seeded);
    expect(completed.status).toBe('COMPLETED');
    await expect(world.batches.transitionBatch(completed.batchId, ['COMPLETED'], 'AWAITING_APPROVAL', {}, at)).rejects.toThrow(/COMPLETED -> AWAITING_APPROVAL/);
    await expect(world.batches.transitionBatch(completed.batchId, ['COMPLETED'], 'CANCELLED', {}, at)).rejects.toThrow(/COMPLETED -> CANCELLED/);
    await world.batches.transitionBatch(cancelledSeed.batch.batchId, ['AWAITING_APPROVAL'], 'CANCELLED', {}, at);
    await expect(world.batches.transitionBatch(cancelledSeed.batch.batchId, ['CANCELLED'], 'APPROVED', {}, at)).rejects.toThrow(/CANCELLED -> APPROVED/);
    expect((await world.batches.getBatch(cancelledSeed.batch.batchId))!.status).toBe('CANCELLED');
    expect((await batchOf(seeded)).status).toBe('COMPLETED');
  });

  // Old code: the released payment was queued and sent while its batch stayed COMPLETED (reopened only when
  // its counters moved); a death in between left a COMPLETED batch with a payment in flight that nothing
  // watched, and counters that never counted it.
  it('7. a held payment released on link reopens its COMPLETED batch before it is queued, and the reconciler completes it again', async () => {
    const seeded = await seedVerifiedBatch(world, ['no-account', 'paid'], 1);
    const queue = new RecordingQueue<DisbursementMessage>();
    const app = useCases(world, queue);
    await app.approve(approver('hcm-checker'), seeded.batch.batchId);
    await drain(app, queue);
    const before = await batchOf(seeded);
    expect(before.status).toBe('COMPLETED');
    expect(before.counts).toMatchObject({ ON_HOLD: 1, PAID: 1 });

    const held = seeded.payments[0]!;
    await world.accounts.link(held.personHash, {
      linkId: ulid(),
      personalId: held.personalId,
      provider: { type: 'BANK', code: '970436' },
      accountNumber: '00990000001234',
      accountNumberMasked: '****1234',
      accountName: held.fullName,
      linkedAt: world.clock.now().toISOString(),
      linkedBy: 'beneficiary',
      consentRef: null,
    });
    expect(await releaseHeldPayments({ batches: world.batches, queue }, held.personHash)).toBe(1);

    // The worker pays it, then dies before counting (so before anything else that follows the payment's moves).
    const seen: string[] = [];
    const batches = decorate<BatchStore>(world.batches, {
      transitionPayment: async (key, from, to, change) => {
        if (to === 'QUEUED') seen.push(`batch ${(await world.batches.getBatch(key.batchId))!.status} when queueing`);
        return world.batches.transitionPayment(key, from, to, change);
      },
      addToCounters: async () => {
        throw new InjectedCrash('before the counter update');
      },
    });
    await expect(useCases(world, queue, { batches }).handle(queue.take()[0]!)).rejects.toThrow(InjectedCrash);
    expect(seen).toEqual(['batch APPROVED when queueing']);
    expect((await world.batches.getPayment(held))!.status).toBe('PAID');
    const reopened = await batchOf(seeded);
    expect(reopened.status, 'reopened before the payment moved').toBe('APPROVED');
    expect((await world.batches.listWatchedBatches()).map((batch) => batch.batchId)).toContain(seeded.batch.batchId);
    expect(reopened.counts, 'the death left the counters behind').toMatchObject({ ON_HOLD: 1, PAID: 1 });

    let offset = 60_000;
    const repair = reconciler(queue, () => offset);
    expect(kinds(await repair.run())).toEqual(['completed']);
    const batch = await expectCountersAreTheCensus(seeded);
    expect(batch.status).toBe('COMPLETED');
    expect(batch.counts).toMatchObject({ ON_HOLD: 0, PAID: 2 });
    expect(sum(batch.counts)).toBe(2);
    offset = 120_000;
    const again = await repair.run();
    expect(again.repairs).toEqual([]);
    expect(again.watched).toBe(0);
    const { bookings } = await providerRecords();
    expect(bookings.get(held.paymentId)).toBe(1);
  });
});
