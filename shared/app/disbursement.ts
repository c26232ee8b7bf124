import type { BatchRecord, PaymentRecord } from '../domain/batch.js';
import { parsePaymentId } from '../domain/batch.js';
import type { Clock } from '../domain/dates.js';
import { ForbiddenError, InvalidStateError, NotFoundError } from '../domain/errors.js';
import type { PaymentStatus } from '../domain/lifecycle.js';
import { unsettledPaymentStatuses } from '../domain/lifecycle.js';
import type { FailureReasonCode } from '../domain/reason-codes.js';
import type { Principal } from '../http/principal.js';
import type { AccountLinkRecord, AccountStore } from '../ports/account-store.js';
import { ConditionFailed, type BatchStore, type CounterDelta, type PagePosition } from '../ports/batch-store.js';
import type { EntitlementStore } from '../ports/entitlement-store.js';
import type { PaymentProvider, TransferOutcome } from '../ports/payment-provider.js';
import type { WorkQueue } from '../ports/work-queue.js';

/**
 * Messages of the disbursement queue (keys only): a page of an approved
 * batch's shard to fan out, or one payment to queue and send.
 */
export type DisbursementMessage =
  | { kind: 'shard'; batchId: string; shard: number; after?: PagePosition | undefined }
  | { kind: 'payment'; paymentId: string; personHash: string };

/** Payments fanned out per shard page; SendMessageBatch takes 10 at a time. */
export const FAN_OUT_PAGE_SIZE = 500;

export interface DisbursementDependencies {
  batches: BatchStore;
  accounts: AccountStore;
  entitlements: EntitlementStore;
  provider: PaymentProvider;
  queue: WorkQueue<DisbursementMessage>;
  clock: Clock;
}

