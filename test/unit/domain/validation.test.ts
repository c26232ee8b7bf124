import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import type { Clock } from '../../../shared/domain/dates.js';
import { ValidationFailedError } from '../../../shared/domain/errors.js';
import { accountLinkRequestSchema, createRequestSchemas, localTokenRequestSchema } from '../../../shared/domain/schemas.js';
import { formatPath, MAX_LISTED_ERRORS, parseOrThrow, paymentsFromCsv, toItemErrors, validationFailed } from '../../../shared/domain/validation.js';

const clock: Clock = { now: () => new Date('2025-07-15T03:00:00Z') };
const schemas = createRequestSchemas(clock);
const item = { paymentRef: 'P-1', personalId: '079185012345', fullName: 'Nguyễn Thị Ánh', dateOfBirth: '1985-03-14', gender: 'F', amount: 500_000 };

function failureOf(call: () => unknown): ValidationFailedError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationFailedError);
    return error as ValidationFailedError;
  }
  throw new Error('expected a ValidationFailedError');
}

/** Everything a client sees of the failure except paymentRef (echoed by contract). */
function visibleText(failure: ValidationFailedError): string {
  return JSON.stringify({ detail: failure.message, errors: failure.errors?.map(({ path, code, message }) => ({ path, code, message })) });
}

describe('toItemErrors', () => {
  it('names the item of each error by index and by the paymentRef of the raw item', () => {
    // Prepare
    const input = { payments: [item, { ...item, paymentRef: 'P-2', amount: 1.5 }, { ...item, paymentRef: 42, amount: 'x' }] };
    const result = schemas.appendPayments.safeParse(input);

    // Act
    const errors = result.success ? [] : toItemErrors(result.error, { input });

    // Assess
    expect(errors).toEqual([
      { index: 1, paymentRef: 'P-2', path: 'payments[1].amount', code: 'invalid_type', message: 'amount must be a whole number (no fraction).' },
      { index: 2, path: 'payments[2].paymentRef', code: 'invalid_type', message: 'paymentRef must be a string (in double quotes), not a number.' },
      { index: 2, path: 'payments[2].amount', code: 'invalid_type', message: 'amount must be a number, not a string.' },
    ]);
  });

  it('takes the raw items from the options when given', () => {
    const result = schemas.appendPayments.safeParse({ payments: [{ ...item, amount: 1 }] });
    const errors = result.success ? [] : toItemErrors(result.error, { items: [{ paymentRef: 'from-options' }] });
    expect(errors[0]).toMatchObject({ index: 0, paymentRef: 'from-options', code: 'too_small' });
  });

  it('formats paths with dots and brackets', () => {
    expect(formatPath(['payments', 3, 'amount'])).toBe('payments[3].amount');
    expect(formatPath(['control', 'itemCount'])).toBe('control.itemCount');
    expect(formatPath([])).toBe('');
  });

  it('shows a field name a client invented without the digits of a personal ID in it', () => {
    const failure = failureOf(() => parseOrThrow(schemas.paymentItem, { ...item, '079185012345': true, 'bad\u0000key': 1 }));
    expect(failure.errors?.map((error) => [error.path, error.code])).toEqual([
      ['[digits]', 'unknown_field'],
      ['bad?key', 'unknown_field'],
    ]);
  });
});

