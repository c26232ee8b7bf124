import type { BatchRecord, PaymentRecord } from '../domain/batch.js';
import { attemptOf, parsePaymentId } from '../domain/batch.js';
import type { Clock } from '../domain/dates.js';
import { ConflictError, ForbiddenError, InvalidStateError, NotFoundError, ValidationFailedError, type ItemError } from '../domain/errors.js';
import { allowedFrom, type PaymentStatus } from '../domain/lifecycle.js';
import { hasLiveRetryClaim, MAX_PAYMENTS_PER_RETRY, retryRefusal, type RetryRecord, type RetryStatus } from '../domain/retry.js';
import type { AccountStore } from '../ports/account-store.js';
import { ConditionFailed, type BatchStore, type CounterDelta, type PagePosition, type PaymentKey } from '../ports/batch-store.js';
import type { EntitlementStore } from '../ports/entitlement-store.js';
import type { WorkQueue } from '../ports/work-queue.js';
import { inParallel } from './concurrency.js';
import { paymentGroups, type DisbursementMessage, type PaymentToSend } from './disbursement.js';
import { noNotices, type Notices } from './notices.js';
import type { Principal } from './principal.js';

/**
 * New attempts of failed or returned payments (domain.md "After the money
 * leaves", api.md 1.1 "New attempts"; docs/decisions.md 90-99). Every guard is a
 * single-item conditional write:
 * - a payment is claimed for one retry at a time, on the attempt it is on
 *   (BatchStore.claimForRetry): two retries racing cannot both take it;
 * - the new attempt is started by a status write that requires the retry's live
 *   claim on that attempt and raises `attempt` (transitionPayment `expect`): two
 *   approvals, a replayed approval or the reconciler racing it start it once;
 * - a FAILED payment gave its entitlement up: the approval claims it again before
 *   the new attempt starts, and a payment whose entitlement another payment holds
 *   now is skipped, never paid;
 * - the transfer reference of attempt n is `<paymentId>-<n>`, fixed by that write:
 *   a redelivered message sends the same reference, which the provider deduplicates.
 * An approval that dies half way is finished by the same approver replaying it or
 * by the reconciler (the retry stays in its dispatch index until done).
 */

/** Payment statuses of a retry's payments that mean its attempt is still unsettled. */
const IN_FLIGHT: readonly PaymentStatus[] = ['QUEUED', 'SENT'];

export interface RetryDependencies {
  batches: BatchStore;
  accounts: AccountStore;
  entitlements: EntitlementStore;
  queue: WorkQueue<DisbursementMessage>;
  clock: Clock;
  newRetryId: () => string;
  /** Beneficiary notices (a new attempt held for want of an account asks for one). */
  notices?: Notices | undefined;
}

const RETRY_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

const keyOf = (paymentId: string): PaymentKey => {
  const key = parsePaymentId(paymentId);
  if (!key) throw new Error('A retry names a payment id that is not one');
  return key;
};

/** The public view of a retry, with its payments' current statuses (COMPLETED once none of them is in flight). */
export function retryView(retry: RetryRecord, payments: readonly PaymentRecord[]) {
  const byId = new Map(payments.map((payment) => [payment.paymentId, payment]));
  const items = retry.paymentIds.map((paymentId) => {
    const payment = byId.get(paymentId);
    return {
      paymentId,
      status: payment?.status ?? null,
      reasonCode: payment?.reasonCode ?? null,
      attempt: payment ? attemptOf(payment) : null,
      amount: payment?.amount ?? null,
      ...(retry.skipped?.[paymentId] ? { skipped: retry.skipped[paymentId] } : {}),
    };
  });
  const settled = retry.dispatched === true && items.every((item) => !item.status || !IN_FLIGHT.includes(item.status));
  const status: RetryStatus = retry.status === 'APPROVED' && settled ? 'COMPLETED' : retry.status;
  return {
    retryId: retry.retryId,
    batchId: retry.batchId,
    status,
    itemCount: retry.itemCount,
    totalAmount: retry.totalAmount,
    paymentIds: retry.paymentIds,
    requestedBy: retry.requestedBy,
    approvedBy: retry.approvedBy,
    createdAt: retry.createdAt,
    updatedAt: retry.updatedAt,
    payments: items,
  };
}

