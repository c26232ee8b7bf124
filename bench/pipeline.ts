/**
 * The pipeline benchmark (`npm run bench`): N synthetic payments through the
 * whole system on the local stack, from batch creation to COMPLETED, with the
 * real handlers and adapters against the embedded store (dynalite) and queues
 * (fauxqs), all in this process.
 *
 *   npm run bench                              # 20,000 payments
 *   npm run bench -- --payments 100000
 *   npx tsx bench/pipeline.ts --payments 500   # what CI runs (no timing assertions)
 *
 * Setup (excluded from the pipeline figures, timed on its own): start the
 * sandbox, register the synthetic people in the sandbox population register
 * (POST /local/population, 10,000 a request), link a bank account for every
 * person but about 1% (PUT /v1/accounts/{personalId}, a province with consent).
 * Account numbers end in ordinary digits (PAID at once) except 1 in 200 that
 * ends in 0000 (FAILED ACCOUNT_CLOSED); none ends in 9999, 9990 or 5555, so the
 * batch completes without retries running out or callbacks.
 *
 * Pipeline, timed per stage:
 * - upload: create the batch with control totals, POST chunks of 5,000 as CSV
 *   one after the other, seal;
 * - verify: from the seal until the batch is AWAITING_APPROVAL;
 * - disburse: approval (by another official) until the batch is COMPLETED
 *   (the ~1% without an account stay ON_HOLD, which does not keep it open).
 * The batch is polled every 200 ms (GET /v1/batches/{id}): a stage's end is
 * seen up to 200 ms late, and the DynamoDB calls of those polls are measured
 * and left out of the figures.
 *
 * Counted per stage and per payment: DynamoDB API calls by operation and by
 * request kind (an SDK middleware on every client the app creates, see
 * shared/adapters/dynamodb/client.ts), items written, the capacity units the
 * store reports as consumed, and the requests in flight; SQS API calls by
 * action as the local SQS server received them (the pollers' ReceiveMessage and
 * DeleteMessageBatch included, as Lambda's event source mapping would make
 * them); provider calls (transfers in the sandbox provider's ledger); peak RSS
 * of the process (sampled every 100 ms); per Lambda function, invocations and
 * handler milliseconds (local/sandbox.ts timeFunctions). Printed, and written
 * to bench/results/latest.json (or --out).
 *
 * Then, on the same store, the floors (bench/floors.ts): (a) the N payment
 * items written once with BatchWriteItem, (b) the store-bound time of the
 * pipeline's request mix, both at the pipeline's mean DynamoDB concurrency;
 * and, once the sandbox has stopped, the bundles (bench/bundles.ts): size and
 * module initialisation time of every function next to a hello-world bundle.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatPaymentsCsv } from '../bin/upload/csv-format.js';
import { sumAmounts } from '../shared/domain/money.js';
import { MAX_CITIZENS_PER_REQUEST } from '../shared/domain/schemas.js';
import {
  addDynamo,
  addSqs,
  dynamoBetween,
  mebibytes,
  meanInFlight,
  perPayment,
  ratio,
  sampleMemory,
  sqsBetween,
  onTables,
  renameTables,
  withoutObserver,
  type Counts,
  type DynamoFigures,
  type ObserverCost,
  type Snapshot,
  type SqsFigures,
} from './pipeline-metrics.js';
import { measureBundles, printBundles, type BundlesResult } from './bundles.js';
import { startProfiler } from './cpu-profile.js';
import { measureFloors, type FloorsResult } from './floors.js';
import { citizensOf, syntheticPayments, type SyntheticPayment } from './synthetic.js';

const USAGE = `Usage: npx tsx bench/pipeline.ts [--payments N] [--seed N] [--link-concurrency N] [--stall-seconds N] [--out FILE] [--cpu-profile DIR]
                                 [--floor-sample N] [--floor-loop-ms N] [--bundle-runs N]
  --payments          payments in the batch (default 20000)
  --seed              synthetic data seed (default 7)
  --link-concurrency  account links in flight during setup (default 16)
  --stall-seconds     give up when the batch makes no progress this long (default 120)
  --out               results file (default bench/results/latest.json)
  --cpu-profile       write a CPU profile per stage to DIR (<stage>.cpuprofile) and add self time by package to the results
  --floor-sample      requests per floor loop at most (default min(payments, 5000))
  --floor-loop-ms     time limit of each floor loop (default 3000)
  --bundle-runs       fresh processes per bundle for the init time median (default 10; 0 leaves bundles out)`;

const CHUNK_SIZE = 5_000;
const POLL_MS = 200;
const PROVINCE = '79';
const PROGRAM = 'SOCIAL_ALLOWANCE';
const PERIOD = '2026-11';
const BANK = { type: 'BANK', code: '970436' } as const;

const benchDir = dirname(fileURLToPath(import.meta.url));

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function wholeNumber(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(value) || value < min) fail(`--${name} must be a whole number >= ${min}.`);
  return value;
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      payments: { type: 'string' },
      seed: { type: 'string' },
      'link-concurrency': { type: 'string' },
      'stall-seconds': { type: 'string' },
      out: { type: 'string' },
      'cpu-profile': { type: 'string' },
      'floor-sample': { type: 'string' },
      'floor-loop-ms': { type: 'string' },
      'bundle-runs': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }));
} catch (error) {
  fail((error as Error).message);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const options = {
  payments: wholeNumber('payments', values.payments, 20_000),
  seed: wholeNumber('seed', values.seed, 7),
  linkConcurrency: wholeNumber('link-concurrency', values['link-concurrency'], 16),
  stallSeconds: wholeNumber('stall-seconds', values['stall-seconds'], 120),
  out: values.out ?? `${benchDir}/results/latest.json`,
  cpuProfile: values['cpu-profile'],
  floorSample: values['floor-sample'] === undefined ? undefined : wholeNumber('floor-sample', values['floor-sample'], 0),
  floorLoopMs: wholeNumber('floor-loop-ms', values['floor-loop-ms'], 3_000),
  bundleRuns: wholeNumber('bundle-runs', values['bundle-runs'], 10, 0),
};

// Everything lives in this process: about 35 KB per payment measured at 10,000 (payment, person, account,
// entitlement and ledger items in dynalite, with its indexes), the store's share in its worker thread's
// heap, which gets the same limit as the main one (local/dynamodb.ts). Above Node's default heap limit
// (about 4 GB here; 100,000 payments need more), run again with a larger one.
const neededHeapMb = Math.ceil(600 + options.payments * 0.05);
if (neededHeapMb > getHeapStatistics().heap_size_limit / 1_048_576 && process.env.BENCH_HEAP_RAISED !== '1') {
  console.log(`pipeline bench: ${options.payments.toLocaleString('en')} payments need about ${neededHeapMb} MB of heap: running with --max-old-space-size=${neededHeapMb}`);
  const child = spawn(process.execPath, [...process.execArgv, `--max-old-space-size=${neededHeapMb}`, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_HEAP_RAISED: '1' },
  });
  process.once('SIGINT', () => child.kill('SIGINT'));
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  process.exit(code ?? (signal ? 1 : 0));
}

// Before any module of the sandbox or the AWS SDK loads: quiet logs, and the DynamoDB request counter on.
process.env.LOG_LEVEL ??= 'ERROR';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // Node 20 here: the SDK's notice, once per run, is noise
process.env.DYNAMODB_REQUEST_COUNTER = '1';
const { startSandbox } = await import('../local/sandbox.js');
const { createDocumentClient, dynamoRequestCounts, resetDynamoRequestCounts } = await import('../shared/adapters/dynamodb/client.js');
const { ScanCommand } = await import('@aws-sdk/lib-dynamodb');
const { keys: itemKeys } = await import('../shared/adapters/dynamodb/keys.js');

// ---------------------------------------------------------------------------
// Who gets which account

type AccountPlan = 'none' | 'closed' | 'paid';

/** About 1% have no account (ON_HOLD), 0.5% an account ending 0000 (FAILED ACCOUNT_CLOSED), the rest are PAID. */
function accountPlan(index: number): AccountPlan {
  if (index % 100 === 50) return 'none';
  if (index % 200 === 17) return 'closed';
  return 'paid';
}

