import { describe, expect, it } from 'vitest';
import type { PaymentRecord } from '../../../shared/domain/batch.js';
import { judge } from '../../../shared/app/verification.js';
import type { Citizen } from '../../../shared/ports/population-registry.js';

const citizen: Citizen = { personalId: '079185012345', fullName: 'Nguyễn Thị Ánh', dateOfBirth: '1985-03-02', gender: 'F', dateOfDeath: null };

function paymentOf(overrides: Partial<PaymentRecord> = {}): PaymentRecord {
  return {
    paymentId: '01JDB7V3K2Q8W5Z6X9Y0A1B2C3-00abcdefghjkmnpqrstv',
    batchId: '01JDB7V3K2Q8W5Z6X9Y0A1B2C3',
    shard: 0,
    refDigest: 'abcdefghjkmnpqrstvwx',
    provinceCode: '79',
    programCode: 'SOCIAL_ALLOWANCE',
    period: '2026-11',
    seq: 0,
    paymentRef: 'P-1',
    personalId: '079185012345',
    personHash: 'h',
    fullName: 'Nguyễn Thị Ánh',
    dateOfBirth: '1985-03-02',
    gender: 'F',
    amount: 500_000,
    status: 'RECEIVED',
    reasonCode: null,
    nameMatch: null,
    account: null,
    history: [],
    createdAt: '2026-11-01T00:00:00.000Z',
    updatedAt: '2026-11-01T00:00:00.000Z',
    ...overrides,
  };
}

describe('judge (verification rules before the entitlement claim)', () => {
  it('goes on to claim an exact match, and records a diacritics-free name as ASCII_FOLDED', () => {
    expect(judge(paymentOf(), citizen, 3_000_000)).toEqual({ status: 'CLAIM', nameMatch: 'EXACT' });
    expect(judge(paymentOf({ fullName: 'NGUYEN  THI ANH' }), citizen, 3_000_000)).toEqual({ status: 'CLAIM', nameMatch: 'ASCII_FOLDED' });
  });

  it.each([
    ['an ID inconsistent with the birth year', { personalId: '079190012345' }, citizen, 'INVALID_ID'],
    ['an ID whose gender digit contradicts the stated gender', { gender: 'M' as const }, citizen, 'INVALID_ID'],
    ['a person the register does not know', {}, undefined, 'ID_NOT_FOUND'],
    ['a person who died before the period', {}, { ...citizen, dateOfDeath: '2026-10-31' }, 'DECEASED'],
    ['a different name', { fullName: 'Trần Văn Bình' }, citizen, 'NAME_MISMATCH'],
    ['another birth date of the same year', { dateOfBirth: '1985-03-03' }, citizen, 'BIRTH_DATE_MISMATCH'],
    ['an amount above the program limit', { amount: 3_000_001 }, citizen, 'AMOUNT_OVER_PROGRAM_LIMIT'],
  ])('rejects %s', (_label, overrides, registered, reasonCode) => {
    expect(judge(paymentOf(overrides), registered, 3_000_000)).toEqual({ status: 'REJECTED', reasonCode });
  });

  it('pays a person who died during or after the period', () => {
    expect(judge(paymentOf(), { ...citizen, dateOfDeath: '2026-11-01' }, 3_000_000).status).toBe('CLAIM');
  });

  it('rejects a register gender that differs from a consistent stated one', () => {
    expect(judge(paymentOf(), { ...citizen, gender: 'M' }, 3_000_000)).toEqual({ status: 'REJECTED', reasonCode: 'GENDER_MISMATCH' });
  });

  it('accepts a payment without a stated gender', () => {
    expect(judge(paymentOf({ gender: null }), citizen, 3_000_000).status).toBe('CLAIM');
  });
});
