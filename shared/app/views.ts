import type { BatchRecord, PaymentRecord } from '../domain/batch.js';
import type { AuditRecord } from '../ports/audit-log.js';
import { attemptOf, historyWithAttempts, transferRef, zeroByStatus } from '../domain/batch.js';
import { nextStep } from '../domain/reason-codes.js';

/** The public shape of a batch (api.md "Resources"): every status present in counts and amounts. */
export function batchView(batch: BatchRecord) {
  return {
    batchId: batch.batchId,
    batchRef: batch.batchRef,
    provinceCode: batch.provinceCode,
    programCode: batch.programCode,
    period: batch.period,
    status: batch.status,
    control: batch.control,
    received: batch.received,
    counts: { ...zeroByStatus(), ...batch.counts },
    amounts: { ...zeroByStatus(), ...batch.amounts },
    rejections: batch.rejections,
    createdBy: batch.createdBy,
    approvedBy: batch.approvedBy,
    scheduledFor: batch.scheduledFor ?? null,
    createdAt: batch.createdAt,
    updatedAt: batch.updatedAt,
  };
}

/** The public shape of a payment; `personalId` only for its province or its owner (callers decide). */
export function paymentView(payment: PaymentRecord, options: { withHistory: boolean; withPersonalId: boolean }) {
  return {
    paymentId: payment.paymentId,
    batchId: payment.batchId,
    paymentRef: payment.paymentRef,
    ...(options.withPersonalId ? { personalId: payment.personalId } : {}),
    fullName: payment.fullName,
    dateOfBirth: payment.dateOfBirth,
    gender: payment.gender,
    amount: payment.amount,
    programCode: payment.programCode,
    period: payment.period,
    status: payment.status,
    reasonCode: payment.reasonCode,
    nameMatch: payment.nameMatch,
    account: payment.account,
    nextStep: nextStep(payment.reasonCode),
    attempt: attemptOf(payment),
    transferRef: transferRef(payment.paymentId, attemptOf(payment)),
    updatedAt: payment.updatedAt,
    ...(options.withHistory ? { history: historyWithAttempts(payment.history) } : {}),
  };
}

/** The public shape of an audit record of a batch (its scope is implied by the URL). */
export function auditRecordView(record: AuditRecord) {
  return {
    at: record.at,
    actor: record.actor,
    action: record.action,
    requestId: record.requestId,
    // A batch's records hold batch and payment changes only; account changes live in the person's scope.
    changes: record.changes.filter((change) => change.subject !== 'account'),
  };
}