/** 14 digits, unique per person; ends in 7xx3 (never a sandbox provider's special suffix) or 0000. */
function accountNumber(index: number, plan: AccountPlan): string {
  const body = `10${String(index).padStart(8, '0')}`;
  return plan === 'closed' ? `${body}0000` : `${body}7${String(index % 100).padStart(2, '0')}3`;
}

// ---------------------------------------------------------------------------
// HTTP

interface Batch {
  batchId: string;
  status: string;
  counts: Record<string, number>;
  amounts: Record<string, number>;
  control: { itemCount: number; totalAmount: number };
  received: { itemCount: number; totalAmount: number };
}

class ApiError extends Error {}

function client(baseUrl: string) {
  return async function call<T>(method: string, path: string, request: { token?: string; json?: unknown; csv?: string } = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (request.token) headers.authorization = `Bearer ${request.token}`;
    let body: string | undefined;
    if (request.csv !== undefined) {
      headers['content-type'] = 'text/csv; charset=utf-8';
      body = request.csv;
    } else if (request.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(request.json);
    }
    const response = await fetch(baseUrl + path, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    if (response.status < 200 || response.status > 299) {
      // The path only: it may hold a personal ID (/v1/accounts/{id}), which the problem never needs to repeat.
      throw new ApiError(`${method} ${path.replace(/\/v1\/accounts\/.*/, '/v1/accounts/…')} answered ${response.status}: ${text.slice(0, 500)}`);
    }
    return (text === '' ? undefined : JSON.parse(text)) as T;
  };
}

async function inParallel<T>(items: readonly T[], limit: number, run: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await run(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => Math.round(ms) / 1000;
const rate = (count: number, ms: number) => (ms <= 0 ? 0 : Math.round((count / ms) * 1000 * 10) / 10);

// ---------------------------------------------------------------------------
// Run

const memory = sampleMemory();
const started = performance.now();
console.log(
  `pipeline bench: ${options.payments.toLocaleString('en')} payments (seed ${options.seed}), node ${process.version}, ${os.cpus().length} CPU(s), ` +
    `heap limit ${mebibytes(getHeapStatistics().heap_size_limit)} MB`,
);

const sandbox = await startSandbox({ port: 0, timeFunctions: true });
const sandboxStartMs = performance.now() - started;
const api = client(sandbox.url);
let pollsTotal = 0;
let stopped = false;
const stopSandbox = async () => {
  if (stopped) return;
  stopped = true;
  await sandbox.stop();
};
process.once('SIGINT', () => void stopSandbox().finally(() => process.exit(130)));

try {
  const token = async (body: Record<string, unknown>) => (await api<{ accessToken: string }>('POST', '/local/token', { json: body })).accessToken;
  const maker = await token({ role: 'province', provinceCode: PROVINCE, sub: 'bench-maker' });
  const checker = await token({ role: 'approver', provinceCode: PROVINCE, sub: 'bench-checker' });

  // --- setup: people and accounts (not part of the pipeline figures)
  const payments: SyntheticPayment[] = syntheticPayments({ count: options.payments, seed: options.seed, provinceCode: PROVINCE, refPrefix: `BENCH${options.seed}` });
  const control = { itemCount: payments.length, totalAmount: sumAmounts(payments.map((payment) => payment.amount)) };
  const plans = payments.map((_, index) => accountPlan(index));
  const expected = {
    onHold: plans.filter((plan) => plan === 'none').length,
    failed: plans.filter((plan) => plan === 'closed').length,
    paid: plans.filter((plan) => plan === 'paid').length,
  };

  const populationStart = performance.now();
  for (let from = 0; from < payments.length; from += MAX_CITIZENS_PER_REQUEST) {
    await api('POST', '/local/population', { json: { citizens: citizensOf(payments.slice(from, from + MAX_CITIZENS_PER_REQUEST), PROVINCE) } });
  }
  const populationMs = performance.now() - populationStart;
  console.log(`setup      population: ${payments.length.toLocaleString('en')} people in ${seconds(populationMs)} s`);

  const linkStart = performance.now();
  let linked = 0;
  let lastLinkReport = linkStart;
  await inParallel(payments, options.linkConcurrency, async (payment, index) => {
    const plan = plans[index];
    if (plan === undefined || plan === 'none') return;
    await api('PUT', `/v1/accounts/${payment.personalId}`, {
      token: maker,
      json: { provider: BANK, accountNumber: accountNumber(index, plan), accountName: payment.fullName, consentRef: `BENCH-CONSENT-${index}` },
    });
    linked++;
    if (performance.now() - lastLinkReport > 10_000) {
      lastLinkReport = performance.now();
      console.log(`setup      accounts: ${linked.toLocaleString('en')} linked, ${rate(linked, lastLinkReport - linkStart)}/s`);
    }
  });
  const linkMs = performance.now() - linkStart;
  console.log(`setup      accounts: ${linked.toLocaleString('en')} linked in ${seconds(linkMs)} s (${rate(linked, linkMs)}/s), ${expected.onHold} people without one`);
  const setupDynamo = dynamoRequestCounts();

  // --- pipeline
  let profiler: Awaited<ReturnType<typeof startProfiler>> | undefined;
  const cpuByStage: Record<string, Record<string, number>> = {};
  if (options.cpuProfile) {
    await mkdir(options.cpuProfile, { recursive: true });
    profiler = await startProfiler(options.cpuProfile, fileURLToPath(new URL('../', import.meta.url)));
  }
  resetDynamoRequestCounts();
  memory.mark();
  const snapshot = (): Snapshot & { functions: ReturnType<typeof sandbox.functionStats>; cpu: NodeJS.CpuUsage } => ({
    at: performance.now(),
    cpu: process.cpuUsage(),
    dynamo: dynamoRequestCounts(),
    sqs: sandbox.queueStats(),
    functions: sandbox.functionStats(),
  });

  /** Polls the batch until `done`; throws when it ends elsewhere or stops moving for stallSeconds. */
  async function waitFor(batchId: string, stage: string, done: (batch: Batch) => boolean, dead: (batch: Batch) => boolean): Promise<{ batch: Batch; polls: number }> {
    let polls = 0;
    let lastChange = performance.now();
    let lastKey = '';
    let lastReport = performance.now();
    const since = performance.now();
    for (;;) {
      const batch = await api<Batch>('GET', `/v1/batches/${batchId}`, { token: maker });
      polls++;
      pollsTotal++;
      if (done(batch)) return { batch, polls };
      if (dead(batch)) throw new Error(`${stage}: the batch is ${batch.status} (${JSON.stringify(batch.counts)})`);
      const key = `${batch.status} ${JSON.stringify(batch.counts)}`;
      const now = performance.now();
      if (key !== lastKey) {
        lastKey = key;
        lastChange = now;
      } else if (now - lastChange > options.stallSeconds * 1000) {
        throw new Error(`${stage}: no progress for ${options.stallSeconds} s: ${key}`);
      }
      if (now - lastReport > 10_000) {
        lastReport = now;
        const counts = Object.entries(batch.counts).filter(([, count]) => count > 0).map(([status, count]) => `${status} ${count}`).join(', ');
        console.log(`${stage.padEnd(10)} ${seconds(now - since)} s: ${batch.status}, ${counts}`);
      }
      await sleep(POLL_MS);
    }
  }

  // upload
  await profiler?.start();
  const s0 = snapshot();
  const created = await api<Batch>('POST', '/v1/batches', {
    token: maker,
    json: { batchRef: `bench-${Date.now().toString(36)}`, provinceCode: PROVINCE, programCode: PROGRAM, period: PERIOD, control },
  });
  const batchId = created.batchId;
  let chunks = 0;
  for (let from = 0; from < payments.length; from += CHUNK_SIZE) {
    await api('POST', `/v1/batches/${batchId}/payments`, { token: maker, csv: formatPaymentsCsv(payments.slice(from, from + CHUNK_SIZE)) });
    chunks++;
  }
  const sealed = await api<Batch>('POST', `/v1/batches/${batchId}/seal`, { token: maker });
  const s1 = snapshot();
  const uploadPeak = memory.mark();
  if (profiler) {
    cpuByStage.upload = await profiler.stop('upload');
    await profiler.start();
  }
  console.log(`upload     ${chunks} chunk(s) and seal in ${seconds(s1.at - s0.at)} s: ${sealed.status}`);

  // verify
  const verified = await waitFor(
    batchId,
    'verify',
    (batch) => batch.status === 'AWAITING_APPROVAL',
    (batch) => batch.status === 'CANCELLED',
  );
  const s2 = snapshot();
  const verifyPeak = memory.mark();
  if (profiler) {
    cpuByStage.verify = await profiler.stop('verify');
    await profiler.start();
  }
  console.log(`verify     ${seconds(s2.at - s1.at)} s: ${verified.batch.status}, VERIFIED ${verified.batch.counts.VERIFIED ?? 0}, REJECTED ${verified.batch.counts.REJECTED ?? 0}`);

  // disburse
  await api('POST', `/v1/batches/${batchId}/approve`, { token: checker });
  const completed = await waitFor(
    batchId,
    'disburse',
    (batch) => batch.status === 'COMPLETED',
    (batch) => batch.status === 'CANCELLED',
  );
  const s3 = snapshot();
  const disbursePeak = memory.mark();
  if (profiler) {
    cpuByStage.disburse = await profiler.stop('disburse');
    profiler.close();
  }
  console.log(`disburse   ${seconds(s3.at - s2.at)} s: ${completed.batch.status}, PAID ${completed.batch.counts.PAID ?? 0}, FAILED ${completed.batch.counts.FAILED ?? 0}, ON_HOLD ${completed.batch.counts.ON_HOLD ?? 0}`);

  // What one status poll costs in DynamoDB calls (measured now that nothing else runs), to leave the polls out.
  const calibrationPolls = 5;
  const c0 = dynamoRequestCounts();
  const f0 = sandbox.functionStats();
  for (let i = 0; i < calibrationPolls; i++) await api<Batch>('GET', `/v1/batches/${batchId}`, { token: maker });
  const c1 = dynamoRequestCounts();
  const f1 = sandbox.functionStats();
  const perPollOf = (after: Counts, before: Counts): Counts => {
    const each: Counts = {};
    for (const [key, count] of Object.entries(after)) {
      const delta = count - (before[key] ?? 0);
      if (delta > 0) each[key] = delta / calibrationPolls;
    }
    return each;
  };
  const perPoll: ObserverCost = {
    calls: perPollOf(c1.calls, c0.calls),
    byTable: perPollOf(c1.byTable, c0.byTable),
    kinds: perPollOf(c1.kinds, c0.kinds),
    kindItems: perPollOf(c1.kindItems, c0.kindItems),
    readCapacity: perPollOf(c1.capacity.read, c0.capacity.read),
  };
  // And in function invocations and handler time (the function that serves GET /v1/batches/{id}).
  const perPollFunctions = Object.fromEntries(
    Object.entries(f1).map(([name, after]) => {
      const before = f0[name] ?? { invocations: 0, totalMs: 0 };
      return [name, { invocations: (after.invocations - before.invocations) / calibrationPolls, totalMs: (after.totalMs - before.totalMs) / calibrationPolls }];
    }),
  );

  // The provider's ledger: one TRANSFER# item per accepted or refused transfer (the provider deduplicates by
  // reference), an ATTEMPTS# item per reference that failed transiently.
  const ledgerClient = createDocumentClient(sandbox.dynamoEndpoint);
  const ledger = { transfers: 0, accepted: 0, refused: 0, transientAttempts: 0 };
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await ledgerClient.send(
      new ScanCommand({ TableName: sandbox.tableNames.sandboxProvider, ProjectionExpression: 'pk, accepted, attempts', ExclusiveStartKey: startKey }),
    );
    for (const item of page.Items ?? []) {
      const pk = String(item.pk);
      if (pk.startsWith('TRANSFER#')) {
        ledger.transfers++;
        if (item.accepted === true) ledger.accepted++;
        else ledger.refused++;
      } else if (pk.startsWith('ATTEMPTS#')) {
        ledger.transientAttempts += Number(item.attempts ?? 0);
      }
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  ledgerClient.destroy();

  // --- figures
  const n = payments.length;
  const stagesRaw = { upload: [s0, s1, 0], verify: [s1, s2, verified.polls], disburse: [s2, s3, completed.polls] } as const;
  /** Invocations and handler ms per function between two snapshots, less `polls` of the bench's status polls. */
  const functionsBetween = (from: typeof s0, to: typeof s0, polls: number) =>
    Object.fromEntries(
      Object.entries(to.functions)
        .map(([name, after]) => {
          const before = from.functions[name] ?? { invocations: 0, totalMs: 0 };
          const observer = perPollFunctions[name] ?? { invocations: 0, totalMs: 0 };
          const invocations = Math.round(after.invocations - before.invocations - observer.invocations * polls);
          const totalMs = Math.max(0, Math.round(after.totalMs - before.totalMs - observer.totalMs * polls));
          return [name, { invocations, totalMs, meanMs: invocations > 0 ? Math.round((totalMs / invocations) * 10) / 10 : 0 }] as const;
        })
        .filter(([, figures]) => figures.invocations > 0)
        .sort(([a], [b]) => a.localeCompare(b)),
    );
  const stage = (name: keyof typeof stagesRaw, peakRss: number) => {
    const [from, to, polls] = stagesRaw[name];
    const ms = to.at - from.at;
    const dynamodb = renameTables(withoutObserver(dynamoBetween(from, to), perPoll, polls), sandbox.tableNames);
    const sqs = sqsBetween(from, to);
    return {
      ms: Math.round(ms),
      paymentsPerSecond: rate(n, ms),
      statusPolls: polls,
      dynamodb,
      sqs,
      functions: functionsBetween(from, to, polls),
      peakRssMb: mebibytes(peakRss),
    };
  };
  const stages = { upload: stage('upload', uploadPeak), verify: stage('verify', verifyPeak), disburse: stage('disburse', disbursePeak) };
  const pipelineInFlight = { mean: meanInFlight(s0.dynamo.inFlight, s3.dynamo.inFlight), max: s3.dynamo.inFlight.max };
  const dynamo: DynamoFigures = addDynamo(pipelineInFlight, stages.upload.dynamodb, stages.verify.dynamodb, stages.disburse.dynamodb);
  const functions = functionsBetween(s0, s3, pollsTotal);
  const sqs: SqsFigures = addSqs(stages.upload.sqs, stages.verify.sqs, stages.disburse.sqs);
  // The tables deployed for real (core, audit) apart from the sandbox's stand-ins for the national
  // population register and the payment provider (deployed: HTTP services, not our DynamoDB calls).
  const systemTables = onTables(dynamo, ['core', 'audit']);
  const standIns = onTables(dynamo, ['registry', 'sandboxProvider']);
  const endToEndMs = s3.at - s0.at;
  const counts = completed.batch.counts;
  const checks = {
    completed: completed.batch.status === 'COMPLETED',
    paid: (counts.PAID ?? 0) === expected.paid,
    failedAccountClosed: (counts.FAILED ?? 0) === expected.failed,
    onHold: (counts.ON_HOLD ?? 0) === expected.onHold,
    noRejections: (counts.REJECTED ?? 0) === 0,
    amountsReconcile: Object.values(completed.batch.amounts).reduce((total, amount) => total + amount, 0) === control.totalAmount,
    // Every payment that reached the provider was sent once: one ledger entry each, none refused but the 0000 ones.
    ledgerMatchesOutcomes: ledger.accepted === (counts.PAID ?? 0) && ledger.refused === (counts.FAILED ?? 0),
  };
  const ok = Object.values(checks).every(Boolean);

  // --- floors, on the same store, at the pipeline's concurrency (bench/floors.ts)
  const concurrency = Math.max(1, Math.round(pipelineInFlight.mean));
  const shardKeys = [itemKeys.paymentShard(batchId, 0), itemKeys.paymentShard(batchId, 1)];
  let pkPrefix = '';
  while (pkPrefix.length < (shardKeys[0] ?? '').length && shardKeys.every((key) => key.startsWith((shardKeys[0] ?? '').slice(0, pkPrefix.length + 1)))) {
    pkPrefix = (shardKeys[0] ?? '').slice(0, pkPrefix.length + 1);
  }
  const floorsStart = performance.now();
  const floorResults: FloorsResult = await measureFloors({
    endpoint: sandbox.dynamoEndpoint,
    coreTable: sandbox.tableNames.core,
    paymentPkPrefix: pkPrefix,
    paymentSkPrefix: itemKeys.payment(batchId, 0, '').sk,
    payments: n,
    concurrency,
    issued: { kinds: dynamo.kinds, kindItems: dynamo.kindItems },
    ...(options.floorSample === undefined ? {} : { sample: options.floorSample }),
    maxLoopMs: options.floorLoopMs,
    log: (line) => console.log(line),
  });
  const floors = {
    note:
      'Measured after the pipeline on the same store with raw DocumentClient calls at `concurrency` requests at once (the pipeline\'s mean DynamoDB requests in flight, rounded). ' +
      '(a): the run\'s N payment items (final state, read back) written once with BatchWriteItem, 25 a request, into a scratch table defined as the core table. ' +
      '(b): sum over request kinds of the pipeline\'s requests x per-request time + items x per-item time, from one loop per kind (two sizes for batch kinds and Query). ' +
      'endToEndOverA: how much work the design asks of the store; endToEndOverB: how much our own code adds on top of it.',
    concurrency: { used: concurrency, pipelineMeanInFlight: pipelineInFlight.mean, pipelineMaxInFlight: pipelineInFlight.max },
    a: floorResults.a,
    b: floorResults.b,
    endToEndOverA: ratio(endToEndMs, floorResults.a.ms),
    endToEndOverB: ratio(endToEndMs, floorResults.b.ms),
    loops: floorResults.loops,
    costs: floorResults.costs,
    measuredInMs: Math.round(performance.now() - floorsStart),
  };

  // --- bundles, with the sandbox stopped (nothing else running in this process while fresh processes are timed)
  let bundles: BundlesResult | null = null;
  if (options.bundleRuns > 0) {
    await stopSandbox();
    bundles = await measureBundles({ runs: options.bundleRuns });
  }

  // Capacity units per payment, and what the counter cannot see (for the cost model).
  const capacity = {
    note:
      'Units as the store reported them (ReturnConsumedCapacity TOTAL). dynalite counts the table only: on DynamoDB, writes that change a global secondary index ' +
      'also consume write units on the index, and a write whose condition fails still consumes write units without reporting them (see errors).',
    readUnits: ratio(Object.values(dynamo.capacity.read).reduce((total, units) => total + units, 0), n),
    writeUnits: ratio(Object.values(dynamo.capacity.write).reduce((total, units) => total + units, 0), n),
    readUnitsByTable: perPayment(dynamo.capacity.read, n),
    writeUnitsByTable: perPayment(dynamo.capacity.write, n),
  };

  const results = {
    benchmark: 'pipeline',
    version: 1,
    generatedAt: new Date().toISOString(),
    ok,
    machine: {
      node: process.version,
      platform: `${os.platform()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    },
    options: {
      payments: n,
      seed: options.seed,
      chunkSize: CHUNK_SIZE,
      pollMs: POLL_MS,
      linkConcurrency: options.linkConcurrency,
      // Where dynalite ran (local/dynamodb.ts): its own worker thread, or the main thread (LOCAL_DYNAMO_THREAD=main).
      storeThread: process.env.LOCAL_DYNAMO_THREAD === 'main' ? 'main' : 'worker',
      accounts: { linked: expected.paid + expected.failed, withoutAccount: expected.onHold, endingIn0000: expected.failed },
    },
    setup: {
      sandboxStartMs: Math.round(sandboxStartMs),
      populationMs: Math.round(populationMs),
      linkAccountsMs: Math.round(linkMs),
      accountLinksPerSecond: rate(linked, linkMs),
      dynamodbCalls: setupDynamo.calls,
    },
    stages,
    endToEnd: {
      ms: Math.round(endToEndMs),
      paymentsPerSecond: rate(n, endToEndMs),
      // CPU time of the whole process (every thread: the store's worker too) over the wall time: above 1, more than one core worked.
      processCpuMs: Math.round((s3.cpu.user + s3.cpu.system - s0.cpu.user - s0.cpu.system) / 1000),
      coresBusy: ratio((s3.cpu.user + s3.cpu.system - s0.cpu.user - s0.cpu.system) / 1000, endToEndMs),
    },
    perPayment: {
      dynamodb: {
        calls: perPayment(dynamo.calls, n),
        total: ratio(dynamo.total, n),
        itemsWritten: ratio(dynamo.itemsWritten, n),
        errors: perPayment(dynamo.errors, n),
        byTable: perPayment(dynamo.byTable, n),
        kinds: perPayment(dynamo.kinds, n),
        kindItems: perPayment(dynamo.kindItems, n),
        capacity,
        inFlight: dynamo.inFlight,
      },
      dynamodbSystemTables: { calls: perPayment(systemTables.calls, n), total: ratio(systemTables.total, n), itemsWritten: ratio(systemTables.itemsWritten, n) },
      dynamodbSandboxStandIns: { calls: perPayment(standIns.calls, n), total: ratio(standIns.total, n), itemsWritten: ratio(standIns.itemsWritten, n) },
      sqs: { calls: perPayment(sqs.calls, n), total: ratio(sqs.total, n), totalWithoutEmptyReceives: ratio(sqs.totalWithoutEmptyReceives, n), messagesSent: ratio(sqs.messagesSent, n) },
      providerCalls: ratio(ledger.transfers, n),
      providerCallsPerPaymentSent: ratio(ledger.transfers, (counts.PAID ?? 0) + (counts.FAILED ?? 0)),
    },
    functions: {
      note:
        'Invocations and handler milliseconds per Lambda function during the pipeline (HTTP functions as the local server dispatched them, consumers as the queue pollers invoked them), ' +
        'the bench\'s status polls left out. Wall time in one shared process: a handler\'s time includes waiting for the event loop behind other handlers (and the store, unless it runs in its own thread).',
      ...functions,
    },
    totals: { dynamodb: dynamo, sqs, provider: ledger },
    outcome: { status: completed.batch.status, counts, amounts: completed.batch.amounts, control },
    checks,
    observer: {
      note: 'The bench polls GET /v1/batches/{id} every pollMs; the DynamoDB calls of those polls (perPoll x statusPolls) and their function invocations (perPollFunctions) are left out of the stage figures. SQS figures include the pollers\' empty long polls (emptyReceives) of idle queues.',
      statusPolls: pollsTotal,
      perPoll,
      perPollFunctions,
    },
    peakRssMb: mebibytes(memory.peak()),
    peakHeapUsedMb: mebibytes(memory.peakHeapUsed()),
    heapLimitMb: mebibytes(getHeapStatistics().heap_size_limit),
    ...(options.cpuProfile ? { cpuSelfMsByOwner: cpuByStage } : {}),
    floors,
    bundles,
  };

  await mkdir(dirname(options.out), { recursive: true });
  // Written whole or not at all (an interrupted run leaves the previous results); *.tmp is git-ignored.
  await writeFile(`${options.out}.tmp`, `${JSON.stringify(results, null, 2)}\n`);
  await rename(`${options.out}.tmp`, options.out);
  printSummary(results);
  if (bundles) printBundles(bundles);
  for (const [name, owners] of Object.entries(cpuByStage)) {
    const top = Object.entries(owners).slice(0, 10).map(([owner, ms]) => `${owner} ${ms}`).join(', ');
    console.log(`cpu ${name.padEnd(9)} self ms: ${top}`);
  }
  console.log(`\nwritten    ${relative(process.cwd(), options.out) || options.out}`);
  if (!ok) {
    console.error(`\nFAILED checks: ${Object.entries(checks).filter(([, passed]) => !passed).map(([name]) => name).join(', ')}`);
    process.exitCode = 1;
  }
} catch (error) {
  console.error(`\nbench failed: ${error instanceof Error ? error.message : String(error)}`);
  console.error(`queues: ${JSON.stringify(sandbox.queueStats().consumers)}`);
  process.exitCode = 1;
} finally {
  memory.stop();
  await stopSandbox();
}

// ---------------------------------------------------------------------------
// Summary

interface PrintableStage {
  ms: number;
  paymentsPerSecond: number;
  dynamodb: DynamoFigures;
  sqs: SqsFigures;
  peakRssMb: number;
}

function printSummary(results: {
  options: { payments: number };
  setup: { sandboxStartMs: number; populationMs: number; linkAccountsMs: number; accountLinksPerSecond: number };
  stages: Record<string, PrintableStage>;
  endToEnd: { ms: number; paymentsPerSecond: number; coresBusy: number };
  perPayment: {
    dynamodb: {
      calls: Counts;
      total: number;
      itemsWritten: number;
      byTable: Counts;
      kinds: Counts;
      capacity: { readUnits: number; writeUnits: number };
      inFlight: { mean: number; max: number };
    };
    dynamodbSystemTables: { total: number; itemsWritten: number };
    dynamodbSandboxStandIns: { total: number; itemsWritten: number };
    sqs: { calls: Counts; total: number; totalWithoutEmptyReceives: number };
    providerCalls: number;
  };
  outcome: { counts: Record<string, number> };
  functions: Record<string, unknown>;
  floors: {
    concurrency: { used: number; pipelineMeanInFlight: number; pipelineMaxInFlight: number };
    a: { ms: number; items: number; itemsPerSecond: number };
    b: { ms: number; byKind: Record<string, { requests: number; items: number; ms: number }>; unmeasured: Record<string, number> };
    endToEndOverA: number;
    endToEndOverB: number;
    loops: Record<string, { requestsPerSecond: number; itemsPerRequest: number }>;
  };
  peakRssMb: number;
  peakHeapUsedMb: number;
  heapLimitMb: number;
}) {
  const n = results.options.payments;
  const line = (cells: (string | number)[], widths: number[]) => cells.map((cell, i) => String(cell).padStart(widths[i] ?? 10)).join('  ');
  const widths = [10, 10, 12, 12, 14, 12, 10];
  console.log(`\n${n.toLocaleString('en')} payments`);
  console.log(
    `setup: sandbox ${seconds(results.setup.sandboxStartMs)} s, population ${seconds(results.setup.populationMs)} s, ` +
      `accounts ${seconds(results.setup.linkAccountsMs)} s (${results.setup.accountLinksPerSecond}/s)`,
  );
  console.log('\n' + line(['stage', 'seconds', 'payments/s', 'DDB calls', 'DDB calls/pay', 'SQS calls', 'peak MB'], widths));
  for (const [name, figures] of Object.entries(results.stages)) {
    console.log(
      line(
        [name, seconds(figures.ms), figures.paymentsPerSecond, figures.dynamodb.total, ratio(figures.dynamodb.total, n), figures.sqs.total, figures.peakRssMb],
        widths,
      ),
    );
  }
  console.log(line(['end to end', seconds(results.endToEnd.ms), results.endToEnd.paymentsPerSecond, '', '', '', results.peakRssMb], widths));
  console.log(`(process CPU over wall time, end to end: ${results.endToEnd.coresBusy} cores busy)`);

  const per = results.perPayment;
  console.log(`\nper payment, DynamoDB: ${per.dynamodb.total} calls, ${per.dynamodb.itemsWritten} items written`);
  for (const [operation, value] of Object.entries(per.dynamodb.calls)) console.log(`  ${operation.padEnd(26)} ${value}`);
  console.log(
    `  of which the system's tables (core, audit) ${per.dynamodbSystemTables.total} calls, ${per.dynamodbSystemTables.itemsWritten} items written; ` +
      `the sandbox stand-ins (registry, provider ledger) ${per.dynamodbSandboxStandIns.total} calls, ${per.dynamodbSandboxStandIns.itemsWritten} items written`,
  );
  console.log('  by table:');
  for (const [label, value] of Object.entries(per.dynamodb.byTable)) console.log(`    ${label.padEnd(30)} ${value}`);
  console.log('  by stage:');
  for (const [name, figures] of Object.entries(results.stages)) {
    const byOp = Object.entries(figures.dynamodb.calls).map(([operation, count]) => `${operation} ${ratio(count, n)}`).join(', ');
    console.log(`    ${name.padEnd(9)} ${byOp || '-'}`);
  }
  console.log('  by kind:');
  for (const [kind, value] of Object.entries(per.dynamodb.kinds)) console.log(`    ${kind.padEnd(30)} ${value}`);
  console.log(
    `  capacity units consumed: ${per.dynamodb.capacity.readUnits} read, ${per.dynamodb.capacity.writeUnits} write ` +
      `(as dynalite reports them: table only, failed conditions not counted); requests in flight: mean ${per.dynamodb.inFlight.mean}, max ${per.dynamodb.inFlight.max}`,
  );
  console.log(`per payment, SQS: ${per.sqs.total} calls (${per.sqs.totalWithoutEmptyReceives} without empty receives)`);
  for (const [action, value] of Object.entries(per.sqs.calls)) console.log(`  ${action.padEnd(26)} ${value}`);
  console.log(`per payment, provider: ${per.providerCalls} calls`);
  console.log(`outcome: ${Object.entries(results.outcome.counts).filter(([, count]) => count > 0).map(([status, count]) => `${status} ${count}`).join(', ')}`);
  console.log(`peak RSS: ${results.peakRssMb} MB (V8 heap used at most ${results.peakHeapUsedMb} MB of ${results.heapLimitMb} MB)`);

  console.log('\nfunctions during the pipeline (invocations, handler ms in total, mean ms):');
  for (const [name, figures] of Object.entries(results.functions)) {
    if (name === 'note' || typeof figures !== 'object' || figures === null) continue;
    const { invocations, totalMs, meanMs } = figures as { invocations: number; totalMs: number; meanMs: number };
    console.log(`  ${name.padEnd(20)} ${String(invocations).padStart(8)} ${String(totalMs).padStart(10)} ${String(meanMs).padStart(8)}`);
  }

  const floors = results.floors;
  console.log(
    `\nfloors at concurrency ${floors.concurrency.used} (pipeline's DynamoDB requests in flight: mean ${floors.concurrency.pipelineMeanInFlight}, max ${floors.concurrency.pipelineMaxInFlight})`,
  );
  console.log(`  (a) ${floors.a.items.toLocaleString('en')} payment items once by BatchWriteItem: ${seconds(floors.a.ms)} s (${floors.a.itemsPerSecond} items/s)`);
  console.log(`  (b) the pipeline's request mix at the store's measured rates: ${seconds(floors.b.ms)} s`);
  for (const [kind, term] of Object.entries(floors.b.byKind).sort(([, x], [, y]) => y.ms - x.ms)) {
    console.log(`      ${kind.padEnd(24)} ${String(term.requests).padStart(8)} requests ${term.items > 0 ? `(${term.items} items) ` : ''}${seconds(term.ms)} s`);
  }
  if (Object.keys(floors.b.unmeasured).length > 0) console.log(`      not measured (left out): ${JSON.stringify(floors.b.unmeasured)}`);
  console.log('  store rates (requests/s at that concurrency):');
  for (const [label, loop] of Object.entries(floors.loops)) console.log(`      ${label.padEnd(28)} ${loop.requestsPerSecond}`);
  console.log(`  end to end ${seconds(results.endToEnd.ms)} s = ${floors.endToEndOverA} x floor (a) = ${floors.endToEndOverB} x floor (b)`);
}
