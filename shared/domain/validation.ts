import type * as z from 'zod';
import { PAYMENT_CSV_COLUMNS, parsePaymentsCsv } from './csv.js';
import { ValidationFailedError, type ItemError } from './errors.js';
import { csvPaymentsSchema, describeFormat, type PaymentItem } from './schemas.js';

/**
 * From zod issues to the API's error list (api.md: `errors: [{ index?,
 * paymentRef?, path, code, message }]`). Every message is written here from the
 * issue's kind and limits; zod's own messages are never passed on, because some
 * quote the input (unknown field names, for instance). The only submitted text
 * that can reach a message is a field name, and that is sanitised. Submitted
 * values (personal ID numbers, names, dates) never do.
 */

/** At most this many errors are listed in one answer; `errorCount` gives the total. */
export const MAX_LISTED_ERRORS = 1_000;

/** Top-level fields whose elements are "items" with an index (and, for payments, a paymentRef). */
const ITEM_LISTS = new Set(['payments', 'citizens']);

export interface ItemErrorOptions {
  /**
   * The raw input that was validated. Used to tell a missing field from a
   * mistyped one (only the JavaScript type of a value is looked at) and, when
   * `items` is not given, to find the raw items of `payments`/`citizens`.
   */
  input?: unknown;
  /** The raw items of the request's list, to name each bad item by its paymentRef. */
  items?: readonly unknown[];
  /** CSV: the file line of each item, added to its messages. */
  lines?: readonly number[];
}

type PathSegment = PropertyKey;

/** `payments[3].amount`; `''` for the whole body. */
export function formatPath(path: readonly PathSegment[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? sanitizeKey(String(segment)) : `.${sanitizeKey(String(segment))}`;
  }
  return text;
}

/**
 * A field name as a client sent it, made safe to show: long digit runs (a
 * personal ID used as a key) are masked, control characters replaced, length capped.
 */
function sanitizeKey(key: string): string {
  const cleaned = key.replace(/[0-9]{6,}/g, '[digits]').replace(/[\p{Cc}\p{Cf}]/gu, '?');
  return cleaned.length > 64 ? `${cleaned.slice(0, 63)}…` : cleaned;
}

function valueAt(input: unknown, path: readonly PathSegment[]): { found: boolean; value: unknown } {
  let current: unknown = input;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, segment)) return { found: false, value: undefined };
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return { found: true, value: current };
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number with a fraction';
  return typeof value;
}

/** The name a message starts with: the field inside the item, or the whole path. */
function label(path: readonly PathSegment[]): string {
  let lastIndex = -1;
  path.forEach((segment, position) => {
    if (typeof segment === 'number') lastIndex = position;
  });
  const inner = path.slice(lastIndex + 1);
  if (inner.length > 0) return formatPath(inner);
  if (path.length > 0) return formatPath(path);
  return 'The request body';
}

const groupDigits = (value: number | bigint) => value.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');

function showValue(value: unknown): string {
  if (value === '') return '(empty)';
  return typeof value === 'string' ? value : String(value);
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a JSON object',
  array: 'a JSON array',
  literal: 'a fixed value',
};

interface Described {
  path: PathSegment[];
  code: string;
  predicate: string;
}

