import { describe, expect, it } from 'vitest';
import type * as z from 'zod';
import type { Clock } from '../../../shared/domain/dates.js';
import { ValidationFailedError, type ItemError } from '../../../shared/domain/errors.js';
import {
  accountLinkRequestSchema,
  batchSchema,
  createRequestSchemas,
  listBatchesQuerySchema,
  listQuerySchema,
  localTokenRequestSchema,
  paymentItemSchema,
  providerCallbackSchema,
} from '../../../shared/domain/schemas.js';
import { parseOrThrow } from '../../../shared/domain/validation.js';

/** 10:00 in Ha Noi on 2025-07-15. */
const clock: Clock = { now: () => new Date('2025-07-15T03:00:00Z') };
const schemas = createRequestSchemas(clock);

const item = {
  paymentRef: 'P-0001',
  personalId: '079185012345',
  fullName: 'Nguyễn Thị Ánh',
  dateOfBirth: '1985-03-14',
  gender: 'F',
  amount: 500_000,
} as const;

const batch = {
  batchRef: 'HCM-SA-2025-07',
  provinceCode: '79',
  programCode: 'SOCIAL_ALLOWANCE',
  period: '2025-07',
  control: { itemCount: 2, totalAmount: 1_000_000 },
};

/** The errors a body gets (fails the test when it is accepted). */
function errorsOf(schema: z.ZodType, input: unknown): ItemError[] {
  try {
    parseOrThrow(schema, input);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationFailedError);
    expect((error as ValidationFailedError).status).toBe(422);
    return (error as ValidationFailedError).errors ?? [];
  }
  throw new Error('expected the body to be refused');
}

/** [path, code] of each error, the shape most assertions compare. */
function codesOf(schema: z.ZodType, input: unknown): [string, string][] {
  return errorsOf(schema, input).map((error) => [error.path, error.code]);
}

const itemErrors = (changes: Record<string, unknown>) => codesOf(schemas.paymentItem, { ...item, ...changes });