describe('parseOrThrow', () => {
  it('returns the parsed value', () => {
    expect(parseOrThrow(localTokenRequestSchema, { role: 'ops' })).toEqual({ role: 'ops' });
  });

  it('throws a 422 with every error and errorCount', () => {
    // Act
    const failure = failureOf(() => parseOrThrow(schemas.paymentItem, {}));

    // Assess
    expect(failure.status).toBe(422);
    expect(failure.code).toBe('VALIDATION_FAILED');
    expect(failure.message).toBe('The request has 5 validation errors.');
    expect(failure.errors).toHaveLength(5);
    expect(failure.extensions).toEqual({ errorCount: 5 });
  });

  it('lists at most 1,000 errors and gives the total in errorCount', () => {
    // Prepare: 5,000 items, each with two errors
    const payments = Array.from({ length: 5_000 }, (_, index) => ({ ...item, paymentRef: `P-${index}`, amount: 1.5, gender: 'X' }));

    // Act
    const failure = failureOf(() => parseOrThrow(schemas.appendPayments, { payments }));

    // Assess
    expect(failure.errors).toHaveLength(MAX_LISTED_ERRORS);
    expect(failure.extensions).toEqual({ errorCount: 10_000 });
    expect(failure.message).toBe('The request has 10000 validation errors; the first 1000 are listed.');
    expect(failure.errors?.[0]).toMatchObject({ index: 0, paymentRef: 'P-0' });
    expect(failure.errors?.at(-1)).toMatchObject({ index: 499, paymentRef: 'P-499' });
  });

  it('says "1 validation error" for one', () => {
    expect(validationFailed([{ path: 'x', code: 'y', message: 'z' }]).message).toBe('The request has 1 validation error.');
  });

  it('works for any zod schema, with messages of its own', () => {
    const failure = failureOf(() => parseOrThrow(z.object({ tags: z.array(z.string()).min(2) }), { tags: ['a'] }));
    expect(failure.errors).toEqual([{ path: 'tags', code: 'too_small', message: 'tags must hold at least 2 items.' }]);
  });
});

describe('validation messages never echo personal data', () => {
  /** Bodies that carry a personal ID number in every wrong way we could think of. */
  const carriers = (personalId: string) => [
    { payments: [{ ...item, personalId, fullName: '', dateOfBirth: '2025-02-30', gender: 'X', amount: 1.5, extra: personalId }] },
    { payments: [{ ...item, personalId: Number(personalId) }] },
    { payments: [{ ...item, personalId: `${personalId}9` }] },
    { payments: [{ ...item, personalId: ` ${personalId}` }] },
    { payments: [{ ...item, personalId: personalId.replace(/[0-9]/g, (digit) => String.fromCharCode(0x0660 + Number(digit))) }] },
    { payments: [{ ...item, [personalId]: personalId }] },
    { payments: [{ ...item, fullName: `${personalId}\u0000` }] },
    { payments: [{ ...item, gender: personalId }] },
    { payments: [{ ...item, dateOfBirth: personalId }] },
    { payments: [item, { ...item, personalId }] },
    personalId,
  ];

  it('for any personal ID placed anywhere in a bad body (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{12}$/), (personalId) => {
        for (const body of carriers(personalId)) {
          const failure = failureOf(() => parseOrThrow(schemas.appendPayments, body));
          const text = visibleText(failure);
          expect(text).not.toContain(personalId);
          expect(text).not.toContain(personalId.slice(0, 9));
          expect(text).not.toContain(personalId.slice(-9));
        }
      }),
      { numRuns: 50 },
    );
  });

  it('in the account-link, token and CSV forms too', () => {
    const personalId = '079185012345';
    const texts = [
      visibleText(failureOf(() => parseOrThrow(accountLinkRequestSchema, { provider: { type: 'BANK', code: personalId }, accountNumber: personalId, accountName: `${personalId}\u0007` }))),
      visibleText(failureOf(() => parseOrThrow(localTokenRequestSchema, { role: 'beneficiary', personalId: `${personalId}0` }))),
      visibleText(failureOf(() => parseOrThrow(localTokenRequestSchema, { role: personalId }))),
      visibleText(failureOf(() => paymentsFromCsv(`paymentRef,personalId,fullName,dateOfBirth,gender,amount\nP-1,${personalId}0,A,1985-03-14,${personalId},${personalId}0000\n`))),
      visibleText(failureOf(() => paymentsFromCsv(`paymentRef,${personalId},fullName,dateOfBirth,gender,amount\n`))),
    ];
    for (const text of texts) expect(text).not.toMatch(/[0-9]{9,}/);
  });

  it('and never echo a name', () => {
    const failure = failureOf(() => parseOrThrow(schemas.paymentItem, { ...item, fullName: 'Nguyễn Thị Ánh\u0007', gender: 'Nguyễn', amount: 'Nguyễn' }));
    expect(visibleText(failure)).not.toContain('Nguyễn');
    expect(failure.errors).toHaveLength(3);
  });
});
