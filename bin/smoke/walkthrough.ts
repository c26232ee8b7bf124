/**
 * The README walk-through as steps that pass or fail, against any base URL:
 * the local server (tokens from `POST /local/token`) or a deployed sandbox
 * (tokens from its user pool). `npm run smoke` prints a line per step; the
 * deployed-permissions test (test/infra/observed-calls.test.ts) drives the
 * local server through the same steps.
 *
 * Repeatable against one store: each run uses its own batch reference, and a
 * period in which the walk-through's people hold no entitlement yet (a person
 * is paid once per program and period). The people are the sandbox register's
 * (shared/adapters/population/synthetic-population.ts `sandboxPeople`).
 */
import type { TokenRequest } from '../token/args.js';

export type TokenSource = (request: TokenRequest) => Promise<string>;

export interface StepResult {
  name: string;
  status: 'PASS' | 'FAIL' | 'SKIP';
  ms: number;
  detail?: string;
}

export interface WalkthroughOptions {
  /** Base URL without a trailing slash (`http://localhost:3000`, or a deployed API's URL). */
  baseUrl: string;
  tokens: TokenSource;
  /** Called after each step (the CLI prints a line). */
  onStep?: (result: StepResult, index: number, total: number) => void;
  /** Longest wait for the queue work (verification, payment). Default 90 s. */
  waitMs?: number;
  fetch?: typeof fetch;
  now?: () => Date;
}

export interface WalkthroughResult {
  ok: boolean;
  steps: StepResult[];
  /** Set once the batch exists. */
  batchId?: string;
}

export const PROVINCE = '79';
export const PROGRAM = 'SOCIAL_ALLOWANCE';
/** The README's three people: Ánh (sent without diacritics), Đức (no account: ON_HOLD), Bình (deceased). */
export const PEOPLE = {
  anh: { personalId: '079185000001', fullName: 'NGUYEN THI ANH', dateOfBirth: '1985-03-02', gender: 'F', registerName: 'Nguyễn Thị Ánh' },
  duc: { personalId: '048060000003', fullName: 'Đặng Văn Đức', dateOfBirth: '1960-12-31', gender: 'M' },
  binh: { personalId: '001048000002', fullName: 'Trần Văn Bình', dateOfBirth: '1948-01-20', gender: 'M' },
} as const;
/** A bank account the sandbox provider pays at once (any last four digits but 0000, 0001, 9990, 9999, 5555). */
export const PAID_ACCOUNT = { provider: { type: 'BANK', code: '970436' }, accountNumber: '0123456789', accountName: PEOPLE.anh.registerName } as const;

export class StepFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepFailure';
  }
}

export interface Answer<T = unknown> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

/** A small HTTP client over the API: JSON by default, the answer's status left to the caller. */
export function apiClient(baseUrl: string, fetchImpl: typeof fetch = fetch) {
  return async function call<T = unknown>(
    method: string,
    path: string,
    options: { token?: string; json?: unknown; body?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined = options.body;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    let response: Response;
    try {
      response = await fetchImpl(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    } catch (error) {
      throw new StepFailure(`${method} ${path}: no answer (${error instanceof Error ? error.message : String(error)})`);
    }
    // The byte order mark kept (a CSV report starts with one): TextDecoder drops it unless told not to.
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await response.arrayBuffer());
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, body: parsed as T, text, headers: response.headers };
  };
}

export type Api = ReturnType<typeof apiClient>;

