import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DisbursementMessage, DisbursementUseCases } from '../../../shared/app/disbursement.js';
import { createRepairUseCases } from '../../../shared/app/repair.js';
import type { VerificationMessage } from '../../../shared/app/verification.js';
import type { BatchRecord, PaymentRecord } from '../../../shared/domain/batch.js';
import { InvalidStateError } from '../../../shared/domain/errors.js';
import { canTransition, paymentStatuses, type PaymentStatus } from '../../../shared/domain/lifecycle.js';
import type { BatchStore, PaymentKey } from '../../../shared/ports/batch-store.js';
import type { PaymentProvider } from '../../../shared/ports/payment-provider.js';
import {
  approver,
  Counter,
  decorate,
  drain,
  entitlementHolder,
  expectedEnd,
  InjectedCrash,
  paymentsOf,
  RecordingQueue,
  seedVerifiedBatch,
  settleSent,
  startWorld,
  useCases,
  type DrainOptions,
  type DrainReport,
  type Profile,
  type SeededBatch,
  type World,
} from '../../support/disbursement-harness.js';

/**
 * Fault injection on the disbursement pipeline (domain.md, "The invariants that
 * matter most"): the real use cases, the real DynamoDB adapters on dynalite and
 * the real sandbox provider, with faults injected by decorating ports. The test
 * is the queue's consumer: it redelivers what threw, delivers messages twice at
 * once, and dead-letters what keeps failing (exhausted()).
 *
 * The batch: 30 VERIFIED payments over 2 shards: 20 paid at once, 2 accounts
 * closed (0000), 1 unknown (0001), 2 flaky (9990: two transient failures, then
 * paid), 1 down (9999: dead-lettered, FAILED RETRIES_EXHAUSTED), 3 accepted
 * but not settled (5555: SENT), 1 person with no account (ON_HOLD).
 *
 * After every scenario: each payment ends where the sandbox provider's rules
 * say (nothing lost, nothing left QUEUED); nobody is paid twice, counted from
 * what reached the provider independently of its deduplicating ledger's keys:
 * every instruction it received (`INSTRUCTION#`) names a payment of the batch
 * with that payment's amount and account, and the accepted bookings of the
 * ledger (`bookings`, which a provider booking every instruction would raise)
 * add up, per entitlement (person, program, period), to one for a PAID/SENT
 * payment and none otherwise; every history is a path through the lifecycle;
 * the payments add up to the control totals; the batch's counters equal the
 * tally of its payments (where a status write was interrupted, once the
 * reconciler has recounted them: decision 49), failed payments released their
 * entitlement, and the batch COMPLETES once the SENT ones are settled.
 */

const CHECKER = 'hcm-checker';

let world: World;

beforeEach(async () => {
  world = await startWorld();
});

afterEach(async () => {
  await world?.stop();
});

const paymentIdOf = (key: PaymentKey) => `${key.batchId}-${String(key.shard).padStart(2, '0')}${key.refDigest}`;
const outcomeStatuses: readonly PaymentStatus[] = ['PAID', 'SENT', 'FAILED'];
/** A transition that records a provider's outcome (not the approval's QUEUED or ON_HOLD). */
const isOutcomeWrite = (from: readonly PaymentStatus[], to: PaymentStatus) => from.includes('QUEUED') && outcomeStatuses.includes(to);

interface Instruction {
  reference: string;
  amount: number;
  providerCode: string;
  accountNumber: string;
}

/**
 * What reached the sandbox provider, read from its table: every instruction it
 * received, and the accepted bookings of its ledger by reference (`bookings`
 * counts each booking of a reference; with the ledger's deduplicating condition
 * removed it goes above one).
 */
