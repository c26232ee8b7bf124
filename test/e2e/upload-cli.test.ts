import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPaymentsCsv } from '../../bin/upload/csv-format.js';
import { statePathFor } from '../../bin/upload/state.js';
import { syntheticPayments, type SyntheticPayment } from '../../bench/synthetic.js';
import { startContractProxy, type ContractProxy } from '../support/contract-proxy.js';
import { startLocalServer, tokenFor, type RunningServer } from '../support/local-server.js';

/**
 * The uploader as an operator runs it (a child process, `node --import tsx
 * bin/upload.ts`), against the real local server (`local/main.ts`): upload,
 * rerun, and a run killed mid-upload then finished by a rerun. The uploader
 * talks through a proxy that checks every answer against openapi.json.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const SEALED = ['SUBMITTED', 'AWAITING_APPROVAL'];

let server: RunningServer;
let proxy: ContractProxy;
let token: string;
let directory: string;

beforeAll(async () => {
  server = await startLocalServer({ LOCAL_QUIET: '1' });
  proxy = await startContractProxy(server.url);
  token = await tokenFor(server.url, { role: 'province', provinceCode: '79' });
  directory = await mkdtemp(join(tmpdir(), 'upload-e2e-'));
});

afterAll(async () => {
  await proxy?.stop();
  expect(proxy?.violations ?? [], 'answers to the uploader off openapi.json').toEqual([]);
  await server?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function startCli(args: string[]): { child: ChildProcess; finished: Promise<Finished> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/upload.ts', ...args], {
    cwd: root,
    env: { ...process.env, SP_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  const finished = new Promise<Finished>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, finished };
}

const uploadArgs = (file: string, period: string, chunkSize: number) => [
  file, '--program', 'SOCIAL_ALLOWANCE', '--period', period, '--province', '79', '--url', proxy.url, '--chunk-size', String(chunkSize),
];

async function writeCsv(name: string, payments: SyntheticPayment[]) {
  const file = join(directory, name);
  await writeFile(file, formatPaymentsCsv(payments));
  return { file, itemCount: payments.length, totalAmount: payments.reduce((sum, payment) => sum + payment.amount, 0) };
}

interface BatchBody {
  batchId: string;
  batchRef: string;
  status: string;
  control: { itemCount: number; totalAmount: number };
  received: { itemCount: number; totalAmount: number };
  counts: Record<string, number>;
}

async function getBatch(batchId: string): Promise<BatchBody> {
  const response = await fetch(`${server.url}/v1/batches/${batchId}`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as BatchBody;
}

async function batchesOf(period: string): Promise<BatchBody[]> {
  const response = await fetch(`${server.url}/v1/batches?period=${period}&limit=1000`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: BatchBody[] }).items;
}

const batchIdIn = (stdout: string) => /^batchId {4}(\S+)$/m.exec(stdout)?.[1];
const sum = (record: Record<string, number>) => Object.values(record).reduce((total, value) => total + value, 0);

describe('upload CLI against the local server', () => {
  it('uploads a file in chunks and seals; a rerun changes nothing and only reports', async () => {
    // Prepare
    const payments = syntheticPayments({ count: 3_000, seed: 101 });
    const { file, itemCount, totalAmount } = await writeCsv('three-thousand.csv', payments);

    // Act
    const first = await startCli(uploadArgs(file, '2026-10', 500)).finished;

    // Assess
    expect(first.stderr).not.toMatch(/error/);
    expect(first.code).toBe(0);
    const batchId = batchIdIn(first.stdout);
    expect(batchId).toBeDefined();
    expect(first.stdout).toMatch(/3,000 rows sent in [\d.]+ s \([\d,]+ rows\/s\), 8 HTTP requests \(0 retries\)/); // create, 6 chunks, seal
    const batch = await getBatch(batchId!);
    expect(SEALED).toContain(batch.status);
    expect(batch.control).toEqual({ itemCount, totalAmount });
    expect(batch.received).toEqual({ itemCount, totalAmount });
    expect(sum(batch.counts)).toBe(itemCount);
    expect(totalAmount).toBeGreaterThan(2 ** 31);
    for (const payment of payments.slice(0, 200)) {
      expect(first.stdout + first.stderr).not.toContain(payment.personalId);
      expect(first.stdout + first.stderr).not.toContain(payment.fullName);
    }

    // Act: the same command again
    const second = await startCli(uploadArgs(file, '2026-10', 500)).finished;

    // Assess
    expect(second.code).toBe(0);
    expect(batchIdIn(second.stdout)).toBe(batchId);
    expect(second.stdout).toMatch(/already sealed; nothing to upload/);
    expect(second.stdout).toMatch(/no rows sent, 1 HTTP request \(0 retries\)/);
    const again = await getBatch(batchId!);
    expect(again.received).toEqual({ itemCount, totalAmount });
    expect(sum(again.counts)).toBe(itemCount);
    expect((await batchesOf('2026-10')).filter((listed) => listed.batchRef === batch.batchRef)).toHaveLength(1);
  });

  it('finishes a run killed mid-upload when run again, storing every row exactly once', async () => {
    // Prepare: 40 chunks, so that the kill lands well before the end
    const { file, itemCount, totalAmount } = await writeCsv('killed.csv', syntheticPayments({ count: 20_000, seed: 202 }));
    const statePath = statePathFor(file);
    const { child, finished } = startCli(uploadArgs(file, '2026-09', 500));

    // Act: SIGKILL once the server has confirmed two chunks (a third is most likely in flight)
    let state: { batchId: string; confirmed: number[] } | undefined;
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline) {
      state = await readFile(statePath, 'utf8').then((text) => JSON.parse(text) as typeof state, () => undefined);
      if (state && state.confirmed.length >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    child.kill('SIGKILL');
    const killed = await finished;

    // Assess: it died part way, leaving the batch open
    expect(killed.signal).toBe('SIGKILL');
    expect(state?.confirmed.length).toBeGreaterThanOrEqual(2);
    const batchId = state!.batchId;
    const partial = await getBatch(batchId);
    expect(partial.status).toBe('OPEN');
    expect(partial.received.itemCount).toBeLessThan(itemCount);
    expect(partial.received.itemCount).toBeGreaterThanOrEqual(state!.confirmed.length * 500);

    // Act: run it again
    const rerun = await startCli(uploadArgs(file, '2026-09', 500)).finished;

    // Assess
    expect(rerun.stderr).not.toMatch(/error/);
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toMatch(/resuming: [\d,]+ of 20,000 rows already confirmed/);
    expect(batchIdIn(rerun.stdout)).toBe(batchId);
    const batch = await getBatch(batchId);
    expect(SEALED).toContain(batch.status);
    expect(batch.received).toEqual({ itemCount, totalAmount });
    expect(sum(batch.counts)).toBe(itemCount);
    expect((await batchesOf('2026-09')).filter((listed) => listed.batchRef === batch.batchRef)).toHaveLength(1);
  });
});