/** What happened to one payment, for the batch's counters. */
interface Moved {
  batchId: string;
  from: PaymentStatus;
  to: PaymentStatus;
  amount: number;
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

/**
 * After a person links an account: every ON_HOLD payment of theirs goes back to
 * the disbursement queue, where it is queued with the new account. Returns how many.
 */
export async function releaseHeldPayments(deps: { batches: BatchStore; queue: WorkQueue<DisbursementMessage> }, personHash: string): Promise<number> {
  let released = 0;
  let after: PagePosition | undefined;
  do {
    const page = await deps.batches.listPaymentsByPerson(personHash, { limit: 100, after });
    const held = page.items.filter((payment) => payment.status === 'ON_HOLD');
    await deps.queue.send(held.map((payment) => ({ kind: 'payment' as const, paymentId: payment.paymentId, personHash })));
    released += held.length;
    after = page.next;
  } while (after);
  return released;
}

function shardMessages(batch: Pick<BatchRecord, 'batchId' | 'shardCount'>): DisbursementMessage[] {
  return Array.from({ length: batch.shardCount }, (_, shard) => ({ kind: 'shard' as const, batchId: batch.batchId, shard }));
}

export function createDisbursementUseCases(deps: DisbursementDependencies) {
  const { batches, accounts, entitlements, provider, queue, clock } = deps;

  async function move(payment: PaymentRecord, from: PaymentStatus[], to: PaymentStatus, reasonCode: FailureReasonCode | 'NO_LINKED_ACCOUNT' | null, set?: Parameters<BatchStore['transitionPayment']>[3]['set']) {
    const moved = await batches.transitionPayment(payment, from, to, { reasonCode, at: clock.now().toISOString(), ...(set ? { set } : {}) });
    if (moved && (to === 'FAILED' || to === 'REJECTED' || to === 'CANCELLED')) {
      await entitlements.release({ personHash: payment.personHash, programCode: payment.programCode, period: payment.period, paymentId: payment.paymentId });
    }
    return moved;
  }

  /** Records a provider's outcome on a QUEUED or SENT payment; returns the move, if any. */
  async function recordOutcome(payment: PaymentRecord, outcome: TransferOutcome): Promise<Moved | undefined> {
    const from = payment.status;
    const to: PaymentStatus = outcome.status;
    if (from === to) return undefined;
    if (from !== 'QUEUED' && from !== 'SENT') return undefined;
    // Guarded by the status just read: two deliveries racing cannot both record (nor count) a change.
    const moved = await move(payment, [from], to, outcome.status === 'FAILED' ? outcome.reasonCode : null);
    return moved ? { batchId: payment.batchId, from, to, amount: payment.amount } : undefined;
  }

  /**
   * The account is the one linked when the payment is queued: it is copied onto
   * the payment (masked for display, in full for the provider) in the same
   * conditional write that queues it.
   */
  async function queuePayment(payment: PaymentRecord, link: AccountLinkRecord): Promise<PaymentRecord | undefined> {
    return batches.transitionPayment(payment, ['VERIFIED', 'ON_HOLD'], 'QUEUED', {
      reasonCode: null,
      at: clock.now().toISOString(),
      set: {
        account: { provider: link.provider, accountNumberMasked: link.accountNumberMasked },
        payout: { provider: link.provider, accountNumber: link.accountNumber, accountName: link.accountName, linkId: link.linkId },
      },
    });
  }

  /** Queues (or holds) and sends one payment; every status change is pushed to `moves` as it happens. */
  async function disburseOne(paymentId: string, personHash: string, moves: Moved[]): Promise<void> {
    const key = parsePaymentId(paymentId);
    if (!key) throw new Error('Disbursement message names no valid payment');
    const [payment, link] = await Promise.all([batches.getPayment(key), accounts.getCurrent(personHash)]);
    if (!payment) throw new Error('Disbursement message names a payment that does not exist');
    let current: PaymentRecord = payment;

    if (current.status === 'VERIFIED' || current.status === 'ON_HOLD') {
      if (!link) {
        if (current.status === 'VERIFIED' && (await move(current, ['VERIFIED'], 'ON_HOLD', 'NO_LINKED_ACCOUNT'))) {
          moves.push({ batchId: current.batchId, from: 'VERIFIED', to: 'ON_HOLD', amount: current.amount });
          // An account linked while this payment was being held found nothing to release: look again.
          if (await accounts.getCurrent(personHash)) await queue.send([{ kind: 'payment', paymentId, personHash }]);
          return;
        }
        return repairAfterRedelivery(current);
      }
      const queued = await queuePayment(current, link);
      if (!queued) return disburseOne(paymentId, personHash, moves); // changed meanwhile: look again
      moves.push({ batchId: current.batchId, from: current.status, to: 'QUEUED', amount: current.amount });
      if (current.status === 'ON_HOLD') await reopenBatch(current.batchId);
      current = queued;
    }
    if (current.status !== 'QUEUED') return repairAfterRedelivery(current); // sent, settled or failed already

    const payout = current.payout;
    if (!payout) throw new Error('A queued payment has no payout account');
    // The provider deduplicates by reference: a crash after this call and a redelivery send the same
    // reference again and get the first outcome back, never a second transfer.
    const outcome = await provider.send({
      reference: current.paymentId,
      amount: current.amount,
      provider: payout.provider,
      accountNumber: payout.accountNumber,
      accountName: payout.accountName,
    });
    const recorded = await recordOutcome(current, outcome);
    if (recorded) moves.push(recorded);
  }

  /**
   * A redelivered message finds its payment past the step it was for: the
   * earlier delivery may have died after the status write and before what
   * follows it. Redo what is idempotent: give back the entitlement of a failed
   * payment, and check whether the batch is settled. (Counters are not forced
   * from a tally here: a recount racing with other deliveries' increments would
   * count some moves twice. They are made exact when the batch completes.)
   */
  async function repairAfterRedelivery(payment: PaymentRecord): Promise<void> {
    if (payment.status === 'FAILED' || payment.status === 'CANCELLED' || payment.status === 'REJECTED') {
      await entitlements.release({ personHash: payment.personHash, programCode: payment.programCode, period: payment.period, paymentId: payment.paymentId });
    }
    await completeIfSettled(payment.batchId);
  }

  /** A released held payment makes a COMPLETED batch APPROVED again until it settles. */
  async function reopenBatch(batchId: string): Promise<void> {
    try {
      await batches.transitionBatch(batchId, ['COMPLETED'], 'APPROVED', {}, clock.now().toISOString());
    } catch (error) {
      if (!(error instanceof ConditionFailed)) throw error;
    }
  }

  async function fanOut(message: Extract<DisbursementMessage, { kind: 'shard' }>): Promise<void> {
    const batch = await batches.getBatch(message.batchId);
    if (!batch || (batch.status !== 'APPROVED' && batch.status !== 'COMPLETED')) return;
    const page = await batches.listPayments(
      { batchId: batch.batchId, shardCount: message.shard + 1 },
      { status: 'VERIFIED', limit: FAN_OUT_PAGE_SIZE, after: message.after ?? { shard: message.shard } },
    );
    // Next page first: if this invocation dies after sending, the redelivered page is sent again,
    // and the duplicates are no-ops for payments already past VERIFIED.
    const next = page.next && (page.next as { shard?: number }).shard === message.shard ? page.next : undefined;
    await queue.send([
      ...page.items.map((payment): DisbursementMessage => ({ kind: 'payment', paymentId: payment.paymentId, personHash: payment.personHash })),
      ...(next ? [{ kind: 'shard' as const, batchId: batch.batchId, shard: message.shard, after: next }] : []),
    ]);
  }

  /** Updates counters after a set of moves, and completes batches with nothing left to settle. */
  async function settleCounters(moves: Moved[]): Promise<void> {
    const at = clock.now().toISOString();
    for (const [batchId, deltas] of deltasOf(moves)) {
      await batches.addToCounters(batchId, deltas, at);
      await completeIfSettled(batchId);
    }
  }

  /**
   * COMPLETED when no payment is left RECEIVED, VERIFIED, QUEUED or SENT. The
   * counters say when to look; the payments themselves decide (counters can lag
   * after a crash, the tally cannot).
   */
  async function completeIfSettled(batchId: string, force = false): Promise<BatchRecord | undefined> {
    const batch = await batches.getBatch(batchId);
    if (!batch || batch.status !== 'APPROVED') return batch;
    const pending = unsettledPaymentStatuses.reduce((sum, status) => sum + (batch.counts[status] ?? 0), 0);
    if (pending > 0 && !force) return batch;
    const tally = await batches.tallyPayments(batch);
    const left = unsettledPaymentStatuses.reduce((sum, status) => sum + tally.counts[status], 0);
    const at = clock.now().toISOString();
    try {
      return left === 0
        ? await batches.transitionBatch(batchId, ['APPROVED'], 'COMPLETED', tally, at)
        : await batches.transitionBatch(batchId, ['APPROVED'], 'APPROVED', tally, at);
    } catch (error) {
      if (!(error instanceof ConditionFailed)) throw error;
      return error.current;
    }
  }

  /** One message of the disbursement queue. */
  async function handle(message: DisbursementMessage): Promise<void> {
    if (message.kind === 'shard') return fanOut(message);
    const moves: Moved[] = [];
    try {
      await disburseOne(message.paymentId, message.personHash, moves);
    } finally {
      // Counted even when the send then fails (the payment stays QUEUED and the message is retried).
      await settleCounters(moves);
    }
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
        // only lists VERIFIED payments, so this sends nothing twice that matters).
        await queue.send(shardMessages(batch));
        return batch;
      }
      if (batch.status !== 'AWAITING_APPROVAL') throw new InvalidStateError(`The batch is ${batch.status}; only a batch AWAITING_APPROVAL can be approved.`);
      let approved: BatchRecord;
      try {
        approved = await batches.transitionBatch(batchId, ['AWAITING_APPROVAL'], 'APPROVED', { approvedBy: principal.sub }, clock.now().toISOString());
      } catch (error) {
        if (!(error instanceof ConditionFailed)) throw error;
        if (error.current && error.current.approvedBy === principal.sub && error.current.status !== 'AWAITING_APPROVAL') {
          await queue.send(shardMessages(error.current));
          return error.current;
        }
        throw new InvalidStateError(`The batch is ${error.current?.status ?? 'gone'}; it was approved or changed meanwhile.`);
      }
      await queue.send(shardMessages(approved));
      // A batch with nothing to pay (every payment rejected) is complete at once.
      if (approved.counts.VERIFIED === 0) return (await completeIfSettled(batchId, true)) ?? approved;
      return approved;
    },

