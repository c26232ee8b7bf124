import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { secretsManager } from '../../config/secret-store.js';
import { ulid } from 'ulid';
import * as z from 'zod';
import { loadConfig } from '../../config/env.js';
import { isProvinceCode } from '../../domain/catalogues.js';
import { isPersonalIdFormat, PERSONAL_ID_PATTERN } from '../../domain/personal-id.js';
import { logger as sharedLogger } from '../../observability/logger.js';
import { RegistryUnavailableError, type Citizen, type PopulationRegistry } from '../../ports/population-registry.js';

/**
 * The national population register, reached through the national data-sharing
 * platform (NDXP). Used where the sandbox register's table does not exist (the
 * prod stage); see shared/wiring/registry.ts.
 *
 * ## Wire contract (our design: confirm it against the platform's published
 * ## interface before going live, and adjust this module alone)
 *
 *   POST {baseUrl}/v1/citizens:batchLookup
 *   content-type: application/json
 *   accept: application/json
 *   x-api-key: <key>                  (API-key credentials), or
 *   authorization: Bearer <token>     (bearer-token credentials)
 *   x-correlation-id: <ULID>          (one per chunk, the same on its retries)
 *
 *   { "personalIds": ["079185000001", ...] }                       1-100 IDs, unique
 *
 *   200 { "citizens": [ { "personalId": "079185000001", "fullName": "Nguyễn Thị Ánh",
 *                         "dateOfBirth": "1985-03-02", "gender": "F", "dateOfDeath": null,
 *                         "permanentResidence": { "provinceCode": "79" } } ] }
 *
 * IDs the register does not know are simply absent from `citizens`. Extra
 * fields are ignored (the platform may add some); a missing `dateOfDeath` means
 * alive. Personal ID numbers travel only in the body, never in the URL.
 *
 * Permanent residence (assumption, like the rest of this contract): the
 * register keeps each person's permanent residence address; we assume the
 * platform gives its province as `permanentResidence.provinceCode`, the
 * two-digit code of the 2025 administrative units. It decides which province
 * may act on the person's account (shared/app/accounts.ts). Absent, null, or a
 * code that is not one of the 34 units (an address not yet converted after the
 * 2025 merger, say): no residence is known, and only the person's payments put
 * them in a province's care. That is not a malformed answer.
 *
 * ## Failure handling
 * - Every attempt has its own deadline (`AbortSignal.timeout`, reading the body included).
 * - Transient failures are retried with full-jitter exponential backoff: network
 *   errors, timeouts, HTTP 429, 502, 503, 504. A `Retry-After` header (seconds or
 *   an HTTP date) is honoured; when it asks for more than `maxRetryAfterMs`, the
 *   adapter stops at once and lets the caller (an SQS redelivery) retry later.
 *   After the last attempt: RegistryUnavailableError.
 * - Any other status (400, 401, 403, 404, 500, ...) is not retried:
 *   RegistryResponseError with the status.
 * - A 2xx answer that is not the JSON above (bad JSON, wrong shape, a person not
 *   asked for, one person twice) is RegistryResponseError `MALFORMED`, not
 *   retried; nothing of it is used.
 *
 * ## Personal data
 * Logs and error messages carry counts, status codes, attempt numbers,
 * durations and the correlation id only: never an ID number, a name or a date.
 */

/** The platform's limit per request (and the port's per call). */
export const MAX_IDS_PER_REQUEST = 100;
const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);

export type RegistryCredentials = { type: 'apiKey'; apiKey: string } | { type: 'bearer'; token: string };

/** What the adapter logs through (the shared redacting logger by default). Attributes are counts and codes only. */
export interface RegistryLog {
  info(message: string, attributes: Record<string, string | number | boolean | null>): void;
  warn(message: string, attributes: Record<string, string | number | boolean | null>): void;
}

