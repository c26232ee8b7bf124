import { parseArgs } from 'node:util';
import { MAX_PAYMENTS_PER_REQUEST, batchRefSchema, periodSchema, programCodeSchema, provinceCodeSchema } from '../../shared/domain/schemas.js';
import { programCodes, provinceCodes } from '../../shared/domain/catalogues.js';

/**
 * The command line of `npm run upload`. Everything is checked here, before the
 * file is read or the server is called, so that a typo costs nothing.
 */

export const EXIT = {
  OK: 0,
  USAGE: 1,
  INVALID_FILE: 2,
  SERVER_REFUSED: 3,
  UNAVAILABLE: 4,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const DEFAULT_URL = 'http://localhost:3000';
export const DEFAULT_CHUNK_SIZE = MAX_PAYMENTS_PER_REQUEST;
/**
 * One chunk in flight by default: the server takes one chunk of a batch at a
 * time (an upload lease keeps the chunk order, which decides who keeps an
 * entitlement claimed twice in one batch: domain.md), so more requests would
 * only wait or be turned away. Higher values are for servers that accept
 * parallel chunks.
 */
export const DEFAULT_CONCURRENCY = 1;
export const MAX_CONCURRENCY = 16;

export interface UploadOptions {
  file: string;
  programCode: string;
  period: string;
  provinceCode: string;
  /** Given with --batch-ref; derived from the file when absent. */
  batchRef: string | undefined;
  url: string;
  token: string;
  chunkSize: number;
  concurrency: number;
}

export type ParsedCommandLine = { kind: 'help' } | { kind: 'run'; options: UploadOptions };

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const HELP = `Usage: npm run upload -- <file.csv> --program CODE --period YYYY-MM --province NN [options]

Uploads a province's payment batch from a CSV file: checks every row locally,
creates the batch (POST /v1/batches) with the file's control totals, uploads the
rows in chunks, seals the batch and prints its summary. Running it again with the
same file resumes where it stopped: nothing is stored twice.

The CSV (UTF-8, optional BOM, CRLF or LF line ends, RFC 4180 quoting) starts with
the header  paymentRef,personalId,fullName,dateOfBirth,gender,amount

Required:
  <file.csv>                 the payments
  --program CODE             ${programCodes.join(', ')}
  --period YYYY-MM           the month paid
  --province NN              your two-digit province code (must be the token's)

Options:
  --batch-ref REF            the batch reference (1-64 of A-Z a-z 0-9 . _ -);
                             default: derived from province, program, period and
                             a hash of the file's payments, so a rerun finds the batch
  --url URL                  the API (default ${DEFAULT_URL}, or env SP_URL)
  --token TOKEN              bearer token (default: env SP_TOKEN; prefer the env:
                             a command line is visible to other users)
  --chunk-size N             rows per request, 1-${MAX_PAYMENTS_PER_REQUEST} (default ${DEFAULT_CHUNK_SIZE})
  --concurrency N            chunks in flight, 1-${MAX_CONCURRENCY} (default ${DEFAULT_CONCURRENCY}: the server takes
                             one chunk of a batch at a time, in file order)
  -h, --help                 this text

Progress goes to stderr (a bar on a terminal, a line every few seconds
otherwise); the summary goes to stdout. Chunks confirmed by the server are
recorded in <file.csv>.upload.json so that a rerun skips them; the server stays
the source of truth (a resent chunk is a no-op) and the file is removed once the
batch is sealed.

Exit codes:
  0  the batch is sealed (or was already)
  1  usage: a wrong or missing argument
  2  the file is unreadable or invalid (every bad row is listed); nothing was sent
  3  the server refused a request (4xx: token, province, batchRef reused with a
     different body, a row refused, control totals mismatch); fix, then rerun
  4  the server could not be reached or kept failing (network errors, timeouts,
     429, 5xx after retries); rerun later, it resumes safely
  70 an internal error of the uploader itself (a bug: please report it)
`;

function integerOption(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw)) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}.`);
  const value = Number(raw);
  if (value < min || value > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}.`);
  return value;
}

function checked(name: string, value: string | undefined, schema: { safeParse(value: unknown): { success: boolean } }, hint: string): string {
  if (value === undefined) throw new UsageError(`--${name} is required (${hint}).`);
  if (!schema.safeParse(value).success) throw new UsageError(`--${name} must be ${hint}.`);
  return value;
}

function baseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError('--url must be an http:// or https:// URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--url must be an http:// or https:// URL.');
  if (url.search || url.hash || url.username || url.password) throw new UsageError('--url must not carry a query, fragment or credentials.');
  return url.href.replace(/\/+$/, '');
}

/**
 * The options of one run, or `help`. `env` supplies SP_TOKEN and SP_URL.
 * Throws UsageError with a message fit for the terminal (never echoing the token).
 */
export function parseCommandLine(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): ParsedCommandLine {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        program: { type: 'string' },
        period: { type: 'string' },
        province: { type: 'string' },
        'batch-ref': { type: 'string' },
        url: { type: 'string' },
        token: { type: 'string' },
        'chunk-size': { type: 'string' },
        concurrency: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    // Node's messages name the option, never a value.
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, '.'));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };

  const [file, ...others] = positionals;
  if (file === undefined) throw new UsageError('Name the CSV file to upload.');
  if (others.length > 0) throw new UsageError('Give exactly one CSV file.');

  const programCode = checked('program', values.program, programCodeSchema, `one of ${programCodes.join(', ')}`);
  const period = checked('period', values.period, periodSchema, 'a month written YYYY-MM');
  const provinceCode = checked('province', values.province, provinceCodeSchema, `a two-digit province code (${provinceCodes.length} known)`);
  const batchRef = values['batch-ref'] === undefined ? undefined : checked('batch-ref', values['batch-ref'], batchRefSchema, '1-64 characters of A-Z, a-z, 0-9, ".", "_" and "-"');
  const url = baseUrl(values.url ?? env.SP_URL ?? DEFAULT_URL);
  const token = values.token ?? env.SP_TOKEN;
  if (token === undefined || token.trim() === '') throw new UsageError('A token is required: set SP_TOKEN (or pass --token).');
  if (/\s/.test(token.trim())) throw new UsageError('The token must not contain white space (give the token alone, without "Bearer").');
  const chunkSize = integerOption('chunk-size', values['chunk-size'], DEFAULT_CHUNK_SIZE, 1, MAX_PAYMENTS_PER_REQUEST);
  const concurrency = integerOption('concurrency', values.concurrency, DEFAULT_CONCURRENCY, 1, MAX_CONCURRENCY);

  return { kind: 'run', options: { file, programCode, period, provinceCode, batchRef, url, token: token.trim(), chunkSize, concurrency } };
}
