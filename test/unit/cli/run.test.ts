import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../../bin/upload/args.js';
import { formatPaymentsCsv } from '../../../bin/upload/csv-format.js';
import { deriveBatchRef, readPaymentsFile } from '../../../bin/upload/payments-file.js';
import { runUpload } from '../../../bin/upload/run.js';
import { statePathFor } from '../../../bin/upload/state.js';
import { syntheticPayments, type SyntheticPayment } from '../../../bench/synthetic.js';
import { startFakeApi, type FakeApi, type FakeBatch } from './fake-api.js';

const ROWS = 1_234;
const CHUNK = 200; // 7 chunks, the last one of 34 rows
const payments: SyntheticPayment[] = syntheticPayments({ count: ROWS, seed: 42 });
const csv = formatPaymentsCsv(payments);
const file = readPaymentsFile(csv);

let api: FakeApi;
let directory: string;
let csvPath: string;

beforeAll(async () => {
  api = await startFakeApi();
  directory = await mkdtemp(join(tmpdir(), 'upload-run-'));
});
beforeEach(async () => {
  csvPath = join(directory, `batch-${Math.random().toString(36).slice(2)}.csv`);
  await writeFile(csvPath, csv);
});
afterEach(() => {
  api.fault = undefined;
  api.requests.length = 0;
  api.batches.clear();
});
afterAll(async () => {
  await api.close();
  await rm(directory, { recursive: true, force: true });
});

interface Run {
  code: number;
  out: string;
  err: string;
}

async function upload(extra: string[] = [], options: { tty?: boolean } = {}): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runUpload(
    [csvPath, '--program', 'SOCIAL_ALLOWANCE', '--period', '2026-11', '--province', '79', '--url', api.url, '--chunk-size', String(CHUNK), ...extra],
    {
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (err += text), isTTY: options.tty ?? false, columns: 120 },
      env: { SP_TOKEN: api.token },
      now: () => performance.now(),
      sleep: async () => undefined,
      policy: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5, timeoutMs: 5_000 },
    },
  );
  return { code, out, err };
}

const onlyBatch = (): FakeBatch => {
  expect(api.batches.size).toBe(1);
  return [...api.batches.values()][0]!;
};
const chunkRequests = () => api.requests.filter((request) => request.path.endsWith('/payments'));

function expectComplete(batch: FakeBatch) {
  expect(batch.status).toBe('SUBMITTED');
  expect(batch.payments.size).toBe(ROWS);
  expect([...batch.payments.values()]).toEqual(expect.arrayContaining(payments));
}

function expectNoPersonalData(run: Run) {
  const text = run.out + run.err;
  for (const payment of payments.slice(0, 300)) {
    expect(text).not.toContain(payment.personalId);
    expect(text).not.toContain(payment.fullName);
  }
}

const exists = (path: string) => access(path).then(() => true, () => false);