export interface HttpPopulationRegistryOptions {
  /** The platform's base URL, e.g. `https://ndxp.example.gov.vn/population` (no trailing path needed). */
  baseUrl: string;
  credentials: RegistryCredentials;
  /** Deadline of one attempt, in ms (default 3,000). */
  timeoutMs?: number;
  /** Attempts per chunk, the first included (default 4). */
  maxAttempts?: number;
  /** Backoff: the first retry waits up to this many ms, doubling each time (default 200). */
  baseDelayMs?: number;
  /** Backoff cap, in ms (default 2,000). */
  maxDelayMs?: number;
  /** The longest Retry-After honoured, in ms (default 5,000); a longer one ends the attempts. */
  maxRetryAfterMs?: number;
  /** Injected for tests: node's global fetch by default. */
  fetch?: typeof fetch;
  logger?: RegistryLog;
  /** Injected for tests: Math.random by default. */
  random?: () => number;
}

/** A non-transient failure: the platform refused the request (status) or answered something unusable (MALFORMED). */
export class RegistryResponseError extends Error {
  readonly kind: 'REJECTED' | 'MALFORMED';
  readonly status: number;
  constructor(message: string, kind: 'REJECTED' | 'MALFORMED', status: number) {
    super(message);
    this.name = 'RegistryResponseError';
    this.kind = kind;
    this.status = status;
  }
}

const calendarDate = z.iso.date();
const responseSchema = z.object({
  citizens: z
    .array(
      z.object({
        personalId: z.string().regex(PERSONAL_ID_PATTERN),
        fullName: z.string().trim().min(1).max(200),
        dateOfBirth: calendarDate,
        gender: z.enum(['M', 'F']),
        dateOfDeath: calendarDate.nullable().optional(),
        permanentResidence: z.object({ provinceCode: z.string().nullable().optional() }).nullable().optional(),
      }),
    )
    .max(MAX_IDS_PER_REQUEST),
});

/** `citizens[3].dateOfBirth`: field names are ours, any other key is not shown. */
function issuePath(path: readonly PropertyKey[]): string {
  return path
    .map((segment) => (typeof segment === 'number' ? `[${segment}]` : /^[A-Za-z]{1,32}$/.test(String(segment)) ? `.${String(segment)}` : '.?'))
    .join('')
    .replace(/^\./, '');
}