describe('payment item', () => {
  it('accepts a well-formed item and returns the typed value, name trimmed and in NFC', () => {
    // Prepare
    const submitted = { ...item, fullName: `  ${'Nguyễn Thị Ánh'.normalize('NFD')} ` };

    // Act
    const parsed = parseOrThrow(schemas.paymentItem, submitted);

    // Assess
    expect(parsed).toEqual({ ...item, fullName: 'Nguyễn Thị Ánh' });
  });

  it('accepts an item without gender', () => {
    const { gender: _gender, ...withoutGender } = item;
    expect(parseOrThrow(schemas.paymentItem, withoutGender)).toEqual(withoutGender);
  });

  it('accepts a number that disagrees with the date of birth: that is a REJECTED payment later, not a structural error', () => {
    expect(parseOrThrow(schemas.paymentItem, { ...item, dateOfBirth: '2001-01-01', gender: 'M' }).personalId).toBe(item.personalId);
  });

  describe('amount', () => {
    it.each([
      ['a float', 500_000.5, 'invalid_type'],
      ['a string of digits', '500000', 'invalid_type'],
      ['a string with an exponent', '5e5', 'invalid_type'],
      ['2^53', 2 ** 53, 'too_big'],
      ['1e21', 1e21, 'too_big'],
      ['Infinity (1e400 in JSON)', JSON.parse('{"a":1e400}').a as number, 'invalid_type'],
      ['NaN', Number.NaN, 'invalid_type'],
      ['below 1,000', 999, 'too_small'],
      ['zero', 0, 'too_small'],
      ['negative', -500_000, 'too_small'],
      ['null', null, 'invalid_type'],
      ['a boolean', true, 'invalid_type'],
    ])('refuses %s', (_label, amount, code) => {
      expect(itemErrors({ amount })).toEqual([['amount', code]]);
    });

    it('accepts 1,000 and Number.MAX_SAFE_INTEGER', () => {
      expect(parseOrThrow(schemas.paymentItem, { ...item, amount: 1_000 }).amount).toBe(1_000);
      expect(parseOrThrow(schemas.paymentItem, { ...item, amount: Number.MAX_SAFE_INTEGER }).amount).toBe(Number.MAX_SAFE_INTEGER);
    });

    it('reads a JSON exponent as the number it is (5e5 is 500000) and refuses one past 2^53', () => {
      expect(parseOrThrow(schemas.paymentItem, JSON.parse(JSON.stringify(item).replace('500000', '5e5'))).amount).toBe(500_000);
      expect(codesOf(schemas.paymentItem, JSON.parse(JSON.stringify(item).replace('500000', '9007199254740993')))).toEqual([['amount', 'too_big']]);
    });

    it('is required', () => {
      const { amount: _amount, ...withoutAmount } = item;
      expect(codesOf(schemas.paymentItem, withoutAmount)).toEqual([['amount', 'required']]);
    });
  });

  describe('dateOfBirth', () => {
    it.each(['2025-02-30', '2023-02-29', '1900-02-29', '2025-04-31', '1985/03/14', '1985-3-14', '14-03-1985', '1985-03-14T00:00:00Z', ''])(
      'refuses %j as an impossible or malformed date',
      (dateOfBirth) => {
        expect(itemErrors({ dateOfBirth })).toEqual([['dateOfBirth', 'invalid_date']]);
      },
    );

    it('accepts 2024-02-29 and 2000-02-29 (leap days)', () => {
      expect(parseOrThrow(schemas.paymentItem, { ...item, personalId: '079324012345', dateOfBirth: '2024-02-29' }).dateOfBirth).toBe('2024-02-29');
      expect(parseOrThrow(schemas.paymentItem, { ...item, dateOfBirth: '2000-02-29' }).dateOfBirth).toBe('2000-02-29');
    });

    it('refuses a date after today in Viet Nam and accepts today', () => {
      expect(itemErrors({ dateOfBirth: '2025-07-16' })).toEqual([['dateOfBirth', 'date_in_future']]);
      expect(parseOrThrow(schemas.paymentItem, { ...item, dateOfBirth: '2025-07-15' }).dateOfBirth).toBe('2025-07-15');
    });

    it('judges "today" by the clock it was built with, on the Vietnamese calendar', () => {
      // Prepare: 23:30 UTC on 2025-07-15 is already 06:30 on 2025-07-16 in Ha Noi
      const lateUtc = createRequestSchemas({ now: () => new Date('2025-07-15T23:30:00Z') });

      // Act / Assess
      expect(parseOrThrow(lateUtc.paymentItem, { ...item, dateOfBirth: '2025-07-16' }).dateOfBirth).toBe('2025-07-16');
    });
  });

  describe('personalId', () => {
    it.each([
      ['11 digits', '07918501234'],
      ['13 digits', '0791850123456'],
      ['Arabic-Indic digits', '٠٧٩١٨٥٠١٢٣٤٥'],
      ['full-width digits', '０７９１８５０１２３４５'],
      ['a leading space', ' 079185012345'],
      ['a trailing space', '079185012345 '],
      ['letters', '07918501234A'],
    ])('refuses %s', (_label, personalId) => {
      expect(itemErrors({ personalId })).toEqual([['personalId', 'invalid_personal_id_format']]);
    });

    it('refuses a number (leading zeros would be lost)', () => {
      expect(itemErrors({ personalId: 79185012345 })).toEqual([['personalId', 'invalid_type']]);
    });
  });

  describe('fullName', () => {
    it.each([
      ['empty', '', 'too_small'],
      ['only spaces', '   \t ', 'too_small'],
      ['101 characters', 'A'.repeat(101), 'too_big'],
      ['a NUL character', 'Nguyễn\u0000Ánh', 'invalid_characters'],
      ['a line break', 'Nguyễn\nÁnh', 'invalid_characters'],
      ['a tab inside', 'Nguyễn\tÁnh', 'invalid_characters'],
      ['a right-to-left override', 'Nguyễn \u202EhnÁ', 'invalid_characters'],
      ['a number', 42, 'invalid_type'],
    ])('refuses %s', (_label, fullName, code) => {
      expect(itemErrors({ fullName })).toEqual([['fullName', code]]);
    });

    it('trims white space at the ends, tabs and NBSP included, instead of refusing it', () => {
      expect(parseOrThrow(schemas.paymentItem, { ...item, fullName: '\t\u00A0Nguyễn Thị Ánh\t' }).fullName).toBe('Nguyễn Thị Ánh');
    });

    it('counts 100 characters after trimming and composition', () => {
      const decomposed = 'Ễ'.repeat(100).normalize('NFD');
      expect(decomposed.length).toBe(300);
      expect(parseOrThrow(schemas.paymentItem, { ...item, fullName: ` ${decomposed} ` }).fullName).toBe('Ễ'.repeat(100));
    });
  });

  it.each([
    ['gender X', { gender: 'X' }, [['gender', 'invalid_value']]],
    ['gender in lower case', { gender: 'f' }, [['gender', 'invalid_value']]],
    ['gender null', { gender: null }, [['gender', 'invalid_value']]],
    ['an empty paymentRef', { paymentRef: '' }, [['paymentRef', 'too_small']]],
    ['a 65-character paymentRef', { paymentRef: 'R'.repeat(65) }, [['paymentRef', 'too_big']]],
    ['an unknown field', { ammount: 5 }, [['ammount', 'unknown_field']]],
  ])('refuses %s', (_label, changes, expected) => {
    expect(itemErrors(changes)).toEqual(expected);
  });

  it('reports every missing field of an empty object', () => {
    expect(codesOf(schemas.paymentItem, {})).toEqual([
      ['paymentRef', 'required'],
      ['personalId', 'required'],
      ['fullName', 'required'],
      ['dateOfBirth', 'required'],
      ['amount', 'required'],
    ]);
  });

  it('is the same schema the API exports (built with the system clock)', () => {
    expect(parseOrThrow(paymentItemSchema, item)).toEqual(item);
  });
});

