import middy, { type MiddlewareObj } from '@middy/core';
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { ulid } from 'ulid';
import {
  AppError,
  ForbiddenError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
  ValidationFailedError,
} from '../domain/errors.js';
import { logger } from '../observability/logger.js';
import type { Principal } from '../app/principal.js';
import { principalFromClaims } from './principal.js';
import { authenticateChallenge, internalProblem, PROBLEM_CONTENT_TYPE, problemFromError, problemHeaders, type ProblemDocument } from './problem.js';
import { allowHeader, methodsByPath, routes, type RouteDefinition } from './routes.js';

export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type ApiResult = APIGatewayProxyStructuredResultV2;

/** What a handler receives: the event, who calls, and ways to read the request. */
export interface ApiRequest {
  event: ApiEvent;
  requestId: string;
  route: RouteDefinition;
  /** Present on every `jwt` route (the middleware refuses the call otherwise). */
  principal: Principal | undefined;
}

export interface ApiContext extends Context {
  apiRequest: ApiRequest;
}

/** Lambda's synchronous invocation payload limit; API Gateway allows 10 MB but the function never sees more. */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;

const routesByKey = new Map<string, RouteDefinition>(routes.map((route) => [`${route.method} ${route.path}`, route]));

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function header(event: ApiEvent, name: string): string | undefined {
  // API Gateway HTTP APIs lower-case header names in payload format 2.0.
  return event.headers?.[name];
}

function chooseRequestId(event: ApiEvent): string {
  const given = header(event, 'x-request-id');
  if (given && REQUEST_ID.test(given)) return given;
  return event.requestContext?.requestId || ulid();
}

/**
 * Headers every answer carries: the request id, and `Cache-Control: no-store`
 * unless the handler chose another policy. Payments, accounts, reports and
 * batches carry personal data; an answer that does not (health, problems) loses
 * nothing by not being stored either, and one default cannot be forgotten on a
 * new route. Only the OpenAPI document is cacheable (its handler says so).
 */
function withStandardHeaders(result: ApiResult | null | undefined, requestId: string): ApiResult {
  const headers: Record<string, string | number | boolean> = { ...result?.headers, 'x-request-id': requestId };
  if (!Object.keys(headers).some((name) => name.toLowerCase() === 'cache-control')) headers['cache-control'] = 'no-store';
  return { ...result, headers };
}

function problemResponse(problem: ProblemDocument, headers: Record<string, string> = {}): ApiResult {
  return withStandardHeaders(
    { statusCode: problem.status, headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...headers }, body: JSON.stringify(problem) },
    problem.requestId,
  );
}

/**
 * API Gateway sends every method a path does not serve to that path's `ANY`
 * route (infra/constructs/payments-api.ts): `OPTIONS` is answered 204 with the
 * path's `Allow` (a CORS preflight is answered by API Gateway itself before
 * this), anything else 405 METHOD_NOT_ALLOWED with `Allow`. Undefined for a
 * route key that is not such a route.
 */
function otherMethodAnswer(event: ApiEvent, requestId: string): ApiResult | undefined {
  const [kind, path = ''] = (event.routeKey ?? '').split(' ');
  const methods = kind === 'ANY' ? methodsByPath.get(path) : undefined;
  if (!methods) return undefined;
  const allow = allowHeader(methods);
  const method = (event.requestContext?.http?.method ?? '').toUpperCase();
  if (method === 'OPTIONS') return withStandardHeaders({ statusCode: 204, headers: { allow } }, requestId);
  throw new MethodNotAllowedError(`This path does not serve ${/^[A-Z]{1,16}$/.test(method) ? method : 'that method'}; it serves ${allow}.`, { allow: allow.split(', ') });
}

function authorize(route: RouteDefinition, event: ApiEvent): Principal | undefined {
  if (route.auth !== 'jwt') return undefined;
  const principal = principalFromClaims(event.requestContext?.authorizer?.jwt?.claims);
  if (!principal) throw new UnauthenticatedError('A valid bearer token is required.');
  if (route.scopes.length > 0 && !route.scopes.some((scope) => principal.scopes.has(scope))) {
    throw new ForbiddenError(`This operation needs one of the scopes: ${route.scopes.join(', ')}.`);
  }
  return principal;
}

/**
 * The one HTTP middleware: request id in and out, route lookup, authentication
 * and scope check from the route table, and the single mapping of errors to
 * problem+json (only AppError messages reach clients; anything else is a 500
 * with no internals).
 */
