import { describe, expect, it } from 'vitest';
import { parseCsv, parsePaymentsCsv } from '../../../shared/domain/csv.js';
import type { Clock } from '../../../shared/domain/dates.js';
import { ValidationFailedError } from '../../../shared/domain/errors.js';
import { createRequestSchemas } from '../../../shared/domain/schemas.js';
import { parseOrThrow, paymentsFromCsv } from '../../../shared/domain/validation.js';

const clock: Clock = { now: () => new Date('2025-07-15T03:00:00Z') };
const schemas = createRequestSchemas(clock);
const HEADER = 'paymentRef,personalId,fullName,dateOfBirth,gender,amount';

/** The ValidationFailedError a call throws (fails the test when it does not). */
function failureOf(call: () => unknown): ValidationFailedError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationFailedError);
    return error as ValidationFailedError;
  }
  throw new Error('expected a ValidationFailedError');
}

describe('parseCsv (RFC 4180)', () => {
  it('reads records separated by CRLF, LF or CR, and ignores a UTF-8 byte-order mark', () => {
    expect(parseCsv('\uFEFFa,b\r\nc,d\ne,f\rg,h')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['c', 'd'] },
      { line: 3, fields: ['e', 'f'] },
      { line: 4, fields: ['g', 'h'] },
    ]);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks, and counts lines inside them', () => {
    // Prepare
    const text = 'a,"b, c","say ""hi"""\r\n"multi\r\nline","x\ny",z\r\nlast,,""\r\n';

    // Act
    const records = parseCsv(text);

    // Assess
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b, c', 'say "hi"'] },
      { line: 2, fields: ['multi\r\nline', 'x\ny', 'z'] },
      { line: 5, fields: ['last', '', ''] },
    ]);
  });

  it('skips empty lines and a trailing line break, but keeps a record of one quoted empty field', () => {
    expect(parseCsv('a,b\n\n\nc,d\n')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 4, fields: ['c', 'd'] },
    ]);
    expect(parseCsv('""\n')).toEqual([{ line: 1, fields: [''] }]);
    expect(parseCsv('')).toEqual([]);
    expect(parseCsv('\uFEFF')).toEqual([]);
  });

  it('keeps a trailing empty field', () => {
    expect(parseCsv('a,')).toEqual([{ line: 1, fields: ['a', ''] }]);
  });

  it.each([
    ['a quote left open', 'a,b\n"open,c\nd', 2],
    ['a quote inside an unquoted field', 'a,b\nab"c,d', 2],
    ['text after a closing quote', 'a,b\nc,"d"e', 2],
  ])('reports %s with its line, without quoting the content', (_label, text, line) => {
    const failure = failureOf(() => parseCsv(text));
    expect(failure.status).toBe(422);
    expect(failure.errors).toEqual([{ path: '', code: 'csv_syntax', message: expect.stringContaining(`CSV line ${line}:`) }]);
    expect(failure.errors?.[0]?.message).not.toMatch(/open|ab"c|"d"e/);
  });
});

describe('parsePaymentsCsv', () => {
  it('maps rows to the six columns, in any header order', () => {
    // Prepare
    const text = 'amount,gender,dateOfBirth,fullName,personalId,paymentRef\n500000,F,1985-03-14,Nguyễn Thị Ánh,079185012345,P-1\n';

    // Act
    const rows = parsePaymentsCsv(text);

    // Assess
    expect(rows).toEqual([
      {
        line: 2,
        fieldCount: 6,
        values: { paymentRef: 'P-1', personalId: '079185012345', fullName: 'Nguyễn Thị Ánh', dateOfBirth: '1985-03-14', gender: 'F', amount: '500000' },
      },
    ]);
  });

  it.each([
    ['an empty body', '', /The first line must be the header/],
    ['a missing column', 'paymentRef,personalId,fullName,dateOfBirth,amount\n', /no gender column/],
    ['an unknown column', `${HEADER},note\n`, /column 7 is not one of/],
    ['a repeated column', `${HEADER},amount\n`, /amount appears more than once/],
    ['a header in the wrong case', HEADER.toUpperCase(), /is not one of/],
    ['data where the header should be', 'P-1,079185012345,Nguyễn Thị Ánh,1985-03-14,F,500000\n', /is not one of/],
  ])('refuses %s as a wrong header', (_label, text, message) => {
    const failure = failureOf(() => parsePaymentsCsv(text));
    expect(failure.status).toBe(422);
    expect(failure.errors?.every((error) => error.code === 'csv_header' && error.path === 'header')).toBe(true);
    expect(failure.errors?.map((error) => error.message).join(' ')).toMatch(message);
    expect(JSON.stringify(failure.errors)).not.toContain('079185012345');
  });

  it('returns no rows for a header alone', () => {
    expect(parsePaymentsCsv(`${HEADER}\r\n`)).toEqual([]);
  });
});