function describe(issue: z.core.$ZodIssue, input: unknown): Described[] {
  const path = issue.path as PathSegment[];
  if (issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_union') {
    // zod reports a missing enum or discriminator as a wrong value: say what it is.
    const { found, value } = valueAt(input, path);
    if (!found || value === undefined) return [{ path, code: 'required', predicate: 'is required' }];
  }
  switch (issue.code) {
    case 'invalid_type': {
      const received = kindOf(valueAt(input, path).value);
      if (issue.expected === 'int' && received === 'number with a fraction') {
        return [{ path, code: 'invalid_type', predicate: 'must be a whole number (no fraction)' }];
      }
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      const hint = issue.expected === 'string' && (received === 'integer' || received === 'number with a fraction') ? ' (in double quotes)' : '';
      return [{ path, code: 'invalid_type', predicate: `must be ${expected}${hint}, not ${received === 'integer' ? 'a number' : `a ${received}`}` }];
    }
    case 'too_small': {
      const minimum = issue.minimum;
      if (issue.origin === 'string') {
        return [{ path, code: 'too_small', predicate: Number(minimum) <= 1 ? 'must not be empty' : `must be at least ${minimum} characters long` }];
      }
      if (issue.origin === 'array' || issue.origin === 'set') {
        return [{ path, code: 'too_small', predicate: `must hold at least ${groupDigits(minimum)} item${Number(minimum) === 1 ? '' : 's'}` }];
      }
      return [{ path, code: 'too_small', predicate: `must be ${issue.inclusive === false ? 'more than' : 'at least'} ${groupDigits(minimum)}` }];
    }
    case 'too_big': {
      const maximum = issue.maximum;
      if (issue.origin === 'string') return [{ path, code: 'too_big', predicate: `must be at most ${maximum} characters long` }];
      if (issue.origin === 'array' || issue.origin === 'set') {
        return [{ path, code: 'too_big', predicate: `must hold at most ${groupDigits(maximum)} items` }];
      }
      return [{ path, code: 'too_big', predicate: `must be ${issue.inclusive === false ? 'less than' : 'at most'} ${groupDigits(maximum)}` }];
    }
    case 'invalid_format': {
      if (issue.format === 'regex' && issue.pattern) {
        const known = describeFormat(issue.pattern);
        if (known) return [{ path, code: known.code, predicate: known.message }];
      }
      if (issue.format === 'date') return [{ path, code: 'invalid_date', predicate: 'must be a real calendar date written YYYY-MM-DD' }];
      if (issue.format === 'datetime') {
        return [{ path, code: 'invalid_datetime', predicate: 'must be an ISO 8601 date and time with a time zone, such as 2025-07-01T09:30:00Z' }];
      }
      return [{ path, code: 'invalid_format', predicate: 'has the wrong format' }];
    }
    case 'invalid_value': {
      // The allowed values are ours (codes, enums), never the client's.
      // Sorted when numeric codes: zod keeps "11" before "01" (integer-like object keys come first).
      const raw = issue.values.every((value) => typeof value === 'string' && /^[0-9]+$/.test(value))
        ? [...(issue.values as string[])].sort()
        : issue.values;
      const values = raw.map(showValue);
      return [{ path, code: 'invalid_value', predicate: values.length === 1 ? `must be ${values[0]}` : `must be one of: ${values.join(', ')}` }];
    }
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: [...path, key], code: 'unknown_field', predicate: 'is not a known field' }));
    case 'invalid_union': {
      const union = issue as z.core.$ZodIssueInvalidUnion & { options?: unknown[]; discriminator?: string };
      if (union.options && union.discriminator) {
        return [{ path, code: 'invalid_value', predicate: `must be one of: ${union.options.map(showValue).join(', ')}` }];
      }
      return [{ path, code: 'invalid_union', predicate: 'does not match any allowed form' }];
    }
    case 'custom': {
      const code = typeof issue.params?.code === 'string' ? issue.params.code : 'invalid_value';
      // Our refinements all set a predicate; zod's fallback text is replaced by a neutral one.
      const predicate = issue.message && issue.message !== 'Invalid input' ? issue.message : 'is not valid';
      return [{ path, code, predicate }];
    }
    case 'not_multiple_of':
      return [{ path, code: 'not_multiple_of', predicate: `must be a multiple of ${String(issue.divisor)}` }];
    default:
      return [{ path, code: issue.code, predicate: 'is not valid' }];
  }
}

/** The item index of a path inside `payments`/`citizens`, if any. */
function itemIndex(path: readonly PathSegment[]): number | undefined {
  const [list, index] = path;
  return typeof list === 'string' && ITEM_LISTS.has(list) && typeof index === 'number' ? index : undefined;
}

