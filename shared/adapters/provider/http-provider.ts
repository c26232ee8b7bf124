import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { callbackSignature } from '../../app/callbacks.js';
import { loadConfig } from '../../config/env.js';
import { secretsManager } from '../../config/secret-store.js';
import { logger as sharedLogger } from '../../observability/logger.js';
import { ProviderTransientError, type PaymentProvider, type TransferInstruction, type TransferOutcome } from '../../ports/payment-provider.js';

/**
 * A bank / e-wallet payment gateway over HTTPS. Used where the sandbox
 * provider's ledger table does not exist (the prod stage); see
 * shared/wiring/disbursement.ts.
 *
 * ## Wire contract (our design: confirm it against the gateway's published
 * ## interface before going live, and adjust this module alone)
 *
 *   POST {baseUrl}/v1/transfers
 *   content-type: application/json
 *   x-timestamp: <unix seconds>
 *   x-signature: <hex HMAC-SHA256 of `x-timestamp + "." + raw body`, with the shared secret>
 *   idempotency-key: <reference>
 *
 *   { "reference": "<paymentId>", "amount": 1500000, "currency": "VND",
 *     "account": { "type": "BANK", "bankCode": "970436", "number": "...", "holderName": "..." } }
 *     (an e-wallet: "type": "EWALLET", "walletCode": "VIETTELMONEY" instead of "bankCode")
 *
 *   200/201 { "reference": "...", "status": "SETTLED" | "ACCEPTED" | "REJECTED",
 *             "reasonCode"?: "...", "settledAt"?: "<ISO 8601 date-time>" }
 *   409     the reference was sent before: the body holds the original result,
 *           either as the fields above or under "original".
 *
 *   GET {baseUrl}/v1/transfers/{reference}     signed the same way, over the empty body
 *   200 as above · 404 { "reference": "...", "status": "NOT_FOUND" }: the gateway never accepted
 *   this reference. Any other 404 (no body, another reference) is ambiguous: ProviderResponseError.
 *
 * The signature is exactly the one providers put on their callbacks to us
 * (api.md, "Payment providers"), in the other direction: `callbackSignature`.
 * SETTLED is PAID (settledAt, or now when the gateway gives none), ACCEPTED is
 * SENT (a signed callback settles it later), REJECTED is FAILED with the
 * gateway's reason mapped by `providerReasons` (else PROVIDER_REJECTED).
 * Extra fields are ignored. A result for another reference is refused.
 *
 * ## Failure handling
 * - Every attempt has its own deadline (`AbortSignal.timeout`, default 5 s,
 *   reading the body included), and a fresh timestamp and signature.
 * - 408, 429, any 5xx, network errors and timeouts are ProviderTransientError:
 *   the disbursement worker fails the SQS record and the queue delivers it
 *   again later (5 deliveries, then the dead-letter queue and its alarm).
 *   Retrying belongs to the queue: its visibility timeout spaces the
 *   attempts, while a retry loop here would hold a Lambda (and its 9 batch
 *   siblings, 60 s budget) for as long as the gateway is slow. So the adapter
 *   makes at most ONE quick retry, and only where the failure was quick: a
 *   network error (connection refused or reset), 429, 502, 503 or 504, after a
 *   jittered pause of at most `retryDelayMs` (or a Retry-After of at most
 *   `maxRetryAfterMs`; a longer one gives up at once). A timeout, a 408 or a
 *   500 is not retried here: the gateway is slow or broken, and the queue is
 *   the right place to wait. Resending is safe: the reference is the
 *   idempotency key, and a repeat gets the first outcome (200 or 409).
 * - Any other status (400, 401, 403, 404 on POST, 422, 3xx, ...) means the
 *   request or our configuration is wrong, not the citizen's account: it is
 *   ProviderResponseError `REJECTED`, never a FAILED payment. A 2xx/409 body that
 *   is not the JSON above is ProviderResponseError `MALFORMED`. Both are
 *   non-transient: nothing of the answer is used, and they surface through the
 *   queue's dead-letter alarm.
 *
 * ## Personal data
 * Account numbers, holder names and amounts travel only in the signed body.
 * Logs and error messages carry the reference (a paymentId: a ULID and a keyed
 * hash), the operation, status codes, attempt numbers, durations and outcome
 * categories only; never the gateway's body, which may echo the account.
 */

