import { createHash } from 'node:crypto';
import * as z from 'zod';
import { findProgram } from '../../shared/domain/catalogues.js';
import { PAYMENT_CSV_COLUMNS, parsePaymentsCsv } from '../../shared/domain/csv.js';
import { ValidationFailedError, type ItemError } from '../../shared/domain/errors.js';
import { AmountOverflowError, sumAmounts } from '../../shared/domain/money.js';
import { checkPersonalId } from '../../shared/domain/personal-id.js';
import { csvPaymentRowSchema, MAX_REF_LENGTH, type PaymentItem } from '../../shared/domain/schemas.js';
import { toItemErrors } from '../../shared/domain/validation.js';
import { CRLF, PAYMENT_CSV_HEADER, paymentCsvLine } from './csv-format.js';

/**
 * The payments file, checked locally before anything is sent. The rules are the
 * server's own (the same CSV reader and row schema), plus what only the whole
 * file can tell: a paymentRef must be unique in the batch, not just in a chunk.
 *
 * Every message names the file line and the field, never a value: personal ID
 * numbers and names must not reach a terminal, a CI log or a support ticket.
 */

export interface PaymentRow {
  /** 1-based line of the file on which the row starts. */
  line: number;
  payment: PaymentItem;
  /** The row in canonical CSV form (no line end): what is sent. */
  csv: string;
}

export interface ControlTotals {
  itemCount: number;
  totalAmount: number;
}

export interface PaymentsFile {
  rows: PaymentRow[];
  control: ControlTotals;
  /** SHA-256 (hex) of the canonical CSV of every row: the same payments give the same digest whatever the line ends, BOM or quoting. */
  digest: string;
}

/** A problem found locally: a line (0 for the whole file) and a message without personal data. */
export interface FileProblem {
  line: number;
  code: string;
  message: string;
}

export class InvalidFileError extends Error {
  override readonly name = 'InvalidFileError';
  constructor(
    readonly problems: FileProblem[],
    /** How many distinct rows are bad. */
    readonly badRows: number,
  ) {
    super(`The file has ${problems.length} problem${problems.length === 1 ? '' : 's'}.`);
  }
}

const fileSchema = z.strictObject({ payments: z.array(csvPaymentRowSchema) });

/** "CSV line 12: personalId ..." (the shared reader's form) to a FileProblem on line 12. */
function fromItemError(error: ItemError, lines: readonly number[]): FileProblem {
  const match = /^CSV line (\d+): (.*)$/s.exec(error.message);
  if (match) return { line: Number(match[1]), code: error.code, message: match[2] ?? '' };
  if (error.path === 'header') return { line: 1, code: error.code, message: error.message };
  const line = error.index === undefined ? 0 : (lines[error.index] ?? 0);
  return { line, code: error.code, message: error.message };
}

/**
 * Parses and checks the whole file. Throws InvalidFileError listing every
 * problem (sorted by line) when anything is wrong.
 */
export function readPaymentsFile(text: string): PaymentsFile {
  let records;
  try {
    records = parsePaymentsCsv(text);
  } catch (error) {
    if (error instanceof ValidationFailedError) {
      const problems = (error.errors ?? []).map((item) => fromItemError(item, []));
      throw new InvalidFileError(problems.length > 0 ? problems : [{ line: 0, code: 'csv', message: error.message }], 0);
    }
    throw error;
  }
  if (records.length === 0) {
    throw new InvalidFileError([{ line: 0, code: 'empty', message: `The file has a header but no payment rows.` }], 0);
  }

  const lines = records.map((record) => record.line);
  const problems: FileProblem[] = [];
  const misshapen = new Set<number>();
  records.forEach((record, index) => {
    if (record.fieldCount === PAYMENT_CSV_COLUMNS.length) return;
    misshapen.add(index);
    problems.push({
      line: record.line,
      code: 'csv_column_count',
      message: `the row has ${record.fieldCount} field${record.fieldCount === 1 ? '' : 's'}; the header has ${PAYMENT_CSV_COLUMNS.length}.`,
    });
  });

  // paymentRef is unique in the batch, across chunks.
  const firstLineOfRef = new Map<string, number>();
  records.forEach((record, index) => {
    const ref = record.values.paymentRef;
    if (ref === undefined || ref === '' || misshapen.has(index)) return;
    const first = firstLineOfRef.get(ref);
    if (first === undefined) firstLineOfRef.set(ref, record.line);
    else problems.push({ line: record.line, code: 'duplicate_payment_ref', message: `paymentRef is used more than once in this file (first on line ${first}).` });
  });

  const input = { payments: records.map((record) => record.values) };
  const result = fileSchema.safeParse(input);
  if (!result.success) {
    for (const error of toItemErrors(result.error, { input, lines })) {
      if (error.index !== undefined && misshapen.has(error.index)) continue; // the column count says it already
      problems.push(fromItemError(error, lines));
    }
  }
  if (problems.length > 0 || !result.success) {
    problems.sort((a, b) => a.line - b.line);
    throw new InvalidFileError(problems, new Set(problems.map((problem) => problem.line)).size);
  }

  const rows = result.data.payments.map((payment, index) => ({ line: lines[index] ?? 0, payment, csv: paymentCsvLine(payment) }));
  let totalAmount: number;
  try {
    totalAmount = sumAmounts(rows.map((row) => row.payment.amount));
  } catch (error) {
    if (error instanceof AmountOverflowError) {
      throw new InvalidFileError([{ line: 0, code: 'total_overflow', message: 'The total amount is too large to be carried exactly (over 2^53 - 1 VND).' }], 0);
    }
    throw error;
  }
  const hash = createHash('sha256');
  hash.update(PAYMENT_CSV_HEADER + CRLF);
  for (const row of rows) hash.update(row.csv + CRLF);
  return { rows, control: { itemCount: rows.length, totalAmount }, digest: hash.digest('hex') };
}

