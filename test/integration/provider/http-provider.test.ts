import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createHttpProvider,
  HttpPaymentProvider,
  loadPaymentProviderSecret,
  mapProviderReason,
  ProviderResponseError,
  type HttpPaymentProviderOptions,
  type ProviderLog,
} from '../../../shared/adapters/provider/http-provider.js';
import { verifyCallbackSignature } from '../../../shared/app/callbacks.js';
import { logger } from '../../../shared/observability/logger.js';
import { ProviderTransientError, type TransferInstruction } from '../../../shared/ports/payment-provider.js';

/**
 * The payment-gateway adapter against a fake gateway on 127.0.0.1 (node:http,
 * real fetch, real sockets). The fake checks the signature of every request
 * exactly as our callback endpoint checks providers' (verifyCallbackSignature)
 * and keeps a ledger deduplicated by idempotency key, like a real bank.
 * Covered: outcome mapping, idempotent repeats (409), transient versus
 * non-transient failures, deadlines, response validation, and no account
 * number, holder name or amount in what the adapter logs or throws.
 */

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The signature checked out (verifyCallbackSignature, 300 s window). */
  signed: boolean;
}
type Script = (request: Received, response: ServerResponse, attempt: number) => void;

const TWELVE_DIGITS = /[0-9]{12}/;
const SECRET = 'test-shared-secret-not-secret-0123';
const REFERENCE = '01JD3QXW6S4R5ZV7Q8F0BKT2MN-03k7v2m9q4x8w1z5c6b0ad';
const ACCOUNT_NUMBER = '012345678901';
const HOLDER_NAME = 'NGUYỄN THỊ ÁNH';
const AMOUNT = 2_340_000;

const instruction: TransferInstruction = {
  reference: REFERENCE,
  amount: AMOUNT,
  provider: { type: 'BANK', code: '970436' },
  accountNumber: ACCOUNT_NUMBER,
  accountName: HOLDER_NAME,
};

let server: Server;
let baseUrl: string;
let script: Script;
let received: Received[];
let logged: string[];
/** The fake gateway's ledger: the first result of each reference. */
let ledger: Map<string, object>;
let expectValidSignatures: boolean;

const capture: ProviderLog = {
  info: (message, attributes) => logged.push(JSON.stringify({ level: 'info', message, ...attributes })),
  warn: (message, attributes) => logged.push(JSON.stringify({ level: 'warn', message, ...attributes })),
};

