import type { BatchRecord, PaymentRecord, Totals, UploadLease } from '../domain/batch.js';
import type { BatchStatus, PaymentStatus } from '../domain/lifecycle.js';
import type { ReasonCode } from '../domain/reason-codes.js';
import type { RetryRecord } from '../domain/retry.js';
import type { StatementLine, StatementResult } from '../domain/statement.js';
import type { StatementStatus } from '../domain/batch.js';

/** Where a page of a list stopped; opaque to use cases (they seal it into a cursor). */
export type PagePosition = Record<string, unknown>;

export interface Page<T> {
  items: T[];
  next: PagePosition | undefined;
}

export interface PaymentKey {
  batchId: string;
  shard: number;
  refDigest: string;
}

export interface PaymentChange {
  reasonCode: ReasonCode | null;
  at: string;
  /** Other attributes set in the same write (name-match kind, duplicate holder, account). */
  set?: Partial<Pick<PaymentRecord, 'nameMatch' | 'duplicateOf' | 'account' | 'payout' | 'attempt'>>;
  /**
   * Also claim the payment's hand-off in this write (what `claimHandOff` does): the QUEUED write of
   * a delivery that calls the provider next, so that a first delivery pays one write, not two.
   */
  claimHandOff?: boolean;
  /**
   * A PAID write: the transfer stays in the index of unconfirmed transfers until a statement
   * confirms or returns it, and is overdue from this time on (paid + the provider's settlement window).
   */
  unconfirmedUntil?: string;
  /** Only if the disbursement worker has not claimed the payment's hand-off (`claimHandOff`): a death event's cancel. */
  unlessHandedOff?: boolean;
  /**
   * Only if the payment's hand-off count is still this one (undefined: none): the dead-letter
   * handler's FAILED, decided from a provider lookup, loses to a delivery that claimed a hand-off
   * since it read the payment (docs/decisions.md 87).
   */
  handOffsStill?: { count: number | undefined };
  /** Also require a live claim of this retry on this attempt (a new attempt is started once, by its retry). */
  expect?: { retryId: string; attempt: number };
}

export interface CounterDelta {
  status: PaymentStatus;
  count: number;
  amount: number;
}

export interface Tally {
  counts: Record<PaymentStatus, number>;
  amounts: Record<PaymentStatus, number>;
  rejections: Partial<Record<ReasonCode, number>>;
}

/** What the reconciler needs of one payment: keys, status and when it last changed. */
export interface PaymentSummary {
  paymentId: string;
  personHash: string;
  status: PaymentStatus;
  amount: number;
  /** The time of its last history entry. */
  changedAt: string;
}

/** A tally, when the latest payment change was, and the payments a caller asked to see. */
export interface Census extends Tally {
  /** The latest change of any payment of the batch (null for a batch without payments). */
  lastChangeAt: string | null;
  /** The payments whose status is in `collect` (none when not asked). */
  collected: PaymentSummary[];
}

export interface TransitionOptions {
  /**
   * An APPROVED batch moves only while it has not started and its scheduledFor
   * is after `now` (a scheduled batch's cancel: docs/decisions.md 116). Other
   * statuses of `from` are not affected.
   */
  beforeScheduledStart?: boolean;
}

/** Thrown by the store when a conditional write finds the item in another state. */
export class ConditionFailed extends Error {
  constructor(readonly current: BatchRecord | undefined) {
    super('The item is not in the expected state.');
    this.name = 'ConditionFailed';
  }
}

/**
 * Batches and their payments. Every invariant is a condition of a single-item
 * write in the adapter (no read-then-write): batchRef uniqueness, batch state
 * transitions, the upload lease.
 */
export interface BatchStore {
  /**
   * Claims `batchRef` for `batchId` in the province. Returns the claim that
   * holds: this one (`claimed: true`) or the earlier one (with its fingerprint).
   */
  claimBatchRef(claim: { provinceCode: string; batchRefHash: string; batchId: string; fingerprint: string; at: string; lease: UploadLease }): Promise<{
    claimed: boolean;
    batchId: string;
    fingerprint: string;
    /** The create request working on it now, if it has not finished (its lease is released when it has). */
    lease: UploadLease | undefined;
  }>;
  /**
   * Takes the create lease of a claimed batchRef over from a request that died
   * (its lease expired); false when another request holds a live lease.
   */
  takeOverCreate(provinceCode: string, batchRefHash: string, lease: UploadLease, now: string): Promise<boolean>;
  /** The create request has finished (the batch is stored, its payments uploaded and sealed as asked). */
  /**
   * The create request `owner` is done with the batchRef. `finished`: the batch is stored and sealed
   * (the lease is removed: a replay answers with the batch); otherwise the lease is expired, so that
   * an identical retry takes the create over at once instead of taking the batch for finished.
   */
  releaseCreateLease(provinceCode: string, batchRefHash: string, owner: string, outcome: { finished: boolean }): Promise<void>;
  /** The batch a batchRef of the province names (any state of its create), if any. */
  findBatchIdByRef(provinceCode: string, batchRefHash: string): Promise<string | undefined>;
  /** Writes the batch unless it exists (a retried create after a crash); true when this call wrote it. */
  putBatchIfAbsent(batch: BatchRecord): Promise<boolean>;
  getBatch(batchId: string): Promise<BatchRecord | undefined>;
  listBatches(
    provinceCode: string,
    query: { period?: string | undefined; status?: BatchStatus | undefined; limit: number; after?: PagePosition | undefined },
  ): Promise<Page<BatchRecord>>;