/** Milliseconds a Retry-After header asks for (delta-seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

type AttemptFailure = { outcome: 'TIMEOUT' | 'NETWORK' | 'HTTP'; status: number | null; retryAfterMs: number | undefined; cause: unknown };
type AttemptResult = { ok: true; status: number; citizens: Citizen[] } | ({ ok: false } & AttemptFailure);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let index = 0; index < items.length; index += size) result.push(items.slice(index, index + size));
  return result;
}

export class HttpPopulationRegistry implements PopulationRegistry {
  private readonly url: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly fetch: typeof fetch;
  private readonly log: RegistryLog;
  private readonly random: () => number;
  private readonly credentialHeaders: Record<string, string>;

  constructor(options: HttpPopulationRegistryOptions) {
    this.url = new URL('v1/citizens:batchLookup', options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`).href;
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.maxAttempts = options.maxAttempts ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 2_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 5_000;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.log = options.logger ?? sharedLogger;
    this.random = options.random ?? Math.random;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) throw new RangeError('maxAttempts is a whole number of at least 1.');
    this.credentialHeaders =
      options.credentials.type === 'apiKey' ? { 'x-api-key': options.credentials.apiKey } : { authorization: `Bearer ${options.credentials.token}` };
  }

  /** The known people among these IDs; unknown IDs (and malformed ones, never sent) are absent. */
  async lookup(personalIds: readonly string[]): Promise<Map<string, Citizen>> {
    const unique = [...new Set(personalIds)].filter((personalId) => isPersonalIdFormat(personalId));
    const found = new Map<string, Citizen>();
    // One chunk after the other: a verification page is one chunk, and the platform is shared.
    for (const chunk of chunks(unique, MAX_IDS_PER_REQUEST)) {
      for (const citizen of await this.lookupChunk(chunk)) found.set(citizen.personalId, citizen);
    }
    return found;
  }

  private backoff(attempt: number): number {
    return Math.floor(this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1)));
  }

  private async lookupChunk(personalIds: string[]): Promise<Citizen[]> {
    const correlationId = ulid();
    const body = JSON.stringify({ personalIds });
    const started = performance.now();
    let last: AttemptFailure | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const attemptStarted = performance.now();
      const result = await this.attempt(personalIds, body, correlationId);
      const durationMs = Math.round(performance.now() - attemptStarted);
      if (result.ok) {
        this.log.info('population register lookup', {
          registry: 'ndxp',
          correlationId,
          attempt,
          status: result.status,
          durationMs,
          totalMs: Math.round(performance.now() - started),
          requested: personalIds.length,
          found: result.citizens.length,
        });
        return result.citizens;
      }
      last = result;
      const attributes = { registry: 'ndxp', correlationId, attempt, maxAttempts: this.maxAttempts, outcome: result.outcome, status: result.status, durationMs };
      if (result.retryAfterMs !== undefined && result.retryAfterMs > this.maxRetryAfterMs) {
        this.log.warn('population register asked to retry later than this call can wait', { ...attributes, retryAfterMs: result.retryAfterMs });
        throw new RegistryUnavailableError(
          `The national population register asked to retry after ${Math.ceil(result.retryAfterMs / 1000)} s (HTTP ${result.status}); giving up for now.`,
          { cause: result.cause },
        );
      }
      if (attempt === this.maxAttempts) {
        this.log.warn('population register attempt failed', attributes);
        break;
      }
      const retryInMs = result.retryAfterMs ?? this.backoff(attempt);
      this.log.warn('population register attempt failed', { ...attributes, retryInMs });
      await sleep(retryInMs);
    }
    const what = last?.outcome === 'HTTP' ? `HTTP ${last.status}` : last?.outcome === 'TIMEOUT' ? `no answer within ${this.timeoutMs} ms` : 'network error';
    throw new RegistryUnavailableError(`The national population register failed ${this.maxAttempts} attempts (last: ${what}).`, { cause: last?.cause });
  }

  private async attempt(personalIds: string[], body: string, correlationId: string): Promise<AttemptResult> {
    // One deadline for the whole exchange: connecting, the status line and the body.
    const signal = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-correlation-id': correlationId, ...this.credentialHeaders },
        body,
        signal,
        redirect: 'error',
      });
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        if (!TRANSIENT_STATUSES.has(response.status)) {
          throw new RegistryResponseError(`The national population register refused the request (HTTP ${response.status}).`, 'REJECTED', response.status);
        }
        return { ok: false, outcome: 'HTTP', status: response.status, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')), cause: undefined };
      }
      text = await response.text();
    } catch (error) {
      if (error instanceof RegistryResponseError) throw error;
      return { ok: false, outcome: isTimeout(error) || signal.aborted ? 'TIMEOUT' : 'NETWORK', status: null, retryAfterMs: undefined, cause: error };
    }
    return { ok: true, status: response.status, citizens: this.parse(text, personalIds, response.status) };
  }

  private parse(text: string, asked: string[], status: number): Citizen[] {
    const malformed = (why: string) => new RegistryResponseError(`The national population register answered HTTP ${status} with ${why}.`, 'MALFORMED', status);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // The SyntaxError quotes the body: it is not passed on.
      throw malformed('a body that is not JSON');
    }
    const result = responseSchema.safeParse(json);
    if (!result.success) {
      const where = [...new Set(result.error.issues.map((issue) => `${issuePath(issue.path) || 'body'} (${issue.code})`))].slice(0, 5);
      throw malformed(`an unexpected shape: ${where.join(', ')}`);
    }
    const wanted = new Set(asked);
    const seen = new Set<string>();
    const citizens: Citizen[] = [];
    for (const [index, person] of result.data.citizens.entries()) {
      if (!wanted.has(person.personalId)) throw malformed(`a person not asked for (citizens[${index}])`);
      if (seen.has(person.personalId)) throw malformed(`the same person twice (citizens[${index}])`);
      if (person.dateOfDeath && person.dateOfDeath < person.dateOfBirth) throw malformed(`a death before the birth (citizens[${index}])`);
      seen.add(person.personalId);
      citizens.push({
        personalId: person.personalId,
        fullName: person.fullName,
        dateOfBirth: person.dateOfBirth,
        gender: person.gender,
        dateOfDeath: person.dateOfDeath ?? null,
        provinceCode: isProvinceCode(person.permanentResidence?.provinceCode) ? person.permanentResidence.provinceCode : null,
      });
    }
    return citizens;
  }
}