function answer(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/**
 * The fake gateway's happy behaviour. POST: a reference seen before is 409 with
 * the original result; otherwise it decides by the account's last four digits
 * (0000 closed, 5555 accepted for later, else settled) and records it. GET: the
 * recorded result, or 404.
 */
const gateway: Script = (request, response) => {
  if (request.method === 'GET') {
    const reference = decodeURIComponent(request.url.split('/').pop() ?? '');
    const known = ledger.get(reference);
    return known ? answer(response, 200, known) : answer(response, 404, { reference, status: 'NOT_FOUND' });
  }
  const body = JSON.parse(request.rawBody) as { reference: string; account: { number: string } };
  const original = ledger.get(body.reference);
  if (original) return answer(response, 409, { error: 'DUPLICATE_REFERENCE', original });
  const suffix = body.account.number.slice(-4);
  const result =
    suffix === '0000'
      ? { reference: body.reference, status: 'REJECTED', reasonCode: 'ACCOUNT_CLOSED' }
      : suffix === '5555'
        ? { reference: body.reference, status: 'ACCEPTED' }
        : { reference: body.reference, status: 'SETTLED', settledAt: '2026-11-02T03:04:05.678Z' };
  ledger.set(body.reference, result);
  answer(response, 201, { ...result, gatewayTxnId: 'GW-1' });
};

function provider(options: Partial<HttpPaymentProviderOptions> = {}) {
  return new HttpPaymentProvider({ baseUrl, secret: SECRET, timeoutMs: 1_000, retryDelayMs: 5, logger: capture, ...options });
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error('expected the call to fail');
  return outcome;
}

/** Nothing personal in a text: no account number, holder name, amount, 12-digit run or secret. */
function expectNothingPersonal(text: string) {
  expect(text).not.toContain(ACCOUNT_NUMBER);
  expect(text).not.toContain(HOLDER_NAME);
  expect(text).not.toMatch(TWELVE_DIGITS);
  expect(text).not.toContain(String(AMOUNT));
  expect(text).not.toContain(SECRET);
}

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let signed = true;
      try {
        verifyCallbackSignature({
          secret: SECRET,
          timestamp: request.headers['x-timestamp'] as string | undefined,
          signature: request.headers['x-signature'] as string | undefined,
          rawBody,
          now: new Date(),
        });
      } catch {
        signed = false;
      }
      const entry: Received = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, rawBody, signed };
      received.push(entry);
      // Like the real gateway: an unsigned request is refused before anything else.
      if (!signed) return answer(response, 401, { error: 'BAD_SIGNATURE' });
      script(entry, response, received.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gw`;
});

beforeEach(() => {
  received = [];
  logged = [];
  ledger = new Map();
  script = gateway;
  expectValidSignatures = true;
});

afterEach(() => {
  // Whatever happened, the fake saw only well-signed requests, and nothing logged is personal.
  if (expectValidSignatures) expect(received.filter((request) => !request.signed)).toEqual([]);
  expectNothingPersonal(logged.join('\n'));
  vi.restoreAllMocks();
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('HttpPaymentProvider.send', () => {
  it('POSTs the transfer, signed, with the reference as idempotency key, and maps SETTLED to PAID', async () => {
    // Act
    const outcome = await provider().send(instruction);

    // Assess
    expect(outcome).toEqual({ status: 'PAID', settledAt: '2026-11-02T03:04:05.678Z' });
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/gw/v1/transfers');
    expect(request!.url).not.toContain(ACCOUNT_NUMBER);
    expect(request!.signed).toBe(true);
    expect(request!.headers['idempotency-key']).toBe(REFERENCE);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.rawBody)).toEqual({
      reference: REFERENCE,
      amount: AMOUNT,
      currency: 'VND',
      account: { type: 'BANK', bankCode: '970436', number: ACCOUNT_NUMBER, holderName: HOLDER_NAME },
    });
    // The signature, computed by hand: hex HMAC-SHA256 of `timestamp + "." + raw body`, unix seconds.
    const timestamp = request!.headers['x-timestamp'] as string;
    expect(timestamp).toMatch(/^\d{10}$/);
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(5);
    expect(request!.headers['x-signature']).toBe(createHmac('sha256', SECRET).update(`${timestamp}.${request!.rawBody}`).digest('hex'));
    expect(JSON.parse(logged.at(-1)!)).toMatchObject({ level: 'info', operation: 'send', reference: REFERENCE, status: 201, outcome: 'PAID' });
  });

  it('sends an e-wallet with its walletCode', async () => {
    await provider().send({ ...instruction, provider: { type: 'EWALLET', code: 'VIETTELMONEY' }, accountNumber: '0912345678' });

    expect(JSON.parse(received[0]!.rawBody).account).toEqual({ type: 'EWALLET', walletCode: 'VIETTELMONEY', number: '0912345678', holderName: HOLDER_NAME });
  });

  it('maps ACCEPTED to SENT (settled later by a callback)', async () => {
    expect(await provider().send({ ...instruction, accountNumber: '012345675555' })).toEqual({ status: 'SENT' });
  });

  it('maps SETTLED without settledAt to PAID now, and normalises an offset settledAt to UTC', async () => {
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    script = (request, response, attempt) =>
      answer(response, 200, attempt === 1 ? { reference: REFERENCE, status: 'SETTLED' } : { reference: REFERENCE, status: 'SETTLED', settledAt: '2026-11-02T10:04:05+07:00' });

    expect(await provider({ now: () => now }).send(instruction)).toEqual({ status: 'PAID', settledAt: now.toISOString() });
    expect(await provider({ now: () => now }).send(instruction)).toEqual({ status: 'PAID', settledAt: '2026-11-02T03:04:05.000Z' });
  });

  it.each([
    ['ACCOUNT_CLOSED', 'ACCOUNT_CLOSED'],
    ['ACCOUNT_NOT_FOUND', 'ACCOUNT_NOT_FOUND'],
    ['ACCOUNT_NAME_MISMATCH', 'ACCOUNT_NAME_MISMATCH'],
    ['AC04', 'ACCOUNT_CLOSED'],
    ['AC01', 'ACCOUNT_NOT_FOUND'],
    ['AC03', 'ACCOUNT_NOT_FOUND'],
    ['BE01', 'ACCOUNT_NAME_MISMATCH'],
    ['account_closed', 'ACCOUNT_CLOSED'],
    ['INSUFFICIENT_LIQUIDITY', 'PROVIDER_REJECTED'],
    ['RETRIES_EXHAUSTED', 'PROVIDER_REJECTED'],
    ['constructor', 'PROVIDER_REJECTED'],
    [null, 'PROVIDER_REJECTED'],
    [undefined, 'PROVIDER_REJECTED'],
  ])('maps REJECTED with reason %s to FAILED %s', async (reasonCode, expected) => {
    script = (_request, response) => answer(response, 200, { reference: REFERENCE, status: 'REJECTED', reasonCode });

    expect(await provider().send(instruction)).toEqual({ status: 'FAILED', reasonCode: expected });
  });

  it('returns the original outcome on a repeated reference (409 duplicate), and the gateway pays once', async () => {
    const first = await provider().send(instruction);
    const again = await provider().send({ ...instruction, accountNumber: '012345670000' }); // the gateway keeps the first

    expect(again).toEqual(first);
    expect(received.map((request) => request.headers['idempotency-key'])).toEqual([REFERENCE, REFERENCE]);
    expect(ledger.size).toBe(1);
    expect(JSON.parse(logged.at(-1)!)).toMatchObject({ status: 409, outcome: 'PAID', duplicate: true });
  });

  it('reads a 409 duplicate whose body is the original result itself', async () => {
    script = (_request, response) => answer(response, 409, { reference: REFERENCE, status: 'REJECTED', reasonCode: 'AC04', error: 'DUPLICATE_REFERENCE' });

    expect(await provider().send(instruction)).toEqual({ status: 'FAILED', reasonCode: 'ACCOUNT_CLOSED' });
  });

  it('retries 503 once, quickly, with a fresh signature and the same idempotency key, then throws ProviderTransientError', async () => {
    script = (_request, response) => answer(response, 503, { error: `busy for ${ACCOUNT_NUMBER}` });

    const error = await failure(provider().send(instruction));

    expect(error).toBeInstanceOf(ProviderTransientError);
    expect(error.message).toContain('HTTP 503');
    expectNothingPersonal(error.message);
    expect(received).toHaveLength(2);
    expect(received.every((request) => request.signed && request.headers['idempotency-key'] === REFERENCE)).toBe(true);
    expect(logged.map((line) => JSON.parse(line) as Record<string, unknown>).map((entry) => [entry.attempt, entry.status, entry.outcome])).toEqual([
      [1, 503, 'HTTP'],
      [2, 503, 'HTTP'],
    ]);
  });

  it('succeeds when the one quick retry does (429, then 201)', async () => {
    script = (request, response, attempt) => (attempt === 1 ? answer(response, 429, {}) : gateway(request, response, attempt));

    expect(await provider().send(instruction)).toMatchObject({ status: 'PAID' });
    expect(received).toHaveLength(2);
  });

  it('does not retry at all with maxAttempts 1', async () => {
    script = (_request, response) => answer(response, 503, {});

    expect(await failure(provider({ maxAttempts: 1 }).send(instruction))).toBeInstanceOf(ProviderTransientError);
    expect(received).toHaveLength(1);
  });

  it.each([408, 500, 501])('leaves HTTP %i to the queue: ProviderTransientError without a retry here', async (status) => {
    script = (_request, response) => answer(response, status, {});

    const error = await failure(provider().send(instruction));

    expect(error).toBeInstanceOf(ProviderTransientError);
    expect(received).toHaveLength(1);
  });

  it('gives up at once when Retry-After asks for longer than it may wait', async () => {
    script = (_request, response) => answer(response, 503, {}, { 'retry-after': '30' });
    const started = performance.now();

    const error = await failure(provider().send(instruction));

    expect(error).toBeInstanceOf(ProviderTransientError);
    expect(error.message).toContain('retry after 30 s');
    expect(received).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('times out quickly, without retrying, when the gateway never answers', async () => {
    script = () => undefined; // accepts the request, never answers
    const started = performance.now();

    const error = await failure(provider({ timeoutMs: 100 }).send(instruction));

    expect(error).toBeInstanceOf(ProviderTransientError);
    expect(error.message).toContain('no answer within 100 ms');
    expect(received).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(logged.map((line) => (JSON.parse(line) as { outcome: string }).outcome)).toEqual(['TIMEOUT']);
  });

  it('times out a body that starts but never ends', async () => {
    script = (_request, response) => {
      response.writeHead(201, { 'content-type': 'application/json' });
      response.write(`{"reference": "${REFERENCE}", `);
    };

    const error = await failure(provider({ timeoutMs: 100 }).send(instruction));

    expect(error).toBeInstanceOf(ProviderTransientError);
    expect(received).toHaveLength(1);
  });

  it('retries a network error once (nobody listening), then throws ProviderTransientError', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const error = await failure(provider({ baseUrl: `http://127.0.0.1:${port}` }).send(instruction));

    expect(error).toBeInstanceOf(ProviderTransientError);
    expect(error.message).toContain('network error');
    expect(logged.map((line) => (JSON.parse(line) as { outcome: string }).outcome)).toEqual(['NETWORK', 'NETWORK']);
  });

  it.each([400, 401, 403, 404, 409, 422, 302])('throws a non-transient ProviderResponseError on HTTP %i, never a FAILED payment', async (status) => {
    script = (_request, response) =>
      status === 409
        ? answer(response, 409, { error: 'REFERENCE_REUSED_WITH_OTHER_DETAILS' }) // a 409 without the original result
        : answer(response, status, { detail: `bad account ${ACCOUNT_NUMBER} of ${HOLDER_NAME}` }, status === 302 ? { location: 'https://elsewhere.example/' } : {});

    const error = await failure(provider().send(instruction));

    expect(error).toBeInstanceOf(ProviderResponseError);
    expect(error).not.toBeInstanceOf(ProviderTransientError);
    expect(error).toMatchObject({ kind: status === 409 ? 'MALFORMED' : 'REJECTED', status });
    expectNothingPersonal(error.message);
    expect(received).toHaveLength(1);
  });

  it('is refused (401, non-transient) when it signs with another secret', async () => {
    expectValidSignatures = false;

    const error = await failure(provider({ secret: 'some-other-secret-0123456789' }).send(instruction));

    expect(error).toMatchObject({ name: 'ProviderResponseError', kind: 'REJECTED', status: 401 });
    expect(received.map((request) => request.signed)).toEqual([false]);
  });

  const wrongShapes: [string, number, () => string | object][] = [
    ['a body that is not JSON', 201, () => `<html>${ACCOUNT_NUMBER} ${HOLDER_NAME}</html>`],
    ['an empty body', 200, () => ''],
    ['no status', 201, () => ({ reference: REFERENCE, account: ACCOUNT_NUMBER })],
    ['an unknown status', 201, () => ({ reference: REFERENCE, status: 'DONE' })],
    ['no reference', 201, () => ({ status: 'SETTLED' })],
    ['another reference', 201, () => ({ reference: `${REFERENCE}x`, status: 'SETTLED' })],
    ['a settledAt that is not a date-time', 201, () => ({ reference: REFERENCE, status: 'SETTLED', settledAt: `paid to ${ACCOUNT_NUMBER}` })],
    ['a list', 200, () => [{ reference: REFERENCE, status: 'SETTLED' }]],
    ['a 409 with the result of another reference', 409, () => ({ original: { reference: 'OTHER', status: 'SETTLED' } })],
  ];

  it.each(wrongShapes)('refuses a malformed answer (%s) as non-transient, without quoting it', async (_name, status, body) => {
    script = (_request, response) => answer(response, status, body());

    const error = await failure(provider().send(instruction));

    expect(error).toBeInstanceOf(ProviderResponseError);
    expect(error).not.toBeInstanceOf(ProviderTransientError);
    expect(error).toMatchObject({ kind: 'MALFORMED', status });
    expectNothingPersonal(error.message);
    expect(error.cause).toBeUndefined();
    expect(received).toHaveLength(1);
  });

  it('refuses a reference that cannot go into a header or a URL, and an amount that is not whole VND, before sending', async () => {
    await expect(provider().send({ ...instruction, reference: '../admin' })).rejects.toThrow(RangeError);
    await expect(provider().send({ ...instruction, amount: 10.5 })).rejects.toThrow(RangeError);
    expect(received).toHaveLength(0);
  });
});