describe('create batch', () => {
  it('accepts a batch without payments, and one with payments', () => {
    expect(parseOrThrow(schemas.createBatch, batch)).toEqual(batch);
    const withPayments = { ...batch, payments: [item, { ...item, paymentRef: 'P-0002' }] };
    expect(parseOrThrow(schemas.createBatch, withPayments).payments).toHaveLength(2);
  });

  it.each([
    ['period 2025-13', { period: '2025-13' }, [['period', 'invalid_period']]],
    ['period 2025-00', { period: '2025-00' }, [['period', 'invalid_period']]],
    ['period 2025-7', { period: '2025-7' }, [['period', 'invalid_period']]],
    ['a date as period', { period: '2025-07-01' }, [['period', 'invalid_period']]],
    ['an unknown program', { programCode: 'LOTTERY' }, [['programCode', 'invalid_value']]],
    ['a program code in lower case', { programCode: 'social_allowance' }, [['programCode', 'invalid_value']]],
    ['an unknown province', { provinceCode: '99' }, [['provinceCode', 'invalid_value']]],
    ['a former province merged in 2025', { provinceCode: '02' }, [['provinceCode', 'invalid_value']]],
    ['a birth-registration prefix as province', { provinceCode: '079' }, [['provinceCode', 'invalid_value']]],
    ['a province code as a number', { provinceCode: 79 }, [['provinceCode', 'invalid_value']]],
    ['a batchRef with a space', { batchRef: 'HCM 2025' }, [['batchRef', 'invalid_format']]],
    ['a batchRef of 65 characters', { batchRef: 'B'.repeat(65) }, [['batchRef', 'invalid_format']]],
    ['an empty batchRef', { batchRef: '' }, [['batchRef', 'invalid_format']]],
    ['itemCount 0', { control: { itemCount: 0, totalAmount: 1 } }, [['control.itemCount', 'too_small']]],
    ['a fractional totalAmount', { control: { itemCount: 1, totalAmount: 1.5 } }, [['control.totalAmount', 'invalid_type']]],
    ['a totalAmount past 2^53', { control: { itemCount: 1, totalAmount: 2 ** 53 } }, [['control.totalAmount', 'too_big']]],
    ['missing control totals', { control: undefined }, [['control', 'required']]],
    ['an unknown field in control', { control: { itemCount: 1, totalAmount: 1, currency: 'VND' } }, [['control.currency', 'unknown_field']]],
    ['an unknown field', { province: '79' }, [['province', 'unknown_field']]],
  ])('refuses %s', (_label, changes, expected) => {
    expect(codesOf(schemas.createBatch, { ...batch, ...changes })).toEqual(expected);
  });

  it('refuses more than 5,000 payments', () => {
    // Prepare
    const payments = Array.from({ length: 5_001 }, (_, index) => ({ ...item, paymentRef: `P-${index}` }));

    // Act
    const errors = codesOf(schemas.createBatch, { ...batch, control: { itemCount: 5_001, totalAmount: 5_001 * 500_000 }, payments });

    // Assess
    expect(errors).toEqual([['payments', 'too_big']]);
  });

  it('refuses more payments than control.itemCount (the batch could never be sealed)', () => {
    const payments = [item, { ...item, paymentRef: 'P-0002' }, { ...item, paymentRef: 'P-0003' }];
    expect(codesOf(schemas.createBatch, { ...batch, payments })).toEqual([['payments', 'too_many_payments_for_control']]);
  });

  it('refuses a body that is not an object', () => {
    expect(codesOf(schemas.createBatch, [batch])).toEqual([['', 'invalid_type']]);
    expect(codesOf(schemas.createBatch, null)).toEqual([['', 'invalid_type']]);
  });
});