/** Failures after which one quick retry is worth it (besides network errors). */
const QUICK_RETRY_STATUSES = new Set([429, 502, 503, 504]);
/** Failures for the queue to retry later. */
const isTransientStatus = (status: number) => status === 408 || status === 429 || (status >= 500 && status <= 599);
/** What a reference may look like before it goes into a header and a URL (a paymentId fits). */
const REFERENCE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

type FailureReason = Exclude<TransferOutcome, { status: 'PAID' } | { status: 'SENT' }>['reasonCode'];

/**
 * The gateway's reason codes we recognise; anything else is PROVIDER_REJECTED.
 * Our own codes, and the ISO 20022 ExternalStatusReason codes that mean the
 * same (AC04 ClosedAccountNumber, AC01 IncorrectAccountNumber, AC03
 * InvalidCreditorAccountNumber, BE01 InconsistentWithEndCustomer). Extend it
 * from the gateway's published list.
 */
export const providerReasons: Readonly<Record<string, FailureReason>> = Object.freeze({
  ACCOUNT_CLOSED: 'ACCOUNT_CLOSED',
  AC04: 'ACCOUNT_CLOSED',
  ACCOUNT_NOT_FOUND: 'ACCOUNT_NOT_FOUND',
  AC01: 'ACCOUNT_NOT_FOUND',
  AC03: 'ACCOUNT_NOT_FOUND',
  ACCOUNT_NAME_MISMATCH: 'ACCOUNT_NAME_MISMATCH',
  BE01: 'ACCOUNT_NAME_MISMATCH',
});

export function mapProviderReason(reasonCode: string | null | undefined): FailureReason {
  const key = reasonCode?.trim().toUpperCase();
  return key !== undefined && Object.hasOwn(providerReasons, key) ? (providerReasons[key] ?? 'PROVIDER_REJECTED') : 'PROVIDER_REJECTED';
}

type LogAttributes = Record<string, string | number | boolean | null>;

/** What the adapter logs through (the shared redacting logger by default). Attributes are references and codes only. */
export interface ProviderLog {
  info(message: string, attributes: LogAttributes): void;
  warn(message: string, attributes: LogAttributes): void;
}

export interface HttpPaymentProviderOptions {
  /** The gateway's base URL, e.g. `https://gateway.example.vn/disbursement` (no trailing path needed). */
  baseUrl: string;
  /** The shared secret of the request signatures. */
  secret: string;
  /** Deadline of one attempt, in ms (default 5,000). */
  timeoutMs?: number;
  /** 2 (default): one quick retry of a quick failure; 1: none. See "Failure handling". */
  maxAttempts?: 1 | 2;
  /** The quick retry waits a random time up to this many ms (default 200). */
  retryDelayMs?: number;
  /** The longest Retry-After honoured before the quick retry, in ms (default 1,000); a longer one gives up at once. */
  maxRetryAfterMs?: number;
  /** Injected for tests: node's global fetch by default. */
  fetch?: typeof fetch;
  logger?: ProviderLog;
  /** Injected for tests: Math.random by default. */
  random?: () => number;
  /** Injected for tests: the clock of x-timestamp and of a settlement without settledAt. */
  now?: () => Date;
}

/**
 * A non-transient failure: the gateway refused the request (REJECTED, with its
 * status: our request or configuration is wrong) or answered something unusable
 * (MALFORMED). Never a statement about the citizen's account.
 */
export class ProviderResponseError extends Error {
  readonly kind: 'REJECTED' | 'MALFORMED';
  readonly status: number;
  constructor(message: string, kind: 'REJECTED' | 'MALFORMED', status: number) {
    super(message);
    this.name = 'ProviderResponseError';
    this.kind = kind;
    this.status = status;
  }
}

const transferResultSchema = z.object({
  reference: z.string().min(1).max(128),
  status: z.enum(['SETTLED', 'ACCEPTED', 'REJECTED']),
  reasonCode: z.string().max(64).nullish(),
  settledAt: z.iso.datetime({ offset: true }).nullish(),
});
type TransferResult = z.infer<typeof transferResultSchema>;

/** A lookup's 404: the gateway does not know this reference (it never accepted it). */
const unknownReferenceSchema = z.object({ reference: z.string().min(1).max(128), status: z.literal('NOT_FOUND') });

/** A 409 duplicate: the original result, as is or under `original`. */
const duplicateSchema = z.union([transferResultSchema, z.object({ original: transferResultSchema }).transform((body) => body.original)]);

/** `original.settledAt`: field names are ours, any other key is not shown. */
function issuePath(path: readonly PropertyKey[]): string {
  return path
    .map((segment) => (typeof segment === 'number' ? `[${segment}]` : /^[A-Za-z]{1,32}$/.test(String(segment)) ? `.${String(segment)}` : '.?'))
    .join('')
    .replace(/^\./, '');
}