describe('HttpPaymentProvider.lookup', () => {
  it('GETs the reference, signed over the empty body, and reads the result', async () => {
    await provider().send(instruction);

    const known = await provider().lookup(REFERENCE);

    expect(known).toEqual({ status: 'PAID', settledAt: '2026-11-02T03:04:05.678Z' });
    const request = received[1]!;
    expect(request.method).toBe('GET');
    expect(request.url).toBe(`/gw/v1/transfers/${REFERENCE}`);
    expect(request.rawBody).toBe('');
    expect(request.signed).toBe(true);
    expect(request.headers['x-signature']).toBe(createHmac('sha256', SECRET).update(`${request.headers['x-timestamp'] as string}.`).digest('hex'));
    expect(request.headers['idempotency-key']).toBeUndefined();
  });

  it('answers undefined for a reference the gateway never accepted (404)', async () => {
    expect(await provider().lookup(REFERENCE)).toBeUndefined();
    expect(received).toHaveLength(1);
  });

  it.each([
    ['no body', ''],
    ['another body', { error: 'NOT_FOUND' }],
    ['another reference', { reference: `${REFERENCE}x`, status: 'NOT_FOUND' }],
  ])('treats a 404 with %s as ambiguous (throws), never as "never accepted"', async (_what, body) => {
    script = (_request, response) => answer(response, 404, body);
    await expect(provider().lookup(REFERENCE)).rejects.toMatchObject({ name: 'ProviderResponseError', kind: 'MALFORMED', status: 404 });
  });

  it('reads REJECTED and ACCEPTED results', async () => {
    await provider().send({ ...instruction, reference: `${REFERENCE}0`, accountNumber: '012345670000' });
    await provider().send({ ...instruction, reference: `${REFERENCE}5`, accountNumber: '012345675555' });

    expect(await provider().lookup(`${REFERENCE}0`)).toEqual({ status: 'FAILED', reasonCode: 'ACCOUNT_CLOSED' });
    expect(await provider().lookup(`${REFERENCE}5`)).toEqual({ status: 'SENT' });
  });

  it('throws ProviderTransientError on 503, and a non-transient error on 401 or a malformed answer', async () => {
    script = (_request, response) => answer(response, 503, {});
    expect(await failure(provider().lookup(REFERENCE))).toBeInstanceOf(ProviderTransientError);

    script = (_request, response) => answer(response, 401, {});
    expect(await failure(provider().lookup(REFERENCE))).toMatchObject({ name: 'ProviderResponseError', kind: 'REJECTED', status: 401 });

    script = (_request, response) => answer(response, 200, '{"reference":');
    expect(await failure(provider().lookup(REFERENCE))).toMatchObject({ name: 'ProviderResponseError', kind: 'MALFORMED', status: 200 });
  });
});