describe('append payments (JSON chunk)', () => {
  it('accepts 1 to 5,000 payments', () => {
    // Prepare
    const payments = Array.from({ length: 5_000 }, (_, index) => ({ ...item, paymentRef: `P-${index}` }));

    // Act
    const parsed = parseOrThrow(schemas.appendPayments, { payments });

    // Assess
    expect(parsed.payments).toHaveLength(5_000);
  });

  it('refuses an empty chunk and one of 5,001', () => {
    expect(codesOf(schemas.appendPayments, { payments: [] })).toEqual([['payments', 'too_small']]);
    const payments = Array.from({ length: 5_001 }, (_, index) => ({ ...item, paymentRef: `P-${index}` }));
    expect(codesOf(schemas.appendPayments, { payments })).toEqual([['payments', 'too_big']]);
  });

  it('refuses a paymentRef used twice in the chunk, even when other items are wrong too', () => {
    // Prepare
    const payments = [item, { ...item, amount: 1.5 }, { ...item, paymentRef: 'P-0002' }];

    // Act
    const errors = errorsOf(schemas.appendPayments, { payments });

    // Assess
    expect(errors.map((error) => [error.index, error.path, error.code])).toEqual([
      [1, 'payments[1].amount', 'invalid_type'],
      [1, 'payments[1].paymentRef', 'duplicate_payment_ref'],
    ]);
  });

  it('refuses a bare array and unknown fields next to payments', () => {
    expect(codesOf(schemas.appendPayments, [item])).toEqual([['', 'invalid_type']]);
    expect(codesOf(schemas.appendPayments, { payments: [item], batchId: 'x' })).toEqual([['batchId', 'unknown_field']]);
  });
});

describe('account link', () => {
  const link = { provider: { type: 'BANK', code: '970436' }, accountNumber: '0071000123456', accountName: 'NGUYEN THI ANH' };

  it('accepts a bank account and a mobile-money account', () => {
    expect(parseOrThrow(accountLinkRequestSchema, link)).toEqual(link);
    const wallet = { provider: { type: 'EWALLET', code: 'VIETTELMONEY' }, accountNumber: '0987654321', accountName: 'Nguyễn Thị Ánh', consentRef: 'CONSENT-1' };
    expect(parseOrThrow(accountLinkRequestSchema, wallet)).toEqual(wallet);
  });

  it.each([
    ['an unknown BIN', { provider: { type: 'BANK', code: '999999' } }, [['provider.code', 'unknown_provider']]],
    ['a bank code under EWALLET', { provider: { type: 'EWALLET', code: '970436' }, accountNumber: '0987654321' }, [['provider.code', 'unknown_provider']]],
    ['an unknown provider type', { provider: { type: 'CARD', code: '970436' } }, [['provider.type', 'invalid_value']]],
    ['a bank account with letters', { accountNumber: '0071000ABC' }, [['accountNumber', 'invalid_account_number']]],
    ['a bank account of 5 digits', { accountNumber: '12345' }, [['accountNumber', 'invalid_account_number']]],
    ['a bank account of 20 digits', { accountNumber: '1'.repeat(20) }, [['accountNumber', 'too_big']]],
    ['an empty account number', { accountNumber: '' }, [['accountNumber', 'too_small']]],
    ['an empty account name', { accountName: ' ' }, [['accountName', 'too_small']]],
    ['a consentRef of 129 characters', { consentRef: 'C'.repeat(129) }, [['consentRef', 'too_big']]],
    ['an unknown field', { iban: 'x' }, [['iban', 'unknown_field']]],
  ])('refuses %s', (_label, changes, expected) => {
    expect(codesOf(accountLinkRequestSchema, { ...link, ...changes })).toEqual(expected);
  });

  it.each(['912345678', '09123456789', '0212345678', '+84912345678', '0912 345 678'])('refuses %j as a mobile-money number', (accountNumber) => {
    const wallet = { provider: { type: 'EWALLET', code: 'MOBIFONEPAY' }, accountNumber, accountName: 'A' };
    expect(codesOf(accountLinkRequestSchema, wallet).map(([, code]) => code)).toContain('invalid_account_number');
  });
});