async function providerRecords(): Promise<{ instructions: Instruction[]; acceptedBookings: Map<string, number> }> {
  const instructions: Instruction[] = [];
  const acceptedBookings = new Map<string, number>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await world.client.send(new ScanCommand({ TableName: world.dynamo.tableNames.sandboxProvider, ExclusiveStartKey: start, ConsistentRead: true }));
    for (const item of page.Items ?? []) {
      const pk = String(item.pk);
      if (pk.startsWith('INSTRUCTION#')) {
        instructions.push({ reference: item.reference as string, amount: item.amount as number, providerCode: item.providerCode as string, accountNumber: item.accountNumber as string });
      } else if (pk.startsWith('TRANSFER#') && item.accepted === true) {
        const reference = pk.slice('TRANSFER#'.length);
        acceptedBookings.set(reference, (acceptedBookings.get(reference) ?? 0) + Number(item.bookings ?? 1));
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return { instructions, acceptedBookings };
}

/**
 * Nobody paid twice (invariant 1), from the provider's side: per entitlement (person, program, period), the
 * accepted bookings of every reference that pays it add up to one for a PAID/SENT payment (PAID only, once
 * `settled`) and to none otherwise; every instruction names a payment of the batch, and carries that payment's
 * reference, amount and the account it was queued with (a redelivery resends the same instruction).
 */
async function expectNobodyPaidTwice(payments: Map<string, PaymentRecord>, options: { settled?: boolean } = {}) {
  const { instructions, acceptedBookings } = await providerRecords();
  const entitlementOf = (payment: PaymentRecord) => `${payment.personHash}|${payment.programCode}|${payment.period}`;
  const byEntitlement = new Map<string, number>();
  for (const [reference, bookings] of acceptedBookings) {
    const payment = payments.get(reference);
    expect(payment, `an accepted booking ${reference} for no payment of the batch`).toBeDefined();
    byEntitlement.set(entitlementOf(payment!), (byEntitlement.get(entitlementOf(payment!)) ?? 0) + bookings);
  }
  for (const payment of payments.values()) {
    const paid = options.settled ? payment.status === 'PAID' : payment.status === 'PAID' || payment.status === 'SENT';
    expect(byEntitlement.get(entitlementOf(payment)) ?? 0, `${payment.paymentRef} (${payment.status}): accepted bookings of its entitlement`).toBe(paid ? 1 : 0);
  }
  for (const instruction of instructions) {
    const payment = payments.get(instruction.reference);
    expect(payment, `an instruction ${instruction.reference} for no payment of the batch`).toBeDefined();
    expect(instruction, `${payment!.paymentRef}: every instruction the same`).toEqual({
      reference: payment!.paymentId,
      amount: payment!.amount,
      providerCode: payment!.payout?.provider.code,
      accountNumber: payment!.payout?.accountNumber,
    });
  }
  return { instructions, acceptedBookings };
}

/** The reconciler's run, on a clock moved past its quiet period (as its schedule runs, once the drain is over). */
async function runReconciler(queue: RecordingQueue<DisbursementMessage>) {
  const later = { now: () => new Date(world.clock.now().getTime() + 60_000) };
  return createRepairUseCases({
    batches: world.batches,
    entitlements: world.entitlements,
    accounts: world.accounts,
    verificationQueue: new RecordingQueue<VerificationMessage>(),
    disbursementQueue: queue,
    clock: later,
    settings: { quietMs: 1_000, redriveAfterMs: 10 * 60_000, recheckMs: 1_000 },
  }).run();
}

const sum = (values: Record<PaymentStatus, number>) => paymentStatuses.reduce((total, status) => total + values[status], 0);
const profilesOf = (seeded: SeededBatch) => [...seeded.profiles.values()];
/** How many payments reach the provider (everyone with an account). */
const withAccount = (seeded: SeededBatch) => profilesOf(seeded).filter((profile) => profile !== 'no-account').length;
/** How many get an answer from it (9999 never does). */
const answered = (seeded: SeededBatch) => profilesOf(seeded).filter((profile) => profile !== 'no-account' && profile !== 'down').length;

type PaymentGroup = Extract<DisbursementMessage, { kind: 'payments' }>;
/** The payment-group messages sent so far (a fan-out page sends groups of up to PAYMENT_GROUP_SIZE). */
const groupsSent = (queue: RecordingQueue<DisbursementMessage>) => queue.sent.filter((message): message is PaymentGroup => message.kind === 'payments');

/**
 * Failed deliveries a drain makes when each payment of a profile fails `failuresOf(profile)` times
 * before it succeeds: a group is delivered again until its slowest payment is through, at most
 * `maxReceives` times.
 */
function expectedFailedDeliveries(seeded: SeededBatch, queue: RecordingQueue<DisbursementMessage>, failuresOf: (profile: Profile) => number, maxReceives = 5): number {
  return groupsSent(queue).reduce(
    (total, group) => total + Math.min(maxReceives, Math.max(0, ...group.payments.map((item) => failuresOf(seeded.profiles.get(item.paymentId)!)))),
    0,
  );
}

async function approveAndDrain(app: DisbursementUseCases, queue: RecordingQueue<DisbursementMessage>, seeded: SeededBatch, options?: DrainOptions) {
  const approved = await app.approve(approver(CHECKER), seeded.batch.batchId);
  expect(approved).toMatchObject({ status: 'APPROVED', approvedBy: CHECKER });
  return drain(app, queue, options);
}

/**
 * Invariants 1 and 2 once the queue has drained, before any callback: where
 * each payment is, what the provider's ledger holds, that the payments still
 * add up to the control totals.
 */
async function expectEveryPaymentEndedOnce(seeded: SeededBatch, report: DrainReport) {
  expect(report.unexpectedErrors).toEqual([]);
  const payments = await paymentsOf(world, seeded);
  expect(payments.size).toBe(seeded.payments.length);

  // No payment lost: each ends where the sandbox provider's rules say; SENT and ON_HOLD are the only non-terminal ends.
  const ends = [...payments.values()]
    .map((payment) => ({ paymentRef: payment.paymentRef, status: payment.status, reasonCode: payment.reasonCode }))
    .sort((a, b) => a.paymentRef.localeCompare(b.paymentRef));
  const expected = seeded.payments.map((payment) => ({ paymentRef: payment.paymentRef, ...expectedEnd[seeded.profiles.get(payment.paymentId)!] }));
  expect(ends).toEqual(expected);

  // Nobody paid twice: one accepted booking per entitlement of a PAID/SENT payment, none of a FAILED or held one.
  const { instructions } = await expectNobodyPaidTwice(payments);
  // Everyone with an account reached the provider.
  expect(new Set(instructions.map((instruction) => instruction.reference)).size).toBe(withAccount(seeded));

  // The payments add up to the control totals, whatever happened to the counters.
  const tally = await world.batches.tallyPayments(seeded.batch);
  expect(sum(tally.counts)).toBe(seeded.batch.control.itemCount);
  expect(sum(tally.amounts)).toBe(seeded.batch.control.totalAmount);
  return { payments, instructions, tally };
}

/** Every step in each payment's history is a transition of the lifecycle (nothing repeated, nothing skipped). */
function expectHistoriesFollowTheLifecycle(payments: Map<string, PaymentRecord>) {
  for (const payment of payments.values()) {
    const steps = payment.history.map((entry) => entry.status);
    const path = steps.join(' > ');
    for (let index = 1; index < steps.length; index += 1) {
      expect(canTransition('payment', steps[index - 1]!, steps[index]!), `${payment.paymentRef}: ${path}`).toBe(true);
    }
  }
}

/** The batch's counters are exactly the tally of its payments. */
async function expectCountersMatchTally(seeded: SeededBatch): Promise<BatchRecord> {
  const batch = (await world.batches.getBatch(seeded.batch.batchId))!;
  const tally = await world.batches.tallyPayments(seeded.batch);
  expect(batch.counts).toEqual(tally.counts);
  expect(batch.amounts).toEqual(tally.amounts);
  expect(sum(batch.counts)).toBe(batch.control.itemCount);
  expect(sum(batch.amounts)).toBe(batch.control.totalAmount);
  return batch;
}

/**
 * The rest: failed payments released their entitlement (the others hold it),
 * the SENT ones settle by callback, then the batch is COMPLETED with counters
 * equal to the tally, and settling paid nobody again.
 */
async function expectBatchReconciles(app: DisbursementUseCases, seeded: SeededBatch) {
  for (const payment of (await paymentsOf(world, seeded)).values()) {
    const holder = await entitlementHolder(world, payment);
    expect(holder, `${payment.paymentRef} (${payment.status}) entitlement`).toBe(payment.status === 'FAILED' ? undefined : payment.paymentId);
  }

  const pending = profilesOf(seeded).filter((profile) => profile === 'pending').length;
  expect(await settleSent(world, app, seeded)).toBe(pending);

  const expectedCounts = Object.fromEntries(paymentStatuses.map((status) => [status, 0])) as Record<PaymentStatus, number>;
  for (const profile of profilesOf(seeded)) {
    const end = expectedEnd[profile].status;
    expectedCounts[end === 'SENT' ? 'PAID' : end] += 1;
  }
  const batch = await expectCountersMatchTally(seeded);
  expect(batch.counts).toEqual(expectedCounts);
  expect(batch.status).toBe('COMPLETED');

  await expectNobodyPaidTwice(await paymentsOf(world, seeded), { settled: true });
}

/** Everything, for a run in which no status write was interrupted. */
async function expectAllInvariants(app: DisbursementUseCases, seeded: SeededBatch, report: DrainReport) {
  const { payments } = await expectEveryPaymentEndedOnce(seeded, report);
  expectHistoriesFollowTheLifecycle(payments);
  const batch = await expectCountersMatchTally(seeded);
  expect(batch.status).toBe('APPROVED'); // the SENT ones are not settled yet
  await expectBatchReconciles(app, seeded);
}

describe('disbursement under injected faults', () => {
  it('baseline: with no fault, every payment ends once and the batch reconciles', async () => {
    const seeded = await seedVerifiedBatch(world);
    const queue = new RecordingQueue<DisbursementMessage>();
    const app = useCases(world, queue);

    const report = await approveAndDrain(app, queue, seeded);

    // The 9999 one's group is dead-lettered; the two 9990s fail twice each, so their groups are delivered again.
    const down = seeded.payments.find((payment) => seeded.profiles.get(payment.paymentId) === 'down')!;
    expect(report.deadLettered).toEqual([{ kind: 'payments', payments: expect.arrayContaining([{ paymentId: down.paymentId, personHash: down.personHash }]) }]);
    expect(report.failedDeliveries).toBe(expectedFailedDeliveries(seeded, queue, (profile) => ({ flaky: 2, down: 5 })[profile as string] ?? 0));
    await expectAllInvariants(app, seeded, report);
  });

  it('1. the worker crashes before the provider call; the redelivery sends it', async () => {
    const seeded = await seedVerifiedBatch(world);
    const queue = new RecordingQueue<DisbursementMessage>();
    const calls = new Counter();
    const provider = decorate<PaymentProvider>(world.provider, {
      send: async (instruction) => {
        if (calls.hit(instruction.reference) === 1) throw new InjectedCrash('before provider.send');
        return world.provider.send(instruction);
      },
    });
    const app = useCases(world, queue, { provider });

    const report = await approveAndDrain(app, queue, seeded);

    // Each payment with an account crashed once on its way to the provider, then was sent again.
    for (const payment of seeded.payments) {
      const reachedProvider = seeded.profiles.get(payment.paymentId) !== 'no-account';
      expect(calls.get(payment.paymentId), payment.paymentRef).toSatisfy((count: number) => (reachedProvider ? count >= 2 : count === 0));
    }
    // A group fails once for the crash, then as long as its 9990 (two more) or 9999 (until dead-lettered) does.
    const failuresOf = (profile: Profile) => ({ 'no-account': 0, flaky: 3, down: 5 })[profile as string] ?? 1;
    expect(report.failedDeliveries).toBe(expectedFailedDeliveries(seeded, queue, failuresOf));
    await expectAllInvariants(app, seeded, report);
  });

  it('2. the worker crashes after the provider call, before the status write; the redelivery gets the first outcome back', async () => {
    const seeded = await seedVerifiedBatch(world);
    const queue = new RecordingQueue<DisbursementMessage>();
    const answers = new Counter();
    const provider = decorate<PaymentProvider>(world.provider, {
      send: async (instruction) => {
        const outcome = await world.provider.send(instruction);
        if (answers.hit(instruction.reference) === 1) throw new InjectedCrash('after provider.send, before the status write');
        return outcome;
      },
    });
    const app = useCases(world, queue, { provider });

    const report = await approveAndDrain(app, queue, seeded);

    // Every payment the provider answered was answered twice: before the crash, and to the redelivery.
    expect(seeded.payments.filter((payment) => answers.get(payment.paymentId) === 2)).toHaveLength(answered(seeded));
    expect(seeded.payments.filter((payment) => answers.get(payment.paymentId) !== 2 && answers.get(payment.paymentId) !== 0)).toEqual([]);
    await expectAllInvariants(app, seeded, report);
  });

  it('3. the worker crashes after the outcome status write; the redelivery pays nobody again', async () => {
    const seeded = await seedVerifiedBatch(world);
    const queue = new RecordingQueue<DisbursementMessage>();
    const writes = new Counter();
    const batches = decorate<BatchStore>(world.batches, {
      transitionPayment: async (key, from, to, change) => {
        const moved = await world.batches.transitionPayment(key, from, to, change);
        if (moved && isOutcomeWrite(from, to) && writes.hit(paymentIdOf(key)) === 1) throw new InjectedCrash(`after the ${to} write`);
        return moved;
      },
    });
    const app = useCases(world, queue, { batches });

    const report = await approveAndDrain(app, queue, seeded);

    // Each payment the provider answered, and the 9999 one failed by exhausted(), crashed after its outcome write.
    expect(writes.total()).toBe(answered(seeded) + 1);
    const { payments } = await expectEveryPaymentEndedOnce(seeded, report);
    expectHistoriesFollowTheLifecycle(payments);
    // The crashes lost the counter updates (the redelivery finds the payments past QUEUED and counts nothing):
    // the reconciler recounts the quiet batch from its payments (decision 49), then everything holds.
    expect((await world.batches.getBatch(seeded.batch.batchId))!.counts).not.toEqual((await world.batches.tallyPayments(seeded.batch)).counts);
    const repaired = await runReconciler(queue);
    expect(repaired.repairs.map((repair) => repair.kind)).toContain('counters-recounted');
    expect(queue.take(), 'nothing to re-drive').toEqual([]);
    await expectCountersMatchTally(seeded);
    await expectBatchReconciles(app, seeded);
  });

  it('4. every message is delivered twice, both deliveries at once', async () => {
    const seeded = await seedVerifiedBatch(world);
    const queue = new RecordingQueue<DisbursementMessage>();
    const sends = new Counter();
    const provider = decorate<PaymentProvider>(world.provider, {
      send: (instruction) => {
        sends.hit(instruction.reference);
        return world.provider.send(instruction);
      },
    });
    const app = useCases(world, queue, { provider });

    const report = await approveAndDrain(app, queue, seeded, { copies: 2 });

    // Each shard message delivered twice fans its payments out twice, and each group is delivered twice.
    const groups = groupsSent(queue);
    expect(groups.flatMap((group) => group.payments)).toHaveLength(2 * seeded.payments.length);
    expect(report.deliveries).toBeGreaterThanOrEqual(2 * groups.length + 2 * seeded.batch.shardCount);
    expect(sends.total()).toBeGreaterThan(withAccount(seeded));
    const { payments } = await expectEveryPaymentEndedOnce(seeded, report);
    // The outcome write is guarded by the status just read: of two concurrent deliveries, one records SENT.
    expectHistoriesFollowTheLifecycle(payments);
    await expectCountersMatchTally(seeded);
    await expectBatchReconciles(app, seeded);
  });

  describe('5. the same batch approved twice at once', () => {
    async function approveConcurrently(subs: string[]) {
      const seeded = await seedVerifiedBatch(world);
      const queue = new RecordingQueue<DisbursementMessage>();
      const app = useCases(world, queue);
      const results = await Promise.allSettled(subs.map((sub) => app.approve(approver(sub), seeded.batch.batchId)));
      // Every shard is fanned out at least once; duplicates are delivered too.
      const shards = queue.sent.filter((message) => message.kind === 'shard');
      expect(new Set(shards.map((message) => message.shard))).toEqual(new Set(Array.from({ length: seeded.batch.shardCount }, (_, shard) => shard)));
      const report = await drain(app, queue);
      return { seeded, app, results, report };
    }

    it('by the same approver: both get the same APPROVED batch', async () => {
      const { seeded, app, results, report } = await approveConcurrently([CHECKER, CHECKER]);

      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled']);
      for (const result of results) {
        expect((result as PromiseFulfilledResult<BatchRecord>).value).toMatchObject({ batchId: seeded.batch.batchId, status: 'APPROVED', approvedBy: CHECKER });
      }
      await expectAllInvariants(app, seeded, report);
    });

    it('by two different approvers: exactly one approval succeeds, the other is INVALID_STATE', async () => {
      const { seeded, app, results, report } = await approveConcurrently([CHECKER, 'hcm-checker-2']);

      const won = results.filter((result): result is PromiseFulfilledResult<BatchRecord> => result.status === 'fulfilled');
      const lost = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(InvalidStateError);
      const winner = won[0]!.value.approvedBy;
      expect(won[0]!.value).toMatchObject({ status: 'APPROVED' });
      expect((await world.batches.getBatch(seeded.batch.batchId))!.approvedBy).toBe(winner);
      await expectAllInvariants(app, seeded, report);
    });

    it('by both approvers, twice each, all at once', async () => {
      const { seeded, app, results, report } = await approveConcurrently([CHECKER, 'hcm-checker-2', CHECKER, 'hcm-checker-2']);

      const won = results.filter((result): result is PromiseFulfilledResult<BatchRecord> => result.status === 'fulfilled');
      const winners = new Set(won.map((result) => result.value.approvedBy));
      expect(winners.size).toBe(1);
      expect(won.length).toBeGreaterThanOrEqual(1);
      for (const result of results) if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(InvalidStateError);
      expect((await world.batches.getBatch(seeded.batch.batchId))!.approvedBy).toBe([...winners][0]);
      await expectAllInvariants(app, seeded, report);
    });
  });
});

describe('exhausted()', () => {
  it('records what the provider accepted when the status write kept failing, instead of RETRIES_EXHAUSTED', async () => {
    const profiles: Profile[] = ['paid', 'pending', 'closed', 'down', 'paid'];
    const seeded = await seedVerifiedBatch(world, profiles, 1);
    const queue = new RecordingQueue<DisbursementMessage>();
    const failedWrites = new Counter();
    const batches = decorate<BatchStore>(world.batches, {
      transitionPayment: async (key, from, to, change) => {
        if (isOutcomeWrite(from, to)) {
          failedWrites.hit(paymentIdOf(key));
          throw new InjectedCrash(`the ${to} write failed`);
        }
        return world.batches.transitionPayment(key, from, to, change);
      },
    });
    // The worker's outcome writes fail on every delivery; by the time the dead-letter consumer runs
    // exhausted(), the outage is over (it is another function, with its own store).
    const worker = useCases(world, queue, { batches });
    const deadLetterConsumer = useCases(world, queue);
    const app = decorate(worker, { exhausted: deadLetterConsumer.exhausted });

    const report = await approveAndDrain(app, queue, seeded, { maxReceives: 3 });

    // Every payment's group was dead-lettered (one shard: one group).
    expect(report.deadLettered.flatMap((message) => (message.kind === 'payments' ? message.payments : []))).toHaveLength(profiles.length);
    const byProfile = (profile: Profile) => seeded.payments.filter((payment) => seeded.profiles.get(payment.paymentId) === profile);
    for (const payment of [...byProfile('paid'), ...byProfile('pending'), ...byProfile('closed')]) expect(failedWrites.get(payment.paymentId)).toBe(3);

    const { payments } = await expectEveryPaymentEndedOnce(seeded, report);
    expectHistoriesFollowTheLifecycle(payments);
    for (const payment of byProfile('paid')) {
      expect(payments.get(payment.paymentId)!.history.map((entry) => entry.status)).toEqual(['RECEIVED', 'VERIFIED', 'QUEUED', 'PAID']);
    }
    expect(payments.get(byProfile('pending')[0]!.paymentId)).toMatchObject({ status: 'SENT', reasonCode: null });
    expect(payments.get(byProfile('closed')[0]!.paymentId)).toMatchObject({ status: 'FAILED', reasonCode: 'ACCOUNT_CLOSED' });
    expect(payments.get(byProfile('down')[0]!.paymentId)).toMatchObject({ status: 'FAILED', reasonCode: 'RETRIES_EXHAUSTED' });
    await expectCountersMatchTally(seeded);
    await expectBatchReconciles(deadLetterConsumer, seeded);
  });
});
