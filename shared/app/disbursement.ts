import { inParallel } from './concurrency.js';
import type { BatchRecord, PaymentRecord } from '../domain/batch.js';
import { attemptOf, hasStarted, historyWithAttempts, parsePaymentId, transferRef } from '../domain/batch.js';
import type { Clock } from '../domain/dates.js';
import { ForbiddenError, InvalidStateError, NotFoundError } from '../domain/errors.js';
import type { PaymentStatus } from '../domain/lifecycle.js';
import { allowedFrom, unsettledPaymentStatuses } from '../domain/lifecycle.js';
import type { FailureReasonCode } from '../domain/reason-codes.js';
import type { Principal } from './principal.js';
import type { AccountLinkRecord, AccountStore } from '../ports/account-store.js';
import { ConditionFailed, type BatchStore, type CounterDelta, type PagePosition, type PaymentKey } from '../ports/batch-store.js';
import type { EntitlementStore } from '../ports/entitlement-store.js';
import type { PaymentProvider, TransferOutcome } from '../ports/payment-provider.js';
import type { WorkQueue } from '../ports/work-queue.js';
import type { DeathMarker, DeathMarkers } from '../ports/register-events.js';
import { isAfterDeath } from '../domain/register-events.js';
import { settlementWindowHours } from '../domain/catalogues.js';
import { noNotices, type Notices } from './notices.js';

/** A payment to disburse, as a message names it: keys only (a keyed hash, never the personal ID). */
export interface PaymentToSend {
  paymentId: string;
  personHash: string;
}

/**
 * Messages of the disbursement queue (keys only): a page of an approved
 * batch's shard to fan out, or a group of payments to queue and send.
 */
export type DisbursementMessage =
  | { kind: 'shard'; batchId: string; shard: number; after?: PagePosition | undefined }
  | { kind: 'payments'; payments: PaymentToSend[] };

/** Payments fanned out per shard page. */
export const FAN_OUT_PAGE_SIZE = 500;
/**
 * Payments per message. A group is read with two batched reads (its payments,
 * their accounts) and counted with one counter update, so that SQS requests,
 * reads and counter writes are paid once per group rather than once per
 * payment. A transient failure of one payment redelivers the group; the others
 * are then no-ops (their status has moved on). 25 keeps a redelivery cheap and
 * a group's provider calls well inside the consumer's timeout.
 */
export const PAYMENT_GROUP_SIZE = 25;
/** Provider calls in flight at once within a group. */
const PARALLEL_SENDS = 10;

export interface DisbursementDependencies {
  batches: BatchStore;
  accounts: AccountStore;
  entitlements: EntitlementStore;
  provider: PaymentProvider;
  queue: WorkQueue<DisbursementMessage>;
  clock: Clock;
  /** Beneficiary notices after status changes (none when not given). */
  notices?: Notices | undefined;
  /** Death markers written by register events: read at every hand-off (docs/decisions.md 131). */
  deaths: DeathMarkers;
  /**
   * How long after a hand-off is claimed a provider call of that delivery may still arrive: the
   * disbursement worker's timeout (deployed), shorter locally. The dead-letter handler decides
   * nothing from a provider lookup within it (docs/decisions.md 87). Default 0 (tests that race
   * nothing).
   */
  handOffWindowMs?: number;
}

/** A delivery claimed the payment's hand-off too recently for a lookup to be the truth: decide later. */
export class HandOffInFlightError extends Error {
  constructor(count: number) {
    super(`${count} payment(s) were handed to the provider moments ago; the dead-letter message is retried after its visibility timeout`);
    this.name = 'HandOffInFlightError';
  }
}

/** What happened to one payment, for the batch's counters. */
export interface Moved {
  batchId: string;
  from: PaymentStatus;
  to: PaymentStatus;
  amount: number;
}

/** Some payments of a group failed (transiently, or worse); the message is delivered again. */
export class PaymentGroupError extends AggregateError {
  constructor(errors: unknown[], groupSize: number) {
    const names = [...new Set(errors.map((error) => (error as { name?: string } | null)?.name ?? 'Error'))].join(', ');
    super(errors, `${errors.length} of ${groupSize} payments of the group failed (${names})`);
    this.name = 'PaymentGroupError';
  }
}