/** Milliseconds a Retry-After header asks for (delta-seconds or an HTTP date), or undefined. */
function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

type Operation = 'send' | 'lookup';
type Answer = { status: number; text: string };
type AttemptFailure = { outcome: 'TIMEOUT' | 'NETWORK' | 'HTTP'; status: number | null; retryAfterMs: number | undefined; cause: unknown };
type AttemptResult = ({ ok: true } & Answer) | ({ ok: false } & AttemptFailure);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

export class HttpPaymentProvider implements PaymentProvider {
  /** `{baseUrl}/v1/transfers` */
  private readonly transfersUrl: URL;
  private readonly secret: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly fetch: typeof fetch;
  private readonly log: ProviderLog;
  private readonly random: () => number;
  private readonly now: () => Date;

  constructor(options: HttpPaymentProviderOptions) {
    this.transfersUrl = new URL('v1/transfers', options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    this.secret = options.secret;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.maxAttempts = options.maxAttempts ?? 2;
    this.retryDelayMs = options.retryDelayMs ?? 200;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 1_000;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.log = options.logger ?? sharedLogger;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => new Date());
    if (this.maxAttempts !== 1 && this.maxAttempts !== 2) throw new RangeError('maxAttempts is 1 or 2: retries belong to the queue.');
    if (!this.secret) throw new RangeError('The payment provider needs a shared secret.');
  }

  async send(instruction: TransferInstruction): Promise<TransferOutcome> {
    const { reference } = instruction;
    this.checkReference(reference);
    if (!Number.isSafeInteger(instruction.amount) || instruction.amount <= 0) {
      throw new RangeError(`Transfer ${reference}: the amount must be a positive whole number of VND.`);
    }
    const account =
      instruction.provider.type === 'BANK'
        ? { type: 'BANK', bankCode: instruction.provider.code, number: instruction.accountNumber, holderName: instruction.accountName }
        : { type: 'EWALLET', walletCode: instruction.provider.code, number: instruction.accountNumber, holderName: instruction.accountName };
    const body = JSON.stringify({ reference, amount: instruction.amount, currency: 'VND', account });
    const answer = await this.exchange('send', reference, this.transfersUrl.href, body);
    if (answer.status === 409) {
      return this.outcomeOf(this.parse(answer, reference, duplicateSchema, 'send'), 'send', answer.status, reference);
    }
    return this.outcomeOf(this.parse(answer, reference, transferResultSchema, 'send'), 'send', answer.status, reference);
  }

  async lookup(reference: string): Promise<TransferOutcome | undefined> {
    this.checkReference(reference);
    const answer = await this.exchange('lookup', reference, `${this.transfersUrl.href}/${encodeURIComponent(reference)}`, undefined);
    if (answer.status === 404) {
      // "Never accepted" releases the person's entitlement (the payment ends FAILED RETRIES_EXHAUSTED), so it
      // must be the gateway saying so of this reference: a bare 404 (a wrong URL, a proxy's page) is
      // ambiguous, and an ambiguous answer never releases an entitlement (domain.md, "After the money leaves").
      this.parseUnknown(answer, reference);
      return undefined;
    }
    return this.outcomeOf(this.parse(answer, reference, transferResultSchema, 'lookup'), 'lookup', answer.status, reference);
  }

  /** A 404 of lookup: `{ reference, status: "NOT_FOUND" }` for exactly this reference, else ProviderResponseError MALFORMED. */
  private parseUnknown(answer: Answer, reference: string): void {
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch {
      json = undefined;
    }
    const parsed = unknownReferenceSchema.safeParse(json);
    if (!parsed.success || parsed.data.reference !== reference) {
      this.log.warn('payment provider answered 404 without naming the reference', { operation: 'lookup', reference, outcome: 'MALFORMED', status: 404 });
      throw new ProviderResponseError(
        `The payment provider answered HTTP 404 for transfer ${reference} (lookup) without saying that it does not know this reference: the outcome stays unknown.`,
        'MALFORMED',
        404,
      );
    }
  }

  private checkReference(reference: string): void {
    // Not quoted: a malformed reference is not known to be harmless.
    if (!REFERENCE_PATTERN.test(reference)) throw new RangeError('A transfer reference is 1-128 letters, digits, ".", "_" or "-".');
  }

