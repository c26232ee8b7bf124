import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createNationalRegistry,
  HttpPopulationRegistry,
  loadRegistryCredentials,
  parseRetryAfter,
  RegistryResponseError,
  type HttpPopulationRegistryOptions,
  type RegistryLog,
} from '../../../shared/adapters/population/national-registry.js';
import { sandboxPeople, syntheticPopulation } from '../../../shared/adapters/population/synthetic-population.js';
import { logger } from '../../../shared/observability/logger.js';
import { RegistryUnavailableError, type Citizen } from '../../../shared/ports/population-registry.js';

/**
 * The NDXP adapter against a fake platform on 127.0.0.1 (node:http, real
 * fetch, real sockets), scripted per test: retries only on transient failures,
 * deadlines, Retry-After, response validation, and no personal data in what it
 * logs or throws.
 */

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: { personalIds: string[] };
}
type Script = (request: Received, response: ServerResponse, attempt: number) => void;

const TWELVE_DIGITS = /[0-9]{12}/;
const API_KEY = 'test-api-key-not-secret';

let server: Server;
let baseUrl: string;
let script: Script;
let received: Received[];
let logged: string[];

const capture: RegistryLog = {
  info: (message, attributes) => logged.push(JSON.stringify({ level: 'info', message, ...attributes })),
  warn: (message, attributes) => logged.push(JSON.stringify({ level: 'warn', message, ...attributes })),
};

/** The fake platform's register: the sandbox people and some synthetic ones. */
const known = new Map<string, Citizen>([...sandboxPeople, ...syntheticPopulation({ size: 300, seed: 5 })].map((person) => [person.personalId, person]));

