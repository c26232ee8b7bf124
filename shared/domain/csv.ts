import { ValidationFailedError, type ItemError } from './errors.js';

/**
 * A small RFC 4180 reader for the CSV form of a payment chunk. Hand-written
 * because the need is narrow (one header, six columns, a body of at most a few
 * MB already decoded as UTF-8) and every rule is tested here:
 * - a leading UTF-8 byte-order mark is ignored (spreadsheet programs write one);
 * - records end with CRLF, LF or a lone CR;
 * - a field in double quotes may hold commas, line breaks and doubled quotes (`""`);
 * - a quote inside an unquoted field, text after a closing quote, or a quote
 *   left open is a syntax error naming the line;
 * - empty lines (a trailing newline, a blank line) are skipped: they are never
 *   a payment, and refusing them would only punish an editor's habit.
 * Errors never quote the file's content.
 */

export const PAYMENT_CSV_COLUMNS = ['paymentRef', 'personalId', 'fullName', 'dateOfBirth', 'gender', 'amount'] as const;
export type PaymentCsvColumn = (typeof PAYMENT_CSV_COLUMNS)[number];

export interface CsvRecord {
  /** 1-based line on which the record starts. */
  line: number;
  fields: string[];
}

function csvError(detail: string, error: ItemError): ValidationFailedError {
  return new ValidationFailedError(detail, { errors: [error], extensions: { errorCount: 1 } });
}

function syntaxError(line: number, problem: string): ValidationFailedError {
  return csvError('The CSV body is not well-formed.', { path: '', code: 'csv_syntax', message: `CSV line ${line}: ${problem}.` });
}

/** Every record of a CSV text, in order, with the line each starts on. */
export function parseCsv(text: string): CsvRecord[] {
  const input = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let quoted = false; // inside a quoted field
  let wasQuoted = false; // the current field was quoted (and has been closed)
  let quoteLine = 1;
  let wasQuotedRecord = false; // some field of the current record was quoted: `""` alone is a record, not an empty line

  const endField = () => {
    fields.push(field);
    field = '';
    wasQuoted = false;
  };
  const endRecord = () => {
    endField();
    const empty = fields.length === 1 && fields[0] === '' && !wasQuotedRecord;
    if (!empty) records.push({ line: recordLine, fields });
    fields = [];
    wasQuotedRecord = false;
  };

  for (let i = 0; i < input.length; i++) {
    const char = input.charAt(i);
    if (quoted) {
      if (char === '"') {
        if (input[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
          wasQuoted = true;
        }
      } else {
        if (char === '\n' || (char === '\r' && input[i + 1] !== '\n')) line++;
        field += char;
      }
      continue;
    }
    if (char === ',') {
      endField();
    } else if (char === '\r' || char === '\n') {
      if (char === '\r' && input[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else if (wasQuoted) {
      throw syntaxError(line, 'text after the closing quote of a field (a quote inside a quoted field is written "")');
    } else if (char === '"') {
      if (field !== '') throw syntaxError(line, 'a quote inside an unquoted field (quote the whole field and double the quote)');
      quoted = true;
      wasQuotedRecord = true;
      quoteLine = line;
    } else {
      field += char;
    }
  }
  if (quoted) throw syntaxError(quoteLine, 'a quoted field is never closed');
  if (field !== '' || fields.length > 0 || wasQuoted) endRecord();
  return records;
}

export interface PaymentCsvRecord {
  /** 1-based line of the file on which the row starts (the header is line 1 or later). */
  line: number;
  /** The row's values by column name; a column the row is too short for is absent. */
  values: Partial<Record<PaymentCsvColumn, string>>;
  /** How many fields the row has (6 when well-formed). */
  fieldCount: number;
}

/**
 * The rows of a payment CSV by column name. The header must name the six
 * columns `paymentRef,personalId,fullName,dateOfBirth,gender,amount`, each once,
 * in any order (names are case-sensitive, as in JSON). A missing, unknown or
 * repeated column, an empty body or a syntax error is a ValidationFailedError
 * (422). Rows with the wrong number of fields are returned as they are, so that
 * the caller can report them together with every other bad row.
 */
export function parsePaymentsCsv(text: string): PaymentCsvRecord[] {
  const [header, ...rows] = parseCsv(text);
  const expected = PAYMENT_CSV_COLUMNS.join(',');
  if (!header) {
    throw csvError('The CSV body is empty.', { path: 'header', code: 'csv_header', message: `The first line must be the header ${expected}.` });
  }
  const errors: ItemError[] = [];
  const known = new Set<string>(PAYMENT_CSV_COLUMNS);
  const seen = new Set<string>();
  header.fields.forEach((name, position) => {
    if (!known.has(name)) {
      errors.push({ path: 'header', code: 'csv_header', message: `Header column ${position + 1} is not one of ${expected}.` });
    } else if (seen.has(name)) {
      errors.push({ path: 'header', code: 'csv_header', message: `Header column ${name} appears more than once.` });
    }
    seen.add(name);
  });
  for (const column of PAYMENT_CSV_COLUMNS) {
    if (!seen.has(column)) errors.push({ path: 'header', code: 'csv_header', message: `The header has no ${column} column (expected ${expected}).` });
  }
  if (errors.length > 0) {
    throw new ValidationFailedError('The CSV header is wrong.', { errors, extensions: { errorCount: errors.length } });
  }
  const columns = header.fields as PaymentCsvColumn[];
  return rows.map(({ line, fields }) => {
    const values: Partial<Record<PaymentCsvColumn, string>> = {};
    columns.forEach((column, position) => {
      const value = fields[position];
      if (value !== undefined) values[column] = value;
    });
    return { line, values, fieldCount: fields.length };
  });
}
