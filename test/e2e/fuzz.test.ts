/**
 * Property-based fuzzing of every route of shared/http/routes.ts against the
 * whole local system, started in this process (local/sandbox.ts).
 *
 * Requests carry tokens of the roles each route allows (so they get past
 * authentication and reach validation), and are built from: random and damaged
 * JSON (truncated, wrong types, 1e400, -0, 2^53 + 1, NaN, duplicate keys, deep
 * and wide shapes), control characters, lone surrogates, bytes that are not
 * UTF-8, decomposed Unicode, wrong media types, junk query strings and path
 * parameters, and CSV chunks with wrong headers, quotes, BOMs, CRLF, embedded
 * line breaks and wrong column counts (generators: test/support/fuzz-requests.ts),
 * and request heads written as bytes, including those Node's HTTP parser
 * refuses before any handler runs (test/support/fuzz-raw.ts): every kind of
 * input is generated on every run, none is kept out.
 *
 * Properties (shared/spec/api.md, "Conventions"):
 * - no answer is a 5xx;
 * - every non-2xx answer is application/problem+json with a `code` of the
 *   contract, the status that code goes with, and the request id;
 * - a request built to be refused (a broken field, a state that forbids it) is
 *   refused, and refused requests change nothing: every table is scanned
 *   before and after each property and must be identical, item by item.
 *
 * FUZZ_RUNS: generated requests in all (default 20,000). FUZZ_SEED: the seed
 * (default fixed, so that CI runs are reproducible). Each property runs 16
 * lanes (fast-check runs) at once; lane k of property p uses seed
 * FUZZ_SEED + 1000 * p + k, which a failure report names together with its
 * shrink path.
 */
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startSandbox, type Sandbox } from '../../local/sandbox.js';
import { routes } from '../../shared/http/routes.js';
import { contractViolation, describeRequest, send, type FuzzAnswer, type FuzzRequest } from '../support/fuzz-http.js';
import { exchangeRaw, rawRequest, sendRaw, splitAnswers } from '../support/fuzz-raw.js';
import { appendCsvRequest, largeRequest, routeFuzzers, unroutedRequest, type FuzzContext } from '../support/fuzz-requests.js';
import { tokenFor } from '../support/local-server.js';
import { countItems, diffSnapshots, snapshotStore, storeClient, type StoreSnapshot } from '../support/store-snapshot.js';

const TOTAL_REQUESTS = Number(process.env.FUZZ_RUNS ?? 20_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20_250_701);
const LANES = 16;
/** Large bodies (up to 6 MB and a little over): few, and fewer at once. */
const LARGE_REQUESTS = Math.min(120, Math.max(8, Math.round(TOTAL_REQUESTS / 150)));
const LARGE_LANES = 4;
const CSV_REQUESTS = Math.round(TOTAL_REQUESTS * 0.2);
/** Written on sockets byte by byte, one connection each. */
const RAW_REQUESTS = Math.round(TOTAL_REQUESTS * 0.05);
const MIXED_REQUESTS = Math.max(TOTAL_REQUESTS - CSV_REQUESTS - RAW_REQUESTS - LARGE_REQUESTS, routes.length);
/** Per property: generous, the whole file takes far less at the default size. */
const PROPERTY_TIMEOUT_MS = 60_000 + TOTAL_REQUESTS * 10;

if (!Number.isInteger(TOTAL_REQUESTS) || TOTAL_REQUESTS < 1) throw new Error('FUZZ_RUNS must be a positive whole number');
if (!Number.isInteger(SEED)) throw new Error('FUZZ_SEED must be a whole number');

let sandbox: Sandbox;
let store: DynamoDBClient;
let ctx: FuzzContext;

const stats = {
  requests: 0,
  /** Sum of the requests' latencies, and when the first property started (for the rate). */
  ms: 0,
  started: 0,
  byRoute: new Map<string, number>(),
  byStatus: new Map<number, number>(),
  /** route -> status -> count, for the summary. */
  byRouteStatus: new Map<string, Map<number, number>>(),
};

const bump = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1);

// ---------------------------------------------------------------------------
// Fixtures

