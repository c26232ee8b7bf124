/**
 * The payment and batch lifecycles of domain.md, as data. Every status change in
 * the system takes its condition from these tables: callers build their guard
 * with `allowedFrom`, and the store refuses (`assertTransitions`) a write whose
 * guard names a step the tables do not have, before the status-guarded
 * conditional write that performs it.
 *
 * Payment (domain.md diagram):
 *   RECEIVED --verify--> VERIFIED --approve--> QUEUED --send--> SENT --settle--> PAID --return--> RETURNED
 *   RECEIVED --reject--> REJECTED
 *   VERIFIED --approve, no linked account--> ON_HOLD --account linked--> QUEUED
 *   QUEUED --settled at once--> PAID;  QUEUED or SENT --fail--> FAILED
 *   RECEIVED or VERIFIED --cancel--> CANCELLED
 *   VERIFIED --an earlier item of the same batch claims the entitlement--> REJECTED (DUPLICATE_ENTITLEMENT)
 *
 * Decisions where the diagram is terse:
 * - CANCELLED "before QUEUED" means from RECEIVED and VERIFIED only. A payment is
 *   cancelled with its batch, and a batch can be cancelled only before APPROVED
 *   (OPEN, SUBMITTED: payments RECEIVED; AWAITING_APPROVAL: VERIFIED). ON_HOLD
 *   payments exist only in approved batches, so ON_HOLD -> CANCELLED is not a
 *   transition: a held payment waits for its account.
 * - A status never "transitions" to itself: repeating a step (a redelivered
 *   message, a repeated callback) is recognised by the caller as a no-op, not
 *   accepted here as a change.
 * - Terminal: REJECTED, PAID, FAILED, RETURNED, CANCELLED; the exits from a
 *   terminal status are PAID -> RETURNED and, since issue 13, a new attempt of a
 *   FAILED (recoverable) or RETURNED payment, approved by a second official
 *   (FAILED/RETURNED -> QUEUED or ON_HOLD). Each attempt has its own transfer
 *   reference (batch.ts transferRef), so the provider never takes one twice.
 *
 * Batch: OPEN -> SUBMITTED -> AWAITING_APPROVAL -> APPROVED -> COMPLETED, CANCELLED
 * from OPEN, SUBMITTED or AWAITING_APPROVAL (and from APPROVED while a scheduled
 * batch has not started: its payments are still VERIFIED), and COMPLETED -> APPROVED when one of
 * its ON_HOLD payments is released (it completes again when that one settles).
 * So COMPLETED is not terminal; only CANCELLED is.
 */

export const paymentStatuses = [
  'RECEIVED',
  'VERIFIED',
  'REJECTED',
  'QUEUED',
  'ON_HOLD',
  'SENT',
  'PAID',
  'FAILED',
  'RETURNED',
  'CANCELLED',
] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];

export const batchStatuses = ['OPEN', 'SUBMITTED', 'AWAITING_APPROVAL', 'APPROVED', 'COMPLETED', 'CANCELLED'] as const;
export type BatchStatus = (typeof batchStatuses)[number];

export interface Transition<S extends string> {
  readonly from: S;
  readonly to: S;
  /** What makes it happen; recorded in the history with the time. */
  readonly cause: string;
}

export const paymentTransitions: readonly Transition<PaymentStatus>[] = [
  { from: 'RECEIVED', to: 'VERIFIED', cause: 'verified' },
  { from: 'RECEIVED', to: 'REJECTED', cause: 'rejected' },
  { from: 'RECEIVED', to: 'CANCELLED', cause: 'batch-cancelled' },
  { from: 'VERIFIED', to: 'QUEUED', cause: 'approved' },
  { from: 'VERIFIED', to: 'ON_HOLD', cause: 'approved-without-account' },
  { from: 'VERIFIED', to: 'CANCELLED', cause: 'batch-cancelled' },
  // Verification runs shards in parallel: when an item uploaded earlier in the same batch claims the
  // entitlement after a later duplicate already did, the later one is rejected (batch still SUBMITTED).
  { from: 'VERIFIED', to: 'REJECTED', cause: 'superseded-by-earlier-duplicate' },
  { from: 'ON_HOLD', to: 'QUEUED', cause: 'account-linked' },
  // Held past its program's holdDays (issue 13), or its beneficiary died (issue 16, DECEASED): cancelled, the entitlement released.
  { from: 'ON_HOLD', to: 'CANCELLED', cause: 'hold-expired-or-deceased' },
  { from: 'QUEUED', to: 'SENT', cause: 'sent' },
  { from: 'QUEUED', to: 'PAID', cause: 'settled-at-once' },
  { from: 'QUEUED', to: 'FAILED', cause: 'failed' },
  { from: 'SENT', to: 'PAID', cause: 'settled' },
  { from: 'SENT', to: 'FAILED', cause: 'failed' },
  { from: 'PAID', to: 'RETURNED', cause: 'returned' },
  // A death registered (issue 16): a payment not yet handed to the provider, for a period after the
  // month of death, is CANCELLED DECEASED (held, or queued and not yet handed off; docs/decisions.md 130-).
  { from: 'QUEUED', to: 'CANCELLED', cause: 'deceased' },
  // A new attempt (issue 13): a FAILED payment with a recoverable reason, or a RETURNED one, approved
  // for a retry by a second official, is queued again (or held without an account) as attempt n + 1.
  { from: 'FAILED', to: 'QUEUED', cause: 'new-attempt' },
  { from: 'FAILED', to: 'ON_HOLD', cause: 'new-attempt-without-account' },
  { from: 'RETURNED', to: 'QUEUED', cause: 'new-attempt' },
  { from: 'RETURNED', to: 'ON_HOLD', cause: 'new-attempt-without-account' },
];

