import { createHash } from 'node:crypto';
import { digestValue, type KeyedHash } from './keyed-hash.js';
import { paymentStatuses, type BatchStatus, type PaymentStatus } from './lifecycle.js';
import type { Gender } from './personal-id.js';
import type { ReasonCode } from './reason-codes.js';
import type { CreateBatchRequest, PaymentItem } from './schemas.js';

export interface Totals {
  itemCount: number;
  totalAmount: number;
}

export interface UploadLease {
  owner: string;
  expiresAt: string;
}

/** A batch as the system keeps it. */
export interface BatchRecord {
  batchId: string;
  batchRef: string;
  provinceCode: string;
  programCode: string;
  period: string;
  status: BatchStatus;
  control: Totals;
  received: Totals;
  counts: Record<PaymentStatus, number>;
  amounts: Record<PaymentStatus, number>;
  rejections: Partial<Record<ReasonCode, number>>;
  /** How many partitions hold its payments (fixed at creation from control.itemCount). */
  shardCount: number;
  /** Chunks accepted so far; orders payments across chunks. */
  chunkCount: number;
  /** Hash of the creating request, to tell a retry from a different batch with the same batchRef. */
  fingerprint: string;
  createdBy: string;
  approvedBy: string | null;
  createdAt: string;
  updatedAt: string;
  uploadLease?: UploadLease | undefined;
  /** Set when an upload died mid-chunk: `received` must be recounted from the payments before sealing. */
  recountNeeded?: boolean | undefined;
  /** CANCELLED, and some payments may not be cancelled yet (the cancel's request may have died): the reconciler finishes it. */
  cancelPending?: boolean | undefined;
  /** When the reconciler last looked at the batch and found it waiting on others (not a change of the batch). */
  checkedAt?: string | undefined;
  /** A change outside the batch's own work (a return) may have been counted or not: the reconciler recounts. */
  recountDue?: boolean | undefined;
  /** api.md "Scheduled payment date": nothing is sent before this time (ISO 8601, UTC); null or absent: at approval. */
  scheduledFor?: string | null | undefined;
  /** When a scheduled batch started sending (set once, by a conditional write that a cancel cannot pass). */
  startedAt?: string | undefined;
  /** A batch created by a G2P Connect disburse: who sent it and where its on-disburse callbacks go (async only). */
  g2p?: { senderId: string; senderUri?: string | undefined; transactionId: string } | undefined;
}

/** Whether an approved batch may send: unscheduled, or started at its scheduledFor. */
export function hasStarted(batch: Pick<BatchRecord, 'scheduledFor' | 'startedAt'>): boolean {
  return !batch.scheduledFor || batch.startedAt !== undefined;
}

/** Whether a scheduled batch that has not started is due at `now`. */
export function isDue(batch: Pick<BatchRecord, 'status' | 'scheduledFor' | 'startedAt'>, now: Date): boolean {
  return batch.status === 'APPROVED' && !hasStarted(batch) && Date.parse(batch.scheduledFor ?? '') <= now.getTime();
}

/**
 * Whether the reconciler must keep an eye on a batch (docs/decisions.md,
 * "Self-repair"): while work runs for it (verification, disbursement), while a
 * chunk holds its upload lease, while a cancel may be unfinished, while a
 * change from outside (a return) waits to be recounted, and while payments of
 * it wait on hold. A batch outside this set has nothing that can
 * move by itself, so a death can have left nothing behind in it that the
 * reconciler would need to find.
 */
export function isWatched(batch: Pick<BatchRecord, 'status' | 'counts' | 'uploadLease' | 'cancelPending' | 'recountDue'>): boolean {
  if (batch.status === 'SUBMITTED' || batch.status === 'APPROVED' || batch.recountDue === true) return true;
  if (batch.status === 'OPEN') return batch.uploadLease !== undefined;
  if (batch.status === 'CANCELLED') return batch.cancelPending === true;
  if (batch.status === 'COMPLETED') return (batch.counts.ON_HOLD ?? 0) > 0;
  return false;
}

export interface MaskedAccount {
  provider: { type: 'BANK' | 'EWALLET'; code: string };
  accountNumberMasked: string;
}

export interface PayoutAccount {
  provider: { type: 'BANK' | 'EWALLET'; code: string };
  accountNumber: string;
  accountName: string;
  linkId: string;
}

export interface PaymentHistoryEntry {
  status: PaymentStatus;
  reasonCode: ReasonCode | null;
  at: string;
}

/** A payment as the system keeps it. */
export interface PaymentRecord {
  paymentId: string;
  batchId: string;
  shard: number;
  refDigest: string;
  provinceCode: string;
  programCode: string;
  period: string;
  /** Upload order within the batch: chunk number x 10,000 + position in the chunk. */
  seq: number;
  paymentRef: string;
  personalId: string;
  personHash: string;
  fullName: string;
  dateOfBirth: string;
  gender: Gender | null;
  amount: number;
  status: PaymentStatus;
  reasonCode: ReasonCode | null;
  nameMatch: 'EXACT' | 'ASCII_FOLDED' | null;
  /** For DUPLICATE_ENTITLEMENT: the payment that holds the entitlement. */
  duplicateOf?: string | undefined;
  account: MaskedAccount | null;
  /** The account the payment was queued with, in full, for the provider only (never shown). */
  payout?: PayoutAccount | undefined;
  history: PaymentHistoryEntry[];
  createdAt: string;
  updatedAt: string;
  /** Hand-offs to the provider claimed by the disbursement worker (absent before the first). */
  handOffs?: number | undefined;
  /** When the last hand-off was claimed (a provider call may follow it until the worker's timeout). */
  handOffAt?: string | undefined;
  /** The date of death, on a payment that reached the provider for a period after its beneficiary died. */
  paidAfterDeath?: string | undefined;
  /** The attempt the payment is on (absent: 1). A new attempt is started by an approved retry. */
  attempt?: number | undefined;
  /** The retry that claimed the payment for its next attempt (with `retryFor`, the attempt it was claimed on). */
  retryId?: string | undefined;
  /** The attempt the retry claim was made on: the claim is live while it equals `attempt`. */
  retryFor?: number | undefined;
  /** What the provider's settlement statements said of the current attempt (absent: no statement named it yet). */
  statementStatus?: StatementStatus | undefined;
  /** The statement that said it. */
  statementId?: string | undefined;
}

