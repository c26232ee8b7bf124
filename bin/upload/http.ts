/**
 * The uploader's HTTP client: bearer token, problem+json errors, a request id
 * on every attempt, and a bounded retry with exponential backoff and jitter.
 *
 * Retrying is safe for every call the uploader makes, because each is
 * idempotent on the server: create by batchRef, a chunk by its paymentRefs,
 * seal by state. So a request that timed out or lost its connection after the
 * server acted on it is simply sent again.
 */

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  /** Delay before the first retry; doubled for each further one. */
  baseDelayMs: number;
  /** Upper bound of one delay (also caps a server's Retry-After). */
  maxDelayMs: number;
  /** One attempt is abandoned (and counted as a network failure) after this long. */
  timeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 500, maxDelayMs: 20_000, timeoutMs: 120_000 };

export type AttemptOutcome = 'success' | 'retry' | 'refused';

/**
 * What to do with an HTTP status: 2xx is success; 429 and 5xx are transient
 * (the server is busy, restarting or failing for a while) and are retried; every
 * other 4xx (and anything unexpected) is the server refusing this request, and
 * sending it again unchanged would only be refused again.
 */
export function classifyStatus(status: number): AttemptOutcome {
  if (status >= 200 && status < 300) return 'success';
  if (status === 429 || (status >= 500 && status <= 599)) return 'retry';
  return 'refused';
}

/**
 * The delay before retry number `retry` (1 for the first): "equal jitter", half
 * of the exponential step fixed and half random, so that delays grow for sure
 * and parallel uploaders do not retry in lockstep. A Retry-After from the server
 * is honoured when longer, within maxDelayMs.
 */
export function backoffDelay(retry: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number, retryAfterMs?: number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  const jittered = step / 2 + random() * (step / 2);
  const delay = retryAfterMs !== undefined ? Math.max(jittered, Math.min(retryAfterMs, policy.maxDelayMs)) : jittered;
  return Math.round(delay);
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^[0-9]+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** An RFC 9457 problem as the API sends it (api.md, Conventions). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  requestId?: string;
  errors?: { index?: number; paymentRef?: string; path?: string; code?: string; message?: string }[];
  errorCount?: number;
  [extension: string]: unknown;
}

/** The server answered with an error status: refused (4xx), or transient statuses until the attempts ran out. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    /** The problem document, or undefined when the body was not one. */
    readonly problem: Problem | undefined,
    /** True when the status was transient (429, 5xx) and retries were exhausted. */
    readonly exhausted: boolean,
    readonly requestId: string | undefined,
  ) {
    super(`${method} ${path} answered ${status}${problem?.code ? ` ${problem.code}` : ''}${problem?.detail ? `: ${problem.detail}` : ''}`);
  }
}

/** No answer: connection refused or reset, DNS, timeout, until the attempts ran out. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(`${method} ${path}: no answer after ${attempts} attempt${attempts === 1 ? '' : 's'} (${describeNetworkFailure(cause)})`, { cause });
  }
}

/** A short reason for a failed fetch: the error code when there is one (ECONNREFUSED, ...), never a URL's query or a body. */
export function describeNetworkFailure(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'timed out';
    const cause = (error as { cause?: unknown }).cause;
    const code = (cause as { code?: unknown } | undefined)?.code ?? (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (cause instanceof Error) return cause.message;
    return error.message;
  }
  return String(error);
}

export interface ApiResponse<T> {
  status: number;
  body: T;
  requestId: string | undefined;
}

export interface ApiClientOptions {
  baseUrl: string;
  token: string;
  policy?: RetryPolicy;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Prefix of the x-request-id of every attempt, to find this run in the server's logs. */
  runId?: string;
  /** Told about each retry (for a progress line); never given a body. */
  onRetry?: (info: { method: string; path: string; attempt: number; delayMs: number; reason: string }) => void;
}

export type RequestBody = { json: unknown } | { csv: string };

export class ApiClient {
  /** HTTP requests sent, every attempt counted. */
  requests = 0;
  /** Of those, how many were retries. */
  retries = 0;
  private sequence = 0;
  private readonly policy: RetryPolicy;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly runId: string;

  constructor(private readonly options: ApiClientOptions) {
    this.policy = options.policy ?? DEFAULT_RETRY_POLICY;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.runId = options.runId ?? `upload-${Date.now().toString(36)}`;
  }

  get<T>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: RequestBody): Promise<ApiResponse<T>> {
    return this.request<T>('POST', path, body);
  }

  /**
   * One logical call: attempts until a success (resolves), a refusal (HttpError,
   * not exhausted), or maxAttempts transient failures (HttpError exhausted, or
   * NetworkError).
   */
  async request<T>(method: string, path: string, body?: RequestBody): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.token}`, accept: 'application/json' };
    let payload: string | undefined;
    if (body && 'csv' in body) {
      headers['content-type'] = 'text/csv; charset=utf-8';
      payload = body.csv;
    } else if (body) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    }
    const call = ++this.sequence;

    for (let attempt = 1; ; attempt++) {
      this.requests++;
      if (attempt > 1) this.retries++;
      const requestId = `${this.runId}-${call}-${attempt}`;
      let response: Response;
      let text: string;
      try {
        response = await this.fetch(this.options.baseUrl + path, {
          method,
          headers: { ...headers, 'x-request-id': requestId },
          ...(payload === undefined ? {} : { body: payload }),
          redirect: 'error', // never carry the token to another place
          signal: AbortSignal.timeout(this.policy.timeoutMs),
        });
        text = await response.text();
      } catch (error) {
        if (attempt >= this.policy.maxAttempts) throw new NetworkError(method, path, attempt, error);
        const delayMs = backoffDelay(attempt, this.policy, this.random);
        this.options.onRetry?.({ method, path, attempt, delayMs, reason: describeNetworkFailure(error) });
        await this.sleep(delayMs);
        continue;
      }

      const outcome = classifyStatus(response.status);
      const answeredId = response.headers.get('x-request-id') ?? undefined;
      if (outcome === 'success') {
        return { status: response.status, body: (text === '' ? undefined : parseJson(text)) as T, requestId: answeredId };
      }
      const problem = asProblem(parseJson(text));
      if (outcome === 'refused') throw new HttpError(method, path, response.status, problem, false, problem?.requestId ?? answeredId);
      if (attempt >= this.policy.maxAttempts) throw new HttpError(method, path, response.status, problem, true, problem?.requestId ?? answeredId);
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), Date.now());
      const delayMs = backoffDelay(attempt, this.policy, this.random, retryAfter);
      this.options.onRetry?.({ method, path, attempt, delayMs, reason: `HTTP ${response.status}` });
      await this.sleep(delayMs);
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function asProblem(value: unknown): Problem | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Problem) : undefined;
}
