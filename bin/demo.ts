/**
 * `npm run demo [-- --url http://localhost:3000]`: the whole life of a
 * provincial batch against the running local server (`npm start`), in well
 * under a minute, as a province, beneficiaries, an approver and a payment
 * provider would drive it over HTTP:
 *
 * 1. registers the demo's own made-up people (POST /local/population) and posts
 *    the sample batch events/batches/demo-batch.json (12 payments, province 79,
 *    SOCIAL_ALLOWANCE) under a batchRef unique to this run;
 * 2. waits for verification and prints each payment's outcome;
 * 3. links accounts as the beneficiaries, one per sandbox-provider behaviour,
 *    and leaves one person without an account;
 * 4. approves as a second official, follows disbursement, settles the SENT
 *    payment by a signed provider callback, links the missing account (the held
 *    payment is released) and waits for COMPLETED;
 * 5. prints the batch summary and the report totals and checks that they
 *    reconcile with the control totals;
 * 6. death registration (issue 16): a person whose payment of the period waits
 *    ON_HOLD dies; the sandbox register records it and emits the register's
 *    signed event (POST /local/population/deaths): the held payment is
 *    CANCELLED DECEASED, and the funeral allowance to the arranger is prepared
 *    in a batch of the province, which a second official approves and the
 *    provider pays.
 *
 * It can run again and again against one server: see `choosePeriod` for why
 * every run uses its own period. No personal ID number is ever printed in full
 * (every line goes through `maskIds`).
 *
 * Exit codes: 0 done and reconciled; 1 usage, or the server is not reachable
 * (or is not the local server); 2 anything unexpected (an HTTP answer, printed
 * with its problem detail, an outcome other than the expected one, a timeout).
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sandboxPeople } from '../shared/adapters/population/synthetic-population.js';
import { callbackSignature } from '../shared/app/callbacks.js';
import { paymentStatuses } from '../shared/domain/lifecycle.js';
import { maskPersonalId } from '../shared/domain/personal-id.js';

const DEFAULT_URL = 'http://localhost:3000';
const BATCH_FILE = fileURLToPath(new URL('../events/batches/demo-batch.json', import.meta.url));
const PROVINCE = '79';
const MAKER = 'demo-hcm-system';
const CHECKER = 'demo-hcm-checker';
/** How many months back from the current one the demo looks for a free period. */
const PERIOD_LOOKBACK_MONTHS = 240;

const EXIT_OK = 0;
const EXIT_USAGE_OR_UNREACHABLE = 1;
const EXIT_UNEXPECTED = 2;

// ---------------------------------------------------------------------------
// The demo's data
// ---------------------------------------------------------------------------

interface Citizen {
  personalId: string;
  fullName: string;
  dateOfBirth: string;
  gender: 'M' | 'F';
  dateOfDeath?: string;
}

/**
 * People the demo adds to the sandbox register itself (POST /local/population,
 * an idempotent upsert, so every run sends them again). Their IDs are fixed and
 * consistent with birth date and gender; digits 7-12 come from 520010-520099,
 * a range nothing else uses (sandboxPeople 000001-000099, the synthetic seed
 * 900000-999999, the tests 1xxxxx, 3xxxxx, 61xxxx, 7xxxxx, 8xxxxx, 93xxxx),
 * and their last three digits (all that is ever printed) differ from the
 * sandbox people's, so that the masked IDs in the output tell people apart.
 * 079066520099 (DEMO-12) is deliberately never added: it stays ID_NOT_FOUND.
 */
const DEMO_CITIZENS: readonly Citizen[] = [
  { personalId: '079152520011', fullName: 'Trương Thị Lan', dateOfBirth: '1952-05-19', gender: 'F' },
  { personalId: '079039520012', fullName: 'Lâm Văn Tài', dateOfBirth: '1939-08-08', gender: 'M', dateOfDeath: '2001-10-10' },
  { personalId: '079058520013', fullName: 'Mai Văn Phúc', dateOfBirth: '1958-03-21', gender: 'M' },
  { personalId: '079147520014', fullName: 'Ngô Thị Thu Hà', dateOfBirth: '1947-12-01', gender: 'F' },
  // Step 6 (death registration). Hồ Thị Kim dies in every run: sent again here without a date of death, she is
  // alive again for the next run's batch (the sandbox register is an upsert); Đỗ Văn Lực arranges her funeral.
  { personalId: '079146520015', fullName: 'Hồ Thị Kim', dateOfBirth: '1946-02-14', gender: 'F' },
  { personalId: '079072520016', fullName: 'Đỗ Văn Lực', dateOfBirth: '1972-09-30', gender: 'M' },
];


const DECEASED: Citizen = { personalId: '079146520015', fullName: 'Hồ Thị Kim', dateOfBirth: '1946-02-14', gender: 'F' };
const ARRANGER: Citizen = { personalId: '079072520016', fullName: 'Đỗ Văn Lực', dateOfBirth: '1972-09-30', gender: 'M' };

interface AccountLink {
  provider: { type: 'BANK' | 'EWALLET'; code: string };
  accountNumber: string;
  /** The holder's name as the bank has it; the register's name when absent. */
  accountName?: string;
}

const bank = (accountNumber: string, accountName?: string): AccountLink => ({
  provider: { type: 'BANK', code: '970436' },
  accountNumber,
  ...(accountName ? { accountName } : {}),
});

type Outcome = readonly [status: string, reasonCode: string | null];

