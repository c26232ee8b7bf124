import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, backoffDelay, classifyStatus, HttpError, NetworkError, parseRetryAfter, type RetryPolicy } from '../../../bin/upload/http.js';
import { startFakeApi, type FakeApi } from './fake-api.js';

describe('retry policy', () => {
  it.each([
    [200, 'success'],
    [201, 'success'],
    [204, 'success'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [504, 'retry'],
    [400, 'refused'],
    [401, 'refused'],
    [403, 'refused'],
    [404, 'refused'],
    [408, 'refused'],
    [409, 'refused'],
    [413, 'refused'],
    [415, 'refused'],
    [422, 'refused'],
    [301, 'refused'],
  ] as const)('classifies HTTP %i as %s', (status, outcome) => {
    expect(classifyStatus(status)).toBe(outcome);
  });

  it('backs off exponentially with jitter, within the cap', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1_000 };

    const low = [1, 2, 3, 4, 5, 6].map((retry) => backoffDelay(retry, policy, () => 0));
    const high = [1, 2, 3, 4, 5, 6].map((retry) => backoffDelay(retry, policy, () => 0.999_999));

    expect(low).toEqual([50, 100, 200, 400, 500, 500]);
    expect(high).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('honours a longer Retry-After, capped', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 5_000 };
    expect(backoffDelay(1, policy, () => 0, 2_000)).toBe(2_000);
    expect(backoffDelay(1, policy, () => 0, 60_000)).toBe(5_000);
    expect(backoffDelay(3, policy, () => 0, 10)).toBe(200);
  });

  it('reads Retry-After in seconds or as a date', () => {
    const now = Date.parse('2026-11-23T12:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 12:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('the API client against a failing server', () => {
  let api: FakeApi;
  const delays: number[] = [];
  const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 100, timeoutMs: 5_000 };
  const client = () =>
    new ApiClient({
      baseUrl: api.url,
      token: api.token,
      policy,
      sleep: async (ms) => void delays.push(ms),
      random: () => 0.5,
    });
  const create = (c: ApiClient, batchRef = 'REF-1') =>
    c.post('/v1/batches', { json: { batchRef, provinceCode: '79', programCode: 'SOCIAL_ALLOWANCE', period: '2026-11', control: { itemCount: 1, totalAmount: 1_000 } } });

  beforeAll(async () => {
    api = await startFakeApi();
  });
  afterEach(() => {
    api.fault = undefined;
    api.requests.length = 0;
    api.batches.clear();
    delays.length = 0;
  });
  afterAll(() => api.close());

  it('retries 503, 502 and 429 until it succeeds, counting every attempt', async () => {
    // Prepare
    const faults = [{ status: 503 }, { status: 502 }, { status: 429, retryAfter: '0' }];
    api.fault = () => faults.shift();
    const c = client();

    // Act
    const response = await create(c);

    // Assess
    expect(response.status).toBe(201);
    expect(c.requests).toBe(4);
    expect(c.retries).toBe(3);
    expect(delays).toEqual([8, 15, 30]);
  });

  it('retries a dropped connection, and a lost answer is harmless because the call is idempotent', async () => {
    const faults: ('drop' | 'drop-after')[] = ['drop', 'drop-after'];
    api.fault = () => faults.shift();
    const c = client();

    const response = await create(c);

    expect(response.status).toBe(200); // the second attempt created it; the third found it
    expect(api.batches.size).toBe(1);
    expect(c.requests).toBe(3);
  });

  it.each([400, 401, 403, 404, 409, 413, 422])('never retries HTTP %i', async (status) => {
    api.fault = () => ({ status });
    const c = client();

    const error = await create(c).catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status, exhausted: false });
    expect(c.requests).toBe(1);
    expect(delays).toEqual([]);
  });

  it('gives up after maxAttempts transient answers, saying the status was transient', async () => {
    api.fault = () => ({ status: 500 });
    const c = client();

    const error = await create(c).catch((thrown: unknown) => thrown);

    expect(error).toMatchObject({ name: 'HttpError', status: 500, exhausted: true });
    expect(c.requests).toBe(policy.maxAttempts);
  });

  it('gives up after maxAttempts network failures with a NetworkError naming the cause', async () => {
    const closed = await startFakeApi();
    await closed.close(); // a port nobody listens on
    const c = new ApiClient({ baseUrl: closed.url, token: 't', policy, sleep: async () => undefined });

    const error = await c.get('/v1/batches/x').catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toMatch(/no answer after 4 attempts \(ECONNREFUSED\)/);
    expect(c.requests).toBe(4);
  });

  it('keeps the problem document of a refusal', async () => {
    const c = client();
    await create(c, 'SAME');

    const error = await c
      .post('/v1/batches', { json: { batchRef: 'SAME', provinceCode: '79', programCode: 'SOCIAL_ALLOWANCE', period: '2026-12', control: { itemCount: 1, totalAmount: 1_000 } } })
      .catch((thrown: unknown) => thrown);

    expect(error).toMatchObject({ status: 409, problem: { code: 'BATCH_REF_CONFLICT' }, exhausted: false });
  });
});