describe('paymentsFromCsv', () => {
  it('gives the same typed payment items as the JSON form (BOM, CRLF, quotes, empty gender)', () => {
    // Prepare
    const text = [
      `\uFEFF${HEADER}`,
      'P-1,079185012345,"Nguyễn Thị Ánh",1985-03-14,F,500000',
      'P-2,001090000001,"Trần ""Bé"" Văn, Bình",1990-01-01,,2789000',
      '',
    ].join('\r\n');
    const json = {
      payments: [
        { paymentRef: 'P-1', personalId: '079185012345', fullName: 'Nguyễn Thị Ánh', dateOfBirth: '1985-03-14', gender: 'F', amount: 500_000 },
        { paymentRef: 'P-2', personalId: '001090000001', fullName: 'Trần "Bé" Văn, Bình', dateOfBirth: '1990-01-01', amount: 2_789_000 },
      ],
    };

    // Act
    const fromCsv = paymentsFromCsv(text, schemas.csvPayments);

    // Assess
    expect(fromCsv).toEqual(parseOrThrow(schemas.appendPayments, json).payments);
    expect(fromCsv[1]).not.toHaveProperty('gender');
  });

  it('lists every bad row at once, with index, paymentRef and CSV line', () => {
    // Prepare
    const text = [
      HEADER,
      'P-1,079185012345,Nguyễn Thị Ánh,1985-03-14,F,500000',
      'P-2,079185012345,Nguyễn Thị Ánh,1985-03-14,F,"500,000"',
      'P-3,079185012345,Nguyễn Thị Ánh,1985-03-14,F',
      'P-4,079185012345,"Nguyễn',
      'Thị Ánh",2023-02-29,X,5e5',
      'P-1,079185012345,Nguyễn Thị Ánh,1985-03-14,F,500000',
    ].join('\n');

    // Act
    const failure = failureOf(() => paymentsFromCsv(text, schemas.csvPayments));

    // Assess
    expect(failure.errors?.map(({ index, paymentRef, path, code }) => [index, paymentRef, path, code])).toEqual([
      [1, 'P-2', 'payments[1].amount', 'invalid_amount'],
      [2, 'P-3', 'payments[2]', 'csv_column_count'],
      [3, 'P-4', 'payments[3].fullName', 'invalid_characters'],
      [3, 'P-4', 'payments[3].dateOfBirth', 'invalid_date'],
      [3, 'P-4', 'payments[3].gender', 'invalid_value'],
      [3, 'P-4', 'payments[3].amount', 'invalid_amount'],
      [4, 'P-1', 'payments[4].paymentRef', 'duplicate_payment_ref'],
    ]);
    expect(failure.errors?.map((error) => error.message.match(/^CSV line (\d+):/)?.[1])).toEqual(['3', '4', '5', '5', '5', '5', '7']);
    expect(failure.extensions).toEqual({ errorCount: 7 });
  });

  it.each(['-500000', '+500000', ' 500000', '500000.00', '500.000', '5e5', '', '12345678901234567'])('refuses the amount %j', (amount) => {
    const failure = failureOf(() => paymentsFromCsv(`${HEADER}\nP-1,079185012345,A,1985-03-14,F,${amount}\n`, schemas.csvPayments));
    expect(failure.errors?.map((error) => error.code)).toEqual(['invalid_amount']);
  });

  it('refuses an amount of 16 digits past 2^53 and one below 1,000', () => {
    const tooBig = failureOf(() => paymentsFromCsv(`${HEADER}\nP-1,079185012345,A,1985-03-14,F,9007199254740993\n`, schemas.csvPayments));
    const tooSmall = failureOf(() => paymentsFromCsv(`${HEADER}\nP-1,079185012345,A,1985-03-14,F,0999\n`, schemas.csvPayments));
    expect(tooBig.errors?.map((error) => error.code)).toEqual(['too_big']);
    expect(tooSmall.errors?.map((error) => error.code)).toEqual(['too_small']);
  });

  it('refuses a file with a header and no rows, and one with more than 5,000 rows', () => {
    expect(failureOf(() => paymentsFromCsv(HEADER, schemas.csvPayments)).errors?.map((error) => error.code)).toEqual(['too_small']);
    const rows = Array.from({ length: 5_001 }, (_, index) => `P-${index},079185012345,A,1985-03-14,F,500000`);
    const failure = failureOf(() => paymentsFromCsv([HEADER, ...rows].join('\n'), schemas.csvPayments));
    expect(failure.errors?.map((error) => [error.path, error.code])).toEqual([['payments', 'too_big']]);
  });

  it('refuses a wrong header before looking at rows', () => {
    const failure = failureOf(() => paymentsFromCsv('ref,id,name,dob,sex,amount\nP-1,079185012345,A,1985-03-14,F,500000\n'));
    expect(failure.errors?.every((error) => error.code === 'csv_header')).toBe(true);
  });
});
