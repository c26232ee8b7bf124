import { createHash } from 'node:crypto';
import type { PaymentRecord, StatementStatus } from './batch.js';
import { attemptOf } from './batch.js';

/**
 * Settlement statements (domain.md "After the money leaves"; api.md 1.1): the
 * provider's own list of what it settled or returned on a value date. Pure
 * rules: the fingerprint that tells a replay from a different statement with a
 * reused id, and the report column a payment's statement status gives.
 */

export const MAX_STATEMENT_LINES = 10_000;

export interface StatementLine {
  transferRef: string;
  amount: number;
  status: 'SETTLED' | 'RETURNED';
  reasonCode?: string | undefined;
}

export interface Statement {
  statementId: string;
  valueDate: string;
  lines: StatementLine[];
}

export interface StatementResult {
  statementId: string;
  lineCount: number;
  matched: number;
  returned: number;
  amountMismatches: { transferRef: string; expected: number; actual: number }[];
  unknownReferences: string[];
  /** Lines whose transfer is in a status the line contradicts (SETTLED for a FAILED one, RETURNED for one never paid). */
  statusMismatches: { transferRef: string; recorded: string; stated: 'SETTLED' | 'RETURNED' }[];
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The statement's content, whatever the order of its fields: the same id with another fingerprint is a different statement (409). */
export function statementFingerprint(statement: Statement): string {
  return createHash('sha256').update(canonical(statement)).digest('base64url');
}

/** The key part of a statement id (provider text enters keys only hashed). */
export function statementKey(providerCode: string, statementId: string): string {
  return createHash('sha256').update(`${providerCode}\u0000${statementId}`).digest('base64url').slice(0, 32);
}

/** When the payment's current attempt was recorded PAID (undefined when it is not PAID). */
export function paidAt(payment: Pick<PaymentRecord, 'status' | 'history'>): string | undefined {
  if (payment.status !== 'PAID') return undefined;
  return payment.history.findLast((entry) => entry.status === 'PAID')?.at;
}

/**
 * The report's statementStatus: what a statement said, else for a PAID transfer
 * UNCONFIRMED (within the window) or OVERDUE (no statement within the
 * provider's settlement window), else empty (nothing to confirm).
 */
export function reportStatementStatus(payment: PaymentRecord, now: Date, windowHours: number): StatementStatus | 'UNCONFIRMED' | 'OVERDUE' | null {
  if (payment.statementStatus) return payment.statementStatus;
  const at = paidAt(payment);
  if (!at) return null;
  return now.getTime() - Date.parse(at) > windowHours * 3_600_000 ? 'OVERDUE' : 'UNCONFIRMED';
}

/** Whether a line names the payment's current attempt. */
export const namesCurrentAttempt = (payment: Pick<PaymentRecord, 'attempt'>, attempt: number) => attemptOf(payment) === attempt;