interface Scene {
  /** What this payment shows. */
  shows: string;
  /** Status, reason and name match once verified. */
  verified: readonly [status: string, reasonCode: string | null, nameMatch: string | null];
  /** Linked before approval. */
  account?: AccountLink;
  /** Linked only after approval (the payment waits ON_HOLD until then). */
  linkLater?: AccountLink;
  /** Where the payment ends. */
  final: Outcome;
}

/** What each payment of demo-batch.json is there to show, and how it must end. */
const SCENES: Record<string, Scene> = {
  'DEMO-01': { shows: 'exact name; bank account: PAID at once', verified: ['VERIFIED', null, 'EXACT'], account: bank('0451000123'), final: ['PAID', null] },
  'DEMO-02': {
    shows: 'name sent without diacritics; account ...0000 is closed',
    verified: ['VERIFIED', null, 'ASCII_FOLDED'],
    account: bank('1903560000'),
    final: ['FAILED', 'ACCOUNT_CLOSED'],
  },
  'DEMO-03': { shows: 'account ...9990: provider fails twice, retried, PAID', verified: ['VERIFIED', null, 'EXACT'], account: bank('1903569990'), final: ['PAID', null] },
  'DEMO-04': { shows: 'account ...5555: SENT until a signed callback', verified: ['VERIFIED', null, 'EXACT'], account: bank('1903565555'), final: ['PAID', null] },
  'DEMO-05': { shows: 'no account at approval: ON_HOLD, released on link', verified: ['VERIFIED', null, 'EXACT'], linkLater: bank('0451002468'), final: ['PAID', null] },
  'DEMO-06': {
    shows: 'account holder name without diacritics is accepted',
    verified: ['VERIFIED', null, 'EXACT'],
    account: bank('0451003579', 'DUONG THI MY UYEN'),
    final: ['PAID', null],
  },
  'DEMO-07': { shows: 'first item of one person keeps the entitlement', verified: ['VERIFIED', null, 'EXACT'], account: bank('0451004680'), final: ['PAID', null] },
  'DEMO-08': { shows: 'the same person again in the same batch', verified: ['REJECTED', 'DUPLICATE_ENTITLEMENT', null], final: ['REJECTED', 'DUPLICATE_ENTITLEMENT'] },
  'DEMO-09': { shows: 'died in 2001, before the period', verified: ['REJECTED', 'DECEASED', null], final: ['REJECTED', 'DECEASED'] },
  'DEMO-10': { shows: 'amount over the program limit', verified: ['REJECTED', 'AMOUNT_OVER_PROGRAM_LIMIT', null], final: ['REJECTED', 'AMOUNT_OVER_PROGRAM_LIMIT'] },
  'DEMO-11': {
    shows: 'e-wallet (Viettel Money): PAID at once',
    verified: ['VERIFIED', null, 'EXACT'],
    account: { provider: { type: 'EWALLET', code: 'VIETTELMONEY' }, accountNumber: '0912345678' },
    final: ['PAID', null],
  },
  'DEMO-12': { shows: 'an ID the register does not know', verified: ['REJECTED', 'ID_NOT_FOUND', null], final: ['REJECTED', 'ID_NOT_FOUND'] },
};

// ---------------------------------------------------------------------------
// Output: every line is masked, whatever it holds
// ---------------------------------------------------------------------------

const TWELVE_DIGITS = /(?<!\d)\d{12}(?!\d)/g;

/** A personal ID number that slipped into a line (a path, a server message) shows its last 3 digits only, as the API masks it. */
export function maskIds(text: string): string {
  return text.replace(TWELVE_DIGITS, (id) => maskPersonalId(id));
}

const say = (line = '') => process.stdout.write(`${maskIds(line)}\n`);
const complain = (line: string) => process.stderr.write(`${maskIds(line)}\n`);

const vnd = (amount: number) => `${amount.toLocaleString('en-US')} VND`;

function table(header: string[], rows: (string | number | null)[][]): void {
  const cells = rows.map((row) => row.map((cell) => (cell === null ? '-' : String(cell).normalize('NFC'))));
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column]?.length ?? 0)));
  const line = (row: string[]) =>
    `   ${row
      .map((cell, column) => (/^[\d,]+( VND)?$/.test(cell) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd()}`;
  say(line(header));
  say(line(widths.map((width) => '-'.repeat(width))));
  for (const row of cells) say(line(row));
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

class DemoError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'DemoError';
  }
}

interface Problem {
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  requestId?: string;
  errors?: { index?: number; paymentRef?: string; path?: string; code?: string; message?: string }[];
  errorCount?: number;
}

interface Answer<T> {
  status: number;
  body: T;
}

function describeProblem(method: string, path: string, status: number, problem: Problem | undefined, text: string, requestId: string | null): string {
  const lines = [`${method} ${path} answered ${status}${problem?.code ? ` ${problem.code}` : ''}${problem?.title ? `: ${problem.title}` : ''}`];
  if (problem?.detail) lines.push(`  detail: ${problem.detail}`);
  for (const error of problem?.errors ?? []) {
    const where = [error.paymentRef ?? (error.index !== undefined ? `#${error.index}` : undefined), error.path].filter(Boolean).join(' ');
    lines.push(`  - ${where ? `${where}: ` : ''}${error.code ?? ''} ${error.message ?? ''}`.trimEnd());
  }
  if (!problem && text) lines.push(`  body: ${text.slice(0, 500)}`);
  const id = problem?.requestId ?? requestId;
  if (id) lines.push(`  requestId: ${id}`);
  return lines.join('\n');
}

