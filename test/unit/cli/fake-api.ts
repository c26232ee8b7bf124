import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ValidationFailedError } from '../../../shared/domain/errors.js';
import type { PaymentItem } from '../../../shared/domain/schemas.js';
import { paymentsFromCsv } from '../../../shared/domain/validation.js';

/**
 * A tiny in-memory stand-in for the provincial endpoints of api.md, with the
 * semantics the uploader relies on (idempotent create by batchRef, idempotent
 * chunks, 409 on a changed paymentRef, seal against control totals), plus
 * fault injection. It validates CSV chunks with the server's own shared code.
 */

export interface FakeBatch {
  batchId: string;
  batchRef: string;
  provinceCode: string;
  programCode: string;
  period: string;
  status: string;
  control: { itemCount: number; totalAmount: number };
  payments: Map<string, PaymentItem>;
}

export interface RequestInfo {
  method: string;
  path: string;
  /** 1-based count of requests seen so far, this one included. */
  seen: number;
}

/**
 * What to do with a request before (or after) handling it: answer a status
 * without acting, drop the connection without acting, or act and then drop the
 * connection (the client never learns it worked).
 */
export type Fault = { status: number; retryAfter?: string } | 'drop' | 'drop-after';

export interface FakeApi {
  url: string;
  token: string;
  batches: Map<string, FakeBatch>;
  requests: RequestInfo[];
  /** Decides a fault per request; undefined serves it normally. */
  fault: ((request: RequestInfo) => Fault | undefined) | undefined;
  close(): Promise<void>;
}

function problem(response: ServerResponse, status: number, code: string, detail: string, extra: Record<string, unknown> = {}) {
  response.writeHead(status, { 'content-type': 'application/problem+json' });
  response.end(JSON.stringify({ type: `urn:fake:${code}`, title: code, status, detail, code, requestId: 'fake', ...extra }));
}