function deltasOf(moves: Moved[]): Map<string, CounterDelta[]> {
  const byBatch = new Map<string, CounterDelta[]>();
  for (const move of moves) {
    const list = byBatch.get(move.batchId) ?? [];
    list.push({ status: move.from, count: -1, amount: -move.amount }, { status: move.to, count: 1, amount: move.amount });
    byBatch.set(move.batchId, list);
  }
  return byBatch;
}


/** Messages of at most PAYMENT_GROUP_SIZE payments each. */
export function paymentGroups(payments: readonly PaymentToSend[]): DisbursementMessage[] {
  const messages: DisbursementMessage[] = [];
  for (let from = 0; from < payments.length; from += PAYMENT_GROUP_SIZE) {
    messages.push({ kind: 'payments', payments: payments.slice(from, from + PAYMENT_GROUP_SIZE) });
  }
  return messages;
}

const toSend = (payment: Pick<PaymentRecord, 'paymentId' | 'personHash'>): PaymentToSend => ({ paymentId: payment.paymentId, personHash: payment.personHash });

/**
 * After a person links an account: every ON_HOLD payment of theirs goes back to
 * the disbursement queue, where it is queued with the new account. Returns how many.
 */
export async function releaseHeldPayments(deps: { batches: BatchStore; queue: WorkQueue<DisbursementMessage> }, personHash: string): Promise<number> {
  const held: PaymentToSend[] = [];
  let after: PagePosition | undefined;
  do {
    const page = await deps.batches.listPaymentsByPerson(personHash, { limit: 100, after });
    held.push(...page.items.filter((payment) => payment.status === 'ON_HOLD').map(toSend));
    after = page.next;
  } while (after);
  await deps.queue.send(paymentGroups(held));
  return held.length;
}

/** The first fan-out page of each shard of an approved batch. */
export function shardMessages(batch: Pick<BatchRecord, 'batchId' | 'shardCount'>): DisbursementMessage[] {
  return Array.from({ length: batch.shardCount }, (_, shard) => ({ kind: 'shard' as const, batchId: batch.batchId, shard }));
}

const keyOf = (paymentId: string): PaymentKey => {
  const key = parsePaymentId(paymentId);
  if (!key) throw new Error('Disbursement message names no valid payment');
  return key;
};

