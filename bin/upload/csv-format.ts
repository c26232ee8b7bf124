import { PAYMENT_CSV_COLUMNS } from '../../shared/domain/csv.js';
import type { PaymentItem } from '../../shared/domain/schemas.js';

/**
 * Writing the CSV form of payments (the reader is shared/domain/csv.ts). One
 * canonical form, so that the same payments always give the same bytes: the
 * header in the API's column order, CRLF line ends (RFC 4180), a field quoted
 * only when it holds a comma, a quote or a line break, an absent gender empty.
 */

export const PAYMENT_CSV_HEADER = PAYMENT_CSV_COLUMNS.join(',');
export const CRLF = '\r\n';

const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One data line, without its line end. */
export function paymentCsvLine(payment: PaymentItem): string {
  return [payment.paymentRef, payment.personalId, payment.fullName, payment.dateOfBirth, payment.gender ?? '', String(payment.amount)]
    .map(csvField)
    .join(',');
}

/** Header plus one line per payment, every line ended by CRLF. */
export function formatPaymentsCsv(payments: Iterable<PaymentItem>): string {
  const lines = [PAYMENT_CSV_HEADER];
  for (const payment of payments) lines.push(paymentCsvLine(payment));
  return lines.join(CRLF) + CRLF;
}