describe('logging', () => {
  it('logs through the shared redacting logger by default, with references and codes only', async () => {
    const info = vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    script = (request, response, attempt) => (attempt === 1 ? answer(response, 502, { echo: ACCOUNT_NUMBER }) : gateway(request, response, attempt));

    await provider({ logger: undefined }).send(instruction);
    await provider({ logger: undefined }).lookup(REFERENCE);

    expect(warn).toHaveBeenCalledTimes(1);
    expect(info.mock.calls.length).toBeGreaterThanOrEqual(2);
    const raw = JSON.stringify([...info.mock.calls, ...warn.mock.calls]);
    expectNothingPersonal(raw);
    expect(raw).toContain(REFERENCE);
    for (const [, attributes] of [...info.mock.calls, ...warn.mock.calls] as [string, Record<string, unknown>][]) {
      expect(Object.keys(attributes).every((key) => ['operation', 'reference', 'attempt', 'maxAttempts', 'status', 'durationMs', 'outcome', 'duplicate', 'retryInMs'].includes(key))).toBe(true);
    }
  });
});

describe('mapProviderReason', () => {
  it('maps known codes and nothing else', () => {
    expect(mapProviderReason(' ac04 ')).toBe('ACCOUNT_CLOSED');
    expect(mapProviderReason('__proto__')).toBe('PROVIDER_REJECTED');
    expect(mapProviderReason('')).toBe('PROVIDER_REJECTED');
  });
});