export const batchTransitions: readonly Transition<BatchStatus>[] = [
  { from: 'OPEN', to: 'SUBMITTED', cause: 'sealed' },
  { from: 'OPEN', to: 'CANCELLED', cause: 'cancelled' },
  { from: 'SUBMITTED', to: 'AWAITING_APPROVAL', cause: 'verification-finished' },
  { from: 'SUBMITTED', to: 'CANCELLED', cause: 'cancelled' },
  { from: 'AWAITING_APPROVAL', to: 'APPROVED', cause: 'approved' },
  { from: 'AWAITING_APPROVAL', to: 'CANCELLED', cause: 'cancelled' },
  { from: 'APPROVED', to: 'COMPLETED', cause: 'settled' },
  // A scheduled batch (api.md "Scheduled payment date") may be cancelled after approval, until it starts
  // at its scheduledFor: the store's write is conditional on `startedAt` being absent (docs/decisions.md 116).
  { from: 'APPROVED', to: 'CANCELLED', cause: 'cancelled-before-scheduled-start' },
  { from: 'COMPLETED', to: 'APPROVED', cause: 'held-payment-released' },
];

export const terminalPaymentStatuses: readonly PaymentStatus[] = ['REJECTED', 'PAID', 'FAILED', 'RETURNED', 'CANCELLED'];
export const terminalBatchStatuses: readonly BatchStatus[] = ['CANCELLED'];

/**
 * Payment statuses that still hold the person's entitlement for (program,
 * period): everything but REJECTED, FAILED and CANCELLED, which release it
 * (domain.md, "One entitlement, one payment"). RETURNED keeps it: the money was
 * paid and came back, which needs a person to look at, not a second payment.
 */
export const entitlementHoldingStatuses: readonly PaymentStatus[] = ['RECEIVED', 'VERIFIED', 'QUEUED', 'ON_HOLD', 'SENT', 'PAID', 'RETURNED'];

/** Payment statuses that keep a batch from COMPLETED (ON_HOLD may remain). */
export const unsettledPaymentStatuses: readonly PaymentStatus[] = ['RECEIVED', 'VERIFIED', 'QUEUED', 'SENT'];

type Kind = 'payment' | 'batch';
type StatusOf<K extends Kind> = K extends 'payment' ? PaymentStatus : BatchStatus;

function index<S extends string>(transitions: readonly Transition<S>[]): ReadonlyMap<S, ReadonlyMap<S, string>> {
  const byFrom = new Map<S, Map<S, string>>();
  for (const { from, to, cause } of transitions) {
    const targets = byFrom.get(from) ?? new Map<S, string>();
    targets.set(to, cause);
    byFrom.set(from, targets);
  }
  return byFrom;
}

const tables: { [K in Kind]: ReadonlyMap<StatusOf<K>, ReadonlyMap<StatusOf<K>, string>> } = {
  payment: index(paymentTransitions),
  batch: index(batchTransitions),
};

export function canTransition<K extends Kind>(kind: K, from: StatusOf<K>, to: StatusOf<K>): boolean {
  const table = tables[kind] as ReadonlyMap<string, ReadonlyMap<string, string>>;
  return table.get(from)?.has(to) ?? false;
}

/**
 * The statuses a status may be reached from, as the table says: the condition
 * of every conditional status write in the system. `only` narrows it (a caller
 * that has just read the status guards on that one, so that two deliveries
 * racing cannot both make the same step); a status in `only` that the table
 * does not allow is a programming error and throws.
 */
export function allowedFrom<K extends Kind>(kind: K, to: StatusOf<K>, only?: readonly StatusOf<K>[]): StatusOf<K>[] {
  const table = tables[kind] as ReadonlyMap<string, ReadonlyMap<string, string>>;
  const all = [...table].filter(([, targets]) => targets.has(to)).map(([from]) => from as StatusOf<K>);
  if (!only) return all;
  const illegal = only.filter((status) => !all.includes(status));
  if (illegal.length > 0) throw new Error(`Not a ${kind} transition of the lifecycle: ${illegal.join(', ')} -> ${to}`);
  return [...only];
}

/** Throws unless every `from -> to` is a step of the lifecycle (checked by the store before each conditional write). */
export function assertTransitions<K extends Kind>(kind: K, from: readonly StatusOf<K>[], to: StatusOf<K>): void {
  if (from.length === 0) throw new Error(`A ${kind} transition to ${to} names no status to move from`);
  allowedFrom(kind, to, from);
}

/** The statuses reachable in one step. */
export function nextStatuses<K extends Kind>(kind: K, from: StatusOf<K>): StatusOf<K>[] {
  const table = tables[kind] as ReadonlyMap<string, ReadonlyMap<string, string>>;
  return [...(table.get(from)?.keys() ?? [])] as StatusOf<K>[];
}

/** The recorded cause of a step, or undefined when the step is not allowed. */
export function transitionCause<K extends Kind>(kind: K, from: StatusOf<K>, to: StatusOf<K>): string | undefined {
  const table = tables[kind] as ReadonlyMap<string, ReadonlyMap<string, string>>;
  return table.get(from)?.get(to);
}

export function isTerminal<K extends Kind>(kind: K, status: StatusOf<K>): boolean {
  return kind === 'payment'
    ? terminalPaymentStatuses.includes(status as PaymentStatus)
    : terminalBatchStatuses.includes(status as BatchStatus);
}

export function isPaymentStatus(value: unknown): value is PaymentStatus {
  return typeof value === 'string' && (paymentStatuses as readonly string[]).includes(value);
}

export function isBatchStatus(value: unknown): value is BatchStatus {
  return typeof value === 'string' && (batchStatuses as readonly string[]).includes(value);
}