describe('provider callback', () => {
  const callback = { transferRef: '01JZ8Q3V7R5W2X9Y4T6N1M0K3P', outcome: 'FAILED', reasonCode: 'ACCOUNT_CLOSED', settledAt: '2025-07-15T03:00:00Z' };

  it('accepts a settlement, with a time-zone offset too, and drops fields it does not know', () => {
    expect(parseOrThrow(providerCallbackSchema, callback)).toEqual(callback);
    expect(parseOrThrow(providerCallbackSchema, { ...callback, settledAt: '2025-07-15T10:00:00+07:00' }).settledAt).toBe('2025-07-15T10:00:00+07:00');
    expect(parseOrThrow(providerCallbackSchema, { ...callback, providerTxnId: 'X-1' })).toEqual(callback);
  });

  it.each([
    ['an unknown outcome', { outcome: 'SETTLED' }, [['outcome', 'invalid_value']]],
    ['a reason code that is not a failure code', { reasonCode: 'DECEASED' }, [['reasonCode', 'invalid_value']]],
    ['a reason code with PAID', { outcome: 'PAID' }, [['reasonCode', 'reason_code_not_allowed']]],
    ['a date without a time', { settledAt: '2025-07-15' }, [['settledAt', 'invalid_datetime']]],
    ['a time without a zone', { settledAt: '2025-07-15T10:00:00' }, [['settledAt', 'invalid_datetime']]],
    ['a transferRef with a slash', { transferRef: 'a/b' }, [['transferRef', 'invalid_format']]],
  ])('refuses %s', (_label, changes, expected) => {
    expect(codesOf(providerCallbackSchema, { ...callback, ...changes })).toEqual(expected);
  });
});

describe('local token request', () => {
  it('accepts each role with the claims it needs', () => {
    expect(parseOrThrow(localTokenRequestSchema, { role: 'province', provinceCode: '79' })).toEqual({ role: 'province', provinceCode: '79' });
    expect(parseOrThrow(localTokenRequestSchema, { role: 'approver', provinceCode: '79', sub: 'checker-1' })).toMatchObject({ sub: 'checker-1' });
    expect(parseOrThrow(localTokenRequestSchema, { role: 'approver' })).toEqual({ role: 'approver' });
    expect(parseOrThrow(localTokenRequestSchema, { role: 'beneficiary', personalId: '079185012345' })).toMatchObject({ personalId: '079185012345' });
    expect(parseOrThrow(localTokenRequestSchema, { role: 'ops' })).toEqual({ role: 'ops' });
  });

  it.each([
    ['a province without provinceCode', { role: 'province' }, [['provinceCode', 'required']]],
    ['a province with an unknown code', { role: 'province', provinceCode: '00' }, [['provinceCode', 'invalid_value']]],
    ['a beneficiary without personalId', { role: 'beneficiary' }, [['personalId', 'required']]],
    ['a beneficiary with a malformed personalId', { role: 'beneficiary', personalId: '123' }, [['personalId', 'invalid_personal_id_format']]],
    ['ops with a provinceCode', { role: 'ops', provinceCode: '79' }, [['provinceCode', 'unknown_field']]],
    ['an unknown role', { role: 'admin' }, [['role', 'invalid_value']]],
    ['no role', {}, [['role', 'required']]],
    ['an empty sub', { role: 'ops', sub: '' }, [['sub', 'too_small']]],
  ])('refuses %s', (_label, body, expected) => {
    expect(codesOf(localTokenRequestSchema, body)).toEqual(expected);
  });
});