/** Turns a ZodError into the API's error list, in the order zod found the problems. */
export function toItemErrors(error: z.ZodError, options: ItemErrorOptions = {}): ItemError[] {
  const errors: ItemError[] = [];
  const seen = new Set<string>();
  for (const issue of error.issues) {
    for (const { path, code, predicate } of describe(issue, options.input)) {
      const pathText = formatPath(path);
      // z.int() and a bound can both report one value; list it once.
      const key = `${pathText}\u0000${code}`;
      if (seen.has(key)) continue;
      seen.add(key);

      const index = itemIndex(path);
      const entry: ItemError = { path: pathText, code, message: `${label(path)} ${predicate}.` };
      if (index !== undefined) {
        entry.index = index;
        const list = path[0] as string;
        const items = options.items ?? (valueAt(options.input, [list]).value as unknown[] | undefined);
        const raw: unknown = Array.isArray(items) ? items[index] : undefined;
        const paymentRef = typeof raw === 'object' && raw !== null ? (raw as { paymentRef?: unknown }).paymentRef : undefined;
        if (list === 'payments' && typeof paymentRef === 'string') entry.paymentRef = paymentRef;
        const line = options.lines?.[index];
        if (line !== undefined) entry.message = `CSV line ${line}: ${entry.message}`;
      }
      errors.push(entry);
    }
  }
  return sortByIndex(errors);
}

/** Whole-body errors first, then item by item (stable: each item's errors stay in field order). */
function sortByIndex(errors: ItemError[]): ItemError[] {
  return errors.sort((a, b) => (a.index ?? -1) - (b.index ?? -1));
}

/** A 422 listing at most MAX_LISTED_ERRORS errors, with the total in `errorCount`. */
export function validationFailed(errors: ItemError[], status: 400 | 422 = 422): ValidationFailedError {
  const count = errors.length;
  const listed = errors.slice(0, MAX_LISTED_ERRORS);
  const detail =
    count > MAX_LISTED_ERRORS
      ? `The request has ${count} validation errors; the first ${MAX_LISTED_ERRORS} are listed.`
      : `The request has ${count} validation error${count === 1 ? '' : 's'}.`;
  return new ValidationFailedError(detail, { status, errors: listed, extensions: { errorCount: count } });
}

/** The parsed value, or a ValidationFailedError (422) listing what is wrong. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, options: Omit<ItemErrorOptions, 'input'> = {}): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw validationFailed(toItemErrors(result.error, { ...options, input }));
}

/**
 * The payments of a CSV chunk (header `paymentRef,personalId,fullName,
 * dateOfBirth,gender,amount`), validated whole exactly like the JSON form. Every
 * bad row is reported at once with its index, paymentRef and CSV line: rows
 * with the wrong number of fields together with rows whose values are wrong.
 */
export function paymentsFromCsv(text: string, schema: z.ZodType<{ payments: PaymentItem[] }> = csvPaymentsSchema): PaymentItem[] {
  const records = parsePaymentsCsv(text);
  const rows = records.map((record) => record.values);
  const lines = records.map((record) => record.line);
  const shapeErrors: ItemError[] = [];
  const misshapen = new Set<number>();
  records.forEach((record, index) => {
    if (record.fieldCount === PAYMENT_CSV_COLUMNS.length) return;
    misshapen.add(index);
    const entry: ItemError = {
      index,
      path: `payments[${index}]`,
      code: 'csv_column_count',
      message: `CSV line ${record.line}: the row has ${record.fieldCount} field${record.fieldCount === 1 ? '' : 's'}; the header has ${PAYMENT_CSV_COLUMNS.length}.`,
    };
    if (record.values.paymentRef !== undefined) entry.paymentRef = record.values.paymentRef;
    shapeErrors.push(entry);
  });

  const input = { payments: rows };
  const result = schema.safeParse(input);
  if (result.success && shapeErrors.length === 0) return result.data.payments;
  // A short or long row's own field errors would only repeat the column-count problem.
  const valueErrors = result.success
    ? []
    : toItemErrors(result.error, { input, lines }).filter((error) => error.index === undefined || !misshapen.has(error.index));
  throw validationFailed(sortByIndex([...shapeErrors, ...valueErrors]));
}
