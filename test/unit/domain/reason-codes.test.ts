import { describe, expect, it } from 'vitest';
import {
  allReasonCodes,
  failureReasonCodes,
  holdReasonCodes,
  isReasonCode,
  isRecoverable,
  nextStep,
  reasonCodeCatalogue,
  reasonCodes,
  reasonMessage,
  rejectionReasonCodes,
} from '../../../shared/domain/reason-codes.js';

describe('reason codes', () => {
  it('holds every code of domain.md in its status group', () => {
    expect(rejectionReasonCodes).toEqual([
      'INVALID_ID',
      'ID_NOT_FOUND',
      'DECEASED',
      'NAME_MISMATCH',
      'BIRTH_DATE_MISMATCH',
      'GENDER_MISMATCH',
      'DUPLICATE_ENTITLEMENT',
      'AMOUNT_OVER_PROGRAM_LIMIT',
    ]);
    expect(holdReasonCodes).toEqual(['NO_LINKED_ACCOUNT']);
    expect(failureReasonCodes).toEqual(['ACCOUNT_CLOSED', 'ACCOUNT_NOT_FOUND', 'ACCOUNT_NAME_MISMATCH', 'PROVIDER_REJECTED', 'RETRIES_EXHAUSTED']);
    expect(allReasonCodes).toHaveLength(16);
  });

  it('says who acts and which codes a new attempt can fix (domain.md "After the money leaves")', () => {
    const recoverable = allReasonCodes.filter((code) => isRecoverable(code));
    expect(recoverable).toEqual(['ACCOUNT_CLOSED', 'ACCOUNT_NOT_FOUND', 'ACCOUNT_NAME_MISMATCH', 'RETRIES_EXHAUSTED', 'HOLD_EXPIRED', 'RETURNED_BY_PROVIDER']);
    expect(isRecoverable('PROVIDER_REJECTED')).toBe(false);
    expect(isRecoverable(null)).toBe(false);
    expect(nextStep('ACCOUNT_CLOSED')).toMatchObject({ actor: 'BENEFICIARY', en: expect.stringMatching(/link a new/i) });
    expect(nextStep('NAME_MISMATCH')).toMatchObject({ actor: 'PROVINCE', en: expect.stringMatching(/contact the province/i) });
    expect(nextStep(null)).toBeNull();
    const catalogue = reasonCodeCatalogue();
    expect(catalogue.map((entry) => entry.code)).toEqual(allReasonCodes);
    for (const entry of catalogue) {
      expect(['BENEFICIARY', 'PROVINCE', 'PROVIDER', 'OPERATIONS'], entry.code).toContain(entry.actor);
      expect(entry.nextStepVi, entry.code).toBe(entry.nextStepVi.normalize('NFC'));
      expect(entry.nextStepEn, entry.code).toMatch(/^[\x20-\x7E]+$/);
    }
  });

  it('gives every code a non-empty Vietnamese (with diacritics) and English message', () => {
    for (const code of allReasonCodes) {
      const { vi, en } = reasonCodes[code];
      expect(vi.trim().length, code).toBeGreaterThan(10);
      expect(en.trim().length, code).toBeGreaterThan(10);
      expect(vi, code).toMatch(/[àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ]/i);
      expect(vi, code).toBe(vi.normalize('NFC'));
      expect(en, code).toMatch(/^[\x20-\x7E]+$/);
      expect(vi).not.toBe(en);
    }
  });

  it('has a distinct message for every code', () => {
    expect(new Set(allReasonCodes.map((code) => reasonMessage(code, 'vi'))).size).toBe(allReasonCodes.length);
    expect(new Set(allReasonCodes.map((code) => reasonMessage(code, 'en'))).size).toBe(allReasonCodes.length);
  });

  it('recognises codes and nothing else', () => {
    expect(isReasonCode('DECEASED')).toBe(true);
    expect(isReasonCode('deceased')).toBe(false);
    expect(isReasonCode('toString')).toBe(false);
    expect(isReasonCode(undefined)).toBe(false);
  });
});