function apiMiddleware(): MiddlewareObj<ApiEvent, ApiResult, Error, ApiContext> {
  return {
    before: (request) => {
      const requestId = chooseRequestId(request.event);
      logger.appendKeys({ requestId });
      const route = routesByKey.get(request.event.routeKey);
      const apiRequest: ApiRequest = { event: request.event, requestId, route: route as RouteDefinition, principal: undefined };
      request.context.apiRequest = apiRequest;
      if (!route) {
        // An early answer: middy skips the handler and the `after` step (it carries its own headers).
        const answer = otherMethodAnswer(request.event, requestId);
        if (answer) return answer;
        throw new NotFoundError('No such route.');
      }
      apiRequest.principal = authorize(route, request.event);
      return undefined;
    },
    after: (request) => {
      request.response = withStandardHeaders(request.response, request.context.apiRequest.requestId);
    },
    onError: (request) => {
      const requestId = request.context.apiRequest?.requestId ?? chooseRequestId(request.event);
      const error = request.error;
      if (error instanceof AppError) {
        if (error.status >= 500) logger.error('request failed', { error });
        const challenge = () => authenticateChallenge(request.context.apiRequest?.route?.auth ?? 'jwt', Boolean(header(request.event, 'authorization')));
        request.response = problemResponse(problemFromError(error, requestId), problemHeaders(error, challenge));
        return;
      }
      logger.error('unexpected error', { error: error ?? undefined });
      request.response = problemResponse(internalProblem(requestId));
    },
  };
}

export type ApiHandlerFn = (request: ApiRequest) => Promise<ApiResult>;

/** Runs a request as one unit of work (the audit trail: shared/app/audit.ts `AuditTrail`). */
export interface UnitOfWork {
  unit<T>(who: { actor: string; requestId: string; action: string }, work: () => Promise<T>): Promise<T>;
}

/** Who acts: the token's subject, or for a signed callback the provider or the register (its signature was checked). */
function actorOf(request: ApiRequest): string {
  if (request.principal) return request.principal.sub;
  const providerCode = request.event.pathParameters?.providerCode;
  if (request.route.auth === 'signature' && providerCode) return `provider:${providerCode}`;
  // The other signed route: the population register's events (signed with the register's secret).
  return request.route.auth === 'signature' ? 'register:population' : 'anonymous';
}

/**
 * Builds a Lambda handler for API Gateway HTTP API routes; the same handler runs
 * in the local server. With `audit`, every request is a unit of work whose state
 * changes are recorded with who made them and the request id.
 */
export function apiHandler(fn: ApiHandlerFn, options: { audit?: UnitOfWork } = {}): (event: ApiEvent, context: Context) => Promise<ApiResult> {
  const { audit } = options;
  const handler = middy<ApiEvent, ApiResult, Error, ApiContext>()
    .use(apiMiddleware())
    .handler((_event, context) => {
      const request = context.apiRequest;
      return audit ? audit.unit({ actor: actorOf(request), requestId: request.requestId, action: request.route.operationId }, () => fn(request)) : fn(request);
    });
  // Lambda passes a plain Context; the middleware adds `apiRequest` before the handler runs.
  return (event, context) => handler(event, context as ApiContext);
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResult {
  return { statusCode, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

function mediaType(event: ApiEvent): string {
  const [type = ''] = (header(event, 'content-type') ?? '').split(';');
  return type.trim().toLowerCase();
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The raw body as text, refusing bodies that are too large or not UTF-8. */
export function readText(event: ApiEvent): string {
  if (event.body === undefined || event.body === null || event.body === '') return '';
  const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (bytes.byteLength > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`The body is larger than ${MAX_BODY_BYTES} bytes.`);
  }
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ValidationFailedError('The body is not valid UTF-8.', { status: 400 });
  }
}

/** The body as JSON; only `application/json` (or a `+json` type) is accepted. */
export function readJson(event: ApiEvent): unknown {
  const type = mediaType(event);
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new UnsupportedMediaTypeError('Send the body as application/json.');
  }
  const text = readText(event);
  if (text.trim() === '') throw new ValidationFailedError('The request body is empty; a JSON document is expected.', { status: 400 });
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationFailedError('The request body is not valid JSON.', { status: 400 });
  }
}

export { mediaType };

/** The caller on a `jwt` route (the middleware has already refused calls without one). */
export function requirePrincipal(request: ApiRequest): Principal {
  if (!request.principal) throw new UnauthenticatedError('A valid bearer token is required.');
  return request.principal;
}