    handle,

    /** After the last delivery failed (dead-letter queue): ends a queued payment in FAILED RETRIES_EXHAUSTED, unless the provider took it. */
    async exhausted(message: DisbursementMessage): Promise<void> {
      if (message.kind === 'shard') {
        // A fan-out page that kept failing: try it once more from here, it is idempotent.
        return fanOut(message);
      }
      const key = parsePaymentId(message.paymentId);
      const payment = key ? await batches.getPayment(key) : undefined;
      if (!payment) return;
      if (payment.status === 'VERIFIED' || payment.status === 'ON_HOLD') {
        // Never queued: try once more from here, and let a failure keep the message in the dead-letter queue.
        return handle(message);
      }
      if (payment.status !== 'QUEUED') return repairAfterRedelivery(payment);
      // A transfer the provider accepted on some attempt is recorded, never failed.
      const known = await provider.lookup(payment.paymentId);
      if (known) {
        const moved = await recordOutcome(payment, known);
        await settleCounters(moved ? [moved] : []);
        return;
      }
      const failed = await move(payment, ['QUEUED'], 'FAILED', 'RETRIES_EXHAUSTED');
      await settleCounters(failed ? [{ batchId: payment.batchId, from: 'QUEUED', to: 'FAILED', amount: payment.amount }] : []);
    },

    /** Settlement reported by a provider (signed callback), and batch completion. */
    recordOutcome: async (payment: PaymentRecord, outcome: TransferOutcome) => {
      const moved = await recordOutcome(payment, outcome);
      if (moved) await settleCounters([moved]);
      return moved;
    },
    settleCounters,
    completeIfSettled,
  };
}

export type DisbursementUseCases = ReturnType<typeof createDisbursementUseCases>;