  /** The answers the operation reads (2xx; 409 for send, 404 for lookup), after at most one quick retry. */
  private async exchange(operation: Operation, reference: string, url: string, body: string | undefined): Promise<Answer> {
    let last: AttemptFailure | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const started = performance.now();
      let result: AttemptResult;
      try {
        result = await this.attempt(operation, reference, url, body);
      } catch (error) {
        if (error instanceof ProviderResponseError) {
          this.log.warn('payment provider refused the request', {
            operation,
            reference,
            attempt,
            outcome: error.kind,
            status: error.status,
            durationMs: Math.round(performance.now() - started),
          });
        }
        throw error;
      }
      const durationMs = Math.round(performance.now() - started);
      if (result.ok) {
        this.log.info('payment provider answered', { operation, reference, attempt, status: result.status, durationMs });
        return { status: result.status, text: result.text };
      }
      last = result;
      const attributes = { operation, reference, attempt, maxAttempts: this.maxAttempts, outcome: result.outcome, status: result.status, durationMs };
      const quick = result.outcome === 'NETWORK' || (result.status !== null && QUICK_RETRY_STATUSES.has(result.status));
      const waitMs = result.retryAfterMs ?? Math.floor(this.random() * this.retryDelayMs);
      if (attempt === this.maxAttempts || !quick || waitMs > this.maxRetryAfterMs) {
        this.log.warn('payment provider attempt failed; the queue retries later', attributes);
        break;
      }
      this.log.warn('payment provider attempt failed; retrying once', { ...attributes, retryInMs: waitMs });
      await sleep(waitMs);
    }
    const what =
      last?.outcome === 'HTTP'
        ? `HTTP ${last.status}${last.retryAfterMs !== undefined ? `, retry after ${Math.ceil(last.retryAfterMs / 1000)} s` : ''}`
        : last?.outcome === 'TIMEOUT'
          ? `no answer within ${this.timeoutMs} ms`
          : 'network error';
    throw new ProviderTransientError(`The payment provider is unavailable for transfer ${reference} (${operation}: ${what}).`, { cause: last?.cause });
  }

  private async attempt(operation: Operation, reference: string, url: string, body: string | undefined): Promise<AttemptResult> {
    // A fresh timestamp (and signature) for each attempt: the gateway refuses stale ones.
    const timestamp = String(Math.floor(this.now().getTime() / 1000));
    const headers: Record<string, string> = {
      accept: 'application/json',
      'x-timestamp': timestamp,
      'x-signature': callbackSignature(this.secret, timestamp, body ?? ''),
      ...(body === undefined ? {} : { 'content-type': 'application/json', 'idempotency-key': reference }),
    };
    // One deadline for the whole exchange: connecting, the status line and the body.
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      // redirect 'manual': a redirect is a configuration error (a 3xx status below), not a network error to retry.
      const response = await this.fetch(url, { method: body === undefined ? 'GET' : 'POST', headers, body, signal, redirect: 'manual' });
      const read = response.ok || (operation === 'send' && response.status === 409) || (operation === 'lookup' && response.status === 404);
      if (read) return { ok: true, status: response.status, text: await response.text() };
      await response.body?.cancel().catch(() => undefined);
      if (isTransientStatus(response.status)) {
        return { ok: false, outcome: 'HTTP', status: response.status, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')), cause: undefined };
      }
      throw new ProviderResponseError(
        `The payment provider refused the request for transfer ${reference} (${operation}: HTTP ${response.status}); check the adapter's configuration.`,
        'REJECTED',
        response.status,
      );
    } catch (error) {
      if (error instanceof ProviderResponseError) throw error;
      return { ok: false, outcome: isTimeout(error) || signal.aborted ? 'TIMEOUT' : 'NETWORK', status: null, retryAfterMs: undefined, cause: error };
    }
  }

  private parse<T extends z.ZodType<TransferResult, unknown>>(answer: Answer, reference: string, schema: T, operation: Operation): TransferResult {
    const malformed = (why: string) => {
      this.log.warn('payment provider answered something unusable', { operation, reference, outcome: 'MALFORMED', status: answer.status });
      return new ProviderResponseError(`The payment provider answered HTTP ${answer.status} for transfer ${reference} (${operation}) with ${why}.`, 'MALFORMED', answer.status);
    };
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch {
      // The SyntaxError quotes the body: it is not passed on.
      throw malformed('a body that is not JSON');
    }
    const result = schema.safeParse(json);
    if (!result.success) {
      const where = [...new Set(result.error.issues.map((issue) => `${issuePath(issue.path) || 'body'} (${issue.code})`))].slice(0, 5);
      throw malformed(`an unexpected shape: ${where.join(', ')}`);
    }
    if (result.data.reference !== reference) throw malformed('the result of another reference');
    return result.data;
  }

  private outcomeOf(result: TransferResult, operation: Operation, status: number, reference: string): TransferOutcome {
    const outcome: TransferOutcome =
      result.status === 'SETTLED'
        ? { status: 'PAID', settledAt: new Date(result.settledAt ?? this.now()).toISOString() }
        : result.status === 'ACCEPTED'
          ? { status: 'SENT' }
          : { status: 'FAILED', reasonCode: mapProviderReason(result.reasonCode) };
    this.log.info('payment provider transfer', { operation, reference, status, outcome: outcome.status, duplicate: status === 409 });
    return outcome;
  }
}

