import type { BatchRecord, PaymentRecord } from '../domain/batch.js';
import { attemptOf, transferRef } from '../domain/batch.js';
import { settlementWindowHours } from '../domain/catalogues.js';
import { reportStatementStatus } from '../domain/statement.js';
import { paymentStatuses } from '../domain/lifecycle.js';
import { nextStep } from '../domain/reason-codes.js';

/** One row of the reconciliation report. */
export function reportRow(payment: PaymentRecord, now: Date) {
  return {
    paymentId: payment.paymentId,
    paymentRef: payment.paymentRef,
    personalId: payment.personalId,
    fullName: payment.fullName,
    dateOfBirth: payment.dateOfBirth,
    amount: payment.amount,
    status: payment.status,
    reasonCode: payment.reasonCode,
    nameMatch: payment.nameMatch,
    account: payment.account ? `${payment.account.provider.code} ${payment.account.accountNumberMasked}` : null,
    updatedAt: payment.updatedAt,
    nextStep: nextStep(payment.reasonCode),
    attempt: attemptOf(payment),
    transferRef: transferRef(payment.paymentId, attemptOf(payment)),
    statementStatus: reportStatementStatus(payment, now, settlementWindowHours(payment.payout?.provider.code ?? '')),
  };
}

/** Totals per status from the batch's counters, with the control and received totals they must reconcile with. */
export function reportTotals(batch: BatchRecord) {
  return {
    control: batch.control,
    received: batch.received,
    byStatus: Object.fromEntries(
      paymentStatuses.map((status) => [status, { count: batch.counts[status] ?? 0, amount: batch.amounts[status] ?? 0 }]),
    ),
  };
}

const REPORT_COLUMNS = [
  'paymentId',
  'paymentRef',
  'personalId',
  'fullName',
  'dateOfBirth',
  'amount',
  'status',
  'reasonCode',
  'nameMatch',
  'account',
  'updatedAt',
  'actor',
  'nextStep',
  'attempt',
  'transferRef',
  'statementStatus',
] as const;

/**
 * RFC 4180 field. A text that a spreadsheet would run as a formula (starting
 * with = + - @ or a tab) is prefixed with an apostrophe: the report is opened
 * by people in Excel, and names and references come from outside.
 */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The report as CSV: UTF-8 with a byte-order mark (so that spreadsheet programs
 * show Vietnamese correctly), CRLF line ends, one row per payment, and on the
 * last page a totals section per status.
 */
export function reportCsv(batch: BatchRecord, payments: PaymentRecord[], lastPage: boolean, now: Date): string {
  const lines = [REPORT_COLUMNS.join(',')];
  for (const payment of payments) {
    const { nextStep: step, ...fields } = reportRow(payment, now);
    // The province reads the report in Vietnamese: who acts, and the next step's Vietnamese text.
    const row = { ...fields, actor: step?.actor ?? null, nextStep: step?.vi ?? null };
    lines.push(REPORT_COLUMNS.map((column) => csvField(row[column])).join(','));
  }
  if (lastPage) {
    const totals = reportTotals(batch);
    lines.push('', 'total,status,count,amount');
    for (const [status, { count, amount }] of Object.entries(totals.byStatus)) lines.push(`total,${status},${count},${amount}`);
    lines.push(`total,RECEIVED_UPLOAD,${totals.received.itemCount},${totals.received.totalAmount}`);
    lines.push(`total,CONTROL,${totals.control.itemCount},${totals.control.totalAmount}`);
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
