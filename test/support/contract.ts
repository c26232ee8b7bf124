import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { buildOpenApiDocument } from '../../shared/http/openapi.js';

/**
 * The document is the truth: every answer a test suite observes is checked
 * against the OpenAPI document the API serves (shared/http/openapi.ts, the same
 * function as GET /v1/openapi.json):
 * - its status is listed for the operation (method and path template);
 * - its content type is one the response declares, and its body matches that
 *   media type's schema (JSON Schema 2020-12, formats included): a problem's
 *   `code` and `status` are narrowed per status in the document, so a code the
 *   operation does not list fails here;
 * - every header the response declares required is present and matches its schema;
 * - a known path with a method it does not serve answers 405 METHOD_NOT_ALLOWED
 *   with the path's `Allow` (OPTIONS: 204 with `Allow`), an unknown path 404
 *   NOT_FOUND, and a request the server cannot even parse 400, each as a Problem.
 *
 * The e2e project installs `checkedFetch` as the global fetch (contract-setup.ts),
 * so every suite is checked without asking; child processes (the demo, the
 * uploader) talk through `startContractProxy` (contract-proxy.ts); raw-socket
 * fuzzing calls `conformance` itself. Local-only routes (`/local/...`) are not
 * part of the document and are counted as skipped.
 */

type Json = Record<string, unknown>;

interface ResponseDoc {
  content?: Record<string, { schema: unknown }>;
  headers?: Record<string, { required?: boolean; schema?: unknown }>;
}

interface Operation {
  responses: Record<string, ResponseDoc>;
}

interface Document {
  paths: Record<string, Record<string, Operation>>;
}

/** What was asked and what came back. `target` is the request target as the server saw it (path and query, or an absolute URL). */
export interface Observed {
  method: string;
  target: string;
  status: number;
  headers: Headers;
  body: Buffer;
}

const PROBLEM_TYPE = 'application/problem+json';
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

const document = buildOpenApiDocument({ version: '0.0.0-contract' }) as unknown as Document;
const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
addFormats(ajv);
ajv.addSchema(document as unknown as Json, 'openapi');

const paths = Object.keys(document.paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`),
}));

const validators = new Map<string, ValidateFunction>();

function pointer(tokens: readonly string[]): string {
  return `openapi#/${tokens.map((token) => encodeURIComponent(token.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/')}`;
}

function validatorAt(tokens: readonly string[]): ValidateFunction {
  const ref = pointer(tokens);
  let validate = validators.get(ref);
  if (!validate) {
    validate = ajv.compile({ $ref: ref });
    validators.set(ref, validate);
  }
  return validate;
}

const problemValidator = () => validatorAt(['components', 'schemas', 'Problem']);

function schemaErrors(validate: ValidateFunction, value: unknown): string | undefined {
  if (validate(value)) return undefined;
  return (validate.errors ?? [])
    .slice(0, 5)
    .map((error) => `${error.instancePath || '(body)'} ${error.message ?? ''}${error.params && 'allowedValues' in error.params ? ` ${JSON.stringify(error.params.allowedValues)}` : ''}`)
    .join('; ');
}

