import { describe, expect, it } from 'vitest';
import {
  batchStatuses,
  batchTransitions,
  canTransition,
  entitlementHoldingStatuses,
  isTerminal,
  nextStatuses,
  paymentStatuses,
  paymentTransitions,
  terminalPaymentStatuses,
  transitionCause,
  type BatchStatus,
  type PaymentStatus,
} from '../../../shared/domain/lifecycle.js';

/** The arrows of domain.md's payment diagram, written out independently of the module's table. */
const allowedPaymentSteps = new Set([
  'RECEIVED>VERIFIED',
  'RECEIVED>REJECTED',
  'RECEIVED>CANCELLED',
  'VERIFIED>QUEUED',
  'VERIFIED>ON_HOLD',
  'VERIFIED>CANCELLED',
  'VERIFIED>REJECTED',
  'ON_HOLD>QUEUED',
  'ON_HOLD>CANCELLED',
  'QUEUED>SENT',
  'QUEUED>PAID',
  'QUEUED>FAILED',
  'SENT>PAID',
  'SENT>FAILED',
  'PAID>RETURNED',
  // api.md 1.1, "Events from the population register": a held, or queued and not yet sent, payment after a death.
  'ON_HOLD>CANCELLED',
  'QUEUED>CANCELLED',
  // A new attempt (issue 13), approved by a second official.
  'FAILED>QUEUED',
  'FAILED>ON_HOLD',
  'RETURNED>QUEUED',
  'RETURNED>ON_HOLD',
]);

const allowedBatchSteps = new Set([
  'OPEN>SUBMITTED',
  'OPEN>CANCELLED',
  'SUBMITTED>AWAITING_APPROVAL',
  'SUBMITTED>CANCELLED',
  'AWAITING_APPROVAL>APPROVED',
  'AWAITING_APPROVAL>CANCELLED',
  'APPROVED>COMPLETED',
  'APPROVED>CANCELLED',
  'COMPLETED>APPROVED',
]);

describe('payment lifecycle', () => {
  it('allows exactly the steps of the diagram, checked over every (from, to) pair', () => {
    // Prepare
    const pairs = paymentStatuses.flatMap((from) => paymentStatuses.map((to) => [from, to] as const));

    // Act
    const allowed = pairs.filter(([from, to]) => canTransition('payment', from, to)).map(([from, to]) => `${from}>${to}`);

    // Assess
    expect(pairs).toHaveLength(100);
    expect(new Set(allowed)).toEqual(allowedPaymentSteps);
  });

  it('lists the ten statuses of the contract', () => {
    expect([...paymentStatuses]).toEqual(['RECEIVED', 'VERIFIED', 'REJECTED', 'QUEUED', 'ON_HOLD', 'SENT', 'PAID', 'FAILED', 'RETURNED', 'CANCELLED']);
  });

  it('never changes a terminal payment again, except PAID -> RETURNED and a new attempt of a FAILED or RETURNED one', () => {
    for (const status of terminalPaymentStatuses) {
      const exits = nextStatuses('payment', status);
      expect(exits).toEqual(status === 'PAID' ? ['RETURNED'] : status === 'FAILED' || status === 'RETURNED' ? ['QUEUED', 'ON_HOLD'] : []);
      expect(isTerminal('payment', status)).toBe(true);
    }
    expect(new Set(terminalPaymentStatuses)).toEqual(new Set(['REJECTED', 'PAID', 'FAILED', 'RETURNED', 'CANCELLED']));
  });

  it('treats the other statuses as non-terminal, each with a way forward', () => {
    const open = paymentStatuses.filter((status) => !terminalPaymentStatuses.includes(status));
    for (const status of open) {
      expect(isTerminal('payment', status)).toBe(false);
      expect(nextStatuses('payment', status).length).toBeGreaterThan(0);
    }
  });

  it('refuses a step to the same status (a repeat is a no-op for the caller, not a change)', () => {
    for (const status of paymentStatuses) expect(canTransition('payment', status, status)).toBe(false);
  });

  it('cancels before anything is sent: with the batch (RECEIVED, VERIFIED), after a death (ON_HOLD, QUEUED not yet handed off), or when a hold expires', () => {
    expect(paymentStatuses.filter((from) => canTransition('payment', from, 'CANCELLED'))).toEqual(['RECEIVED', 'VERIFIED', 'QUEUED', 'ON_HOLD']);
    expect(transitionCause('payment', 'ON_HOLD', 'CANCELLED')).toBe('hold-expired-or-deceased');
  });

  it('records a cause for every step', () => {
    for (const { from, to, cause } of paymentTransitions) {
      expect(transitionCause('payment', from, to)).toBe(cause);
      expect(cause).toMatch(/^[a-z-]+$/);
    }
    expect(transitionCause('payment', 'PAID', 'QUEUED')).toBeUndefined();
  });

  it('releases the entitlement on REJECTED, FAILED and CANCELLED only', () => {
    const releasing = paymentStatuses.filter((status) => !entitlementHoldingStatuses.includes(status));
    expect(releasing).toEqual(['REJECTED', 'FAILED', 'CANCELLED']);
  });
});

describe('batch lifecycle', () => {
  it('allows exactly the steps of domain.md, checked over every (from, to) pair', () => {
    // Prepare
    const pairs = batchStatuses.flatMap((from) => batchStatuses.map((to) => [from, to] as const));

    // Act
    const allowed = pairs.filter(([from, to]) => canTransition('batch', from, to)).map(([from, to]) => `${from}>${to}`);

    // Assess
    expect(pairs).toHaveLength(36);
    expect(new Set(allowed)).toEqual(allowedBatchSteps);
  });

  it('cancels only before APPROVED (or an APPROVED batch not yet started at its scheduledFor), and goes from COMPLETED back to APPROVED when a held payment is released', () => {
    expect(batchStatuses.filter((from) => canTransition('batch', from, 'CANCELLED'))).toEqual(['OPEN', 'SUBMITTED', 'AWAITING_APPROVAL', 'APPROVED']);
    expect(canTransition('batch', 'COMPLETED', 'APPROVED')).toBe(true);
    expect(isTerminal('batch', 'COMPLETED')).toBe(false);
    expect(isTerminal('batch', 'CANCELLED')).toBe(true);
    expect(nextStatuses('batch', 'CANCELLED')).toEqual([]);
  });

  it('names only known statuses in its tables', () => {
    for (const { from, to } of batchTransitions) {
      expect(batchStatuses).toContain<BatchStatus>(from);
      expect(batchStatuses).toContain<BatchStatus>(to);
    }
    for (const { from, to } of paymentTransitions) {
      expect(paymentStatuses).toContain<PaymentStatus>(from);
      expect(paymentStatuses).toContain<PaymentStatus>(to);
    }
  });
});