export function createRetryUseCases(deps: RetryDependencies) {
  const { batches, accounts, entitlements, queue, clock } = deps;

  async function loadOwnBatch(principal: Principal, batchId: string): Promise<BatchRecord> {
    const batch = RETRY_ID.test(batchId) ? await batches.getBatch(batchId) : undefined;
    if (!batch || !principal.provinceCode || batch.provinceCode !== principal.provinceCode) throw new NotFoundError('No batch with this id.');
    return batch;
  }

  async function loadRetry(principal: Principal, batchId: string, retryId: string): Promise<{ batch: BatchRecord; retry: RetryRecord }> {
    const batch = await loadOwnBatch(principal, batchId);
    const retry = RETRY_ID.test(retryId) ? await batches.getRetry(batch.batchId, retryId) : undefined;
    if (!retry) throw new NotFoundError('No retry with this id in this batch.');
    return { batch, retry };
  }

  /**
   * The payments still held by a live retry. A claim left by a CANCELLED retry (its cancel died before
   * releasing it) holds nothing: it is released here, so a cancelled retry never blocks a new one.
   */
  async function heldByLiveRetry(payments: readonly PaymentRecord[]): Promise<PaymentRecord[]> {
    const claims = payments.flatMap((payment) => (payment.retryId !== undefined && hasLiveRetryClaim(payment) ? [{ payment, retryId: payment.retryId }] : []));
    const cancelled = new Set<string>();
    for (const retryId of new Set(claims.map((claim) => claim.retryId))) {
      const claim = claims.find((entry) => entry.retryId === retryId);
      if (claim && (await batches.getRetry(claim.payment.batchId, retryId))?.status === 'CANCELLED') cancelled.add(retryId);
    }
    await inParallel(
      claims.filter((claim) => cancelled.has(claim.retryId)),
      10,
      (claim) => batches.releaseRetryClaim(claim.payment, claim.retryId),
    );
    return claims.filter((claim) => !cancelled.has(claim.retryId)).map((claim) => claim.payment);
  }

  /** Every payment of the batch that a default retry takes: FAILED with a recoverable reason, or RETURNED, not held by another live retry. */
  async function eligiblePayments(batch: BatchRecord): Promise<PaymentRecord[]> {
    const found: PaymentRecord[] = [];
    for (const status of ['FAILED', 'RETURNED'] as const) {
      let after: PagePosition | undefined;
      do {
        const page = await batches.listPayments(batch, { status, limit: 1000, after });
        const candidates = page.items.filter((payment) => !retryRefusal(payment));
        const held = new Set((await heldByLiveRetry(candidates)).map((payment) => payment.paymentId));
        found.push(...candidates.filter((payment) => !held.has(payment.paymentId)));
        after = page.next;
      } while (after && found.length < MAX_PAYMENTS_PER_RETRY);
    }
    return found.slice(0, MAX_PAYMENTS_PER_RETRY);
  }

  /** Releases every claim the retry still holds (conditional on its id: a claim of another retry stays). Idempotent. */
  async function releaseClaims(retry: RetryRecord): Promise<void> {
    await inParallel(retry.paymentIds, 10, (paymentId) => batches.releaseRetryClaim(keyOf(paymentId), retry.retryId));
  }

  /** The named payments, every one of them eligible, or a 422 naming each that is not. */
  async function namedPayments(batch: BatchRecord, paymentIds: readonly string[]): Promise<PaymentRecord[]> {
    const errors: ItemError[] = [];
    const keys: PaymentKey[] = [];
    paymentIds.forEach((paymentId, index) => {
      const key = parsePaymentId(paymentId);
      if (!key || key.batchId !== batch.batchId || key.shard >= batch.shardCount) {
        errors.push({ index, path: `paymentIds[${index}]`, code: 'unknown_payment', message: `paymentIds[${index}] names no payment of this batch` });
      } else keys.push(key);
    });
    const stored = new Map((await batches.getPayments(keys)).map((payment) => [payment.paymentId, payment]));
    const payments: PaymentRecord[] = [];
    paymentIds.forEach((paymentId, index) => {
      if (errors.some((error) => error.index === index)) return;
      const payment = stored.get(paymentId);
      if (!payment) {
        errors.push({ index, path: `paymentIds[${index}]`, code: 'unknown_payment', message: `paymentIds[${index}] names no payment of this batch` });
        return;
      }
      const refusal = retryRefusal(payment);
      if (refusal) errors.push({ index, paymentRef: payment.paymentRef, path: `paymentIds[${index}]`, code: refusal.code, message: `paymentIds[${index}] ${refusal.message}` });
      else payments.push(payment);
    });
    if (errors.length > 0) throw new ValidationFailedError('Only FAILED payments with a recoverable reason and RETURNED payments can be paid again.', { errors });
    return payments;
  }

  /** Moves a retry's payments to their new attempt; resumable, and each step conditional. Returns the retry after it. */
  async function dispatch(retry: RetryRecord): Promise<RetryRecord> {
    const at = clock.now().toISOString();
    // A completed batch is APPROVED again before any payment moves (so a death after a move leaves a watched batch).
    try {
      await batches.transitionBatch(retry.batchId, allowedFrom('batch', 'APPROVED', ['COMPLETED']), 'APPROVED', {}, at);
    } catch (error) {
      if (!(error instanceof ConditionFailed)) throw error;
    }
    const payments = await batches.getPayments(retry.paymentIds.map(keyOf));
    const links = await accounts.getCurrentMany([...new Set(payments.map((payment) => payment.personHash))]);
    const deltas: CounterDelta[] = [];
    const toSend: PaymentToSend[] = [];
    const skipped: Record<string, string> = { ...retry.skipped };
    await inParallel(payments, 10, async (payment) => {
      const seen = retry.attempts[payment.paymentId] ?? 1;
      if (attemptOf(payment) > seen) {
        // Started by an earlier run of this dispatch: send it again if it may have lost its message (idempotent).
        if (payment.status === 'QUEUED') toSend.push({ paymentId: payment.paymentId, personHash: payment.personHash });
        return;
      }
      if (payment.status !== 'FAILED' && payment.status !== 'RETURNED') {
        skipped[payment.paymentId] = 'CHANGED_MEANWHILE';
        return;
      }
      if (!(await batches.claimForRetry(payment, retry.retryId, seen))) {
        skipped[payment.paymentId] = 'CLAIMED_BY_ANOTHER_RETRY';
        return;
      }
      if (payment.status === 'FAILED') {
        // A failed payment released its entitlement: take it again, or leave the payment alone (another payment
        // of the person's (program, period) holds it now). The highest seq: a retry never takes an entitlement over.
        const claim = await entitlements.claim({
          personHash: payment.personHash,
          programCode: payment.programCode,
          period: payment.period,
          paymentId: payment.paymentId,
          batchId: payment.batchId,
          seq: Number.MAX_SAFE_INTEGER,
        });
        if (!claim.held) {
          skipped[payment.paymentId] = 'DUPLICATE_ENTITLEMENT';
          return;
        }
      }
      const link = links.get(payment.personHash);
      const to: PaymentStatus = link ? 'QUEUED' : 'ON_HOLD';
      const moved = await batches.transitionPayment(payment, allowedFrom('payment', to, [payment.status]), to, {
        reasonCode: link ? null : 'NO_LINKED_ACCOUNT',
        at,
        expect: { retryId: retry.retryId, attempt: seen },
        set: link
          ? {
              attempt: seen + 1,
              account: { provider: link.provider, accountNumberMasked: link.accountNumberMasked },
              payout: { provider: link.provider, accountNumber: link.accountNumber, accountName: link.accountName, linkId: link.linkId },
            }
          : { attempt: seen + 1 },
      });
      if (!moved) {
        // Another run started it meanwhile (its attempt is raised), or it changed: the next run looks again.
        const again = await batches.getPayment(payment);
        if (again && attemptOf(again) > seen) {
          if (again.status === 'QUEUED') toSend.push({ paymentId: again.paymentId, personHash: again.personHash });
        } else skipped[payment.paymentId] = 'CHANGED_MEANWHILE';
        return;
      }
      deltas.push({ status: payment.status, count: -1, amount: -payment.amount }, { status: to, count: 1, amount: payment.amount });
      await (deps.notices ?? noNotices).afterMove(moved);
      if (to === 'QUEUED') toSend.push({ paymentId: payment.paymentId, personHash: payment.personHash });
    });
    if (deltas.length > 0) await batches.addToCounters(retry.batchId, deltas, at);
    await queue.send(paymentGroups(toSend));
    const done = await batches.updateRetry(retry.batchId, retry.retryId, ['APPROVED'], { dispatched: true, ...(Object.keys(skipped).length > 0 ? { skipped } : {}) }, clock.now().toISOString());
    return done ?? (await batches.getRetry(retry.batchId, retry.retryId)) ?? retry;
  }

  async function viewOf(retry: RetryRecord) {
    return retryView(retry, await batches.getPayments(retry.paymentIds.map(keyOf)));
  }

  return {
    /** A province asks for a new attempt of some payments (default: every eligible one of the batch). */
    async request(principal: Principal, batchId: string, body: { paymentIds?: string[] | undefined }) {
      const batch = await loadOwnBatch(principal, batchId);
      if (batch.status !== 'APPROVED' && batch.status !== 'COMPLETED') {
        throw new InvalidStateError(`The batch is ${batch.status}; only payments of an approved batch can be paid again.`);
      }
      const payments = body.paymentIds ? await namedPayments(batch, [...new Set(body.paymentIds)]) : await eligiblePayments(batch);
      if (payments.length === 0) {
        throw new ValidationFailedError('Nothing to retry: the batch has no FAILED payment with a recoverable reason and no RETURNED payment that no other retry holds.', {
          errors: [{ path: 'paymentIds', code: 'nothing_eligible', message: 'paymentIds: no payment of the batch can be paid again' }],
        });
      }
      const claimedElsewhere = await heldByLiveRetry(payments);
      if (claimedElsewhere.length > 0) {
        throw new ConflictError(`${claimedElsewhere.length} of these payments already wait in another retry: ${claimedElsewhere.map((payment) => payment.paymentId).join(', ')}.`);
      }
      const now = clock.now().toISOString();
      const retry: RetryRecord = {
        retryId: deps.newRetryId(),
        batchId: batch.batchId,
        provinceCode: batch.provinceCode,
        status: 'AWAITING_APPROVAL',
        paymentIds: payments.map((payment) => payment.paymentId),
        attempts: Object.fromEntries(payments.map((payment) => [payment.paymentId, attemptOf(payment)])),
        itemCount: payments.length,
        totalAmount: payments.reduce((sum, payment) => sum + payment.amount, 0),
        requestedBy: principal.sub,
        approvedBy: null,
        createdAt: now,
        updatedAt: now,
      };
      if (!(await batches.putRetry(retry))) throw new Error('A new retry id is already taken');
      // Each payment is claimed with a conditional write: of two retries racing for one payment, one holds it.
      // One at a time in paymentId order, stopping at the first lost: two requests racing over the same
      // payments meet first on the lowest id, so one of them gets them all (claiming in parallel, each could
      // win some and both be refused).
      const lost: string[] = [];
      const claimed: PaymentRecord[] = [];
      for (const payment of [...payments].sort((a, b) => (a.paymentId < b.paymentId ? -1 : 1))) {
        if (!(await batches.claimForRetry(payment, retry.retryId, attemptOf(payment)))) {
          lost.push(payment.paymentId);
          break;
        }
        claimed.push(payment);
      }
      if (lost.length > 0) {
        // CANCELLED first: a death before the release leaves claims that hold nothing (heldByLiveRetry).
        await batches.updateRetry(retry.batchId, retry.retryId, ['AWAITING_APPROVAL'], { status: 'CANCELLED' }, clock.now().toISOString());
        await inParallel(claimed, 10, (payment) => batches.releaseRetryClaim(payment, retry.retryId));
        throw new ConflictError(`A payment of this request was claimed by another retry or changed meanwhile: ${lost.join(', ')}.`);
      }
      return retryView(retry, payments);
    },

    async get(principal: Principal, batchId: string, retryId: string) {
      const { retry } = await loadRetry(principal, batchId, retryId);
      return viewOf(retry);
    },

    /** Maker-checker: a second official approves; the payments then start their new attempt. */
    async approve(principal: Principal, batchId: string, retryId: string) {
      const { retry } = await loadRetry(principal, batchId, retryId);
      if (retry.requestedBy === principal.sub) {
        throw new ForbiddenError('A retry is approved by a second official: the one who requested it cannot approve it.');
      }
      // A replayed approval by the same official finishes what the first started (each step is conditional).
      if (retry.status === 'APPROVED' && retry.approvedBy === principal.sub) return viewOf(retry.dispatched ? retry : await dispatch(retry));
      if (retry.status !== 'AWAITING_APPROVAL') throw new InvalidStateError(`The retry is ${retry.status}; only a retry AWAITING_APPROVAL can be approved.`);
      const approved = await batches.updateRetry(retry.batchId, retry.retryId, ['AWAITING_APPROVAL'], { status: 'APPROVED', approvedBy: principal.sub }, clock.now().toISOString());
      if (!approved) {
        const current = await batches.getRetry(retry.batchId, retry.retryId);
        if (current?.status === 'APPROVED' && current.approvedBy === principal.sub) return viewOf(current.dispatched ? current : await dispatch(current));
        throw new InvalidStateError(`The retry is ${current?.status ?? 'gone'}; it was approved or changed meanwhile.`);
      }
      return viewOf(await dispatch(approved));
    },

    /**
     * The province withdraws a retry before it is approved: CANCELLED, its payments released for another
     * retry. The status write comes first and is the one an approval also needs (AWAITING_APPROVAL), so of a
     * cancel and an approval racing exactly one wins. Cancelling a CANCELLED retry again answers it and
     * releases whatever claim an earlier cancel, dead half way, left.
     */
    async cancel(principal: Principal, batchId: string, retryId: string) {
      const { retry } = await loadRetry(principal, batchId, retryId);
      let cancelled: RetryRecord | undefined = retry.status === 'CANCELLED' ? retry : undefined;
      if (!cancelled) {
        if (retry.status !== 'AWAITING_APPROVAL') throw new InvalidStateError(`The retry is ${retry.status}; only a retry AWAITING_APPROVAL can be cancelled.`);
        cancelled = await batches.updateRetry(retry.batchId, retry.retryId, ['AWAITING_APPROVAL'], { status: 'CANCELLED' }, clock.now().toISOString());
        if (!cancelled) {
          const current = await batches.getRetry(retry.batchId, retry.retryId);
          if (current?.status !== 'CANCELLED') throw new InvalidStateError(`The retry is ${current?.status ?? 'gone'}; it was approved meanwhile and can no longer be cancelled.`);
          cancelled = current;
        }
      }
      await releaseClaims(cancelled);
      return viewOf(cancelled);
    },

    /** The reconciler: approved retries whose dispatch died before it finished, quiet for `quietMs`, are dispatched again. */
    async resumeInterrupted(now: Date, quietMs: number): Promise<RetryRecord[]> {
      const pending = await batches.listRetriesToDispatch();
      const stale = pending.filter((retry) => retry.updatedAt <= new Date(now.getTime() - quietMs).toISOString());
      for (const retry of stale) await dispatch(retry);
      return stale;
    },
  };
}

export type RetryUseCases = ReturnType<typeof createRetryUseCases>;