function createHttp(baseUrl: string) {
  return async function http<T>(
    method: string,
    path: string,
    options: { token?: string; json?: unknown; rawBody?: string; headers?: Record<string, string>; expect?: number[] } = {},
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined = options.rawBody;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    let response: Response;
    try {
      response = await fetch(`${baseUrl}${path}`, { method, headers, signal: AbortSignal.timeout(15_000), ...(body !== undefined ? { body } : {}) });
    } catch (error) {
      throw new DemoError(`${method} ${path} failed: ${reason(error)} (did the server stop?)`, EXIT_UNEXPECTED);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!(options.expect ?? [200]).includes(response.status)) {
      throw new DemoError(describeProblem(method, path, response.status, parsed as Problem | undefined, text, response.headers.get('x-request-id')), EXIT_UNEXPECTED);
    }
    return { status: response.status, body: parsed as T };
  };
}

type Http = ReturnType<typeof createHttp>;

function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message;
  return error.name === 'TimeoutError' ? 'no answer within the time limit' : error.message;
}

// ---------------------------------------------------------------------------
// API shapes the demo reads
// ---------------------------------------------------------------------------

interface Batch {
  batchId: string;
  batchRef: string;
  provinceCode: string;
  programCode: string;
  period: string;
  status: string;
  control: { itemCount: number; totalAmount: number };
  received: { itemCount: number; totalAmount: number };
  counts: Record<string, number>;
  amounts: Record<string, number>;
  rejections: Record<string, number>;
  createdBy: string;
  approvedBy: string | null;
}

interface Payment {
  paymentId: string;
  paymentRef: string;
  personalId?: string;
  fullName: string;
  amount: number;
  status: string;
  reasonCode: string | null;
  nameMatch: string | null;
  account: { provider?: { type: string; code: string }; accountNumberMasked: string } | null;
}

interface PaymentItem {
  paymentRef: string;
  personalId: string;
  fullName: string;
  dateOfBirth: string;
  gender?: 'M' | 'F';
  amount: number;
}

interface BatchFile {
  batchRef: string;
  provinceCode: string;
  programCode: string;
  period: string;
  control: { itemCount: number; totalAmount: number };
  payments: PaymentItem[];
}

/** A page of GET /v1/me/payments, as much of it as the demo reads. */
interface OwnPayments {
  items: { program: { code: string }; period: string; status: string }[];
  nextCursor: string | null;
}

interface Report {
  totals: { control: { itemCount: number; totalAmount: number }; received: { itemCount: number; totalAmount: number }; byStatus: Record<string, { count: number; amount: number }> };
}

// ---------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): { url: string } | 'help' {
  let url = env.SP_URL || DEFAULT_URL;
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] ?? '';
    if (arg === '-h' || arg === '--help') return 'help';
    if (arg === '--url') {
      const value = argv[index + 1];
      if (!value || value.startsWith('--')) throw new DemoError('--url needs a value, for example --url http://localhost:3000', EXIT_USAGE_OR_UNREACHABLE);
      url = value;
      index += 1;
    } else if (arg.startsWith('--url=')) {
      url = arg.slice('--url='.length);
    } else {
      throw new DemoError(`unknown argument "${arg}" (try --help)`, EXIT_USAGE_OR_UNREACHABLE);
    }
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DemoError(`--url must be an http(s) URL, got "${url}"`, EXIT_USAGE_OR_UNREACHABLE);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new DemoError(`--url must be an http(s) URL, got "${url}"`, EXIT_USAGE_OR_UNREACHABLE);
  return { url: parsed.href.replace(/\/+$/, '') };
}

const USAGE = `usage: npm run demo [-- --url http://localhost:3000]

Drives one batch through verification, approval and disbursement against the
running local server (start it first with \`npm start\`). The URL can also be
given as SP_URL. LOCAL_PROVIDER_SECRET must match the server's (default
local-provider-secret). Exit codes: 0 ok, 1 usage or server unreachable,
2 something unexpected.`;

async function checkReachable(baseUrl: string): Promise<void> {
  let status: number;
  try {
    const response = await fetch(`${baseUrl}/v1/health`, { signal: AbortSignal.timeout(5_000) });
    status = response.status;
    await response.body?.cancel();
  } catch (error) {
    throw new DemoError(
      [
        `Cannot reach the API at ${baseUrl} (${reason(error)}).`,
        'Start the local server in another terminal and run the demo again:',
        '',
        '  npm start                 # listens on http://localhost:3000',
        '  npm run demo',
        '',
        'or on another port: PORT=3001 npm start, then npm run demo -- --url http://localhost:3001',
      ].join('\n'),
      EXIT_USAGE_OR_UNREACHABLE,
    );
  }
  if (status !== 200) throw new DemoError(`${baseUrl}/v1/health answered ${status}: is this the social payments API? Start it with \`npm start\`.`, EXIT_USAGE_OR_UNREACHABLE);
}

async function localToken(http: Http, body: Record<string, unknown>): Promise<string> {
  return (await http<{ accessToken: string }>('POST', '/local/token', { json: body })).body.accessToken;
}

function monthsBefore(now: Date, months: number): string {
  const date = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - months, 1));
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** Statuses that leave an entitlement free again (domain.md: rejected, failed or cancelled). */
const RELEASED = new Set(['REJECTED', 'FAILED', 'CANCELLED']);

