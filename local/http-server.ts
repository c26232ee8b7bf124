import type { Context } from 'aws-lambda';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ulid } from 'ulid';
import { AppError, MethodNotAllowedError, NotFoundError, PayloadTooLargeError, UnauthenticatedError, ValidationFailedError } from '../shared/domain/errors.js';
import { MAX_BODY_BYTES, type ApiEvent, type ApiResult } from '../shared/http/api-handler.js';
import { corsPolicy, isLocalOrigin } from '../shared/http/cors.js';
import { authenticateChallenge, internalProblem, PROBLEM_CONTENT_TYPE, problemFromError, problemHeaders, problemType, type ProblemDocument } from '../shared/http/problem.js';
import { allowHeader, routes, type RouteDefinition } from '../shared/http/routes.js';
import { redactString } from '../shared/observability/redact.js';
import type { LocalAuthority } from './auth.js';

export type LambdaHttpHandler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

/** A route served by the local server alone (never deployed): receives the raw request, answers JSON. */
export interface LocalRoute {
  method: string;
  path: string;
  /** Receives a payload-format-2.0 event holding only headers and body, so that shared/http readers apply. */
  handle(event: ApiEvent, requestId: string): Promise<{ statusCode: number; body: unknown }>;
}

interface CompiledRoute {
  route: RouteDefinition;
  pattern: RegExp;
  parameterNames: string[];
}