/** A statement line's verdict on a transfer (docs/decisions.md, settlement statements). */
export type StatementStatus = 'CONFIRMED' | 'RETURNED' | 'AMOUNT_MISMATCH' | 'STATUS_MISMATCH';

/** The attempt a payment is on (1 for the first). */
export const attemptOf = (payment: Pick<PaymentRecord, 'attempt'>): number => payment.attempt ?? 1;

/** The transfer reference of an attempt (api.md 1.1): the paymentId for attempt 1, `<paymentId>-<n>` after. */
export function transferRef(paymentId: string, attempt: number): string {
  return attempt <= 1 ? paymentId : `${paymentId}-${attempt}`;
}

const ATTEMPT_SUFFIX = /^(.*)-([1-9][0-9]{0,3})$/;

/** The payment and attempt a transfer reference names, or undefined when it names none. */
export function parseTransferRef(reference: string): { key: { batchId: string; shard: number; refDigest: string }; paymentId: string; attempt: number } | undefined {
  const first = parsePaymentId(reference);
  if (first) return { key: first, paymentId: reference, attempt: 1 };
  const match = ATTEMPT_SUFFIX.exec(reference);
  if (!match) return undefined;
  const [, paymentId = '', attempt = ''] = match;
  const key = parsePaymentId(paymentId);
  return key && Number(attempt) > 1 ? { key, paymentId, attempt: Number(attempt) } : undefined;
}

/**
 * The history with the attempt each entry belongs to: a move from FAILED or
 * RETURNED to QUEUED or ON_HOLD starts the next attempt.
 */
export function historyWithAttempts(history: readonly PaymentHistoryEntry[]): (PaymentHistoryEntry & { attempt: number })[] {
  let attempt = 1;
  return history.map((entry, index) => {
    const before = history[index - 1]?.status;
    if ((before === 'FAILED' || before === 'RETURNED') && (entry.status === 'QUEUED' || entry.status === 'ON_HOLD')) attempt += 1;
    return { ...entry, attempt };
  });
}

/** Positions per chunk in `seq` (chunks hold at most 5,000 payments). */
export const SEQ_PER_CHUNK = 10_000;

/** Payments per partition we aim for; a 500,000-payment batch gets 25 partitions. */
const PAYMENTS_PER_SHARD = 20_000;
export const MAX_SHARDS = 64;

export function shardCountFor(itemCount: number): number {
  return Math.min(MAX_SHARDS, Math.max(1, Math.ceil(itemCount / PAYMENTS_PER_SHARD)));
}

export function zeroByStatus(): Record<PaymentStatus, number> {
  return Object.fromEntries(paymentStatuses.map((status) => [status, 0])) as Record<PaymentStatus, number>;
}

const REF_DIGEST_LENGTH = 20;
const PAYMENT_ID = /^([0-9A-HJKMNP-TV-Z]{26})-(\d{2})([0-9a-z]{20})$/;

/**
 * Where a payment lives, from its batch and paymentRef. The ref enters keys
 * and the public paymentId only as a keyed hash (a province might use an ID
 * number as its reference); the shard is part of the id, so that a payment is
 * found with one read.
 */
export function paymentIdentity(hash: KeyedHash, batchId: string, paymentRef: string, shardCount: number) {
  const digest = hash('payment-ref', `${batchId}\u0000${paymentRef}`);
  const refDigest = digest.slice(0, REF_DIGEST_LENGTH);
  // Spread by a part of the digest that the sort key does not start with.
  const shard = digestValue(digest.slice(REF_DIGEST_LENGTH, REF_DIGEST_LENGTH + 4)) % shardCount;
  return { shard, refDigest, paymentId: `${batchId}-${String(shard).padStart(2, '0')}${refDigest}` };
}

export function parsePaymentId(paymentId: string): { batchId: string; shard: number; refDigest: string } | undefined {
  const match = PAYMENT_ID.exec(paymentId);
  if (!match) return undefined;
  const [, batchId = '', shard = '', refDigest = ''] = match;
  return { batchId, shard: Number(shard), refDigest };
}

export function personHash(hash: KeyedHash, personalId: string): string {
  return hash('person', personalId);
}

/** True when a stored payment holds exactly what the item says (a resent chunk). */
export function samePaymentContent(stored: PaymentRecord, item: PaymentItem): boolean {
  return (
    stored.paymentRef === item.paymentRef &&
    stored.personalId === item.personalId &&
    stored.fullName === item.fullName &&
    stored.dateOfBirth === item.dateOfBirth &&
    stored.gender === (item.gender ?? null) &&
    stored.amount === item.amount
  );
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Identifies a create request by content, whatever the order of its fields. */
export function createRequestFingerprint(request: CreateBatchRequest): string {
  return createHash('sha256').update(canonicalJson(request)).digest('base64url');
}