export function createDisbursementUseCases(deps: DisbursementDependencies) {
  const { batches, accounts, entitlements, provider, queue, clock, deaths } = deps;
  const notices = deps.notices ?? noNotices;

  /** What a unit of work did: status moves (for the counters) and batches to look at once it is done. */
  interface Work {
    moves: Moved[];
    batchIds: Set<string>;
  }
  const newWork = (): Work => ({ moves: [], batchIds: new Set() });

  /** A status write guarded by the lifecycle (narrowed to `only`, the status just read), releasing the entitlement of a payment that gives it up. */
  async function move(
    payment: PaymentRecord,
    only: PaymentStatus[],
    to: PaymentStatus,
    reasonCode: FailureReasonCode | 'NO_LINKED_ACCOUNT' | 'DECEASED' | null,
    set?: Parameters<BatchStore['transitionPayment']>[3]['set'],
    guard: Pick<Parameters<BatchStore['transitionPayment']>[3], 'handOffsStill' | 'unconfirmedUntil'> = {},
  ) {
    const moved = await batches.transitionPayment(payment, allowedFrom('payment', to, only), to, { reasonCode, at: clock.now().toISOString(), ...(set ? { set } : {}), ...guard });
    if (moved && (to === 'FAILED' || to === 'REJECTED' || to === 'CANCELLED')) {
      await entitlements.release({ personHash: payment.personHash, programCode: payment.programCode, period: payment.period, paymentId: payment.paymentId });
    }
    if (moved) await notices.afterMove(moved);
    return moved;
  }

  /** Records a provider's outcome on a QUEUED or SENT payment; returns the move, if any. */
  async function recordOutcome(payment: PaymentRecord, outcome: TransferOutcome): Promise<Moved | undefined> {
    const from = payment.status;
    const to: PaymentStatus = outcome.status;
    if (from === to) return undefined;
    if (from !== 'QUEUED' && from !== 'SENT') return undefined;
    // Guarded by the status just read: two deliveries racing cannot both record (nor count) a change.
    // A PAID transfer waits for a statement's confirmation; overdue after its provider's settlement window.
    const unconfirmedUntil = to === 'PAID' ? new Date(clock.now().getTime() + settlementWindowHours(payment.payout?.provider.code ?? '') * 3_600_000).toISOString() : undefined;
    const moved = await move(payment, [from], to, outcome.status === 'FAILED' ? outcome.reasonCode : null, undefined, unconfirmedUntil ? { unconfirmedUntil } : {});
    return moved ? { batchId: payment.batchId, from, to, amount: payment.amount } : undefined;
  }

  /**
   * The account is the one linked when the payment is queued: it is copied onto
   * the payment (masked for display, in full for the provider) in the same
   * conditional write that queues it. This write comes before the provider is
   * called, so that a redelivery after a crash pays the same provider and
   * account with the same reference, whatever was linked meanwhile. The same
   * write claims the hand-off (the provider is called next).
   */
  async function queuePayment(payment: PaymentRecord, link: AccountLinkRecord): Promise<PaymentRecord | undefined> {
    return batches.transitionPayment(payment, allowedFrom('payment', 'QUEUED', ['VERIFIED', 'ON_HOLD']), 'QUEUED', {
      reasonCode: null,
      at: clock.now().toISOString(),
      set: {
        account: { provider: link.provider, accountNumberMasked: link.accountNumberMasked },
        payout: { provider: link.provider, accountNumber: link.accountNumber, accountName: link.accountName, linkId: link.linkId },
      },
      claimHandOff: true,
    });
  }

  /** Where one payment of a group stands after its first step: held, or handed off (to send), or neither (nothing to do). */
  interface Prepared {
    held?: PaymentRecord;
    handedOff?: PaymentRecord;
  }

  /**
   * Queues (or holds) one payment, read with its group, and claims its
   * hand-off: a payment queued here is claimed by its QUEUED write; one found
   * QUEUED (a redelivery) by a claim of its own. Every status change is pushed
   * to `work.moves` as it happens.
   */
  async function prepare(current: PaymentRecord, link: AccountLinkRecord | undefined, work: Work, rereads = 0): Promise<Prepared> {
    work.batchIds.add(current.batchId);
    if (current.status === 'VERIFIED' || current.status === 'ON_HOLD') {
      if (!link) {
        if (current.status === 'VERIFIED' && (await move(current, ['VERIFIED'], 'ON_HOLD', 'NO_LINKED_ACCOUNT'))) {
          work.moves.push({ batchId: current.batchId, from: 'VERIFIED', to: 'ON_HOLD', amount: current.amount });
          return { held: current };
        }
        await repairAfterRedelivery(current);
        return {};
      }
      // A released held payment makes a COMPLETED batch APPROVED again, before it moves: a death right
      // after the queueing write then leaves an APPROVED batch, which the reconciler watches.
      if (current.status === 'ON_HOLD') await reopenBatch(current.batchId);
      const queued = await queuePayment(current, link);
      if (!queued) {
        // Changed meanwhile (another delivery queued or held it): read both again and look once more.
        if (rereads >= 3) throw new Error('A payment kept changing while it was being queued');
        const [again, relinked] = await Promise.all([batches.getPayment(current), accounts.getCurrent(current.personHash)]);
        if (!again) throw new Error('Disbursement message names a payment that does not exist');
        return prepare(again, relinked, work, rereads + 1);
      }
      work.moves.push({ batchId: current.batchId, from: current.status, to: 'QUEUED', amount: current.amount });
      return { handedOff: queued };
    }
    if (current.status !== 'QUEUED') {
      await repairAfterRedelivery(current); // sent, settled or failed already
      return {};
    }
    // A redelivery: a hand-off of its own (a death event cancels a QUEUED payment only while it has none).
    const claimed = await batches.claimHandOff(current, clock.now().toISOString());
    if (claimed) return { handedOff: claimed };
    // Not QUEUED any more: cancelled by a death event, or another delivery got there first.
    const again = await batches.getPayment(current);
    if (again) await repairAfterRedelivery(again);
    return {};
  }

  /**
   * Sends a payment whose hand-off this delivery claimed, given its person's
   * death marker as read after the claim: whichever of the claim and a death
   * event's marker comes first, nothing for a period after a recorded death
   * reaches the provider (docs/decisions.md 131).
   */
  async function sendHandedOff(payment: PaymentRecord, death: DeathMarker | undefined, work: Work): Promise<void> {
    if (await stoppedByDeath(payment, death, work)) return;
    const payout = payment.payout;
    if (!payout) throw new Error('A queued payment has no payout account');
    if (attemptOf(payment) > 1) {
      const earlier = await earlierAttemptOutcome(payment);
      if (earlier) {
        // An earlier attempt whose outcome was unknown went through after all: the payment is settled by it.
        const recorded = await recordOutcome(payment, earlier);
        if (recorded) work.moves.push(recorded);
        return;
      }
    }
    // The provider deduplicates by reference: a crash after this call and a redelivery send the same
    // reference again and get the first outcome back, never a second transfer. Attempt n has its own
    // reference (`<paymentId>-<n>`), fixed by the conditional write that started it.
    const outcome = await provider.send({
      reference: transferRef(payment.paymentId, attemptOf(payment)),
      amount: payment.amount,
      provider: payout.provider,
      accountNumber: payout.accountNumber,
      accountName: payout.accountName,
    });
    const recorded = await recordOutcome(payment, outcome);
    if (recorded) work.moves.push(recorded);
  }

  /**
   * Before attempt n > 1 is sent: the payment must still hold its entitlement
   * (taken again when the retry was approved; a reconciler release racing that
   * approval could have given it back), and an earlier attempt that ended
   * RETRIES_EXHAUSTED (no answer from the provider, so its outcome was never
   * certain) is looked up: if the provider took it after all, its outcome is the
   * payment's, and nothing is sent again. Throws (the message is retried, and in
   * the end dead-lettered) when another payment holds the entitlement now.
   */
  async function earlierAttemptOutcome(payment: PaymentRecord): Promise<TransferOutcome | undefined> {
    const claim = await entitlements.claim({
      personHash: payment.personHash,
      programCode: payment.programCode,
      period: payment.period,
      paymentId: payment.paymentId,
      batchId: payment.batchId,
      seq: Number.MAX_SAFE_INTEGER,
    });
    if (!claim.held) throw new Error('A new attempt found its entitlement held by another payment; it is not sent');
    const ambiguous = new Set(
      historyWithAttempts(payment.history)
        .filter((entry) => entry.status === 'FAILED' && entry.reasonCode === 'RETRIES_EXHAUSTED')
        .map((entry) => entry.attempt),
    );
    for (const attempt of ambiguous) {
      if (attempt >= attemptOf(payment)) continue;
      const known = await provider.lookup(transferRef(payment.paymentId, attempt));
      if (known && known.status !== 'FAILED') return known;
    }
    return undefined;
  }

  /**
   * A redelivered message finds its payment past the step it was for: the
   * earlier delivery may have died after the status write and before what
   * follows it. Redo what is idempotent: give back the entitlement of a failed
   * payment (the batch is looked at once the group is done). Counters are not
   * forced from a tally here: a recount racing with other deliveries'
   * increments would count some moves twice. They are made exact when the
   * batch completes.
   */
  async function repairAfterRedelivery(payment: PaymentRecord): Promise<undefined> {
    if (payment.status === 'FAILED' || payment.status === 'CANCELLED' || payment.status === 'REJECTED') {
      await entitlements.release({ personHash: payment.personHash, programCode: payment.programCode, period: payment.period, paymentId: payment.paymentId });
    }
    return undefined;
  }

  /**
   * A QUEUED payment (its hand-off claimed) of a person whose death is recorded,
   * for a period after the month of death: CANCELLED DECEASED, and true. An
   * earlier hand-off (a redelivery) may have reached the provider: what the
   * provider knows is recorded instead (and flagged for the province).
   */
  async function stoppedByDeath(payment: PaymentRecord, death: DeathMarker | undefined, work: Work): Promise<boolean> {
    if (!death || !isAfterDeath(payment.period, death.dateOfDeath)) return false;
    if ((payment.handOffs ?? 1) > 1) {
      const known = await provider.lookup(transferRef(payment.paymentId, attemptOf(payment)));
      if (known) {
        const recorded = await recordOutcome(payment, known);
        if (recorded) work.moves.push(recorded);
        await batches.flagPaidAfterDeath(payment, death.dateOfDeath);
        return true;
      }
    }
    if (await move(payment, ['QUEUED'], 'CANCELLED', 'DECEASED')) {
      work.moves.push({ batchId: payment.batchId, from: 'QUEUED', to: 'CANCELLED', amount: payment.amount });
    }
    return true;
  }

  /** A released held payment makes a COMPLETED batch APPROVED again until it settles. */
  async function reopenBatch(batchId: string): Promise<void> {
    try {
      await batches.transitionBatch(batchId, allowedFrom('batch', 'APPROVED', ['COMPLETED']), 'APPROVED', {}, clock.now().toISOString());
    } catch (error) {
      if (!(error instanceof ConditionFailed)) throw error;
    }
  }

  async function fanOut(message: Extract<DisbursementMessage, { kind: 'shard' }>): Promise<void> {
    const batch = await batches.getBatch(message.batchId);
    if (!batch || (batch.status !== 'APPROVED' && batch.status !== 'COMPLETED')) return;
    // Nothing of a scheduled batch is sent before it starts at its scheduledFor (a stray page does nothing).
    if (!hasStarted(batch)) return;
    const page = await batches.listPayments(
      { batchId: batch.batchId, shardCount: message.shard + 1 },
      { status: 'VERIFIED', limit: FAN_OUT_PAGE_SIZE, after: message.after ?? { shard: message.shard } },
    );
    // Next page first: if this invocation dies after sending, the redelivered page is sent again,
    // and the duplicates are no-ops for payments already past VERIFIED.
    const next = page.next && (page.next as { shard?: number }).shard === message.shard ? page.next : undefined;
    await queue.send([
      ...paymentGroups(page.items.map(toSend)),
      ...(next ? [{ kind: 'shard' as const, batchId: batch.batchId, shard: message.shard, after: next }] : []),
    ]);
  }

  /**
   * Updates the counters of every batch a unit of work moved payments of (one
   * update per batch, which returns the batch), and completes the batches that
   * have nothing left to settle. A batch touched without a move (a redelivery)
   * is read instead.
   */
  async function settle(work: Work): Promise<void> {
    const at = clock.now().toISOString();
    const deltas = deltasOf(work.moves);
    for (const batchId of new Set([...work.batchIds, ...deltas.keys()])) {
      const moves = deltas.get(batchId);
      const batch = moves ? await batches.addToCounters(batchId, moves, at) : await batches.getBatch(batchId);
      if (batch?.status === 'COMPLETED' && moves?.some((move) => move.count < 0 && unsettledPaymentStatuses.includes(move.status))) {
        // This unit moved a payment out of an unsettled status, yet the batch completed before it counted the
        // move: the completion's tally already had it, so it is now counted twice. That happens only when a
        // death left the counters short of an unsettled payment (a new attempt's start, uncounted): the
        // counters reached zero early. Back into the watch: the reconciler recounts it.
        await batches.watchBatch(batchId);
        continue;
      }
      if (batch) await completeIfSettled(batch);
    }
  }

  /**
   * COMPLETED when no payment is left RECEIVED, VERIFIED, QUEUED or SENT. The
   * counters say when to look (they reach zero once every unit that moved a
   * payment has counted its move); the payments themselves decide, and the
   * completion sets the counters from their tally. Counters that lag because a
   * unit died before counting are the reconciler's to repair (shared/app/repair.ts):
   * refreshing them here, while other deliveries still count their moves,
   * could count some moves twice.
   */
  async function completeIfSettled(batch: BatchRecord, force = false): Promise<BatchRecord> {
    if (batch.status !== 'APPROVED') return batch;
    const pending = unsettledPaymentStatuses.reduce((sum, status) => sum + (batch.counts[status] ?? 0), 0);
    if (pending > 0 && !force) return batch;
    const tally = await batches.tallyPayments(batch);
    const left = unsettledPaymentStatuses.reduce((sum, status) => sum + tally.counts[status], 0);
    if (left > 0) return batch;
    try {
      return await batches.transitionBatch(batch.batchId, allowedFrom('batch', 'COMPLETED'), 'COMPLETED', tally, clock.now().toISOString());
    } catch (error) {
      if (!(error instanceof ConditionFailed)) throw error;
      return error.current ?? batch;
    }
  }

  /**
   * Queues and sends a group of payments: two batched reads (the payments and
   * their people's accounts), each payment queued (or held) and its hand-off
   * claimed, one batched read of the handed-off people's death markers, then
   * each payment sent, a few at a time. One payment failing does not stop the
   * others; the counters are updated for every move made, then the group fails
   * (and is delivered again) if any payment did.
   */
  async function disburseGroup(group: readonly PaymentToSend[]): Promise<void> {
    const [payments, links] = await Promise.all([
      batches.getPayments(group.map((item) => keyOf(item.paymentId))),
      accounts.getCurrentMany(group.map((item) => item.personHash)),
    ]);
    const byId = new Map(payments.map((payment) => [payment.paymentId, payment]));
    const work = newWork();
    const held: PaymentRecord[] = [];
    const handedOff: PaymentRecord[] = [];
    const failures: unknown[] = [];
    await inParallel(group, PARALLEL_SENDS, async (item) => {
      try {
        const payment = byId.get(item.paymentId);
        if (!payment) throw new Error('Disbursement message names a payment that does not exist');
        if (payment.personHash !== item.personHash) throw new Error('Disbursement message names a payment with another person');
        const prepared = await prepare(payment, links.get(payment.personHash), work);
        if (prepared.held) held.push(prepared.held);
        if (prepared.handedOff) handedOff.push(prepared.handedOff);
      } catch (error) {
        failures.push(error);
      }
    });
    if (handedOff.length > 0) {
      try {
        // Read after every claim of the group (docs/decisions.md 131): one request, not one per payment.
        const markers = await deaths.deathsOf(handedOff.map((payment) => payment.personHash));
        await inParallel(handedOff, PARALLEL_SENDS, async (payment) => {
          try {
            await sendHandedOff(payment, markers.get(payment.personHash), work);
          } catch (error) {
            failures.push(error);
          }
        });
      } catch (error) {
        failures.push(error); // the markers could not be read: nothing was sent, the claimed payments stay QUEUED
      }
    }
    // Counted even when some sends failed (those payments stay QUEUED and the message is retried).
    await settle(work);
    if (held.length > 0) {
      // An account linked while these were being held found nothing to release: look again, once for the group.
      const linkedMeanwhile = await accounts.getCurrentMany(held.map((payment) => payment.personHash));
      await queue.send(paymentGroups(held.filter((payment) => linkedMeanwhile.has(payment.personHash)).map(toSend)));
    }
    if (failures.length > 0) throw new PaymentGroupError(failures, group.length);
  }

  /** One message of the disbursement queue. */
  async function handle(message: DisbursementMessage): Promise<void> {
    if (message.kind === 'shard') return fanOut(message);
    return disburseGroup(message.payments);
  }

  return {
    /** Maker-checker approval: a different official, only in AWAITING_APPROVAL; then the payments are fanned out. */
    async approve(principal: Principal, batchId: string): Promise<BatchRecord> {
      const batch = /^[0-9A-HJKMNP-TV-Z]{26}$/.test(batchId) ? await batches.getBatch(batchId) : undefined;
      if (!batch || !principal.provinceCode || batch.provinceCode !== principal.provinceCode) throw new NotFoundError('No batch with this id.');
      if (batch.createdBy === principal.sub) {
        throw new ForbiddenError('A batch is approved by a second official: the one who created it cannot approve it.');
      }
      if ((batch.status === 'APPROVED' || batch.status === 'COMPLETED') && batch.approvedBy === principal.sub) {
        // A retried approval: fan out again, in case the first attempt died before it could (fan-out
        // only lists VERIFIED payments, so this sends nothing twice that matters). A scheduled batch
        // not yet started is left to its start.
        if (hasStarted(batch)) await queue.send(shardMessages(batch));
        return batch;
      }
      if (batch.status !== 'AWAITING_APPROVAL') throw new InvalidStateError(`The batch is ${batch.status}; only a batch AWAITING_APPROVAL can be approved.`);
      let approved: BatchRecord;
      const now = clock.now().toISOString();
      // A batch whose scheduledFor has already come starts with its approval; a later one is started by the
      // reconciler at its time (docs/decisions.md 115) and sends nothing before.
      const startsNow = Boolean(batch.scheduledFor) && (batch.scheduledFor ?? '') <= now;
      try {
        approved = await batches.transitionBatch(batchId, allowedFrom('batch', 'APPROVED', ['AWAITING_APPROVAL']), 'APPROVED', { approvedBy: principal.sub, ...(startsNow ? { startedAt: now } : {}) }, now);
      } catch (error) {
        if (!(error instanceof ConditionFailed)) throw error;
        if (error.current && error.current.approvedBy === principal.sub && error.current.status !== 'AWAITING_APPROVAL') {
          if (hasStarted(error.current)) await queue.send(shardMessages(error.current));
          return error.current;
        }
        throw new InvalidStateError(`The batch is ${error.current?.status ?? 'gone'}; it was approved or changed meanwhile.`);
      }
      if (!hasStarted(approved)) return approved; // scheduled: its payments stay VERIFIED until scheduledFor
      await queue.send(shardMessages(approved));
      // A batch with nothing to pay (every payment rejected) is complete at once.
      if (approved.counts.VERIFIED === 0) return completeIfSettled(approved, true);
      return approved;
    },

    handle,

    /**
     * After the last delivery failed (dead-letter queue): a payment still QUEUED
     * ends FAILED RETRIES_EXHAUSTED, unless the provider took it; a payment never
     * queued is tried once more from here.
     */
    async exhausted(message: DisbursementMessage): Promise<void> {
      if (message.kind === 'shard') {
        // A fan-out page that kept failing: try it once more from here, it is idempotent.
        return fanOut(message);
      }
      const payments = await batches.getPayments(message.payments.map((item) => keyOf(item.paymentId)));
      const work = newWork();
      const neverQueued: PaymentToSend[] = [];
      const handOffHorizon = new Date(clock.now().getTime() - (deps.handOffWindowMs ?? 0)).toISOString();
      let inFlight = 0;
      await inParallel(payments, PARALLEL_SENDS, async (payment) => {
        work.batchIds.add(payment.batchId);
        if (payment.status === 'VERIFIED' || payment.status === 'ON_HOLD') {
          neverQueued.push(toSend(payment));
          return;
        }
        if (payment.status !== 'QUEUED') {
          await repairAfterRedelivery(payment);
          return;
        }
        // Another delivery (a re-drive, a duplicate) may be calling the provider right now: a lookup
        // before its call arrives would say "unknown" and this would fail a payment the provider then takes.
        if (payment.handOffAt !== undefined && payment.handOffAt > handOffHorizon) {
          inFlight++;
          return;
        }
        // Every end decided below holds only if no delivery claimed a hand-off since the payment was read.
        const unlessHandedOffSince = { handOffsStill: { count: payment.handOffs } };
        // A transfer the provider accepted on some attempt is recorded, never failed.
        const known = await provider.lookup(transferRef(payment.paymentId, attemptOf(payment)));
        if (known) {
          const moved = await recordOutcome(payment, known);
          if (moved) work.moves.push(moved);
          return;
        }
        // Never taken, and its beneficiary died before its period: CANCELLED DECEASED rather than FAILED.
        const death = await deaths.deathOf(payment.personHash);
        if (death && isAfterDeath(payment.period, death.dateOfDeath)) {
          if (await move(payment, ['QUEUED'], 'CANCELLED', 'DECEASED', undefined, unlessHandedOffSince)) {
            work.moves.push({ batchId: payment.batchId, from: 'QUEUED', to: 'CANCELLED', amount: payment.amount });
          }
          return;
        }
        if (await move(payment, ['QUEUED'], 'FAILED', 'RETRIES_EXHAUSTED', undefined, unlessHandedOffSince)) {
          work.moves.push({ batchId: payment.batchId, from: 'QUEUED', to: 'FAILED', amount: payment.amount });
        }
      });
      await settle(work);
      // Never queued: try once more from here, and let a failure keep the message in the dead-letter queue.
      if (neverQueued.length > 0) await disburseGroup(neverQueued);
      if (inFlight > 0) throw new HandOffInFlightError(inFlight);
    },

    /** Settlement reported by a provider (signed callback), and batch completion. */
    recordOutcome: async (payment: PaymentRecord, outcome: TransferOutcome) => {
      const moved = await recordOutcome(payment, outcome);
      if (moved) await settle({ moves: [moved], batchIds: new Set() });
      return moved;
    },
    /** Counts moves made elsewhere (a returned payment) and completes what is settled. */
    settleCounters: (moves: Moved[]) => settle({ moves, batchIds: new Set() }),
    /** The beneficiary's notice of a status change made elsewhere (a return). */
    notifyAfterMove: (payment: PaymentRecord) => notices.afterMove(payment),
    /** What follows a status write and may have been lost with a unit that died after it (a FAILED payment's release). */
    redoAfterEffects: (payment: PaymentRecord) => repairAfterRedelivery(payment),
  };
}

export type DisbursementUseCases = ReturnType<typeof createDisbursementUseCases>;