async function call(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function expectStatus(answer: Promise<{ status: number; json: Record<string, unknown> }>, status: number, what: string) {
  const { status: actual, json } = await answer;
  if (actual !== status) throw new Error(`fixture: ${what} answered ${actual} (expected ${status}): ${JSON.stringify(json)}`);
  return json;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`fixture: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/** Waits until the background (verification, disbursement) has stopped writing: two equal scans 500 ms apart. */
async function quiescentSnapshot(): Promise<StoreSnapshot> {
  let previous = await snapshotStore(store, sandbox.tableNames);
  return waitFor('a quiet store', async () => {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const current = await snapshotStore(store, sandbox.tableNames);
    const quiet = diffSnapshots(previous, current).length === 0;
    previous = current;
    return quiet ? current : undefined;
  });
}

const LINKED = { personalId: '079185000001', fullName: 'Nguyễn Thị Ánh', dateOfBirth: '1985-03-02', gender: 'F' } as const;

async function createFixtures(): Promise<FuzzContext> {
  const { url } = sandbox;
  const tokens = {
    province: await tokenFor(url, { role: 'province', provinceCode: '79', sub: 'fuzz-hcm' }),
    otherProvince: await tokenFor(url, { role: 'province', provinceCode: '01', sub: 'fuzz-hanoi' }),
    approver: await tokenFor(url, { role: 'approver', provinceCode: '79', sub: 'fuzz-approver' }),
    otherApprover: await tokenFor(url, { role: 'approver', provinceCode: '79', sub: 'fuzz-approver-2' }),
    creatorApprover: await tokenFor(url, { role: 'approver', provinceCode: '79', sub: 'fuzz-hcm' }),
    beneficiary: await tokenFor(url, { role: 'beneficiary', personalId: LINKED.personalId, sub: 'fuzz-anh' }),
    otherBeneficiary: await tokenFor(url, { role: 'beneficiary', personalId: '048060000003', sub: 'fuzz-duc' }),
    ops: await tokenFor(url, { role: 'ops', sub: 'fuzz-ops' }),
  };
  const payoutProviderCode = '970436';
  // An account ending 5555: the sandbox provider accepts the transfer and leaves it SENT until a callback.
  await expectStatus(
    call('PUT', `/v1/accounts/${LINKED.personalId}`, tokens.beneficiary, { provider: { type: 'BANK', code: payoutProviderCode }, accountNumber: '1234565555', accountName: LINKED.fullName }),
    200,
    'link account',
  );
  const batch = (batchRef: string, itemCount: number, totalAmount: number, extra: Record<string, unknown> = {}) => ({
    batchRef,
    provinceCode: '79',
    programCode: 'SOCIAL_ALLOWANCE',
    period: '2026-01',
    control: { itemCount, totalAmount },
    ...extra,
  });
  const approved = await expectStatus(
    call('POST', '/v1/batches', tokens.province, batch('fuzz-approved', 1, 500_000, { payments: [{ paymentRef: 'FZ-1', ...LINKED, amount: 500_000 }] })),
    201,
    'create the batch to approve',
  );
  const approvedId = String(approved.batchId);
  await waitFor('verification', async () => ((await call('GET', `/v1/batches/${approvedId}`, tokens.province)).json.status === 'AWAITING_APPROVAL' ? true : undefined));
  await expectStatus(call('POST', `/v1/batches/${approvedId}/approve`, tokens.approver), 200, 'approve');
  const listed = await expectStatus(call('GET', `/v1/batches/${approvedId}/payments`, tokens.province), 200, 'list payments');
  const paymentId = String((listed.items as { paymentId: string }[])[0]!.paymentId);
  await waitFor('the transfer to be SENT', async () => ((await call('GET', `/v1/payments/${paymentId}`, tokens.province)).json.status === 'SENT' ? true : undefined));

  const open = await expectStatus(call('POST', '/v1/batches', tokens.province, batch('fuzz-open', 2, 1_000_000)), 201, 'create the open batch');
  const cancelled = await expectStatus(call('POST', '/v1/batches', tokens.province, batch('fuzz-cancelled', 1, 1_000)), 201, 'create the batch to cancel');
  await expectStatus(call('POST', `/v1/batches/${String(cancelled.batchId)}/cancel`, tokens.province), 200, 'cancel');
  const hanoi = await expectStatus(call('POST', '/v1/batches', tokens.otherProvince, { ...batch('fuzz-hanoi', 3, 3_000_000), provinceCode: '01' }), 201, 'create the other province batch');
  const page = await expectStatus(call('GET', '/v1/batches?limit=1', tokens.province), 200, 'list batches');
  if (typeof page.nextCursor !== 'string') throw new Error('fixture: expected a second page of batches');

  return {
    tokens,
    batchIds: { open: String(open.batchId), approved: approvedId, cancelled: String(cancelled.batchId), otherProvince: String(hanoi.batchId) },
    batchRefs: ['fuzz-open', 'fuzz-approved', 'fuzz-cancelled'],
    paymentId,
    linkedPersonalId: LINKED.personalId,
    linkedName: LINKED.fullName,
    otherPersonalId: '048060000003',
    deceasedPersonalId: '001048000002',
    unknownPersonalId: '079185000500',
    payoutProviderCode,
    providerSecret: sandbox.providerSecret,
    batchCursor: page.nextCursor,
  };
}

// ---------------------------------------------------------------------------
// Running a property

function preview(answer: FuzzAnswer): string {
  const text = answer.body.toString('utf8');
  return `${answer.status} ${answer.headers.get('content-type') ?? '(no content-type)'} ${text.length > 400 ? `${text.slice(0, 400)}...` : text}`;
}

async function check(request: FuzzRequest): Promise<void> {
  const started = performance.now();
  let answer: FuzzAnswer;
  try {
    answer = request.raw !== undefined ? await sendRaw(sandbox.port, request.raw) : await send(sandbox.url, request);
  } catch (error) {
    throw new Error(`the request failed on the client side (connection reset?): ${String((error as Error).cause ?? error)}\n${describeRequest(request)}`);
  } finally {
    stats.ms += performance.now() - started;
    stats.requests += 1;
    bump(stats.byRoute, request.operationId);
  }
  bump(stats.byStatus, answer.status);
  const perRoute = stats.byRouteStatus.get(request.operationId) ?? new Map<number, number>();
  stats.byRouteStatus.set(request.operationId, bump(perRoute, answer.status));
  const violation = contractViolation(request, answer);
  if (violation) throw new Error(`${violation}\n${describeRequest(request)}\nanswer: ${preview(answer)}`);
}

/**
 * Runs `requests` generated requests in `lanes` concurrent fast-check runs
 * (each shrinks its own counterexample), with a full store scan before and
 * after: every request of these properties must leave the store as it was.
 */
async function fuzz(name: string, index: number, arbitrary: fc.Arbitrary<FuzzRequest>, requests: number, lanes: number): Promise<void> {
  const before = await snapshotStore(store, sandbox.tableNames);
  const started = performance.now();
  stats.started ||= started;
  const counted = stats.requests;
  const perLane = Math.ceil(requests / lanes);
  const outcomes = await Promise.allSettled(
    Array.from({ length: lanes }, (_, lane) =>
      fc.assert(fc.asyncProperty(arbitrary, check), { seed: SEED + 1000 * index + lane, numRuns: perLane, timeout: 30_000, includeErrorInReport: true }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const sent = stats.requests - counted;
  console.log(`fuzz ${name}: ${sent} requests in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)} req/s), seeds ${SEED + 1000 * index}..${SEED + 1000 * index + lanes - 1}`);
  const after = await snapshotStore(store, sandbox.tableNames);
  const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [String((outcome.reason as Error).message ?? outcome.reason)] : []));
  expect(failures, failures.join('\n\n')).toEqual([]);
  expect(diffSnapshots(before, after), 'refused requests changed the store').toEqual([]);
}

// ---------------------------------------------------------------------------

beforeAll(async () => {
  const started = performance.now();
  // No reconciler run during the fuzzing (its first run is at start): its bookkeeping on a batch waiting for a
  // callback would show in "changes nothing" as a change no request made.
  sandbox = await startSandbox({ port: 0, repairIntervalMs: 24 * 3_600_000 });
  store = storeClient(sandbox.dynamoEndpoint);
  ctx = await createFixtures();
  const snapshot = await quiescentSnapshot();
  console.log(
    `fuzz: FUZZ_SEED=${SEED} FUZZ_RUNS=${TOTAL_REQUESTS} (mixed ${MIXED_REQUESTS}, csv ${CSV_REQUESTS}, raw ${RAW_REQUESTS}, large ${LARGE_REQUESTS}); sandbox and fixtures ready in ${((performance.now() - started) / 1000).toFixed(1)} s, ${countItems(snapshot)} items in the store`,
  );
}, 90_000);

afterAll(async () => {
  if (stats.requests > 0) {
    const statuses = [...stats.byStatus].sort(([a], [b]) => a - b).map(([status, count]) => `${status}:${count}`).join(' ');
    const byRoute = [...stats.byRoute]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([route, count]) => `  ${route} ${count}: ${[...(stats.byRouteStatus.get(route) ?? [])].sort(([a], [b]) => a - b).map(([status, n]) => `${status}:${n}`).join(' ')}`)
      .join('\n');
    const seconds = (performance.now() - stats.started) / 1000;
    console.log(
      `fuzz total: ${stats.requests} requests in ${seconds.toFixed(1)} s (${Math.round(stats.requests / seconds)} req/s, store scans included), seed ${SEED}; statuses ${statuses}\nby route and status:\n${byRoute}`,
    );
  }
  store?.destroy();
  await sandbox?.stop();
});

describe('fuzzing every route', () => {
  it('has a request generator for every route of the table, and nothing else', () => {
    const generated = Object.keys(routeFuzzers(ctx)).sort();
    expect(generated).toEqual(routes.map((route) => route.operationId).sort());
  });

  it(
    'never answers 5xx or outside the problem contract, refuses broken input and changes nothing: every route, every kind of input',
    async () => {
      const perRoute = Object.values(routeFuzzers(ctx));
      const arbitrary = fc.oneof(...perRoute.map((arbitrary) => ({ weight: 4, arbitrary })), { weight: 1, arbitrary: unroutedRequest(ctx) });
      await fuzz('every route', 1, arbitrary, MIXED_REQUESTS, LANES);
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'the same for CSV chunks: wrong headers, quotes, BOMs, CRLF, embedded line breaks, wrong column counts, bytes that are not UTF-8',
    async () => {
      await fuzz('csv chunks', 2, appendCsvRequest(ctx), CSV_REQUESTS, LANES);
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'the same for request heads written byte by byte: absolute and protocol-relative targets, bad authorities, dot segments, backslashes, repeated and non-ASCII headers, chunked bodies, and heads Node cannot parse',
    async () => {
      await fuzz('raw request heads', 3, rawRequest(ctx), RAW_REQUESTS, LANES);
    },
    PROPERTY_TIMEOUT_MS,
  );

  it('answers a broken request pipelined after a good one in order, and a body whose framing breaks under its own request id', async () => {
    // Prepare: a command read whole, then bytes Node's parser refuses, on one connection; and a chunked body with a size that is not hex.
    const good = JSON.stringify({ role: 'ops' });
    const pipelined = `POST /local/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${good.length}\r\n\r\n${good}GET /v1/health HTTP/1.1\r\nX-Broken header\r\n\r\n`;
    const badFraming = `POST /v1/batches HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${ctx.tokens.province}\r\nX-Request-Id: fuzz-framing-1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`;

    // Act
    const [first, second, ...more] = splitAnswers(await exchangeRaw(sandbox.port, Buffer.from(pipelined)));
    const framing = await sendRaw(sandbox.port, Buffer.from(badFraming));

    // Assess: the good request keeps its answer (it may have changed something), the broken one gets its own.
    expect(more).toEqual([]);
    expect(first?.status).toBe(200);
    expect(second?.status).toBe(400);
    expect(second?.headers.get('x-request-id')).not.toBe(first?.headers.get('x-request-id'));
    expect(JSON.parse(second!.body.toString('utf8'))).toMatchObject({ code: 'VALIDATION_FAILED', requestId: second?.headers.get('x-request-id') });
    expect(framing.status).toBe(400);
    expect(framing.headers.get('x-request-id')).toBe('fuzz-framing-1');
    expect(JSON.parse(framing.body.toString('utf8'))).toMatchObject({ code: 'VALIDATION_FAILED', requestId: 'fuzz-framing-1' });
  });

  it(
    'the same for large input: thousands of items and rows, megabyte strings, deep and wide JSON, bodies over 6 MB, long ids and queries',
    async () => {
      await fuzz('large input', 4, largeRequest(ctx), LARGE_REQUESTS, LARGE_LANES);
    },
    PROPERTY_TIMEOUT_MS,
  );

  it('sent at least FUZZ_RUNS requests, to every route of the table', () => {
    const uncovered = routes.filter((route) => (stats.byRoute.get(route.operationId) ?? 0) === 0).map((route) => route.operationId);
    expect(uncovered, 'routes no request reached').toEqual([]);
    expect(stats.requests).toBeGreaterThanOrEqual(TOTAL_REQUESTS);
    console.log(`fuzz: ${stats.requests} requests, ${(stats.ms / stats.requests).toFixed(1)} ms mean latency`);
  });
});