  /**
   * Takes the batch's upload lease: the batch must be OPEN and the lease free or
   * expired. Taking over an expired lease marks the batch for a recount.
   */
  acquireUploadLease(batchId: string, owner: string, now: Date, leaseMs: number): Promise<BatchRecord>;
  /** Adds an accepted chunk's totals and frees the lease, if `owner` still holds it. */
  completeUpload(batchId: string, owner: string, added: Totals, now: string): Promise<BatchRecord>;
  /**
   * Frees the lease without counting anything: the chunk was refused, or
   * (`recount`) it failed after some of its payments may have been written.
   * Returns the batch after it (undefined when `owner` no longer held the lease).
   */
  releaseUploadLease(batchId: string, owner: string, options?: { recount: boolean }): Promise<BatchRecord | undefined>;
  /**
   * Replaces `received` (and the RECEIVED counters) with a fresh count, while the
   * batch is OPEN and nobody holds a live lease; clears the recount mark.
   */
  repairReceived(batchId: string, received: Totals, now: Date): Promise<BatchRecord>;
  /**
   * OPEN -> SUBMITTED, only if `received` still equals what was checked and no
   * chunk is being uploaded. Throws ConditionFailed otherwise.
   */
  sealBatch(batchId: string, received: Totals, now: Date): Promise<BatchRecord>;

  getPayments(keys: PaymentKey[]): Promise<PaymentRecord[]>;
  getPayment(key: PaymentKey): Promise<PaymentRecord | undefined>;
  /** Writes new payments (batched; retried until every item is stored). */
  putPayments(payments: PaymentRecord[]): Promise<void>;
  /** Counts and sums the stored payments of a batch, reading every shard. */
  sumPayments(batch: Pick<BatchRecord, 'batchId' | 'shardCount'>): Promise<Totals>;
  listPayments(
    batch: Pick<BatchRecord, 'batchId' | 'shardCount'>,
    query: { status?: PaymentStatus | undefined; reasonCode?: ReasonCode | undefined; limit: number; after?: PagePosition | undefined },
  ): Promise<Page<PaymentRecord>>;

  /**
   * Moves the batch from one of `from` to `to`, setting `changes`; throws
   * ConditionFailed (with the current batch) when it is in another state.
   */
  transitionBatch(batchId: string, from: readonly BatchStatus[], to: BatchStatus, changes: Partial<BatchRecord>, now: string, options?: TransitionOptions): Promise<BatchRecord>;

  /**
   * Starts a scheduled batch: sets `startedAt`, only while it is APPROVED, not
   * started, and its scheduledFor is not after `now`. Returns the batch after it,
   * or undefined when the condition did not hold (started by another run, cancelled, not due).
   */
  startScheduledBatch(batchId: string, now: string): Promise<BatchRecord | undefined>;

  /**
   * Moves a payment from one of `from` to `to` with a reason, appending to its
   * history. Returns the payment after the change, or undefined when it was in
   * another state (nothing changed).
   */
  transitionPayment(
    key: PaymentKey,
    from: readonly PaymentStatus[],
    to: PaymentStatus,
    change: PaymentChange,
  ): Promise<PaymentRecord | undefined>;

  /**
   * Adds to the batch's per-status counters (negative to subtract) and per-reason
   * rejection counts. Returns the batch as it is after the update (so that a
   * caller deciding whether the batch is settled needs no second read), or
   * undefined when there was nothing to add.
   */
  addToCounters(batchId: string, deltas: CounterDelta[], now: string, rejections?: Partial<Record<ReasonCode, number>>): Promise<BatchRecord | undefined>;

  /**
   * The disbursement worker's claim, just before it calls the provider: counts
   * a hand-off on a QUEUED payment (`handOffs`, 1 on the first). Returns the
   * payment after it, or undefined when it is not QUEUED any more. A death
   * event cancels a QUEUED payment only while it has no hand-off
   * (`unlessHandedOff`), and the worker reads the death marker after its claim:
   * so whichever write comes first, a payment for a period after a recorded
   * death is never sent (docs/decisions.md 131).
   */
  claimHandOff(key: PaymentKey, now: string): Promise<PaymentRecord | undefined>;
  /** PAID transfers no statement has confirmed or returned within their provider's settlement window, as of `now`. */
  countOverdueUnconfirmed(now: string): Promise<number>;
  /** Marks a payment that reached the provider for a period after its beneficiary's death (listed for its province). */
  flagPaidAfterDeath(key: PaymentKey, dateOfDeath: string): Promise<void>;