/**
 * A person is paid at most once per (program, period), on the whole server.
 * Each run therefore uses its own period: the most recent month, counting back
 * from the current one, in which none of the demo's people already holds a
 * payment of the program (read as each of them, GET /v1/me/payments). The
 * first run on a fresh server gets the current month, the next the month
 * before, and so on: a counter kept by the server itself, so reruns need no
 * state on disk and never meet DUPLICATE_ENTITLEMENT except where the demo
 * asks for it (DEMO-08).
 */
async function choosePeriod(http: Http, programCode: string, beneficiaryTokens: Map<string, string>, now: Date): Promise<{ period: string; skipped: number }> {
  const taken = new Set<string>();
  for (const token of beneficiaryTokens.values()) {
    let cursor: string | null = null;
    do {
      const query: string = `/v1/me/payments?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page: OwnPayments = (await http<OwnPayments>('GET', query, { token })).body;
      for (const payment of page.items) {
        if (payment.program.code === programCode && !RELEASED.has(payment.status)) taken.add(payment.period);
      }
      cursor = page.nextCursor;
    } while (cursor);
  }
  for (let back = 0; back < PERIOD_LOOKBACK_MONTHS; back += 1) {
    const period = monthsBefore(now, back);
    if (!taken.has(period)) return { period, skipped: back };
  }
  throw new DemoError(`every period of the last ${PERIOD_LOOKBACK_MONTHS} months is taken by earlier demo runs: restart the local server (its data is in memory).`, EXIT_UNEXPECTED);
}

async function waitForBatch(
  http: Http,
  token: string,
  batchId: string,
  what: string,
  done: (batch: Batch) => boolean,
  options: { timeoutMs: number; everyMs: number; onPoll?: (batch: Batch) => void },
): Promise<Batch> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const batch = (await http<Batch>('GET', `/v1/batches/${batchId}`, { token })).body;
    options.onPoll?.(batch);
    if (done(batch)) return batch;
    if (Date.now() > deadline) {
      throw new DemoError(`timed out after ${options.timeoutMs / 1000} s waiting for ${what}: the batch is ${batch.status}, ${countsLine(batch)}`, EXIT_UNEXPECTED);
    }
    await sleep(options.everyMs);
  }
}

function countsLine(batch: Batch): string {
  const parts = paymentStatuses.filter((status) => (batch.counts[status] ?? 0) > 0).map((status) => `${status} ${batch.counts[status]}`);
  return parts.length > 0 ? parts.join(' · ') : 'no payments';
}

async function listPayments(http: Http, token: string, batchId: string): Promise<Map<string, Payment>> {
  const byRef = new Map<string, Payment>();
  let cursor: string | null = null;
  do {
    const path: string = `/v1/batches/${batchId}/payments?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page: { items: Payment[]; nextCursor: string | null } = (await http<{ items: Payment[]; nextCursor: string | null }>('GET', path, { token })).body;
    for (const payment of page.items) byRef.set(payment.paymentRef, payment);
    cursor = page.nextCursor;
  } while (cursor);
  return byRef;
}

function registryName(personalId: string): string | undefined {
  return (sandboxPeople.find((person) => person.personalId === personalId) ?? DEMO_CITIZENS.find((person) => person.personalId === personalId))?.fullName;
}

async function readBatchFile(): Promise<BatchFile> {
  const file = JSON.parse(await readFile(BATCH_FILE, 'utf8')) as BatchFile;
  const refs = new Set(file.payments.map((payment) => payment.paymentRef));
  const missing = Object.keys(SCENES).filter((ref) => !refs.has(ref));
  const extra = [...refs].filter((ref) => !(ref in SCENES));
  if (missing.length > 0 || extra.length > 0) {
    throw new DemoError(`events/batches/demo-batch.json and bin/demo.ts disagree: missing ${missing.join(', ') || 'none'}, unexpected ${extra.join(', ') || 'none'}`, EXIT_UNEXPECTED);
  }
  for (const payment of file.payments) {
    const scene = SCENES[payment.paymentRef];
    if ((scene?.account || scene?.linkLater) && !registryName(payment.personalId)) {
      throw new DemoError(`${payment.paymentRef}: the person is neither in sandboxPeople nor among the demo's people`, EXIT_UNEXPECTED);
    }
  }
  return file;
}

function runStamp(now: Date): string {
  // 20261123-135433-123: readable, sortable, unique per run (and no 12-digit run in it).
  const iso = now.toISOString();
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}-${iso.slice(20, 23)}`;
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

export async function runDemo(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const args = parseArgs(argv, env);
  if (args === 'help') {
    say(USAGE);
    return EXIT_OK;
  }
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  const { url } = args;
  const secret = env.LOCAL_PROVIDER_SECRET || 'local-provider-secret';
  const now = new Date();

  await checkReachable(url);
  const http = createHttp(url);
  const file = await readBatchFile();

  say(`Social payments demo against ${url}`);
  say('');

  // Tokens: the province's system (maker), a second official (checker), one per beneficiary.
  let maker: string;
  try {
    maker = await localToken(http, { role: 'province', provinceCode: PROVINCE, sub: MAKER });
  } catch (error) {
    if (error instanceof DemoError && / answered 404/.test(error.message)) {
      throw new DemoError(`${url} has no POST /local/token: the demo needs the local server (\`npm start\`), not a deployed stage.`, EXIT_USAGE_OR_UNREACHABLE);
    }
    throw error;
  }
  const checker = await localToken(http, { role: 'approver', provinceCode: PROVINCE, sub: CHECKER });
  const beneficiaryTokens = new Map<string, string>();
  for (const payment of file.payments) {
    const scene = SCENES[payment.paymentRef];
    if (scene?.verified[0] === 'VERIFIED' && !beneficiaryTokens.has(payment.personalId)) {
      beneficiaryTokens.set(payment.personalId, await localToken(http, { role: 'beneficiary', personalId: payment.personalId }));
    }
  }

  // 1. People, period, batch.
  const registered = await http<{ added: number }>('POST', '/local/population', { json: { citizens: DEMO_CITIZENS } });
  say(`1. Population register: ${sandboxPeople.length} seeded sandbox people, plus ${registered.body.added} demo people added (POST /local/population).`);
  const { period, skipped } = await choosePeriod(http, file.programCode, beneficiaryTokens, now);
  if (skipped === 0) {
    say(`   Period ${period}, the current month: none of the demo's people holds a ${file.programCode} payment for it yet.`);
  } else {
    const latestTaken = monthsBefore(now, 0);
    const taken = skipped === 1 ? latestTaken : `${monthsBefore(now, skipped - 1)}..${latestTaken}`;
    say(`   Period ${period}: the demo's people already hold ${file.programCode} payments for ${taken} on this server (earlier runs).`);
    say('   A person is paid at most once per program and period, so each run takes the latest free month, counting back');
    say('   from the current one (otherwise every payment would be REJECTED DUPLICATE_ENTITLEMENT).');
  }

  const batchRef = `${file.batchRef}-${runStamp(now)}`;
  const payments = file.payments;
  const body = { batchRef, provinceCode: file.provinceCode, programCode: file.programCode, period, control: file.control, payments };
  say(`   Posting ${payments.length} payments from events/batches/demo-batch.json as ${batchRef} (control: ${payments.length} items, ${vnd(file.control.totalAmount)}):`);
  table(
    ['paymentRef', 'person', 'name as sent', 'amount', 'what it shows'],
    payments.map((payment) => [payment.paymentRef, maskPersonalId(payment.personalId), payment.fullName, vnd(payment.amount), SCENES[payment.paymentRef]?.shows ?? '']),
  );
  const created = await http<Batch>('POST', '/v1/batches', { token: maker, json: body, expect: [201] });
  const { batchId } = created.body;
  say(`   201 Created: batch ${batchId}, ${created.body.status} (sealed at once: the payments match the control totals).`);
  say('');

  // 2. Verification.
  say('2. Verification against the population register...');
  const verified = await waitForBatch(http, maker, batchId, 'verification', (batch) => batch.status !== 'SUBMITTED', { timeoutMs: 60_000, everyMs: 200 });
  if (verified.status !== 'AWAITING_APPROVAL') throw new DemoError(`after verification the batch is ${verified.status}, expected AWAITING_APPROVAL`, EXIT_UNEXPECTED);
  let byRef = await listPayments(http, maker, batchId);
  const surprises: string[] = [];
  table(
    ['paymentRef', 'status', 'reasonCode', 'nameMatch', 'ok'],
    payments.map(({ paymentRef }) => {
      const payment = byRef.get(paymentRef);
      const expected = SCENES[paymentRef]?.verified;
      const got = [payment?.status ?? 'MISSING', payment?.reasonCode ?? null, payment?.nameMatch ?? null] as const;
      const ok = expected !== undefined && got.every((value, index) => value === expected[index]);
      if (!ok) surprises.push(`${paymentRef}: ${got.join(' ')}, expected ${expected?.join(' ')}`);
      return [paymentRef, got[0], got[1], got[2], ok ? '✓' : `✗ expected ${expected?.map((value) => value ?? '-').join(' ')}`];
    }),
  );
  say(`   ${verified.status} after ${elapsed()}: ${countsLine(verified)}.`);
  if (surprises.length > 0) throw new DemoError(`verification did not end as expected:\n  ${surprises.join('\n  ')}`, EXIT_UNEXPECTED);
  say('');

  // 3. Accounts, linked by the beneficiaries themselves (the account holder's name is checked against the register).
  say('3. Beneficiaries link their social security accounts (PUT /v1/accounts/{personalId}, own token):');
  const linkAccount = async (personalId: string, account: AccountLink) => {
    const token = beneficiaryTokens.get(personalId);
    if (!token) throw new DemoError('no beneficiary token for a person the demo links', EXIT_UNEXPECTED);
    const name = account.accountName ?? registryName(personalId) ?? '';
    const answer = await http<{ accountNumberMasked: string; provider: { code: string } }>('PUT', `/v1/accounts/${personalId}`, {
      token,
      json: { provider: account.provider, accountNumber: account.accountNumber, accountName: name },
    });
    return answer.body;
  };
  for (const payment of payments) {
    const scene = SCENES[payment.paymentRef];
    if (scene?.account) {
      const linked = await linkAccount(payment.personalId, scene.account);
      say(`   ${payment.paymentRef} ${maskPersonalId(payment.personalId)} ${scene.account.provider.code.padEnd(12)} ${linked.accountNumberMasked}  ${scene.shows}`);
    } else if (scene?.linkLater) {
      // A previous run linked this person later on: unlink first, so that the payment really waits ON_HOLD.
      const token = beneficiaryTokens.get(payment.personalId);
      const unlinked = await http('DELETE', `/v1/accounts/${payment.personalId}`, { token: token ?? '', expect: [204, 404] });
      say(`   ${payment.paymentRef} ${maskPersonalId(payment.personalId)} no account yet${unlinked.status === 204 ? ' (an earlier run linked one: unlinked)' : ''}`);
    }
  }
  say('');

  // 4. Approval (maker-checker), disbursement, callback, release.
  say('4. Approval and disbursement');
  const selfApproval = await localToken(http, { role: 'approver', provinceCode: PROVINCE, sub: MAKER });
  const refused = await http<Problem>('POST', `/v1/batches/${batchId}/approve`, { token: selfApproval, expect: [403] });
  say(`   The maker approving its own batch: ${refused.status} ${refused.body.code ?? ''} ✓ (maker-checker)`);
  const approved = await http<Batch>('POST', `/v1/batches/${batchId}/approve`, { token: checker });
  say(`   Approved by ${approved.body.approvedBy ?? CHECKER}: ${approved.body.status}. Progress (every second):`);
  const progress = (batch: Batch) => say(`   [${elapsed().padStart(6)}] ${batch.status.padEnd(17)} ${countsLine(batch)}`);
  await waitForBatch(http, maker, batchId, 'disbursement', (batch) => (batch.counts.QUEUED ?? 0) === 0 && (batch.counts.VERIFIED ?? 0) === 0, {
    timeoutMs: 90_000,
    everyMs: 1_000,
    onPoll: progress,
  });

  byRef = await listPayments(http, maker, batchId);
  const sent = [...byRef.values()].filter((payment) => payment.status === 'SENT');
  const expectSent = payments.filter(({ paymentRef }) => SCENES[paymentRef]?.account?.accountNumber.endsWith('5555')).map(({ paymentRef }) => paymentRef);
  if (sent.map((payment) => payment.paymentRef).sort().join() !== expectSent.sort().join()) {
    throw new DemoError(`expected ${expectSent.join(', ')} SENT (waiting for the provider's callback), found ${sent.map((payment) => payment.paymentRef).join(', ') || 'none'}`, EXIT_UNEXPECTED);
  }
  for (const payment of sent) {
    const providerCode = payment.account?.provider?.code ?? SCENES[payment.paymentRef]?.account?.provider.code ?? '970436';
    const raw = JSON.stringify({ transferRef: payment.paymentId, outcome: 'PAID', settledAt: new Date().toISOString() });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const answer = await http<{ changed?: boolean }>('POST', `/v1/provider-callbacks/${providerCode}`, {
      rawBody: raw,
      headers: { 'content-type': 'application/json', 'x-timestamp': timestamp, 'x-signature': callbackSignature(secret, timestamp, raw) },
    });
    say(`   Provider ${providerCode} reports ${payment.paymentRef} PAID (signed callback, HMAC-SHA256): ${answer.status}${answer.body.changed ? ', settled' : ''}`);
  }
  for (const payment of payments) {
    const scene = SCENES[payment.paymentRef];
    if (!scene?.linkLater) continue;
    const before = byRef.get(payment.paymentRef);
    const linked = await linkAccount(payment.personalId, scene.linkLater);
    say(`   ${payment.paymentRef} was ${before?.status ?? '?'} ${before?.reasonCode ?? ''}; the beneficiary links ${scene.linkLater.provider.code} ${linked.accountNumberMasked}: the payment is released`);
  }
  const completed = await waitForBatch(
    http,
    maker,
    batchId,
    'completion',
    (batch) => batch.status === 'COMPLETED' && ['ON_HOLD', 'QUEUED', 'SENT', 'VERIFIED', 'RECEIVED'].every((status) => (batch.counts[status] ?? 0) === 0),
    { timeoutMs: 60_000, everyMs: 1_000, onPoll: progress },
  );
  say('');

  // 5. Summary, report, reconciliation.
  say('5. Result');
  byRef = await listPayments(http, maker, batchId);
  const wrongEnd: string[] = [];
  table(
    ['paymentRef', 'amount', 'status', 'reasonCode', 'account', 'ok'],
    payments.map(({ paymentRef, amount }) => {
      const payment = byRef.get(paymentRef);
      const expected = SCENES[paymentRef]?.final;
      const ok = expected !== undefined && payment?.status === expected[0] && payment.reasonCode === expected[1];
      if (!ok) wrongEnd.push(`${paymentRef}: ${payment?.status ?? 'MISSING'} ${payment?.reasonCode ?? ''}, expected ${expected?.join(' ')}`);
      const account = payment?.account ? `${payment.account.provider?.code ?? ''} ${payment.account.accountNumberMasked}`.trim() : null;
      return [paymentRef, vnd(amount), payment?.status ?? 'MISSING', payment?.reasonCode ?? null, account, ok ? '✓' : `✗ expected ${expected?.map((value) => value ?? '-').join(' ')}`];
    }),
  );
  say('');
  say(`   Batch ${completed.batchId} (${completed.batchRef})`);
  say(`   province ${completed.provinceCode} · ${completed.programCode} · period ${completed.period} · ${completed.status}`);
  say(`   created by ${completed.createdBy}, approved by ${completed.approvedBy ?? '-'}`);
  say(`   control ${completed.control.itemCount} items, ${vnd(completed.control.totalAmount)} · received ${completed.received.itemCount} items, ${vnd(completed.received.totalAmount)}`);
  say(`   rejections: ${Object.entries(completed.rejections).filter(([, count]) => count > 0).sort(([a], [b]) => a.localeCompare(b)).map(([code, count]) => `${code} ${count}`).join(' · ') || 'none'}`);
  say('');

  const report = (await http<Report>('GET', `/v1/batches/${batchId}/report`, { token: maker })).body;
  say('   Reconciliation report totals (GET /v1/batches/{batchId}/report):');
  const statuses = paymentStatuses.filter((status) => (report.totals.byStatus[status]?.count ?? 0) > 0 || (completed.counts[status] ?? 0) > 0);
  const reportCount = Object.values(report.totals.byStatus).reduce((sum, total) => sum + total.count, 0);
  const reportAmount = Object.values(report.totals.byStatus).reduce((sum, total) => sum + total.amount, 0);
  table(
    ['status', 'count', 'amount'],
    [
      ...statuses.map((status) => [status, report.totals.byStatus[status]?.count ?? 0, vnd(report.totals.byStatus[status]?.amount ?? 0)]),
      ['total', reportCount, vnd(reportAmount)],
      ['control', report.totals.control.itemCount, vnd(report.totals.control.totalAmount)],
    ],
  );
  say('');

  const batchCount = Object.values(completed.counts).reduce((sum, count) => sum + count, 0);
  const batchAmount = Object.values(completed.amounts).reduce((sum, amount) => sum + amount, 0);
  const problems = [...wrongEnd];
  if (batchAmount !== completed.control.totalAmount) problems.push(`the batch's amounts per status add up to ${vnd(batchAmount)}, the control total is ${vnd(completed.control.totalAmount)}`);
  if (batchCount !== completed.control.itemCount) problems.push(`the batch's counts per status add up to ${batchCount}, the control count is ${completed.control.itemCount}`);
  if (reportAmount !== completed.control.totalAmount || reportCount !== completed.control.itemCount) {
    problems.push(`the report's totals (${reportCount} items, ${vnd(reportAmount)}) differ from the control totals`);
  }
  for (const status of paymentStatuses) {
    const fromReport = report.totals.byStatus[status];
    if ((fromReport?.amount ?? 0) !== (completed.amounts[status] ?? 0) || (fromReport?.count ?? 0) !== (completed.counts[status] ?? 0)) {
      problems.push(`${status}: the report says ${fromReport?.count ?? 0} / ${vnd(fromReport?.amount ?? 0)}, the batch ${completed.counts[status] ?? 0} / ${vnd(completed.amounts[status] ?? 0)}`);
    }
  }
  if (problems.length > 0) throw new DemoError(`the batch does not reconcile:\n  ${problems.join('\n  ')}`, EXIT_UNEXPECTED);
  const paid = completed.amounts.PAID ?? 0;
  say(
    `   ✓ amounts per status add up to the control total: ${statuses.map((status) => `${status} ${vnd(completed.amounts[status] ?? 0)}`).join(' + ')} = ${vnd(batchAmount)} (${completed.control.itemCount} items)`,
  );
  say(`   ✓ every payment ended as expected; ${vnd(paid)} paid out. COMPLETED in ${elapsed()}.`);
  say('');

  // 6. After the money leaves (issue 13): the sandbox provider's statement of today, imported (signed), and the
  // batch's three-way reconciliation. Shown, not checked: a second demo run on the same day finds the day's
  // statement id taken by a smaller statement (409), which the reconciliation then shows as unconfirmed.
  say('6. Settlement statement and reconciliation');
  const valueDate = new Date().toISOString().slice(0, 10);
  const providerCodes = [...new Set([...byRef.values()].filter((payment) => payment.status === 'PAID').map((payment) => payment.account?.provider?.code).filter((code): code is string => !!code))];
  for (const providerCode of providerCodes) {
    const imported = await http<{ statement: { lines: unknown[] }; imported?: { status: number; body: { matched?: number; unknownReferences?: unknown[] } } }>('POST', '/local/statements', {
      json: { providerCode, valueDate, submit: true },
    });
    const result = imported.body.imported;
    say(`   ${providerCode}: statement of ${valueDate}, ${imported.body.statement.lines.length} lines, imported ${result?.status ?? '-'}: ${result?.body.matched ?? 0} matched`);
  }
  const reconciliation = await http<{ confirmed: { count: number; amount: number }; unconfirmedPaid: unknown[]; amountMismatches: unknown[]; unknownReferences: unknown[] }>(
    'GET',
    `/v1/batches/${batchId}/reconciliation`,
    { token: maker },
  );
  const r = reconciliation.body;
  say(`   GET /v1/batches/{batchId}/reconciliation: ${r.confirmed.count} confirmed (${vnd(r.confirmed.amount)}), ${r.unconfirmedPaid.length} PAID not yet in a statement, ${r.amountMismatches.length} amount mismatches, ${r.unknownReferences.length} unknown references`);
  await deathScene(http, { maker, checker, period, batchRef, programCode: file.programCode, elapsed });
  return EXIT_OK;
}