/**
 * Things the server accepts at upload and rejects later, payment by payment
 * (api.md: they never fail the upload). Reported as warnings so that the
 * operator can fix the file before sending it if they wish.
 */
export function findWarnings(file: PaymentsFile, programCode: string): FileProblem[] {
  const warnings: FileProblem[] = [];
  const maxAmount = findProgram(programCode)?.maxAmount;
  const firstLineOfPerson = new Map<string, number>();
  for (const { line, payment } of file.rows) {
    const check = checkPersonalId(payment.personalId, payment);
    if (!check.ok) warnings.push({ line, code: 'INVALID_ID', message: `${check.detail} It will be REJECTED with INVALID_ID.` });
    if (maxAmount !== undefined && payment.amount > maxAmount) {
      warnings.push({
        line,
        code: 'AMOUNT_OVER_PROGRAM_LIMIT',
        message: `amount is over the program's limit of ${maxAmount.toLocaleString('en-US')} VND; it will be REJECTED with AMOUNT_OVER_PROGRAM_LIMIT.`,
      });
    }
    const first = firstLineOfPerson.get(payment.personalId);
    if (first === undefined) firstLineOfPerson.set(payment.personalId, line);
    else {
      warnings.push({
        line,
        code: 'DUPLICATE_ENTITLEMENT',
        message: `the same personal ID as line ${first}: a person is paid once per program and period, so one of the two will be REJECTED with DUPLICATE_ENTITLEMENT.`,
      });
    }
  }
  return warnings;
}

/**
 * The batchRef a rerun with the same payments finds again: province, program,
 * period and 16 hex digits of the payments' digest. At most 60 characters of
 * [A-Za-z0-9_-] (program codes are at most 32), inside the API's 64.
 */
export function deriveBatchRef(input: { provinceCode: string; programCode: string; period: string; digest: string }): string {
  const ref = `${input.provinceCode}-${input.programCode}-${input.period}-${input.digest.slice(0, 16)}`;
  if (ref.length > MAX_REF_LENGTH) throw new RangeError('The derived batchRef is too long.');
  return ref;
}

export interface ChunkRange {
  /** 0-based position of the chunk. */
  index: number;
  /** First row (0-based, inclusive) and end (exclusive). */
  start: number;
  end: number;
}

/**
 * Fixed boundaries: chunk k holds rows [k * size, (k + 1) * size). The same file
 * and size give the same chunks on every run, so a resent chunk is byte for byte
 * the one the server may already hold.
 */
export function chunkRanges(rowCount: number, chunkSize: number): ChunkRange[] {
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError('The chunk size is a positive whole number.');
  const ranges: ChunkRange[] = [];
  for (let start = 0, index = 0; start < rowCount; start += chunkSize, index++) {
    ranges.push({ index, start, end: Math.min(rowCount, start + chunkSize) });
  }
  return ranges;
}

/** The body of one chunk: the header, then its rows, CRLF-terminated. */
export function chunkBody(rows: readonly PaymentRow[], range: ChunkRange): string {
  let body = PAYMENT_CSV_HEADER + CRLF;
  for (const row of rows.slice(range.start, range.end)) body += row.csv + CRLF;
  return body;
}