function answer(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** The platform's happy answer: the known people among the IDs asked for. */
const lookUp: Script = (request, response) =>
  answer(response, 200, {
    citizens: request.body.personalIds.flatMap((id) => {
      const person = known.get(id);
      return person
        ? [
            {
              personalId: person.personalId,
              fullName: person.fullName,
              dateOfBirth: person.dateOfBirth,
              gender: person.gender,
              dateOfDeath: person.dateOfDeath,
              permanentResidence: { provinceCode: person.provinceCode },
            },
          ]
        : [];
    }),
  });

function registry(options: Partial<HttpPopulationRegistryOptions> = {}) {
  return new HttpPopulationRegistry({
    baseUrl,
    credentials: { type: 'apiKey', apiKey: API_KEY },
    timeoutMs: 1_000,
    maxAttempts: 3,
    baseDelayMs: 5,
    maxDelayMs: 20,
    logger: capture,
    ...options,
  });
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error('expected the call to fail');
  return outcome;
}

const anh = sandboxPeople[0]!;
const binh = sandboxPeople[1]!;
const unknownId = '079185999998';

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry: Received = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['body'],
      };
      received.push(entry);
      script(entry, response, received.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ndxp`;
});

beforeEach(() => {
  received = [];
  logged = [];
  script = lookUp;
});

afterEach(() => {
  // Whatever happened, nothing the adapter logged holds a personal ID number (nor a name or a date).
  const everything = logged.join('\n');
  expect(everything).not.toMatch(TWELVE_DIGITS);
  expect(everything).not.toContain(anh.fullName);
  expect(everything).not.toMatch(/[0-9]{4}-[0-9]{2}-[0-9]{2}/);
  expect(everything).not.toContain(API_KEY);
  vi.restoreAllMocks();
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('HttpPopulationRegistry', () => {
  it('looks people up with one POST carrying the IDs in the body and the API key in a header', async () => {
    // Act
    const found = await registry().lookup([anh.personalId, binh.personalId, unknownId, anh.personalId]);

    // Assess
    expect([...found.keys()].sort()).toEqual([binh.personalId, anh.personalId].sort());
    expect(found.get(anh.personalId)).toEqual({ personalId: anh.personalId, fullName: anh.fullName, dateOfBirth: anh.dateOfBirth, gender: 'F', dateOfDeath: null, provinceCode: '79' });
    expect(found.get(binh.personalId)?.dateOfDeath).toBe('2025-06-01');
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/ndxp/v1/citizens:batchLookup');
    expect(request!.url).not.toMatch(TWELVE_DIGITS);
    expect(request!.headers['x-api-key']).toBe(API_KEY);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['x-correlation-id']).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(request!.body).toEqual({ personalIds: [anh.personalId, binh.personalId, unknownId] }); // unique
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({ level: 'info', attempt: 1, status: 200, requested: 3, found: 2 });
  });

  it('sends a bearer token when the credentials are one', async () => {
    await registry({ credentials: { type: 'bearer', token: 'test-bearer-token' } }).lookup([anh.personalId]);

    expect(received[0]!.headers.authorization).toBe('Bearer test-bearer-token');
    expect(received[0]!.headers['x-api-key']).toBeUndefined();
  });

  it('treats a missing dateOfDeath as alive and ignores fields it does not know', async () => {
    script = (_request, response) =>
      answer(response, 200, { citizens: [{ personalId: anh.personalId, fullName: anh.fullName, dateOfBirth: anh.dateOfBirth, gender: 'F', photo: 'x' }], meta: {} });

    const found = await registry().lookup([anh.personalId]);

    expect(found.get(anh.personalId)).toEqual({ personalId: anh.personalId, fullName: anh.fullName, dateOfBirth: anh.dateOfBirth, gender: 'F', dateOfDeath: null, provinceCode: null });
  });

  it('reads the province of permanent residence when the platform gives one of the 34 codes, and no residence otherwise (not a malformed answer)', async () => {
    // Prepare: a residence in 79, one with a pre-2025 code, a null one, and one without provinceCode
    const people = [anh, binh, sandboxPeople[2]!, sandboxPeople[3]!];
    const residences: unknown[] = [{ provinceCode: '79' }, { provinceCode: '02' }, null, {}];
    script = (_request, response) =>
      answer(response, 200, {
        citizens: people.map((person, index) => ({ personalId: person.personalId, fullName: person.fullName, dateOfBirth: person.dateOfBirth, gender: person.gender, permanentResidence: residences[index] })),
      });

    // Act
    const found = await registry().lookup(people.map((person) => person.personalId));

    // Assess
    expect(people.map((person) => found.get(person.personalId)?.provinceCode)).toEqual(['79', null, null, null]);
  });

  it('asks at most 100 IDs a request and merges the answers', async () => {
    const ids = [...known.keys()].slice(0, 250);

    const found = await registry().lookup(ids);

    expect(received.map((request) => request.body.personalIds.length)).toEqual([100, 100, 50]);
    expect(found.size).toBe(250);
    // One correlation id per chunk.
    expect(new Set(received.map((request) => request.headers['x-correlation-id'])).size).toBe(3);
  });

  it('never sends malformed IDs, and sends nothing when none is left', async () => {
    const found = await registry().lookup(['12345', '07918500000X', '']);

    expect(found.size).toBe(0);
    expect(received).toHaveLength(0);
  });

  it('retries 503 twice, then succeeds on the third attempt with the same correlation id', async () => {
    script = (request, response, attempt) => (attempt <= 2 ? answer(response, 503, { error: 'busy' }) : lookUp(request, response, attempt));

    const found = await registry().lookup([anh.personalId]);

    expect(found.get(anh.personalId)?.fullName).toBe(anh.fullName);
    expect(received).toHaveLength(3);
    expect(new Set(received.map((request) => request.headers['x-correlation-id'])).size).toBe(1);
    const entries = logged.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.map((entry) => [entry.level, entry.attempt, entry.status])).toEqual([
      ['warn', 1, 503],
      ['warn', 2, 503],
      ['info', 3, 200],
    ]);
  });

  it.each([429, 502, 504])('retries HTTP %i', async (status) => {
    script = (request, response, attempt) => (attempt === 1 ? answer(response, status, {}) : lookUp(request, response, attempt));

    expect((await registry().lookup([anh.personalId])).size).toBe(1);
    expect(received).toHaveLength(2);
  });

  it('gives up after the last attempt with RegistryUnavailableError when the platform stays unavailable', async () => {
    script = (_request, response) => answer(response, 503, {});

    const error = await failure(registry({ maxAttempts: 4 }).lookup([anh.personalId]));

    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(error.message).toContain('HTTP 503');
    expect(error.message).not.toMatch(TWELVE_DIGITS);
    expect(received).toHaveLength(4);
  });

  it.each([400, 401, 403, 404, 422, 500])('does not retry HTTP %i', async (status) => {
    script = (_request, response) => answer(response, status, { detail: `bad request for ${anh.personalId}` });

    const error = await failure(registry().lookup([anh.personalId]));

    expect(error).toBeInstanceOf(RegistryResponseError);
    expect(error).not.toBeInstanceOf(RegistryUnavailableError);
    expect(error).toMatchObject({ kind: 'REJECTED', status });
    expect(error.message).not.toMatch(TWELVE_DIGITS);
    expect(received).toHaveLength(1);
  });

  it('gives up quickly, after a bounded number of attempts, when the platform never answers', async () => {
    script = () => undefined; // accepts the request, never answers
    const started = performance.now();

    const error = await failure(registry({ timeoutMs: 100, maxAttempts: 3 }).lookup([anh.personalId]));

    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(error.message).toContain('no answer within 100 ms');
    expect(received).toHaveLength(3);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(logged.map((line) => (JSON.parse(line) as { outcome: string }).outcome)).toEqual(['TIMEOUT', 'TIMEOUT', 'TIMEOUT']);
  });

  it('times out a body that starts but never ends', async () => {
    script = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"citizens": [');
    };

    const error = await failure(registry({ timeoutMs: 100, maxAttempts: 2 }).lookup([anh.personalId]));

    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(received).toHaveLength(2);
  });

  it('retries network errors (nobody listening), then gives up', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const error = await failure(registry({ baseUrl: `http://127.0.0.1:${port}` }).lookup([anh.personalId]));

    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(error.message).toContain('network error');
    expect(logged.map((line) => (JSON.parse(line) as { outcome: string }).outcome)).toEqual(['NETWORK', 'NETWORK', 'NETWORK']);
  });

  const wrongShapes: [string, (request: Received) => string | object][] = [
    ['a body that is not JSON', () => `<html>${anh.personalId}</html>`],
    ['no citizens list', () => ({ people: [] })],
    ['citizens not a list', () => ({ citizens: anh.personalId })],
    ['a bad date', () => ({ citizens: [{ personalId: anh.personalId, fullName: anh.fullName, dateOfBirth: '1985-02-30', gender: 'F' }] })],
    ['an 11-digit ID', () => ({ citizens: [{ personalId: anh.personalId.slice(1), fullName: anh.fullName, dateOfBirth: anh.dateOfBirth, gender: 'F' }] })],
    ['an unknown gender', () => ({ citizens: [{ personalId: anh.personalId, fullName: anh.fullName, dateOfBirth: anh.dateOfBirth, gender: 'X' }] })],
    ['a person not asked for', () => ({ citizens: [{ personalId: binh.personalId, fullName: binh.fullName, dateOfBirth: binh.dateOfBirth, gender: 'M' }] })],
    ['the same person twice', () => ({ citizens: [0, 1].map(() => ({ personalId: anh.personalId, fullName: anh.fullName, dateOfBirth: anh.dateOfBirth, gender: 'F' })) })],
    ['a death before the birth', () => ({ citizens: [{ personalId: anh.personalId, fullName: anh.fullName, dateOfBirth: anh.dateOfBirth, gender: 'F', dateOfDeath: '1980-01-01' }] })],
  ];

  it.each(wrongShapes)('refuses a malformed answer (%s) without retrying or quoting it', async (_name, body) => {
    script = (request, response) => answer(response, 200, body(request));

    const error = await failure(registry().lookup([anh.personalId]));

    expect(error).toBeInstanceOf(RegistryResponseError);
    expect(error).toMatchObject({ kind: 'MALFORMED', status: 200 });
    expect(error.message).not.toMatch(TWELVE_DIGITS);
    expect(error.message).not.toContain(anh.fullName);
    expect(error.cause).toBeUndefined();
    expect(received).toHaveLength(1);
  });

  it('honours Retry-After (seconds) instead of its own backoff', async () => {
    script = (request, response, attempt) => (attempt === 1 ? answer(response, 429, {}, { 'retry-after': '1' }) : lookUp(request, response, attempt));
    const started = performance.now();

    const found = await registry({ baseDelayMs: 1, maxDelayMs: 1 }).lookup([anh.personalId]);

    expect(found.size).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(JSON.parse(logged[0]!)).toMatchObject({ status: 429, retryInMs: 1_000 });
  });

  it('stops at once when Retry-After asks for longer than it may wait, for the caller to retry later', async () => {
    script = (_request, response) => answer(response, 503, {}, { 'retry-after': '30' });
    const started = performance.now();

    const error = await failure(registry({ maxRetryAfterMs: 2_000 }).lookup([anh.personalId]));

    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(error.message).toContain('30 s');
    expect(received).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('logs through the shared redacting logger by default, with counts and codes only', async () => {
    const info = vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    script = (request, response, attempt) => (attempt === 1 ? answer(response, 502, {}) : lookUp(request, response, attempt));

    await registry({ logger: undefined }).lookup([anh.personalId, binh.personalId]);

    const raw = JSON.stringify([...info.mock.calls, ...warn.mock.calls]);
    expect(info).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(raw).not.toMatch(TWELVE_DIGITS);
    expect(raw).not.toContain(anh.fullName);
    expect(raw).not.toContain(API_KEY);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates, and ignores anything else', () => {
    const now = Date.parse('2026-11-01T00:00:00Z');

    expect(parseRetryAfter('2', now)).toBe(2_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Sun, 01 Nov 2026 00:00:03 GMT', now)).toBe(3_000);
    expect(parseRetryAfter('Sat, 31 Oct 2026 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('configuration and credentials', () => {
  const secrets = mockClient(SecretsManagerClient);
  afterEach(() => {
    secrets.reset();
  });
  afterAll(() => {
    secrets.restore();
  });

  it('builds the adapter from the environment with a local API key', async () => {
    const national = await createNationalRegistry({ NATIONAL_REGISTRY_URL: baseUrl, NATIONAL_REGISTRY_API_KEY: API_KEY, NATIONAL_REGISTRY_TIMEOUT_MS: '500' });

    await national.lookup([anh.personalId]);

    expect(received[0]!.headers['x-api-key']).toBe(API_KEY);
  });

  it('reads the credentials from Secrets Manager by ARN', async () => {
    const arn = 'arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:ndxp-abc';
    secrets.on(GetSecretValueCommand, { SecretId: arn }).resolves({ SecretString: '{"bearerToken":"token-from-secrets-manager"}' });

    const national = await createNationalRegistry({ NATIONAL_REGISTRY_URL: baseUrl, NATIONAL_REGISTRY_CREDENTIALS_SECRET_ARN: arn });
    await national.lookup([anh.personalId]);

    expect(received[0]!.headers.authorization).toBe('Bearer token-from-secrets-manager');
  });

  it('accepts a secret holding {"apiKey"} or a plain key, and refuses anything else without quoting it', async () => {
    const arn = 'arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:ndxp-abc';
    secrets.on(GetSecretValueCommand).resolvesOnce({ SecretString: '{"apiKey":"k1"}' }).resolvesOnce({ SecretString: 'plain-key' }).resolvesOnce({ SecretString: '{"password":"hunter2-secret"' });

    expect(await loadRegistryCredentials({ secretArn: arn })).toEqual({ type: 'apiKey', apiKey: 'k1' });
    expect(await loadRegistryCredentials({ secretArn: arn })).toEqual({ type: 'apiKey', apiKey: 'plain-key' });
    const error = await failure(loadRegistryCredentials({ secretArn: arn }));
    expect(error.message).not.toContain('hunter2');
  });

  it('fails fast on a bad configuration', async () => {
    await expect(createNationalRegistry({ NATIONAL_REGISTRY_URL: baseUrl })).rejects.toThrow(/NATIONAL_REGISTRY_CREDENTIALS_SECRET_ARN/);
    await expect(createNationalRegistry({ NATIONAL_REGISTRY_URL: 'http://ndxp.example.gov.vn', NATIONAL_REGISTRY_API_KEY: 'k' })).rejects.toThrow(/https/);
    await expect(createNationalRegistry({ NATIONAL_REGISTRY_API_KEY: 'k' })).rejects.toThrow(/NATIONAL_REGISTRY_URL/);
  });
});