function json(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function view(batch: FakeBatch) {
  const payments = [...batch.payments.values()];
  const received = { itemCount: payments.length, totalAmount: payments.reduce((sum, payment) => sum + payment.amount, 0) };
  return {
    batchId: batch.batchId,
    batchRef: batch.batchRef,
    provinceCode: batch.provinceCode,
    programCode: batch.programCode,
    period: batch.period,
    status: batch.status,
    control: batch.control,
    received,
    counts: { RECEIVED: batch.status === 'OPEN' ? 0 : payments.length },
    amounts: {},
    rejections: {},
  };
}

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const same = (a: PaymentItem, b: PaymentItem) =>
  a.personalId === b.personalId && a.fullName === b.fullName && a.dateOfBirth === b.dateOfBirth && a.gender === b.gender && a.amount === b.amount;

export async function startFakeApi(): Promise<FakeApi> {
  const api: FakeApi = {
    url: '',
    token: 'fake-token',
    batches: new Map(),
    requests: [],
    fault: undefined,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  let nextId = 1;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://fake').pathname;
    const method = request.method ?? 'GET';
    if (request.headers.authorization !== `Bearer ${api.token}`) return problem(response, 401, 'UNAUTHENTICATED', 'A valid bearer token is required.');
    const text = await body(request);

    if (method === 'POST' && path === '/v1/batches') {
      const input = JSON.parse(text) as Omit<FakeBatch, 'batchId' | 'status' | 'payments'>;
      const existing = [...api.batches.values()].find((batch) => batch.batchRef === input.batchRef && batch.provinceCode === input.provinceCode);
      if (existing) {
        const sameBody =
          existing.programCode === input.programCode &&
          existing.period === input.period &&
          existing.control.itemCount === input.control.itemCount &&
          existing.control.totalAmount === input.control.totalAmount;
        if (!sameBody) return problem(response, 409, 'BATCH_REF_CONFLICT', 'The batchRef is used by a batch with a different body.');
        return json(response, 200, view(existing));
      }
      const batch: FakeBatch = { ...input, batchId: `B${String(nextId++).padStart(4, '0')}`, status: 'OPEN', payments: new Map() };
      api.batches.set(batch.batchId, batch);
      return json(response, 201, view(batch));
    }

    const match = /^\/v1\/batches\/([^/]+)(\/payments|\/seal)?$/.exec(path);
    const batch = match ? api.batches.get(decodeURIComponent(match[1]!)) : undefined;
    if (!match || !batch) return problem(response, 404, 'NOT_FOUND', 'No such batch.');
    const action = match[2];

    if (method === 'GET' && action === undefined) return json(response, 200, view(batch));

    if (method === 'POST' && action === '/payments') {
      if (!/^text\/csv\b/.test(request.headers['content-type'] ?? '')) return problem(response, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Send text/csv.');
      if (batch.status !== 'OPEN') return problem(response, 409, 'INVALID_STATE', 'The batch is not OPEN.');
      let items: PaymentItem[];
      try {
        items = paymentsFromCsv(text);
      } catch (error) {
        if (error instanceof ValidationFailedError) {
          return problem(response, 422, 'VALIDATION_FAILED', error.message, { errors: error.errors, ...error.extensions });
        }
        throw error;
      }
      const conflicts = items
        .map((item, index) => ({ item, index, stored: batch.payments.get(item.paymentRef) }))
        .filter(({ item, stored }) => stored !== undefined && !same(stored, item));
      if (conflicts.length > 0) {
        return problem(response, 409, 'CONFLICT', 'A paymentRef is already stored with different content.', {
          errors: conflicts.map(({ item, index }) => ({ index, paymentRef: item.paymentRef, path: `payments[${index}]`, code: 'payment_ref_conflict', message: 'paymentRef is stored with different content.' })),
        });
      }
      const fresh = items.filter((item) => !batch.payments.has(item.paymentRef));
      for (const item of fresh) batch.payments.set(item.paymentRef, item);
      return json(response, fresh.length === 0 ? 200 : 201, { batchId: batch.batchId, accepted: fresh.length, alreadyStored: items.length - fresh.length });
    }

    if (method === 'POST' && action === '/seal') {
      if (batch.status === 'OPEN') {
        const actual = view(batch).received;
        if (actual.itemCount !== batch.control.itemCount || actual.totalAmount !== batch.control.totalAmount) {
          return problem(response, 422, 'CONTROL_TOTALS_MISMATCH', 'The payments do not add up to the control totals.', { expected: batch.control, actual });
        }
        batch.status = 'SUBMITTED';
      } else if (batch.status === 'CANCELLED') {
        return problem(response, 409, 'INVALID_STATE', 'The batch is cancelled.');
      }
      return json(response, 200, view(batch));
    }
    return problem(response, 404, 'NOT_FOUND', 'No route.');
  }

  const server: Server = createServer((request, response) => {
    const info: RequestInfo = { method: request.method ?? 'GET', path: new URL(request.url ?? '/', 'http://fake').pathname, seen: api.requests.length + 1 };
    api.requests.push(info);
    const fault = api.fault?.(info);
    if (fault === 'drop') {
      request.socket.destroy();
      return;
    }
    if (fault !== undefined && fault !== 'drop-after') {
      request.resume();
      response.writeHead(fault.status, { 'content-type': 'application/problem+json', ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}) });
      response.end(JSON.stringify({ type: 'urn:fake', title: 'fault', status: fault.status, detail: 'Injected.', code: fault.status === 429 ? 'RATE_LIMITED' : 'INTERNAL', requestId: 'fake' }));
      return;
    }
    if (fault === 'drop-after') {
      // Act on the request, then lose the answer.
      response.end = (() => {
        request.socket.destroy();
        return response;
      }) as typeof response.end;
    }
    handle(request, response).catch((error: unknown) => problem(response, 500, 'INTERNAL', String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return api;
}