function mediaType(headers: Headers): string | undefined {
  const value = headers.get('content-type');
  return value ? (value.split(';')[0] ?? '').trim().toLowerCase() : undefined;
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

/** A problem answer outside any operation (unknown path, other method, unparsable request): status, code and shape. */
function problemOutsideOperations(observed: Observed, allowed: Record<number, string>): string[] {
  const code = allowed[observed.status];
  if (!code) return [`status ${observed.status} (expected one of ${Object.keys(allowed).join(', ')})`];
  if (observed.method === 'HEAD') return [];
  if (mediaType(observed.headers) !== PROBLEM_TYPE) return [`content type ${observed.headers.get('content-type')}, not ${PROBLEM_TYPE}`];
  const parsed = parseJson(observed.body);
  if (!parsed.ok) return ['a problem body that is not JSON'];
  const wrong = schemaErrors(problemValidator(), parsed.value);
  if (wrong) return [`problem body off the Problem schema: ${wrong}`];
  const problem = parsed.value as Json;
  return problem.code === code && problem.status === observed.status ? [] : [`problem ${String(problem.status)} ${String(problem.code)} (expected ${observed.status} ${code})`];
}

function requestPath(target: string): string | undefined {
  try {
    return new URL(target, 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

const METHOD = /^[A-Z]+$/;

/**
 * Why an answer breaks the document (empty when it conforms), or undefined when
 * the document does not cover it (a local-only route).
 */
export function documentViolations(observed: Observed): string[] | undefined {
  const path = requestPath(observed.target);
  if (path === undefined || !METHOD.test(observed.method)) {
    // The server could not take it as a request for any path: 400 (or 404 for a target it read as none of ours).
    return problemOutsideOperations(observed, { 400: 'VALIDATION_FAILED', 404: 'NOT_FOUND' });
  }
  if (path.startsWith('/local/')) return undefined;
  const known = paths.find((candidate) => candidate.pattern.test(path));
  if (!known) return problemOutsideOperations(observed, { 400: 'VALIDATION_FAILED', 404: 'NOT_FOUND' });
  const methods = Object.keys(document.paths[known.template] ?? {}).map((method) => method.toUpperCase());
  const operation = document.paths[known.template]?.[observed.method.toLowerCase()];
  if (!operation) {
    const allow = [...methods, 'OPTIONS'].join(', ');
    const violations: string[] = [];
    if (observed.status === 405 || observed.status === 204) {
      if (observed.headers.get('allow') !== allow) violations.push(`Allow ${JSON.stringify(observed.headers.get('allow'))} (expected ${JSON.stringify(allow)})`);
    }
    if (observed.method === 'OPTIONS' && observed.status === 204) return violations;
    return [...violations, ...problemOutsideOperations(observed, { 400: 'VALIDATION_FAILED', 405: 'METHOD_NOT_ALLOWED' })];
  }
  return operationViolations(observed, operation, ['paths', known.template, observed.method.toLowerCase()]);
}

function operationViolations(observed: Observed, operation: Operation, where: string[]): string[] {
  const response = operation.responses[String(observed.status)];
  if (!response) return [`status ${observed.status} is not listed for this operation (listed: ${Object.keys(operation.responses).join(', ')})`];
  const violations: string[] = [];
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    const value = observed.headers.get(name);
    if (value === null) {
      if (header.required) violations.push(`required header ${name} missing`);
      continue;
    }
    if (header.schema) {
      const wrong = schemaErrors(validatorAt([...where, 'responses', String(observed.status), 'headers', name, 'schema']), value);
      if (wrong) violations.push(`header ${name}: ${JSON.stringify(value)} ${wrong}`);
    }
  }
  if (observed.method === 'HEAD') return violations;
  const declared = response.content ?? {};
  const type = mediaType(observed.headers);
  if (Object.keys(declared).length === 0) {
    if (observed.body.byteLength > 0) violations.push(`a body (${observed.body.byteLength} bytes) where the document declares none`);
    return violations;
  }
  if (!type || !(type in declared)) {
    violations.push(`content type ${JSON.stringify(observed.headers.get('content-type'))} not declared (declared: ${Object.keys(declared).join(', ')})`);
    return violations;
  }
  const validate = validatorAt([...where, 'responses', String(observed.status), 'content', type, 'schema']);
  if (type === 'application/json' || type.endsWith('+json')) {
    const parsed = parseJson(observed.body);
    if (!parsed.ok) return [...violations, `a ${type} body that is not JSON`];
    const wrong = schemaErrors(validate, parsed.value);
    if (wrong) violations.push(`body off the schema: ${wrong}`);
  } else {
    const wrong = schemaErrors(validate, observed.body.toString('utf8'));
    if (wrong) violations.push(`body off the schema: ${wrong}`);
  }
  return violations;
}

// ---------------------------------------------------------------------------
// Counting, and the checked fetch

export interface ContractStats {
  /** Answers checked against the document. */
  validated: number;
  /** Answers of local-only routes, which the document does not describe. */
  skipped: number;
  /** Every violation found (also thrown where the answer was observed). */
  violations: string[];
}

const stats: ContractStats = { validated: 0, skipped: 0, violations: [] };

export function contractStats(): Readonly<ContractStats> {
  return stats;
}

/** A person may read the path in a report: runs of 12 digits or more (personal IDs) are masked. */
function shown(method: string, target: string): string {
  return `${method} ${target.replace(/\d{12,}/g, (digits) => `${'*'.repeat(digits.length - 4)}${digits.slice(-4)}`).slice(0, 300)}`;
}

/** Checks and counts one answer; returns its violations as one message, or undefined when it conforms (or is not covered). */
export function conformance(observed: Observed): string | undefined {
  const violations = documentViolations(observed);
  if (violations === undefined) {
    stats.skipped += 1;
    return undefined;
  }
  stats.validated += 1;
  if (violations.length === 0) return undefined;
  const message = `${shown(observed.method, observed.target)} answered ${observed.status}, off openapi.json: ${violations.join('; ')}`;
  stats.violations.push(message);
  return message;
}

export class ContractViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractViolation';
  }
}

/** Node's own fetch, before contract-setup.ts replaces the global one. */
export const uncheckedFetch: typeof fetch = globalThis.fetch.bind(globalThis);

function targetOf(input: string | URL | Request): string {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return url;
  }
}

/**
 * fetch, with every answer checked against the document (and counted). A
 * violation throws ContractViolation where the test made the call. The caller
 * gets the answer unread.
 */
export const checkedFetch: typeof fetch = async (input, init) => {
  const response = await uncheckedFetch(input, init);
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  const body = Buffer.from(await response.clone().arrayBuffer());
  const message = conformance({ method, target: targetOf(input), status: response.status, headers: response.headers, body });
  if (message) throw new ContractViolation(message);
  return response;
};