describe('upload against a fake API', () => {
  it('creates the batch, uploads deterministic chunks, seals and prints the summary and the figures', async () => {
    // Act
    const run = await upload(['--concurrency', '3']);

    // Assess
    expect(run.code).toBe(EXIT.OK);
    const batch = onlyBatch();
    expectComplete(batch);
    expect(batch.batchRef).toBe(deriveBatchRef({ provinceCode: '79', programCode: 'SOCIAL_ALLOWANCE', period: '2026-11', digest: file.digest }));
    expect(batch.control).toEqual(file.control);
    expect(chunkRequests()).toHaveLength(7);
    expect(api.requests).toHaveLength(9); // create, 7 chunks, seal
    expect(run.out).toContain(`batchId    ${batch.batchId}`);
    expect(run.out).toMatch(/^status {5}SUBMITTED$/m);
    expect(run.out).toMatch(/^received {3}1,234 payments, [\d,]+ VND \(matches control\)$/m);
    expect(run.out).toMatch(/^done in [\d.]+ s: 1,234 rows sent in [\d.]+ s \([\d,]+ rows\/s\), 9 HTTP requests \(0 retries\)$/m);
    expect(run.err).toMatch(/^progress: 100% 1,234\/1,234 rows/m);
    expect(run.err).not.toContain('\r');
    expect(await exists(statePathFor(csvPath))).toBe(false);
    expectNoPersonalData(run);
  });

  it('only prints the summary when run again after success', async () => {
    await upload();
    api.requests.length = 0;

    const again = await upload();

    expect(again.code).toBe(EXIT.OK);
    expect(again.out).toMatch(/already sealed; nothing to upload/);
    expect(again.out).toMatch(/^status {5}SUBMITTED$/m);
    expect(api.requests.map((request) => request.path)).toEqual(['/v1/batches']);
    expectComplete(onlyBatch());
  });

  it('stops with exit 4 when the server keeps failing, then resumes, skipping the chunks the server confirmed', async () => {
    // Prepare: the fourth chunk request fails with 503 every time
    let chunks = 0;
    api.fault = (request) => (request.path.endsWith('/payments') && ++chunks >= 4 ? { status: 503 } : undefined);

    // Act
    const first = await upload(['--concurrency', '1']);

    // Assess
    expect(first.code).toBe(EXIT.UNAVAILABLE);
    expect(first.err).toMatch(/POST \/v1\/batches\/B\d+\/payments answered 503 INTERNAL after every retry/);
    expect(first.err).toMatch(/in chunk 4 \(file lines 602-801\)/);
    expect(first.err).toMatch(/^retry: POST .* failed \(HTTP 503\); attempt 2/m);
    const state = JSON.parse(await readFile(statePathFor(csvPath), 'utf8')) as { confirmed: number[] };
    expect(state.confirmed).toEqual([0, 1, 2]);
    expect(onlyBatch().payments.size).toBe(600);

    // Act: the server is well again
    api.fault = undefined;
    api.requests.length = 0;
    const second = await upload(['--concurrency', '1']);

    // Assess
    expect(second.code).toBe(EXIT.OK);
    expect(second.err).toMatch(/resuming: 600 of 1,234 rows already confirmed/);
    expect(chunkRequests()).toHaveLength(4);
    expectComplete(onlyBatch());
    expect(second.out).toMatch(/634 rows sent/);
  });

  it('finishes correctly when an answer was lost after the server stored a chunk', async () => {
    let chunks = 0;
    api.fault = (request) => (request.path.endsWith('/payments') && ++chunks === 2 ? 'drop-after' : undefined);

    const run = await upload();

    expect(run.code).toBe(EXIT.OK);
    expect(run.out).toMatch(/10 HTTP requests \(1 retry\)/);
    expectComplete(onlyBatch());
  });

  it('resends everything when the record of an earlier run claims more than the server holds', async () => {
    // Prepare: a first run stored every chunk, then could not seal
    api.fault = (request) => (request.path.endsWith('/seal') ? { status: 503 } : undefined);
    expect((await upload()).code).toBe(EXIT.UNAVAILABLE);
    const batch = onlyBatch();
    for (const ref of [...batch.payments.keys()].slice(0, 700)) batch.payments.delete(ref); // the server lost them (say, a restore)
    api.fault = undefined;
    api.requests.length = 0;

    // Act
    const run = await upload();

    // Assess
    expect(run.code).toBe(EXIT.OK);
    expect(run.err).toMatch(/records more rows than the server holds; ignoring it/);
    expect(chunkRequests()).toHaveLength(7);
    expectComplete(onlyBatch());
  });

  it('resends the skipped chunks when sealing finds the totals short, then seals', async () => {
    // Prepare: an open batch holding chunk 1, and a state file that wrongly says chunk 0 is stored
    const batchRef = deriveBatchRef({ provinceCode: '79', programCode: 'SOCIAL_ALLOWANCE', period: '2026-11', digest: file.digest });
    const batch: FakeBatch = {
      batchId: 'B0100',
      batchRef,
      provinceCode: '79',
      programCode: 'SOCIAL_ALLOWANCE',
      period: '2026-11',
      status: 'OPEN',
      control: file.control,
      payments: new Map(payments.slice(CHUNK, 2 * CHUNK).map((payment) => [payment.paymentRef, payment])),
    };
    api.batches.set(batch.batchId, batch);
    await writeFile(statePathFor(csvPath), JSON.stringify({ version: 1, batchRef, batchId: batch.batchId, digest: file.digest, chunkSize: CHUNK, confirmed: [0] }));
    api.requests.length = 0;

    // Act
    const run = await upload();

    // Assess
    expect(run.code).toBe(EXIT.OK);
    expect(run.err).toMatch(/the server's totals do not match; resending the 1 chunk/);
    expect(api.requests.map((request) => request.path.replace(/B\d+/, 'B'))).toEqual([
      '/v1/batches',
      ...Array<string>(6).fill('/v1/batches/B/payments'),
      '/v1/batches/B/seal',
      '/v1/batches/B/payments',
      '/v1/batches/B/seal',
    ]);
    expectComplete(onlyBatch());
  });

  it('exits 3 and names the file lines when the server refuses a chunk, without personal data', async () => {
    // Prepare: an earlier upload under this batchRef stored one paymentRef with another amount
    const run0 = await upload();
    const batch = onlyBatch();
    batch.status = 'OPEN';
    const changed = payments[450]!;
    batch.payments.set(changed.paymentRef, { ...changed, amount: changed.amount + 1_000 });
    await rm(statePathFor(csvPath), { force: true });
    expect(run0.code).toBe(EXIT.OK);

    // Act
    const run = await upload(['--concurrency', '1']);

    // Assess
    expect(run.code).toBe(EXIT.SERVER_REFUSED);
    expect(run.err).toMatch(/answered 409 CONFLICT: A paymentRef is already stored with different content\./);
    expect(run.err).toMatch(/in chunk 3 \(file lines 402-601\)/);
    expect(run.err).toMatch(/^ {2}line 452: paymentRef is stored with different content\.$/m);
    expect(run.err).toMatch(/Payments cannot be changed once uploaded/);
    expect(run.err).toMatch(/request id fake/);
    expectNoPersonalData(run);
  });

  it('exits 3 when the batchRef is used by another batch', async () => {
    await upload(['--batch-ref', 'HCM-2026-11']);
    await writeFile(csvPath, formatPaymentsCsv(payments.slice(0, 10)));

    const run = await upload(['--batch-ref', 'HCM-2026-11']);

    expect(run.code).toBe(EXIT.SERVER_REFUSED);
    expect(run.err).toMatch(/answered 409 BATCH_REF_CONFLICT/);
    expect(run.err).toMatch(/upload it under a new --batch-ref/);
  });

  it('exits 3 for a cancelled batch and for a refused token', async () => {
    await upload();
    onlyBatch().status = 'CANCELLED';
    const cancelled = await upload();
    expect(cancelled.code).toBe(EXIT.SERVER_REFUSED);
    expect(cancelled.err).toMatch(/was cancelled/);

    let err = '';
    const code = await runUpload([csvPath, '--program', 'SOCIAL_ALLOWANCE', '--period', '2026-11', '--province', '79', '--url', api.url], {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (err += text) },
      env: { SP_TOKEN: 'wrong-token' },
      now: () => performance.now(),
    });
    expect(code).toBe(EXIT.SERVER_REFUSED);
    expect(err).toMatch(/answered 401 UNAUTHENTICATED/);
    expect(err).toMatch(/get a new one/);
    expect(err).not.toContain('wrong-token');
  });

  it('exits 4 when nothing answers', async () => {
    const closed = await startFakeApi();
    await closed.close();

    const run = await upload(['--url', closed.url]);

    expect(run.code).toBe(EXIT.UNAVAILABLE);
    expect(run.err).toMatch(/no answer after 3 attempts \(ECONNREFUSED\)/);
    expect(run.out).toMatch(/3 HTTP requests \(2 retries\)/);
  });

  it('draws a bar on a terminal', async () => {
    const run = await upload([], { tty: true });

    expect(run.code).toBe(EXIT.OK);
    const escape = String.fromCharCode(27);
    expect(run.err).toContain(`\r${escape}[Kuploading [`);
    expect(run.err).toMatch(/\[#+\] 100% 1,234\/1,234 rows +[\d,]+ rows\/s +ETA 0\.0 s/);
    expect(run.err.endsWith('\n')).toBe(true);
  });
});