function compile(route: RouteDefinition): CompiledRoute {
  const parameterNames: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      const match = /^\{(\w+)\}$/.exec(segment);
      if (!match) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      parameterNames.push(match[1] ?? '');
      return '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}$`), parameterNames };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request target as a URL, or undefined when it is not one (never throws). */
function parseTarget(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

function lambdaContext(functionName: string, requestId: string): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`The body is larger than ${MAX_BODY_BYTES} bytes.`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_BODY_BYTES) throw new PayloadTooLargeError(`The body is larger than ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function headersOf(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    // API Gateway joins repeated headers with commas, names lower-cased.
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

function queryOf(url: URL): Record<string, string> | undefined {
  const query: Record<string, string> = {};
  for (const key of new Set(url.searchParams.keys())) query[key] = url.searchParams.getAll(key).join(',');
  return Object.keys(query).length > 0 ? query : undefined;
}

export interface AccessLine {
  method: string;
  path: string;
  status: number;
  ms: number;
  requestId: string;
}

/**
 * A path as it may be shown (access log, error detail): paths can hold a personal ID
 * (/v1/accounts/{personalId}), or one mistyped with a digit too many: redactString masks
 * every run of twelve digits or more.
 */
export function maskPath(path: string): string {
  return redactString(path);
}

/** The access log line `npm start` prints. */
export function formatAccessLine({ method, path, status, ms, requestId }: AccessLine, at = new Date()): string {
  return `${at.toISOString()} ${method} ${maskPath(path)} ${status} ${ms.toFixed(1)}ms ${requestId}`;
}

/**
 * CORS for the loopback origins (api.md: `http://localhost:*` and
 * `http://127.0.0.1:*`), with the deployed API's policy (shared/http/cors.ts):
 * every answer to an allowed origin names it, and a preflight (OPTIONS with
 * Origin and Access-Control-Request-Method) on a known path gets the methods,
 * headers and lifetime a browser needs. Another origin gets no CORS header, so
 * its browser refuses the answer.
 */
function corsHeaders(request: IncomingMessage, preflight: boolean): Record<string, string> {
  const origin = request.headers.origin;
  if (!isLocalOrigin(origin)) return {};
  const headers: Record<string, string> = { 'access-control-allow-origin': origin, vary: 'Origin' };
  if (!preflight) return { ...headers, 'access-control-expose-headers': corsPolicy.exposeHeaders.join(', ') };
  return {
    ...headers,
    'access-control-allow-methods': corsPolicy.allowMethods.join(', '),
    'access-control-allow-headers': corsPolicy.allowHeaders.join(', '),
    'access-control-max-age': String(corsPolicy.maxAgeSeconds),
  };
}

function isPreflight(request: IncomingMessage): boolean {
  return request.method === 'OPTIONS' && typeof request.headers.origin === 'string' && typeof request.headers['access-control-request-method'] === 'string';
}

export interface LocalHttpOptions {
  authority: LocalAuthority;
  loadHandler: (functionName: string) => Promise<LambdaHttpHandler>;
  localRoutes: LocalRoute[];
  onRequest?: (line: AccessLine) => void;
}

/**
 * The local stand-in for API Gateway: matches the route table, checks the
 * bearer token as the JWT authorizer would, builds a payload-format-2.0 event
 * and calls the very handler the Lambda function runs.
 */
export function createLocalHttpServer(options: LocalHttpOptions): Server {
  const compiled = routes.map((route) => compile(route));

  async function dispatch(request: IncomingMessage, requestId: string): Promise<ApiResult> {
    const url = parseTarget(request.url);
    if (!url) throw new ValidationFailedError('The request target is not a valid path.', { status: 400 });
    const method = (request.method ?? 'GET').toUpperCase();

    const local = options.localRoutes.find((route) => route.method === method && route.path === url.pathname);
    if (local) {
      const body = await readBody(request);
      const event = { headers: headersOf(request), rawQueryString: url.search.replace(/^\?/, ''), body: body.toString('base64'), isBase64Encoded: true } as ApiEvent;
      const result = await local.handle(event, requestId);
      return { statusCode: result.statusCode, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(result.body) };
    }

    let match: { compiled: CompiledRoute; values: string[] } | undefined;
    for (const candidate of compiled) {
      if (candidate.route.method !== method) continue;
      const found = candidate.pattern.exec(url.pathname);
      if (found) {
        match = { compiled: candidate, values: found.slice(1) };
        break;
      }
    }
    if (!match) {
      // A known path with a method it does not serve: 405 with Allow (OPTIONS: 204, the preflight's CORS headers added by `finish`).
      const served = [
        ...compiled.filter((candidate) => candidate.pattern.test(url.pathname)).map((candidate) => candidate.route.method),
        ...options.localRoutes.filter((route) => route.path === url.pathname).map((route) => route.method),
      ];
      if (served.length > 0) {
        const allow = allowHeader([...new Set(served)]);
        if (method === 'OPTIONS') return { statusCode: 204, headers: { allow } };
        throw new MethodNotAllowedError(`This path does not serve ${method}; it serves ${allow}.`, { allow: allow.split(', ') });
      }
      // The path can hold a personal ID (/v1/accounts/{personalId}/...): never echoed in an error.
      throw new NotFoundError(`No route for ${method} ${maskPath(url.pathname)}.`);
    }
    const { route } = match.compiled;

    let claims: Record<string, unknown> | undefined;
    if (route.auth === 'jwt') {
      const authorization = request.headers.authorization ?? '';
      const token = /^Bearer (\S+)$/i.exec(authorization)?.[1];
      claims = token ? await options.authority.verify(token) : undefined;
      if (!claims) throw new UnauthenticatedError('A valid bearer token is required.');
    }

    const body = await readBody(request);
    const pathParameters: Record<string, string> = {};
    match.compiled.parameterNames.forEach((name, index) => {
      try {
        pathParameters[name] = decodeURIComponent(match.values[index] ?? '');
      } catch {
        throw new ValidationFailedError('The path is not valid percent-encoded UTF-8.', { status: 400 });
      }
    });
    const now = new Date();
    const headers = headersOf(request);
    const event: ApiEvent = {
      version: '2.0',
      routeKey: `${route.method} ${route.path}`,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      queryStringParameters: queryOf(url),
      pathParameters: match.compiled.parameterNames.length > 0 ? pathParameters : undefined,
      requestContext: {
        accountId: '000000000000',
        apiId: 'local',
        authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: (claims ?? {}) as Record<string, string>, scopes: [] } },
        domainName: headers.host ?? 'localhost',
        domainPrefix: 'localhost',
        http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: request.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
        requestId,
        routeKey: `${route.method} ${route.path}`,
        stage: '$default',
        time: now.toISOString(),
        timeEpoch: now.getTime(),
      },
      // Always base64, as API Gateway does for binary media: the handler decodes and checks UTF-8 itself.
      body: body.byteLength > 0 ? body.toString('base64') : undefined,
      isBase64Encoded: body.byteLength > 0,
      stageVariables: undefined,
    };
    const handler = await options.loadHandler(route.functionName);
    return handler(event, lambdaContext(route.functionName, requestId));
  }

  // A body that breaks HTTP framing (a chunk size that is not hex) is refused by Node's parser after
  // the request was dispatched: the `clientError` hook below answers it, under the request's id, and
  // the handler's own answer (or the read error it gets) is dropped instead of logged as a 500.
  const inFlightRequests = new WeakMap<ServerResponse, { requestId: string; started: number }>();
  const answeredByParser = new WeakSet<ServerResponse>();

  const server = createServer((request, response: ServerResponse) => {
    const started = performance.now();
    const given = request.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : ulid();
    inFlightRequests.set(response, { requestId, started });
    const finish = (result: ApiResult) => {
      if (answeredByParser.has(response)) return;
      const headers: Record<string, string> = { 'x-request-id': requestId };
      for (const [name, value] of Object.entries(result.headers ?? {})) headers[name.toLowerCase()] = String(value);
      // As the handlers do (shared/http/api-handler.ts), for the answers this server makes itself.
      headers['cache-control'] ??= 'no-store';
      const status = result.statusCode ?? 200;
      Object.assign(headers, corsHeaders(request, isPreflight(request) && status === 204));
      response.writeHead(status, headers);
      response.end(result.isBase64Encoded && result.body ? Buffer.from(result.body, 'base64') : result.body);
      options.onRequest?.({ method: request.method ?? '', path: parseTarget(request.url)?.pathname ?? '(invalid target)', status, ms: performance.now() - started, requestId });
    };
    dispatch(request, requestId).then(finish, (error: unknown) => {
      if (answeredByParser.has(response)) return;
      const problem: ProblemDocument = error instanceof AppError ? problemFromError(error, requestId) : internalProblem(requestId);
      if (!(error instanceof AppError)) console.error('local server error', error instanceof Error ? error.name : 'unknown');
      // Drain what the client is still sending so that it reads our answer instead of a reset.
      request.resume();
      // This server refuses tokens only on `jwt` routes (a signed route's handler answers its own 401).
      const challenge = () => authenticateChallenge('jwt', request.headers.authorization !== undefined);
      const headers = error instanceof AppError ? problemHeaders(error, challenge) : {};
      finish({ statusCode: problem.status, headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...headers }, body: JSON.stringify(problem) });
    });
  });
  // Requests Node cannot even parse (bad header lines, heads over 16 KB, bad targets, a lower-case
  // method) never reach the handler above: Node's default answer is a bare 400/431 with no body and
  // no request id. Answer them within the contract instead, as Node's default handler does it: only
  // while the socket is writable and no answer has started on it.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    const inFlight = (socket as { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const answer = (requestId: string, detail: string, method: string, path: string, ms: number) => {
      if (!socket.writable) return socket.destroy();
      // 400 VALIDATION_FAILED even for an oversized head: the contract has no code for 431.
      const problem: ProblemDocument = { type: problemType('VALIDATION_FAILED'), title: 'Validation failed', status: 400, detail, code: 'VALIDATION_FAILED', requestId };
      const body = JSON.stringify(problem);
      socket.end(
        `HTTP/1.1 400 Bad Request\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
      );
      options.onRequest?.({ method, path, status: 400, ms, requestId });
    };
    const headDetail =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? 'The request head (request line and headers) is larger than 16 KB.'
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 'The request was not received in time.'
          : 'The request could not be parsed as HTTP/1.1 (request line or header lines).';
    if (!inFlight) {
      // A head that was not parsed has no request id to trust: a new one.
      answer(ulid(), headDetail, '(unparsed)', '(unparsed)', 0);
    } else if (inFlight.req.complete) {
      // The request in flight was read whole and may already have changed something: the broken
      // bytes are a later pipelined request. Answers go in order, so this one after that one.
      inFlight.once('finish', () => answer(ulid(), headDetail, '(unparsed)', '(unparsed)', 0));
    } else {
      // Its body broke framing: nothing was read, nothing changed. Answered under its id, so that the
      // answer and the server's logs agree; the handler's own answer is dropped.
      const dispatched = inFlightRequests.get(inFlight);
      answeredByParser.add(inFlight);
      answer(
        dispatched?.requestId ?? ulid(),
        error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 'The request body was not received in time.'
          : 'The request body could not be read: its HTTP framing (Content-Length or chunked encoding) is broken.',
        inFlight.req.method ?? '',
        parseTarget(inFlight.req.url)?.pathname ?? '(invalid target)',
        dispatched ? performance.now() - dispatched.started : 0,
      );
    }
  });
  return server;
}
