import type { PaymentRecord } from './batch.js';
import { attemptOf } from './batch.js';
import { isRecoverable } from './reason-codes.js';

/**
 * A retry: a province's request for a new attempt of some failed or returned
 * payments of one batch, approved by a second official (domain.md "After the
 * money leaves"; api.md 1.1 "New attempts"). Pure rules only; the store keeps
 * the record next to its batch (docs/data-model.md).
 */

export const retryStatuses = ['AWAITING_APPROVAL', 'APPROVED', 'COMPLETED', 'CANCELLED'] as const;
export type RetryStatus = (typeof retryStatuses)[number];

/** Payments one retry may name (its record holds their ids: well inside an item's 400 KB). */
export const MAX_PAYMENTS_PER_RETRY = 1_000;

export interface RetryRecord {
  retryId: string;
  batchId: string;
  provinceCode: string;
  /** Stored APPROVED once approved; COMPLETED is read from its payments (retryView). */
  status: 'AWAITING_APPROVAL' | 'APPROVED' | 'CANCELLED';
  paymentIds: string[];
  /** The attempt each payment was on when the retry was requested (the claim's `retryFor`). */
  attempts: Record<string, number>;
  itemCount: number;
  totalAmount: number;
  requestedBy: string;
  approvedBy: string | null;
  createdAt: string;
  updatedAt: string;
  /** Set once approval has moved every payment to its new attempt (or found it could not): nothing left to resume. */
  dispatched?: boolean | undefined;
  /** Payments the approval could not start a new attempt of, and why (their entitlement is held by another payment). */
  skipped?: Record<string, string> | undefined;
}

/**
 * Why a payment cannot be retried now, or undefined when it can: FAILED with a
 * recoverable reason, or RETURNED. Anything else (in flight: QUEUED, SENT,
 * ON_HOLD; PAID; REJECTED; CANCELLED; FAILED for a reason a new attempt cannot
 * fix) is refused.
 */
export function retryRefusal(payment: Pick<PaymentRecord, 'status' | 'reasonCode'>): { code: string; message: string } | undefined {
  if (payment.status === 'RETURNED') return undefined;
  if (payment.status === 'FAILED') {
    return isRecoverable(payment.reasonCode)
      ? undefined
      : { code: 'not_recoverable', message: `failed for a reason a new attempt cannot fix (${payment.reasonCode ?? 'none'})` };
  }
  if (payment.status === 'QUEUED' || payment.status === 'SENT' || payment.status === 'ON_HOLD') {
    return { code: 'attempt_in_flight', message: `is ${payment.status}: an attempt of it is in flight` };
  }
  return { code: 'not_retryable', message: `is ${payment.status}; only FAILED (recoverable) and RETURNED payments can be retried` };
}

/** Whether a retry claim on the payment is live: made by some retry on the attempt the payment is still on. */
export function hasLiveRetryClaim(payment: Pick<PaymentRecord, 'retryId' | 'retryFor' | 'attempt'>): boolean {
  return payment.retryId !== undefined && payment.retryFor === attemptOf(payment);
}
