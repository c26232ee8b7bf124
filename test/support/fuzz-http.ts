import * as fc from 'fast-check';
import { conformance, uncheckedFetch } from './contract.js';

/**
 * HTTP plumbing for the fuzz tests: one generated request, how it is sent (raw
 * bytes, exactly the headers given), and the contract every answer must keep
 * (docs: shared/spec/api.md, "Conventions").
 */

/** The error codes of the contract (api.md) a client may see; INTERNAL is a 500 and never allowed here. */
export const CONTRACT_CODES = [
  'VALIDATION_FAILED',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'BATCH_REF_CONFLICT',
  'INVALID_STATE',
  'CONTROL_TOTALS_MISMATCH',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  'METHOD_NOT_ALLOWED',
] as const;

/** The HTTP status each code goes with (api.md). */
const STATUS_OF_CODE: Record<(typeof CONTRACT_CODES)[number], readonly number[]> = {
  VALIDATION_FAILED: [400, 422],
  UNAUTHENTICATED: [401],
  FORBIDDEN: [403],
  NOT_FOUND: [404],
  CONFLICT: [409],
  BATCH_REF_CONFLICT: [409],
  INVALID_STATE: [409],
  CONTROL_TOTALS_MISMATCH: [422],
  PAYLOAD_TOO_LARGE: [413],
  UNSUPPORTED_MEDIA_TYPE: [415],
  RATE_LIMITED: [429],
  METHOD_NOT_ALLOWED: [405],
};

export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export interface FuzzRequest {
  /** The route of the table this request was generated for (or `unrouted`). */
  operationId: string;
  method: string;
  /** Already percent-encoded as it goes on the wire (junk escapes included). */
  path: string;
  /** Raw query string without `?`; empty for none. */
  query: string;
  headers: Record<string, string>;
  body?: Uint8Array | undefined;
  /** The whole request as bytes, written on a socket as is (method, path and headers above are for the report). */
  raw?: Uint8Array | undefined;
  /**
   * True when the generator built the request so that the contract must refuse
   * it (a field broken, a state that forbids it): a 2xx is then a finding, and
   * it must not change the store.
   */
  mustReject: boolean;
  /** Which generator made it, for the report. */
  kind: string;
}

export interface FuzzAnswer {
  status: number;
  headers: Headers;
  body: Buffer;
}

export async function send(baseUrl: string, request: FuzzRequest): Promise<FuzzAnswer> {
  const url = `${baseUrl}${request.path}${request.query === '' ? '' : `?${request.query}`}`;
  // Checked against openapi.json in contractViolation, with the request's own target (raw requests too).
  const response = await uncheckedFetch(url, {
    method: request.method,
    headers: request.headers,
    redirect: 'manual',
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
}

/** Why the answer breaks the contract (api.md's conventions, then openapi.json), or undefined when it keeps it. */
export function contractViolation(request: FuzzRequest, answer: FuzzAnswer): string | undefined {
  const convention = conventionViolation(request, answer);
  if (convention) return convention;
  const target = request.raw !== undefined ? request.path : `${request.path}${request.query === '' ? '' : `?${request.query}`}`;
  return conformance({ method: request.method, target, status: answer.status, headers: answer.headers, body: answer.body });
}

function conventionViolation(request: FuzzRequest, answer: FuzzAnswer): string | undefined {
  const { status } = answer;
  if (status >= 500) return `status ${status} (a client must never cause a 5xx)`;
  const requestId = answer.headers.get('x-request-id');
  if (!requestId) return 'no x-request-id header';
  const given = request.headers['x-request-id'];
  if (given !== undefined && REQUEST_ID_PATTERN.test(given) && requestId !== given) return `x-request-id ${requestId} does not echo ${given}`;
  if (status >= 200 && status < 300) {
    return request.mustReject ? `status ${status}: a request built to be refused was accepted` : undefined;
  }
  const type = answer.headers.get('content-type') ?? '(none)';
  if (type.split(';')[0]!.trim().toLowerCase() !== 'application/problem+json') return `status ${status} with content-type ${type}, not application/problem+json`;
  if (request.method === 'HEAD') return undefined;
  let problem: unknown;
  try {
    problem = JSON.parse(answer.body.toString('utf8'));
  } catch {
    return `status ${status}: the problem body is not JSON`;
  }
  if (typeof problem !== 'object' || problem === null || Array.isArray(problem)) return `status ${status}: the problem body is not a JSON object`;
  const { code, status: statusField, requestId: bodyRequestId, type: problemType, title, detail } = problem as Record<string, unknown>;
  if (typeof code !== 'string' || !(CONTRACT_CODES as readonly string[]).includes(code)) return `status ${status}: code ${JSON.stringify(code)} is not one of the contract's`;
  if (!STATUS_OF_CODE[code as (typeof CONTRACT_CODES)[number]].includes(status)) return `status ${status} with code ${code}`;
  if (statusField !== status) return `status ${status} but the problem says status ${JSON.stringify(statusField)}`;
  if (bodyRequestId !== requestId) return `the problem's requestId ${JSON.stringify(bodyRequestId)} is not the x-request-id ${requestId}`;
  if (typeof problemType !== 'string' || typeof title !== 'string' || typeof detail !== 'string') return `status ${status}: type, title or detail missing`;
  return undefined;
}

/** Runs `work` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function showBytes(bytes: Uint8Array, max: number): string {
  const buffer = Buffer.from(bytes);
  const text = buffer.subarray(0, max).toString('utf8');
  const valid = Buffer.from(text, 'utf8').equals(buffer.subarray(0, max));
  const shown = valid ? JSON.stringify(text) : `hex ${buffer.subarray(0, max).toString('hex')}`;
  return `${shown}${buffer.byteLength > max ? ` ... (${buffer.byteLength} bytes in all)` : ''}`;
}

/** A request as a person reads it (and can replay it with curl): method, target, headers, body. */
export function describeRequest(request: FuzzRequest, maxBody = 600): string {
  if (request.raw !== undefined) {
    const raw = Buffer.from(request.raw).toString('latin1');
    return `raw request [${request.operationId}, ${request.kind}], these bytes (latin1) written on a socket:\n  ${JSON.stringify(raw.length > 1200 ? `${raw.slice(0, 1200)}...` : raw)}${raw.length > 1200 ? ` (${raw.length} bytes in all)` : ''}`;
  }
  const target = `${request.path}${request.query === '' ? '' : `?${request.query}`}`;
  const headers = Object.entries(request.headers)
    .map(([name, value]) => `  ${name}: ${name === 'authorization' ? `${value.slice(0, 16)}...` : JSON.stringify(value)}`)
    .join('\n');
  const body = request.body === undefined ? '  (no body)' : `  body ${showBytes(request.body, maxBody)}`;
  return `${request.method} ${target.length > 300 ? `${target.slice(0, 300)}... (${target.length} chars)` : target}  [${request.operationId}, ${request.kind}]\n${headers}\n${body}`;
}

/** fast-check prints counterexamples with this (instead of dumping byte arrays). */
export function printable(request: FuzzRequest): FuzzRequest {
  return Object.assign(request, { [fc.toStringMethod]: () => `\n${describeRequest(request)}` });
}