/** The answer, or a failure naming what came back instead (problem code and detail, never a body that may hold personal data). */
export function expectStatus<T>(answer: Answer<T>, wanted: number | number[], what: string): T {
  const statuses = Array.isArray(wanted) ? wanted : [wanted];
  if (!statuses.includes(answer.status)) {
    const problem = answer.body as { code?: string; detail?: string } | undefined;
    throw new StepFailure(`${what}: expected ${statuses.join(' or ')}, got ${answer.status}${problem?.code ? ` ${problem.code}` : ''}${problem?.detail ? ` (${problem.detail})` : ''}`);
  }
  return answer.body;
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new StepFailure(message);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `done` holds, or fails with the last state described. */
export async function waitFor<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, describe: (value: T) => string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (let pause = 250; ; pause = Math.min(pause * 2, 2_000)) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() > deadline) throw new StepFailure(`${what}: not after ${Math.round(timeoutMs / 1000)} s (${describe(last)})`);
    await sleep(pause);
  }
}

interface Batch {
  batchId: string;
  status: string;
}
interface PaymentRow {
  paymentId: string;
  paymentRef: string;
  status: string;
  reasonCode: string | null;
  nameMatch: string | null;
}
interface OwnPayment {
  paymentId: string;
  period: string;
  status: string;
  program: { code: string };
}

const RELEASED = new Set(['REJECTED', 'FAILED', 'CANCELLED']);