/** The last day of the month before `period` (YYYY-MM-DD): a death there makes `period` a month after it. */
function lastDayBefore(period: string): string {
  const [year, month] = period.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(year, month - 1, 0)).toISOString().slice(0, 10);
}

/**
 * 6. Death registration (api.md 1.1, "Events from the population register"):
 * the deceased's held payment is cancelled, the funeral allowance prepared,
 * approved by a second official and paid to the arranger's linked account.
 */
async function deathScene(
  http: Http,
  context: { maker: string; checker: string; period: string; batchRef: string; programCode: string; elapsed: () => string },
): Promise<void> {
  const { maker, checker, period, elapsed } = context;
  say('6. Death registration reaches payments');
  const dateOfDeath = lastDayBefore(period);
  const held = await http<Batch>('POST', '/v1/batches', {
    token: maker,
    expect: [201],
    json: {
      batchRef: `${context.batchRef}-D`,
      provinceCode: PROVINCE,
      programCode: context.programCode,
      period,
      control: { itemCount: 1, totalAmount: 500_000 },
      payments: [{ paymentRef: 'DEMO-D1', personalId: DECEASED.personalId, fullName: DECEASED.fullName, dateOfBirth: DECEASED.dateOfBirth, gender: DECEASED.gender, amount: 500_000 }],
    },
  });
  const heldId = held.body.batchId;
  await waitForBatch(http, maker, heldId, 'verification', (batch) => batch.status === 'AWAITING_APPROVAL', { timeoutMs: 60_000, everyMs: 200 });
  await http('POST', `/v1/batches/${heldId}/approve`, { token: checker });
  await waitForBatch(http, maker, heldId, 'the hold', (batch) => (batch.counts.ON_HOLD ?? 0) === 1, { timeoutMs: 60_000, everyMs: 200 });
  const before = [...(await listPayments(http, maker, heldId)).values()][0];
  say(`   ${maskPersonalId(DECEASED.personalId)} ${DECEASED.fullName}: payment for ${period} ${before?.status ?? '?'} ${before?.reasonCode ?? ''} (no account linked yet).`);

  // The arranger links an account, then the register records the death and emits its signed event.
  const arrangerToken = await localToken(http, { role: 'beneficiary', personalId: ARRANGER.personalId });
  const linked = await http<{ accountNumberMasked: string }>('PUT', `/v1/accounts/${ARRANGER.personalId}`, {
    token: arrangerToken,
    json: { provider: { type: 'BANK', code: '970436' }, accountNumber: '0451007788', accountName: ARRANGER.fullName },
  });
  say(`   ${maskPersonalId(ARRANGER.personalId)} ${ARRANGER.fullName} (who will arrange the funeral) has account 970436 ${linked.body.accountNumberMasked}.`);
  const ops = await localToken(http, { role: 'ops', sub: 'demo-register-clerk' });
  const recorded = await http<{ eventId: string; answer: { cancelledPayments: number; funeralAllowance: { batchId: string } | null } }>('POST', '/local/population/deaths', {
    token: ops,
    json: { personalId: DECEASED.personalId, dateOfDeath, funeral: { arrangerPersonalId: ARRANGER.personalId, arrangerName: ARRANGER.fullName, provinceCode: PROVINCE } },
  });
  const { answer } = recorded.body;
  say(`   The register records the death on ${dateOfDeath} and emits ${recorded.body.eventId} (signed POST /v1/register-events):`);
  say(`   cancelled payments ${answer.cancelledPayments}; funeral allowance batch ${answer.funeralAllowance?.batchId ?? 'none'}.`);
  const after = [...(await listPayments(http, maker, heldId)).values()][0];
  if (after?.status !== 'CANCELLED' || after.reasonCode !== 'DECEASED') {
    throw new DemoError(`the held payment is ${after?.status ?? 'MISSING'} ${after?.reasonCode ?? ''}, expected CANCELLED DECEASED`, EXIT_UNEXPECTED);
  }
  say(`   ✓ the held payment for ${period} is now ${after.status} ${after.reasonCode}; the month of death itself stays owed.`);

  const funeralId = answer.funeralAllowance?.batchId;
  if (!funeralId) throw new DemoError('the death event prepared no funeral allowance', EXIT_UNEXPECTED);
  const waiting = await waitForBatch(http, maker, funeralId, 'the funeral batch', (batch) => batch.status === 'AWAITING_APPROVAL', { timeoutMs: 60_000, everyMs: 200 });
  say(`   Funeral allowance: batch ${waiting.batchId} · ${waiting.programCode} · ${vnd(waiting.control.totalAmount)} · ${waiting.status} (created by ${waiting.createdBy}, the arranger verified: ${countsLine(waiting)}).`);
  await http('POST', `/v1/batches/${funeralId}/approve`, { token: checker });
  const paid = await waitForBatch(http, maker, funeralId, 'the funeral allowance', (batch) => batch.status === 'COMPLETED', { timeoutMs: 60_000, everyMs: 500 });
  if ((paid.amounts.PAID ?? 0) !== waiting.control.totalAmount) throw new DemoError(`the funeral allowance ended ${countsLine(paid)}`, EXIT_UNEXPECTED);
  say(`   ✓ approved by a second official and paid to the arranger's account: ${vnd(paid.amounts.PAID ?? 0)} PAID, ${paid.status} in ${elapsed()}.`);
}

async function main(): Promise<void> {
  try {
    process.exitCode = await runDemo(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof DemoError) {
      complain(`\n${error.exitCode === EXIT_UNEXPECTED ? 'demo failed: ' : ''}${error.message}`);
      process.exitCode = error.exitCode;
    } else {
      complain(`\ndemo failed (unexpected error): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exitCode = EXIT_UNEXPECTED;
    }
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) await main();