// ---------------------------------------------------------------------------
// Configuration and the shared secret, read once at cold start.

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const MIN_SECRET_LENGTH = 16;

export const httpProviderConfigSchema = z
  .object({
    /** https, except on a loopback host (local fakes and tests). */
    PAYMENT_PROVIDER_URL: z.url({ protocol: /^https?$/ }).refine((value) => {
      const url = new URL(value);
      return url.protocol === 'https:' || LOOPBACK_HOSTS.has(url.hostname);
    }, 'must be an https URL (http only on a loopback host)'),
    /** Deployed: the Secrets Manager secret holding the shared signing secret (see loadPaymentProviderSecret). */
    PAYMENT_PROVIDER_SECRET_ARN: z.string().startsWith('arn:').optional(),
    /** Locally and in tests only: the shared secret given directly. */
    PAYMENT_PROVIDER_SECRET: z.string().min(MIN_SECRET_LENGTH).optional(),
    /** Deadline of one attempt. The disbursement worker has 60 s for a batch of 10 records (processed concurrently). */
    PAYMENT_PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(50).max(20_000).default(5_000),
  })
  .refine((env) => env.PAYMENT_PROVIDER_SECRET_ARN !== undefined || env.PAYMENT_PROVIDER_SECRET !== undefined, {
    path: ['PAYMENT_PROVIDER_SECRET_ARN'],
    message: 'is required (or PAYMENT_PROVIDER_SECRET locally)',
  });

const secretSchema = z.strictObject({ secret: z.string().min(MIN_SECRET_LENGTH) });

/**
 * The shared signing secret, from Secrets Manager by ARN (deployed) or given
 * directly (locally and in tests). The secret holds the secret as a plain
 * string, or JSON `{ "secret": "..." }`. No error message ever quotes it.
 */
export async function loadPaymentProviderSecret(
  source: { secretArn?: string | undefined; secret?: string | undefined },
  client?: Pick<SecretsManagerClient, 'send'>,
): Promise<string> {
  const invalid = () => new Error(`Invalid configuration: the payment provider secret must be a string of at least ${MIN_SECRET_LENGTH} characters, or {"secret": "..."}.`);
  if (!source.secretArn) {
    if (!source.secret) throw new Error('Invalid configuration: the payment provider needs a shared secret (a secret ARN, or the secret locally).');
    if (source.secret.length < MIN_SECRET_LENGTH) throw invalid();
    return source.secret;
  }
  if (!client) return loadPaymentProviderSecret(source, secretsManager());
  const result = await client.send(new GetSecretValueCommand({ SecretId: source.secretArn }));
  const secret = result.SecretString?.trim();
  if (!secret) throw new Error('Invalid configuration: the payment provider secret is empty or binary.');
  if (!secret.startsWith('{')) {
    if (secret.length < MIN_SECRET_LENGTH) throw invalid();
    return secret;
  }
  try {
    return secretSchema.parse(JSON.parse(secret)).secret;
  } catch {
    // Neither JSON.parse's nor zod's message is passed on: the former quotes the secret.
    throw invalid();
  }
}

/** The adapter as configured by the environment (shared/wiring/disbursement.ts calls this once per cold start). */
export async function createHttpProvider(env: NodeJS.ProcessEnv = process.env): Promise<HttpPaymentProvider> {
  const config = loadConfig(httpProviderConfigSchema, env);
  const secret = await loadPaymentProviderSecret({ secretArn: config.PAYMENT_PROVIDER_SECRET_ARN, secret: config.PAYMENT_PROVIDER_SECRET });
  return new HttpPaymentProvider({ baseUrl: config.PAYMENT_PROVIDER_URL, secret, timeoutMs: config.PAYMENT_PROVIDER_TIMEOUT_MS });
}