describe('local population request', () => {
  const citizen = { personalId: '079185012345', fullName: 'Nguyễn Thị Ánh', dateOfBirth: '1985-03-14', gender: 'F' };

  it('accepts citizens, alive or with a date of death', () => {
    const body = { citizens: [citizen, { ...citizen, personalId: '001090000001', gender: 'M', dateOfBirth: '1990-01-01', dateOfDeath: '2024-12-31' }] };
    expect(parseOrThrow(schemas.localPopulationRequest, body)).toEqual(body);
  });

  it.each([
    ['no citizens', { citizens: [] }, [['citizens', 'too_small']]],
    ['a death before birth', { citizens: [{ ...citizen, dateOfDeath: '1980-01-01' }] }, [['citizens[0].dateOfDeath', 'date_order']]],
    ['a death in the future', { citizens: [{ ...citizen, dateOfDeath: '2030-01-01' }] }, [['citizens[0].dateOfDeath', 'date_in_future']]],
    ['no gender', { citizens: [{ ...citizen, gender: undefined }] }, [['citizens[0].gender', 'required']]],
    ['the same person twice', { citizens: [citizen, citizen] }, [['citizens[1].personalId', 'duplicate_personal_id']]],
  ])('refuses %s', (_label, body, expected) => {
    expect(codesOf(schemas.localPopulationRequest, body)).toEqual(expected);
  });
});

describe('query strings', () => {
  it('defaults limit to 100 and accepts 1-1000', () => {
    expect(parseOrThrow(listQuerySchema, {})).toEqual({ limit: 100 });
    expect(parseOrThrow(listQuerySchema, { limit: '1000', cursor: 'abc_-1' })).toEqual({ limit: 1000, cursor: 'abc_-1' });
    expect(parseOrThrow(listBatchesQuerySchema, { limit: '1', period: '2025-07', status: 'OPEN', utm_source: 'x' })).toEqual({
      limit: 1,
      period: '2025-07',
      status: 'OPEN',
    });
  });

  it.each([
    ['0', 'too_small'],
    ['1001', 'too_big'],
    ['ten', 'invalid_limit'],
    ['5.5', 'invalid_limit'],
    ['-1', 'invalid_limit'],
    ['1e2', 'invalid_limit'],
  ])('refuses limit=%s', (limit, code) => {
    expect(codesOf(listQuerySchema, { limit })).toEqual([['limit', code]]);
  });

  it('refuses a cursor with characters no cursor has', () => {
    expect(codesOf(listQuerySchema, { cursor: 'a b' })).toEqual([['cursor', 'invalid_cursor']]);
  });
});

describe('batch resource', () => {
  it('requires a count and an amount for every payment status', () => {
    // Prepare
    const zeros = { RECEIVED: 0, VERIFIED: 0, REJECTED: 0, QUEUED: 0, ON_HOLD: 0, SENT: 0, PAID: 0, FAILED: 0, RETURNED: 0, CANCELLED: 0 };
    const resource = {
      batchId: '01JZ8Q3V7R5W2X9Y4T6N1M0K3P',
      batchRef: 'HCM-SA-2025-07',
      provinceCode: '79',
      programCode: 'SOCIAL_ALLOWANCE',
      period: '2025-07',
      status: 'OPEN',
      control: { itemCount: 2, totalAmount: 1_000_000 },
      received: { itemCount: 0, totalAmount: 0 },
      counts: zeros,
      amounts: zeros,
      rejections: {},
      createdBy: 'maker-1',
      approvedBy: null,
      scheduledFor: null,
      createdAt: '2025-07-15T03:00:00.000Z',
      updatedAt: '2025-07-15T03:00:00.000Z',
    };
    const { PAID: _paid, ...countsWithoutPaid } = zeros;

    // Act / Assess
    expect(batchSchema.safeParse(resource).success).toBe(true);
    expect(batchSchema.safeParse({ ...resource, counts: countsWithoutPaid }).success).toBe(false);
  });
});