describe('configuration and the shared secret', () => {
  const secrets = mockClient(SecretsManagerClient);
  const arn = 'arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:payment-gateway-abc';
  // The factory logs through the shared logger: captured here, and held to the same rule.
  beforeEach(() => {
    vi.spyOn(logger, 'info').mockImplementation((...args) => void logged.push(JSON.stringify(args)));
    vi.spyOn(logger, 'warn').mockImplementation((...args) => void logged.push(JSON.stringify(args)));
  });
  afterEach(() => {
    secrets.reset();
  });
  afterAll(() => {
    secrets.restore();
  });

  it('builds the adapter from the environment with a local secret', async () => {
    const gatewayProvider = await createHttpProvider({ PAYMENT_PROVIDER_URL: baseUrl, PAYMENT_PROVIDER_SECRET: SECRET, PAYMENT_PROVIDER_TIMEOUT_MS: '500' });

    expect(await gatewayProvider.send(instruction)).toMatchObject({ status: 'PAID' });
    expect(received[0]!.signed).toBe(true);
  });

  it('reads the shared secret from Secrets Manager by ARN', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: arn }).resolves({ SecretString: JSON.stringify({ secret: SECRET }) });

    const gatewayProvider = await createHttpProvider({ PAYMENT_PROVIDER_URL: baseUrl, PAYMENT_PROVIDER_SECRET_ARN: arn });
    await gatewayProvider.lookup(REFERENCE);

    expect(received[0]!.signed).toBe(true);
  });

  it('accepts a plain or {"secret"} secret, and refuses anything else without quoting it', async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: ` ${SECRET}\n` })
      .resolvesOnce({ SecretString: '{"secret":"hunter2-but-long-enough"}' })
      .resolvesOnce({ SecretString: '{"password":"hunter2-secret"' })
      .resolvesOnce({ SecretString: 'hunter2' })
      .resolvesOnce({});

    expect(await loadPaymentProviderSecret({ secretArn: arn })).toBe(SECRET);
    expect(await loadPaymentProviderSecret({ secretArn: arn })).toBe('hunter2-but-long-enough');
    for (let index = 0; index < 3; index++) {
      const error = await failure(loadPaymentProviderSecret({ secretArn: arn }));
      expect(error.message).toMatch(/^Invalid configuration/);
      expect(error.message).not.toContain('hunter2');
    }
  });

  it('fails fast on a bad configuration', async () => {
    await expect(createHttpProvider({ PAYMENT_PROVIDER_URL: baseUrl })).rejects.toThrow(/PAYMENT_PROVIDER_SECRET_ARN/);
    await expect(createHttpProvider({ PAYMENT_PROVIDER_URL: 'http://gateway.example.vn', PAYMENT_PROVIDER_SECRET: SECRET })).rejects.toThrow(/https/);
    await expect(createHttpProvider({ PAYMENT_PROVIDER_SECRET: SECRET })).rejects.toThrow(/PAYMENT_PROVIDER_URL/);
    await expect(createHttpProvider({ PAYMENT_PROVIDER_URL: baseUrl, PAYMENT_PROVIDER_SECRET: SECRET, PAYMENT_PROVIDER_TIMEOUT_MS: '60000' })).rejects.toThrow(
      /PAYMENT_PROVIDER_TIMEOUT_MS/,
    );
    const short = await failure(createHttpProvider({ PAYMENT_PROVIDER_URL: baseUrl, PAYMENT_PROVIDER_SECRET: 'hunter2' }));
    expect(short.message).toContain('PAYMENT_PROVIDER_SECRET');
    expect(short.message).not.toContain('hunter2');
    expect(() => new HttpPaymentProvider({ baseUrl, secret: SECRET, maxAttempts: 3 as 2 })).toThrow(RangeError);
  });
});