  /** A person's payments, newest first (any batch, any province). */
  listPaymentsByPerson(personHash: string, query: { limit: number; after?: PagePosition | undefined }): Promise<Page<PaymentRecord>>;

  /** Records that every payment of one shard has been verified; returns how many shards are. */
  markShardVerified(batchId: string, shard: number): Promise<number>;

  /** Reads every payment of the batch and counts them by status and rejection reason (authoritative). */
  tallyPayments(batch: Pick<BatchRecord, 'batchId' | 'shardCount'>): Promise<Tally>;

  // --- Self-repair (shared/app/repair.ts). The watch is a sparse index: a batch is in it exactly
  // while isWatched() says so, set or cleared by the same write that changes what isWatched reads.

  /** The tally, the time of the latest payment change, and the payments in the statuses of `collect`. */
  censusPayments(batch: Pick<BatchRecord, 'batchId' | 'shardCount'>, collect?: readonly PaymentStatus[]): Promise<Census>;
  /** The batches in the watch (every one, read in pages). */
  listWatchedBatches(): Promise<BatchRecord[]>;
  /**
   * Puts a batch in the watch, marked `recountDue`, before a change that could
   * otherwise be lost with its counter update (a return after completion).
   */
  watchBatch(batchId: string): Promise<void>;
  /**
   * Replaces the batch's counters with a tally, only if the batch has not
   * changed since it was read (`seenUpdatedAt`), clears `recountDue`, and sets
   * the watch as isWatched() then says. Throws ConditionFailed otherwise.
   */
  recountBatch(batchId: string, tally: Tally, seenUpdatedAt: string, at: string): Promise<BatchRecord>;
  /** A CANCELLED batch whose every payment is terminal: counters from the tally, cancel finished, out of the watch. */
  finishCancellation(batchId: string, tally: Tally, at: string): Promise<BatchRecord>;
  /** Records that the reconciler looked (not a change: updatedAt stays), if the batch is still as it was read. */
  markChecked(batchId: string, seenUpdatedAt: string, at: string): Promise<void>;
  // --- New attempts (shared/app/retries.ts).

  /** Writes a new retry; false when one with its id exists. */
  putRetry(retry: RetryRecord): Promise<boolean>;
  getRetry(batchId: string, retryId: string): Promise<RetryRecord | undefined>;
  /**
   * Updates a retry that is in one of `from` (and, with `notDispatched`, not yet
   * dispatched); returns it after the change, or undefined when it was not.
   * APPROVED without `dispatched` puts it in the reconciler's dispatch index;
   * `dispatched` or CANCELLED takes it out.
   */
  updateRetry(batchId: string, retryId: string, from: readonly RetryRecord['status'][], changes: Partial<RetryRecord>, now: string): Promise<RetryRecord | undefined>;
  /**
   * Claims a payment for a retry: only while it is FAILED or RETURNED on
   * `attempt`, and not claimed by another retry on that attempt. True when the
   * retry holds the claim (also when it already did).
   */
  claimForRetry(key: PaymentKey, retryId: string, attempt: number): Promise<boolean>;
  /** Gives up a claim this retry holds (a request refused after claiming some payments); a no-op otherwise. */
  releaseRetryClaim(key: PaymentKey, retryId: string): Promise<void>;
  /** Approved retries not yet dispatched (every one, read in pages). */
  listRetriesToDispatch(): Promise<RetryRecord[]>;

  /** Claims the one notice of (payment, event, attempt); false when it was claimed before (shared/app/notices.ts). */
  claimNotice(paymentId: string, event: string, attempt: number, at: string): Promise<boolean>;

  // --- Settlement statements (shared/app/statements.ts).

  /**
   * Records that a statement (by its hashed key) is being imported with this
   * fingerprint, unless one is already: then returns the first one's fingerprint
   * and, once it finished, its result.
   */
  claimStatement(providerCode: string, key: string, fingerprint: string, at: string): Promise<{ claimed: boolean; fingerprint: string; result?: StatementResult | undefined }>;
  /** Stores the import's result (the answer a replay gets). */
  finishStatement(key: string, result: StatementResult, at: string): Promise<void>;
  /** Records a statement's verdict on the payment's attempt `attempt` (nothing when the payment is on another attempt). */
  markStatement(key: PaymentKey, attempt: number, change: { statementId: string; statementStatus: StatementStatus }): Promise<void>;
  /** A statement line that names a reference of the batch that no payment has (kept for its reconciliation). */
  putUnknownReference(batchId: string, statementKey: string, index: number, line: StatementLine & { statementId: string; valueDate: string }): Promise<void>;
  listUnknownReferences(batchId: string): Promise<(StatementLine & { statementId: string; valueDate: string })[]>;

  /** A batch's payments ON_HOLD, oldest hold first, optionally only those held before a time. */
  listHeldPayments(batchId: string, query: { heldBefore?: string; limit: number; after?: PagePosition | undefined }): Promise<Page<PaymentRecord>>;
}