function monthsBefore(now: Date, months: number): string {
  const date = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - months, 1));
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The latest period (this month or earlier) in which none of the people holds an entitlement of the program. */
export async function freePeriod(api: Api, beneficiaryTokens: string[], now: Date): Promise<string> {
  const taken = new Set<string>();
  for (const token of beneficiaryTokens) {
    let cursor: string | null = null;
    do {
      const page: { items: OwnPayment[]; nextCursor: string | null } = expectStatus(
        await api<{ items: OwnPayment[]; nextCursor: string | null }>('GET', `/v1/me/payments?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token }),
        200,
        'GET /v1/me/payments',
      );
      for (const payment of page.items) if (payment.program.code === PROGRAM && !RELEASED.has(payment.status)) taken.add(payment.period);
      cursor = page.nextCursor;
    } while (cursor);
  }
  for (let back = 0; back < 600; back++) {
    const period = monthsBefore(now, back);
    if (!taken.has(period)) return period;
  }
  throw new StepFailure('every period of the last 50 years is taken by earlier runs');
}

interface Context {
  api: Api;
  tokens: { province: string; approver: string; anh: string; duc: string };
  period: string;
  batchId: string;
  payments: Map<string, PaymentRow>;
}

interface Step {
  name: string;
  run(context: Context): Promise<void>;
}

/** The walk-through, README.md "Five-minute walk-through" steps 1-6, after a health check and the tokens. */
export function walkthroughSteps(options: { tokens: TokenSource; waitMs: number; now: () => Date; runId: string }): Step[] {
  const { tokens, waitMs } = options;
  const readPayments = async (context: Context) => {
    const page = expectStatus(
      await context.api<{ items: PaymentRow[] }>('GET', `/v1/batches/${context.batchId}/payments`, { token: context.tokens.province }),
      200,
      'GET payments of the batch',
    );
    context.payments = new Map(page.items.map((payment) => [payment.paymentRef, payment]));
    return context.payments;
  };
  return [
    {
      name: 'health and the API document',
      async run({ api }) {
        const health = expectStatus(await api<{ status: string }>('GET', '/v1/health'), 200, 'GET /v1/health');
        check(health.status === 'ok', `health says ${JSON.stringify(health)}`);
        const openapi = expectStatus(await api<{ openapi: string }>('GET', '/v1/openapi.json'), 200, 'GET /v1/openapi.json');
        check(typeof openapi.openapi === 'string', 'the API document has no openapi version');
      },
    },
    {
      name: 'tokens: province system, second official, two beneficiaries',
      async run(context) {
        context.tokens = {
          province: await tokens({ role: 'province', provinceCode: PROVINCE, sub: `smoke-${options.runId}-maker` }),
          approver: await tokens({ role: 'approver', provinceCode: PROVINCE, sub: `smoke-${options.runId}-checker` }),
          anh: await tokens({ role: 'beneficiary', personalId: PEOPLE.anh.personalId }),
          duc: await tokens({ role: 'beneficiary', personalId: PEOPLE.duc.personalId }),
        };
        const programs = expectStatus(await context.api<{ items: { code: string }[] }>('GET', '/v1/programs', { token: context.tokens.province }), 200, 'GET /v1/programs');
        check(
          programs.items.some((program) => program.code === PROGRAM),
          `no program ${PROGRAM}`,
        );
        context.period = await freePeriod(context.api, [context.tokens.anh, context.tokens.duc], options.now());
      },
    },
    {
      name: 'batch of three payments, created and sealed in one request',
      async run(context) {
        const amount = 500_000;
        const people = [PEOPLE.anh, PEOPLE.duc, PEOPLE.binh];
        const batch = expectStatus(
          await context.api<Batch>('POST', '/v1/batches', {
            token: context.tokens.province,
            json: {
              batchRef: `smoke-${options.runId}`,
              provinceCode: PROVINCE,
              programCode: PROGRAM,
              period: context.period,
              control: { itemCount: people.length, totalAmount: amount * people.length },
              payments: people.map((person, index) => ({
                paymentRef: `P${index + 1}`,
                personalId: person.personalId,
                fullName: person.fullName,
                dateOfBirth: person.dateOfBirth,
                gender: person.gender,
                amount,
              })),
            },
          }),
          201,
          'POST /v1/batches',
        );
        context.batchId = batch.batchId;
        check(batch.status !== 'OPEN', `the batch is ${batch.status}, not sealed`);
      },
    },
    {
      name: 'verification: AWAITING_APPROVAL, P1 VERIFIED ASCII_FOLDED, P2 VERIFIED EXACT, P3 REJECTED DECEASED',
      async run(context) {
        await waitFor(
          'the batch awaits approval',
          async () => expectStatus(await context.api<Batch>('GET', `/v1/batches/${context.batchId}`, { token: context.tokens.province }), 200, 'GET the batch'),
          (batch) => batch.status === 'AWAITING_APPROVAL',
          (batch) => `status ${batch.status}`,
          waitMs,
        );
        const payments = await readPayments(context);
        const outcome = (ref: string) => {
          const payment = payments.get(ref);
          return payment ? [payment.status, payment.reasonCode ?? '-', payment.nameMatch ?? '-'].join(' ') : 'missing';
        };
        const got = ['P1', 'P2', 'P3'].map(outcome);
        const wanted = ['VERIFIED - ASCII_FOLDED', 'VERIFIED - EXACT', 'REJECTED DECEASED -'];
        check(JSON.stringify(got) === JSON.stringify(wanted), `payments: ${got.join('; ')} (expected ${wanted.join('; ')})`);
      },
    },
    {
      name: 'account link by the beneficiary (name checked against the register)',
      async run(context) {
        const link = expectStatus(
          await context.api<{ status: string; accountNumberMasked: string }>('PUT', `/v1/accounts/${PEOPLE.anh.personalId}`, { token: context.tokens.anh, json: PAID_ACCOUNT }),
          [200, 201],
          'PUT /v1/accounts/{personalId}',
        );
        check(link.status === 'LINKED', `the link is ${link.status}`);
        check(!link.accountNumberMasked.includes(PAID_ACCOUNT.accountNumber), 'the account number is not masked');
      },
    },
    {
      name: 'approval by a second official',
      async run(context) {
        const batch = expectStatus(
          await context.api<Batch>('POST', `/v1/batches/${context.batchId}/approve`, { token: context.tokens.approver }),
          200,
          'POST approve',
        );
        check(batch.status === 'APPROVED' || batch.status === 'COMPLETED', `the batch is ${batch.status} after approval`);
      },
    },
    {
      name: 'payment: P1 PAID, P2 waiting for an account (ON_HOLD)',
      async run(context) {
        await waitFor(
          'P1 is paid',
          () => readPayments(context),
          (payments) => payments.get('P1')?.status === 'PAID',
          (payments) => [...payments.values()].map((p) => `${p.paymentRef} ${p.status}`).join(', '),
          waitMs,
        );
        const p2 = context.payments.get('P2')?.status;
        check(p2 === 'ON_HOLD', `P2 is ${p2}, not ON_HOLD`);
      },
    },
    {
      name: 'beneficiary view: her own payment, PAID',
      async run(context) {
        const p1 = context.payments.get('P1');
        const own = expectStatus(await context.api<{ items: OwnPayment[] }>('GET', '/v1/me/payments', { token: context.tokens.anh }), 200, 'GET /v1/me/payments');
        const mine = own.items.find((payment) => payment.paymentId === p1?.paymentId);
        check(mine?.status === 'PAID', `her payment is ${mine ? mine.status : 'not in her list'}`);
        const one = expectStatus(await context.api<{ status: string }>('GET', `/v1/me/payments/${p1?.paymentId}`, { token: context.tokens.anh }), 200, 'GET /v1/me/payments/{id}');
        check(one.status === 'PAID', `her payment reads ${one.status}`);
        expectStatus(await context.api('GET', `/v1/me/payments/${context.payments.get('P2')?.paymentId}`, { token: context.tokens.anh }), 404, "another person's payment");
      },
    },
    {
      name: 'reconciliation report (CSV with BOM, one row per payment)',
      async run(context) {
        const report = await context.api('GET', `/v1/batches/${context.batchId}/report`, { token: context.tokens.province, headers: { accept: 'text/csv' } });
        expectStatus(report, 200, 'GET report');
        check(report.text.startsWith('\uFEFF'), 'the CSV has no byte order mark');
        check((report.headers.get('content-type') ?? '').startsWith('text/csv'), `content-type ${report.headers.get('content-type')}`);
        const rows = report.text.trim().split(/\r?\n/);
        for (const ref of ['P1', 'P2', 'P3']) check(rows.some((row) => row.includes(ref)), `no report row for ${ref}`);
      },
    },
    {
      name: 'audit trail: created, verified, approved, by whom',
      async run(context) {
        const audit = expectStatus(
          await context.api<{ items: { action: string; actor: string }[] }>('GET', `/v1/batches/${context.batchId}/audit?limit=1000`, { token: context.tokens.province }),
          200,
          'GET audit',
        );
        const actions = new Set(audit.items.map((record) => record.action));
        for (const action of ['createBatch', 'verifyPage', 'approveBatch']) check(actions.has(action), `no ${action} record (has ${[...actions].join(', ')})`);
      },
    },
  ];
}

/** Runs the steps in order; after a failure the rest are skipped (each builds on the one before). */
export async function runWalkthrough(options: WalkthroughOptions): Promise<WalkthroughResult> {
  const api = apiClient(options.baseUrl.replace(/\/+$/, ''), options.fetch ?? fetch);
  const steps = walkthroughSteps({
    tokens: options.tokens,
    waitMs: options.waitMs ?? 90_000,
    now: options.now ?? (() => new Date()),
    runId: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
  });
  const context = { api, payments: new Map() } as unknown as Context;
  const results: StepResult[] = [];
  let failed = false;
  for (const [index, step] of steps.entries()) {
    let result: StepResult;
    if (failed) {
      result = { name: step.name, status: 'SKIP', ms: 0 };
    } else {
      const started = performance.now();
      try {
        await step.run(context);
        result = { name: step.name, status: 'PASS', ms: Math.round(performance.now() - started) };
      } catch (error) {
        failed = true;
        result = { name: step.name, status: 'FAIL', ms: Math.round(performance.now() - started), detail: error instanceof Error ? error.message : String(error) };
      }
    }
    results.push(result);
    options.onStep?.(result, index, steps.length);
  }
  return { ok: !failed, steps: results, ...(context.batchId ? { batchId: context.batchId } : {}) };
}