// ---------------------------------------------------------------------------
// Configuration and credentials, read once at cold start.

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export const nationalRegistryConfigSchema = z
  .object({
    /** https, except on a loopback host (local fakes and tests). */
    NATIONAL_REGISTRY_URL: z.url({ protocol: /^https?$/ }).refine((value) => {
      const url = new URL(value);
      return url.protocol === 'https:' || LOOPBACK_HOSTS.has(url.hostname);
    }, 'must be an https URL (http only on a loopback host)'),
    /** Deployed: the Secrets Manager secret holding the credentials (see loadRegistryCredentials). */
    NATIONAL_REGISTRY_CREDENTIALS_SECRET_ARN: z.string().startsWith('arn:').optional(),
    /** Locally and in tests only: an API key given directly. */
    NATIONAL_REGISTRY_API_KEY: z.string().min(1).optional(),
    NATIONAL_REGISTRY_TIMEOUT_MS: z.coerce.number().int().min(50).max(30_000).default(3_000),
    NATIONAL_REGISTRY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(4),
  })
  .refine((env) => env.NATIONAL_REGISTRY_CREDENTIALS_SECRET_ARN !== undefined || env.NATIONAL_REGISTRY_API_KEY !== undefined, {
    path: ['NATIONAL_REGISTRY_CREDENTIALS_SECRET_ARN'],
    message: 'is required (or NATIONAL_REGISTRY_API_KEY locally)',
  });

const secretSchema = z.union([z.strictObject({ apiKey: z.string().min(1) }), z.strictObject({ bearerToken: z.string().min(1) })]);

/**
 * The client credentials, from Secrets Manager by ARN (deployed) or given
 * directly (`apiKey`, locally and in tests). The secret holds JSON
 * `{ "apiKey": "..." }` or `{ "bearerToken": "..." }`; a plain string is taken
 * as an API key. No error message ever quotes the secret.
 */
export async function loadRegistryCredentials(
  source: { secretArn?: string | undefined; apiKey?: string | undefined },
  client?: Pick<SecretsManagerClient, 'send'>,
): Promise<RegistryCredentials> {
  if (!source.secretArn) {
    if (!source.apiKey) throw new Error('Invalid configuration: the national population register needs credentials (a secret ARN, or an API key locally).');
    return { type: 'apiKey', apiKey: source.apiKey };
  }
  if (!client) return loadRegistryCredentials(source, secretsManager());
  const result = await client.send(new GetSecretValueCommand({ SecretId: source.secretArn }));
  const secret = result.SecretString?.trim();
  if (!secret) throw new Error('Invalid configuration: the national population register secret is empty or binary.');
  if (!secret.startsWith('{')) return { type: 'apiKey', apiKey: secret };
  let parsed: z.infer<typeof secretSchema>;
  try {
    parsed = secretSchema.parse(JSON.parse(secret));
  } catch {
    // Neither JSON.parse's nor zod's message is passed on: the former quotes the secret.
    throw new Error('Invalid configuration: the national population register secret must be {"apiKey": "..."} or {"bearerToken": "..."}.');
  }
  return 'apiKey' in parsed ? { type: 'apiKey', apiKey: parsed.apiKey } : { type: 'bearer', token: parsed.bearerToken };
}

/** The adapter as configured by the environment (shared/wiring/registry.ts calls this once per cold start). */
export async function createNationalRegistry(env: NodeJS.ProcessEnv = process.env): Promise<HttpPopulationRegistry> {
  const config = loadConfig(nationalRegistryConfigSchema, env);
  const credentials = await loadRegistryCredentials({
    secretArn: config.NATIONAL_REGISTRY_CREDENTIALS_SECRET_ARN,
    apiKey: config.NATIONAL_REGISTRY_API_KEY,
  });
  return new HttpPopulationRegistry({
    baseUrl: config.NATIONAL_REGISTRY_URL,
    credentials,
    timeoutMs: config.NATIONAL_REGISTRY_TIMEOUT_MS,
    maxAttempts: config.NATIONAL_REGISTRY_MAX_ATTEMPTS,
  });
}
