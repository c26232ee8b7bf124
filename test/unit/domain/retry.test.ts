import { describe, expect, it } from 'vitest';
import { historyWithAttempts, parseTransferRef, transferRef } from '../../../shared/domain/batch.js';
import { hasLiveRetryClaim, retryRefusal } from '../../../shared/domain/retry.js';

const paymentId = '01JABCDEFGHJKMNPQRSTVWXYZ0-03abcdefghij0123456789';

describe('new attempts (domain rules)', () => {
  it('gives attempt 1 the paymentId as transfer reference and attempt n `<paymentId>-<n>`, and reads them back', () => {
    expect(transferRef(paymentId, 1)).toBe(paymentId);
    expect(transferRef(paymentId, 2)).toBe(`${paymentId}-2`);
    expect(parseTransferRef(paymentId)).toMatchObject({ paymentId, attempt: 1, key: { shard: 3 } });
    expect(parseTransferRef(`${paymentId}-2`)).toMatchObject({ paymentId, attempt: 2 });
    expect(parseTransferRef(`${paymentId}-1`)).toBeUndefined();
    expect(parseTransferRef(`${paymentId}-0`)).toBeUndefined();
    expect(parseTransferRef(`${paymentId}-x`)).toBeUndefined();
    expect(parseTransferRef('junk-2')).toBeUndefined();
  });

  it('allows a retry of FAILED payments with a recoverable reason and of RETURNED ones only', () => {
    expect(retryRefusal({ status: 'FAILED', reasonCode: 'ACCOUNT_CLOSED' })).toBeUndefined();
    expect(retryRefusal({ status: 'FAILED', reasonCode: 'RETRIES_EXHAUSTED' })).toBeUndefined();
    expect(retryRefusal({ status: 'RETURNED', reasonCode: 'RETURNED_BY_PROVIDER' })).toBeUndefined();
    expect(retryRefusal({ status: 'FAILED', reasonCode: 'PROVIDER_REJECTED' })?.code).toBe('not_recoverable');
    for (const status of ['QUEUED', 'SENT', 'ON_HOLD'] as const) expect(retryRefusal({ status, reasonCode: null })?.code).toBe('attempt_in_flight');
    for (const status of ['PAID', 'REJECTED', 'CANCELLED', 'RECEIVED', 'VERIFIED'] as const) expect(retryRefusal({ status, reasonCode: null })?.code).toBe('not_retryable');
  });

  it('treats a retry claim as live only on the attempt it was made on', () => {
    expect(hasLiveRetryClaim({ retryId: 'R', retryFor: 1 })).toBe(true);
    expect(hasLiveRetryClaim({ retryId: 'R', retryFor: 1, attempt: 2 })).toBe(false);
    expect(hasLiveRetryClaim({})).toBe(false);
  });

  it('numbers the history by attempt: a move from FAILED or RETURNED to QUEUED or ON_HOLD starts the next', () => {
    const at = '2026-11-01T00:00:00.000Z';
    const steps = ['RECEIVED', 'VERIFIED', 'QUEUED', 'FAILED', 'ON_HOLD', 'QUEUED', 'PAID', 'RETURNED', 'QUEUED', 'SENT'] as const;
    const numbered = historyWithAttempts(steps.map((status) => ({ status, reasonCode: null, at })));
    expect(numbered.map((entry) => entry.attempt)).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 3, 3]);
  });
});
