import { describe, expect, it } from 'vitest';
import {
  ASSUMPTIONS,
  bindingLimit,
  costOf,
  costPerMillion,
  DOC_BEGIN,
  DOC_END,
  estimateStageUnits,
  functionConfig,
  idlePollingRequestsPerMonth,
  initGbSecondsFor,
  kmsRequestsFor,
  markdown,
  nationalRun,
  parseResults,
  PRICES,
  QUOTAS,
  rampedSeconds,
  replaceBlock,
  usageOf,
  type Assumptions,
  type FunctionConfig,
  type Limit,
} from '../../../bench/capacity.js';
import { consumerDefaults, consumerWiring } from '../../../infra/wiring.js';
import { queueDefinitions } from '../../../shared/adapters/sqs/queues.js';

/**
 * A 1,000-payment bench result, small enough to check every figure by hand (the comments show the
 * arithmetic). Chunks of 500, so two chunk uploads.
 */
const fixture = {
  generatedAt: '2026-11-30T00:00:00.000Z',
  ok: true,
  machine: { node: 'v20.20.2', platform: 'linux x64', cpus: 2, cpuModel: 'test', memoryGb: 8 },
  options: { payments: 1_000, chunkSize: 500 },
  stages: {
    upload: {
      ms: 1_000,
      dynamodb: {
        calls: { BatchWriteItem: 40, UpdateItem: 4, GetItem: 2 },
        byTable: { 'core BatchWriteItem': 40, 'core UpdateItem': 4, 'core GetItem': 2 },
        errors: {},
        itemsWrittenByTable: { core: 1_004 },
      },
      sqs: { calls: { SendMessageBatch: 1 }, total: 1, emptyReceives: 0, byQueue: { 'local-Verification': { SendMessageBatch: 1 } } },
    },
    verify: {
      ms: 2_000,
      dynamodb: {
        calls: { PutItem: 1_000, UpdateItem: 1_010, Query: 10, BatchGetItem: 10 },
        // The register is a sandbox stand-in: its BatchGetItem calls are not ours to pay.
        byTable: { 'core PutItem': 1_000, 'core UpdateItem': 1_010, 'core Query': 10, 'registry BatchGetItem': 10 },
        // Ten entitlement claims failed their condition: they still consume a write unit each.
        errors: { PutItem: 10 },
        itemsWrittenByTable: { core: 2_000 },
      },
      sqs: {
        calls: { ReceiveMessage: 12, DeleteMessageBatch: 10, SendMessageBatch: 10 },
        total: 32,
        emptyReceives: 2,
        byQueue: { 'local-Verification': { ReceiveMessage: 12, DeleteMessageBatch: 10, SendMessageBatch: 10 } },
      },
    },
    disburse: {
      ms: 4_000,
      dynamodb: {
        calls: { UpdateItem: 2_000, BatchGetItem: 80, Query: 2, PutItem: 1_000 },
        byTable: { 'core UpdateItem': 2_000, 'core BatchGetItem': 80, 'core Query': 2, 'sandboxProvider PutItem': 1_000 },
        errors: {},
        itemsWrittenByTable: { core: 2_000, sandboxProvider: 1_000 },
      },
      sqs: {
        calls: { SendMessageBatch: 5, ReceiveMessage: 6, DeleteMessageBatch: 5 },
        total: 16,
        emptyReceives: 0,
        byQueue: { 'local-Disbursement': { SendMessageBatch: 5, ReceiveMessage: 6, DeleteMessageBatch: 5 } },
      },
    },
  },
  endToEnd: { ms: 7_000, paymentsPerSecond: 142.9 },
  perPayment: {
    dynamodb: { byTable: { 'registry BatchGetItem': 0.01 } },
    dynamodbSystemTables: { calls: {}, total: 5.066, itemsWritten: 5.004 },
    // 49 requests, 2 of them empty receives: 47 / 1,000.
    sqs: { total: 0.049, totalWithoutEmptyReceives: 0.047 },
    providerCalls: 0.99,
  },
  observer: { statusPolls: 30 },
  functions: {
    note: 'handler time per function (the bench writes a note here)',
    'batches-write': { invocations: 4, totalMs: 800 },
    'batches-approve': { invocations: 1, totalMs: 200 },
    'verify-worker': { invocations: 10, totalMs: 1_000 },
    'disburse-worker': { invocations: 40, totalMs: 2_000 },
    // The bench's own status polls: left out.
    'batches-read': { invocations: 30, totalMs: 300 },
  },
};

/** Fixed here so that a change of the defaults does not change the hand-checked figures. */
const assumptions: Assumptions = {
  writeUnitsPerItemWritten: 1,
  readUnitsPerBatchedRead: 25,
  readUnitsPerGetItem: 1,
  indexWritesPerPayment: 1,
  csvBytesPerPayment: 200,
  statusReadsPerBatch: 10,
  storedBytesPerPayment: 1_500,
  logBytesPerInvocation: 1_024,
  logBytesPerApiRequest: 512,
  idlePollersPerQueue: 5,
  idlePollSeconds: 20,
};

/** Memory sizes chosen to make the GB-seconds easy, independent of infra/wiring.ts. */
const configs: Record<string, FunctionConfig> = {
  'batches-write': { memoryMb: 1_024, stage: 'upload', tables: 1 },
  'batches-approve': { memoryMb: 512, stage: 'disburse', tables: 1 },
  'verify-worker': { memoryMb: 2_048, stage: 'verify', tables: 1, maxConcurrency: 20 },
  'disburse-worker': { memoryMb: 1_024, stage: 'disburse', tables: 2, maxConcurrency: 20 },
};
const configOf = (name: string) => configs[name];

describe('bench/capacity', () => {
  const results = parseResults(fixture);
  const usage = usageOf(results, assumptions, configOf);

  describe('parseResults', () => {
    it('names the first missing field', () => {
      // Prepare
      const broken = { ...fixture, stages: { ...fixture.stages, verify: { ...fixture.stages.verify, ms: undefined } } };
      // Act, Assess
      expect(() => parseResults(broken)).toThrow('stages.verify.ms: expected a number');
      expect(() => parseResults({ ...fixture, options: undefined })).toThrow('options: expected an object');
    });

    it('has no consumed capacity until the bench writes it', () => {
      expect(results.capacity).toBeUndefined();
      expect(results.functions?.['verify-worker']).toEqual({ invocations: 10, totalMs: 1_000 });
    });
  });

  describe('DynamoDB request units (estimated from calls)', () => {
    it('counts items written on the system tables, failed conditional writes, and reads by kind', () => {
      // verify: 2,000 items + 10 failed puts = 2,010 WRU; 10 Query pages x 25 = 250 RRU (the register's reads left out).
      expect(estimateStageUnits(results.stages.verify, 1_000, assumptions)).toEqual({ writeUnits: 2.01, readUnits: 0.25 });
      // disburse: 2,000 core items (the provider ledger left out); (80 BatchGetItem + 2 Query) x 25 = 2,050 RRU.
      expect(estimateStageUnits(results.stages.disburse, 1_000, assumptions)).toEqual({ writeUnits: 2, readUnits: 2.05 });
    });

    it('adds the gsi1 write of each payment to the upload', () => {
      // upload: 1,004 items + 1 index write per payment = 2.004 WRU; 2 GetItem = 0.002 RRU.
      expect(usage.dynamodb.source).toBe('estimated');
      expect(usage.dynamodb.byStage.upload.writeUnits).toBeCloseTo(2.004, 10);
      expect(usage.dynamodb.byStage.upload.readUnits).toBeCloseTo(0.002, 10);
      // 2.004 + 2.01 + 2 = 6.014 WRU; 0.002 + 0.25 + 2.05 = 2.302 RRU.
      expect(usage.dynamodb.writeUnits).toBeCloseTo(6.014, 10);
      expect(usage.dynamodb.readUnits).toBeCloseTo(2.302, 10);
    });

    it('uses measured capacity when the results have it', () => {
      const measured = usageOf(
        { ...results, capacity: { upload: { writeUnits: 1, readUnits: 0 }, verify: { writeUnits: 3, readUnits: 1 }, disburse: { writeUnits: 2, readUnits: 0.5 } } },
        assumptions,
        configOf,
      );
      expect(measured.dynamodb.source).toBe('measured');
      // 1 + 1 (gsi1) + 3 + 0.01 (10 failed conditional puts in verify, not reported by the store) + 2 = 7.01 WRU; 1.5 RRU.
      expect(measured.dynamodb.writeUnits).toBeCloseTo(7.01, 10);
      expect(measured.dynamodb.readUnits).toBe(1.5);
    });

    it('reads consumed capacity by table from each stage, on the system tables only', () => {
      // Prepare
      const withCapacity = structuredClone(fixture);
      const dynamodbOf = (stage: 'upload' | 'verify' | 'disburse') => withCapacity.stages[stage].dynamodb as Record<string, unknown>;
      dynamodbOf('upload').capacity = { read: { core: 2 }, write: { core: 1_004 } };
      dynamodbOf('verify').capacity = { read: { core: 500, registry: 50 }, write: { core: 2_000, audit: 10 } };
      dynamodbOf('disburse').capacity = { read: { core: 1_000.5 }, write: { core: 2_500, sandboxProvider: 1_000 } };
      // Act
      const parsed = parseResults(withCapacity);
      // Assess
      expect(parsed.capacity).toEqual({
        upload: { writeUnits: 1.004, readUnits: 0.002 },
        verify: { writeUnits: 2.01, readUnits: 0.5 },
        disburse: { writeUnits: 2.5, readUnits: 1.0005 },
      });
      // A results file without it everywhere: estimated.
      delete dynamodbOf('disburse').capacity;
      expect(parseResults(withCapacity).capacity).toBeUndefined();
    });
  });

  describe('Lambda', () => {
    it('computes GB-seconds from handler time and memory, leaving out the bench polls', () => {
      const byName = Object.fromEntries(usage.lambda.functions.map((f) => [f.name, f]));
      expect(Object.keys(byName).sort()).toEqual(['batches-approve', 'batches-write', 'disburse-worker', 'verify-worker']);
      expect(usage.lambda.leftOut).toHaveProperty('batches-read');
      // verify-worker: 1,000 ms / 1,000 payments = 1 ms a payment at 2 GB = 0.002 GB-s; 100 ms an invocation.
      expect(byName['verify-worker']!.gbSecondsPerPayment).toBeCloseTo(0.002, 12);
      expect(byName['verify-worker']!.msPerInvocation).toBe(100);
      // 0.0008 (1 GB x 0.8 ms) + 0.0001 (0.5 GB x 0.2 ms) + 0.002 + 0.002 (1 GB x 2 ms) = 0.0049 GB-s.
      expect(usage.lambda.gbSeconds).toBeCloseTo(0.0049, 12);
      // (4 + 1 + 10 + 40) / 1,000.
      expect(usage.lambda.invocations).toBeCloseTo(0.055, 12);
    });

    it('reads memory, stage and concurrency of a function from the wiring', () => {
      const config = functionConfig(queueDefinitions.verification.consumer);
      expect(config).toMatchObject({
        memoryMb: consumerWiring.verification?.memorySize ?? consumerDefaults.memorySize,
        stage: 'verify',
        maxConcurrency: queueDefinitions.verification.maximumConcurrency,
      });
      expect(functionConfig('no-such-function')).toBeUndefined();
    });
  });

  it('bills INIT once per execution environment when the results have initialisation times', () => {
    // Prepare
    const withBundles = parseResults({ ...fixture, bundles: { functions: { 'verify-worker': { initMs: 200 }, 'disburse-worker': { initMs: 300 } } } });
    // Act
    const lambda = usageOf(withBundles, assumptions, configOf).lambda;
    // Assess: verify-worker 20 environments x 0.2 s x 2 GB = 8; disburse-worker 20 x 0.3 s x 1 GB = 6; the others unmeasured.
    expect(initGbSecondsFor(lambda, 1_000_000)).toBeCloseTo(14, 10);
    expect(initGbSecondsFor(usage.lambda, 1_000_000)).toBeUndefined();
    const init = costPerMillion({ ...usage, lambda }).lines.find((l) => l.item.startsWith('GB-seconds of INIT'))!;
    expect(init.quantity).toBeCloseTo(14, 10);
  });

  it('splits handler time by stage when the bench measured it per stage', () => {
    // Prepare: verify-worker spent 800 ms in verification and 200 ms in the disbursement stage (say, a final tally).
    const perStage = structuredClone(fixture);
    const functionsOf = (stage: 'upload' | 'verify' | 'disburse') => perStage.stages[stage] as Record<string, unknown>;
    functionsOf('upload').functions = { 'batches-write': { invocations: 4, totalMs: 800 } };
    functionsOf('verify').functions = { note: 'x', 'verify-worker': { invocations: 8, totalMs: 800 } };
    functionsOf('disburse').functions = {
      'verify-worker': { invocations: 2, totalMs: 200 },
      'batches-approve': { invocations: 1, totalMs: 200 },
      'disburse-worker': { invocations: 40, totalMs: 2_000 },
    };
    // Act
    const split = usageOf(parseResults(perStage), assumptions, configOf);
    const estimate = nationalRun(split, { payments: 100_000, batches: 2, maximumConcurrency: { verification: 20, disbursement: 20 } }, QUOTAS);
    // Assess: 0.8 ms a payment in verify; 0.2 + 0.2 + 2 = 2.4 ms in disburse.
    expect(split.lambda.functions.find((f) => f.name === 'verify-worker')!.msPerPaymentByStage).toEqual({ upload: 0, verify: 0.8, disburse: 0.2 });
    expect(estimate.stages.find((s) => s.stage === 'verify')!.lambdaSecondsPerPayment).toBeCloseTo(0.0008, 12);
    expect(estimate.stages.find((s) => s.stage === 'disburse')!.lambdaSecondsPerPayment).toBeCloseTo(0.0024, 12);
    // 2,400 ms of handlers in a 4,000 ms stage: they did not overlap.
    expect(split.lambda.overlapByStage.disburse).toBe(1);

    // Prepare: the same handler time in a stage of 1,200 ms: handlers ran two at a time on average.
    functionsOf('disburse').ms = 1_200;
    // Act
    const overlapped = usageOf(parseResults(perStage), assumptions, configOf);
    const uncontended = nationalRun(overlapped, { payments: 100_000, batches: 2, maximumConcurrency: { verification: 20, disbursement: 20 }, uncontended: true }, QUOTAS);
    // Assess: 2.4 ms / 2 = 1.2 ms a payment once the waiting for one another is taken out.
    expect(overlapped.lambda.overlapByStage.disburse).toBeCloseTo(2, 12);
    expect(uncontended.stages.find((s) => s.stage === 'disburse')!.lambdaSecondsPerPayment).toBeCloseTo(0.0012, 12);
  });

  describe('KMS', () => {
    it('counts one table-key request per execution environment and table, not per call', () => {
      // batches-write 4,000 x 1 + batches-approve 1,000 x 1 + verify-worker min(10,000, 20) x 1 + disburse-worker min(40,000, 20) x 2.
      expect(kmsRequestsFor(usage.lambda, 1_000_000)).toBeCloseTo(5_060, 6);
      // As if every invocation decrypted every table key: 0.004 + 0.001 + 0.01 + 0.04 x 2.
      expect(usage.kmsRequestsUpperBound).toBeCloseTo(0.095, 12);
    });
  });

  describe('costPerMillion', () => {
    const cost = costPerMillion(usage);
    const usdOf = (service: string, item: string) => cost.lines.find((l) => l.service === service && l.item.startsWith(item))!.usd;

    it('prices each service from the per-payment counts', () => {
      expect(usdOf('DynamoDB', 'write')).toBeCloseTo(6.014 * 0.625, 10); // $3.75875
      expect(usdOf('DynamoDB', 'read')).toBeCloseTo(2.302 * 0.125, 10); // $0.28775
      expect(usdOf('SQS', 'requests')).toBeCloseTo(0.047 * 0.4, 10); // 47,000 requests: $0.0188
      expect(usdOf('Lambda', 'GB-seconds')).toBeCloseTo(4_900 * 0.0000133334, 10); // $0.06533366
      expect(usdOf('Lambda', 'requests')).toBeCloseTo(0.011, 10); // 55,000 x $0.20 / million
      // Per 1,000-payment batch: create, 2 chunks (100 KB each: one 512 KB step), seal, approve, 10 status reads = 15.
      expect(usdOf('API Gateway', 'HTTP')).toBeCloseTo(0.015, 10);
      expect(usdOf('KMS', 'requests')).toBeCloseTo((5_060 * 0.03) / 10_000, 10); // $0.01518
      // 0.055 x 1,024 + 0.015 x 512 = 64 bytes a payment: 64,000,000 bytes = 0.0596 GiB at $0.50.
      expect(usdOf('CloudWatch Logs', 'GB')).toBeCloseTo((64_000_000 / 1024 ** 3) * 0.5, 10);
    });

    it('adds the lines up, by service and in total', () => {
      expect(cost.byService.DynamoDB).toBeCloseTo(4.0465, 10);
      expect(cost.byService.Lambda).toBeCloseTo(0.07633366, 10);
      expect(cost.totalUsd).toBeCloseTo(4.20161596, 6);
    });

    it('keeps storage and fixed monthly costs apart from the per-million total', () => {
      // 1,500 bytes x 1,000,000 = 1.397 GiB: $0.349 stored, $0.279 of PITR, a month.
      expect(cost.monthly[0]!.usd).toBeCloseTo((1.5e9 / 1024 ** 3) * 0.25, 10);
      expect(cost.monthly[1]!.usd).toBeCloseTo((1.5e9 / 1024 ** 3) * 0.2, 10);
      expect(cost.fixedMonthly[0]).toEqual({ item: 'customer-managed KMS key', usd: 1 });
      expect(cost.external).toEqual({ providerCalls: 990_000, registryLookups: 10_000 });
    });
  });

  it('prices idle long polling: 5 pollers a queue, one 20 s poll each', () => {
    // 3 queues x 5 x (2,592,000 s / 20 s) = 1,944,000 requests a month: $0.7776.
    expect(idlePollingRequestsPerMonth(3, assumptions)).toBe(1_944_000);
    expect(costOf(1_944_000, PRICES.sqsRequests)).toBeCloseTo(0.7776, 10);
  });

  describe('rampedSeconds', () => {
    const ramp = { start: 5, perMinute: 300, perUnit: 10 }; // +5 concurrency a second, 10 payments a second each

    it('adds the pollers ramp-up to the steady time', () => {
      // Steady 100/s needs 10 concurrent: reached after 1 s, having done 10 x 7.5 x 1 = 75; then 925 / 100.
      expect(rampedSeconds(1_000, 100, ramp)).toBeCloseTo(10.25, 10);
    });

    it('solves for a run that ends while still ramping', () => {
      // 10 (5 t + 2.5 t^2) = 30: t = (-5 + sqrt(55)) / 5.
      expect(rampedSeconds(30, 100, ramp)).toBeCloseTo((-5 + Math.sqrt(55)) / 5, 10);
    });

    it('is payments / rate without a ramp, or when the start already suffices', () => {
      expect(rampedSeconds(1_000, 40, ramp)).toBe(25);
      expect(rampedSeconds(1_000, 100, { start: Infinity, perMinute: 0, perUnit: 10 })).toBe(10);
      expect(rampedSeconds(1_000, 0, ramp)).toBe(Infinity);
    });
  });

  it('bindingLimit takes the lowest rate, the first on a tie', () => {
    const limit = (name: string, paymentsPerSecond: number): Limit => ({ name, paymentsPerSecond, kind: 'design', raise: '' });
    expect(bindingLimit([limit('a', 3), limit('b', 2), limit('c', 2)]).name).toBe('b');
  });

  describe('nationalRun', () => {
    // 100,000 payments in 2 batches of 50,000: 3 shards each (ceil(50,000 / 20,000)), 6 in all.
    const estimate = nationalRun(usage, { payments: 100_000, batches: 2, maximumConcurrency: { verification: 20, disbursement: 20 } }, QUOTAS);
    const stage = (name: string) => estimate.stages.find((s) => s.stage === name)!;

    it('bounds the upload by its lease: one chunk in flight per batch', () => {
      // 2 batches / 0.0008 s a payment = 2,500/s (the table: 40,000 / 2.004 = 19,960/s; 6 partitions: 6,000 / 2.004 = 2,994/s).
      expect(estimate.shards).toBe(6);
      expect(stage('upload').binding.name).toMatch(/upload lease/);
      expect(stage('upload').binding.paymentsPerSecond).toBeCloseTo(2_500, 6);
      expect(stage('upload').seconds).toBeCloseTo(40, 6);
    });

    it('bounds verification by the shard partitions before the verification chains', () => {
      // 6 x 1,000 WRU/s / 2.01 = 2,985/s, below 6 chains / 0.001 s = 6,000/s and maxConcurrency 20 / 0.001 = 20,000/s.
      expect(stage('verify').binding.name).toMatch(/partitions/);
      expect(stage('verify').concurrency).toBe(6);
      // 2,985/s needs 3 concurrent, under the pollers' start of 5: no ramp. 100,000 x 2.01 / 6,000 = 33.5 s.
      expect(stage('verify').seconds).toBeCloseTo(33.5, 6);
    });

    it('ramps the disbursement pollers up to the concurrency the binding rate needs', () => {
      // Partitions: 6,000 / 2 = 3,000/s; Lambda 0.0022 s a payment, so 6.6 concurrent, reached after (6.6 - 5) / 5 = 0.32 s
      // having done (1 / 0.0022) x 5.8 x 0.32 = 843.6 payments; then (100,000 - 843.6) / 3,000.
      const expected = 0.32 + (100_000 - (5.8 * 0.32) / 0.0022) / 3_000;
      expect(stage('disburse').binding.paymentsPerSecond).toBeCloseTo(3_000, 6);
      expect(stage('disburse').concurrencyUsed).toBe(7);
      expect(stage('disburse').seconds).toBeCloseTo(expected, 6);
      expect(estimate.totalSeconds).toBeCloseTo(40 + 33.5 + expected, 6);
      expect(estimate.binding.stage).toBe('upload');
    });

    it('leaves concurrency reserved for other functions out of the account pool', () => {
      const reserved = nationalRun(usage, { payments: 100_000, batches: 40, maximumConcurrency: { verification: 1_000, disbursement: 1_000 }, reservedElsewhere: 990 }, QUOTAS);
      const disburse = reserved.stages.find((s) => s.stage === 'disburse')!;
      // 1,000 - 990 = 10 concurrent: 10 / 0.0022 = 4,545/s.
      expect(disburse.binding.name).toBe('Lambda concurrent executions (10)');
      expect(disburse.binding.paymentsPerSecond).toBeCloseTo(10 / 0.0022, 6);
    });

    it('names the configured maximumConcurrency when it binds', () => {
      const tight = nationalRun(usage, { payments: 100_000, batches: 40, maximumConcurrency: { verification: 2, disbursement: 2 } }, QUOTAS);
      const disburse = tight.stages.find((s) => s.stage === 'disburse')!;
      // 2 / 0.0022 = 909/s, below 40 x 3 shards x 1,000 / 2 = 60,000/s.
      expect(disburse.binding.name).toBe('disbursement queue maximumConcurrency (2)');
      expect(disburse.binding.kind).toBe('design');
      expect(disburse.binding.paymentsPerSecond).toBeCloseTo(2 / 0.0022, 6);
    });
  });

  it('prints the markdown tables of docs/capacity.md', () => {
    const text = markdown({
      source: { file: 'fixture.json', generatedAt: fixture.generatedAt, payments: 1_000, ok: true, machine: results.machine, endToEndMs: 7_000 },
      usage,
      cost: costPerMillion(usage),
      national: {
        asConfigured: nationalRun(usage, { payments: 100_000, batches: 2, maximumConcurrency: { verification: 20, disbursement: 20 } }),
        uncontended: nationalRun(usage, { payments: 100_000, batches: 2, maximumConcurrency: { verification: 20, disbursement: 20 }, uncontended: true }),
        defaultQuotas: nationalRun(usage, { payments: 100_000, batches: 2, maximumConcurrency: { verification: 1_000, disbursement: 1_000 } }),
        coldTable: nationalRun(usage, { payments: 100_000, batches: 2, maximumConcurrency: { verification: 1_000, disbursement: 1_000 } }),
      },
      prices: PRICES,
      assumptions: ASSUMPTIONS,
      notes: [],
    });
    expect(text).toContain('Figures from `fixture.json`: 1,000 payments');
    expect(text).toContain('| **total** | | | | **$4.20** | |');
    expect(text).toContain('| DynamoDB | $4.05 |');
  });

  it('replaceBlock rewrites only the figures block of the document', () => {
    const doc = `# Capacity\n\nMethod.\n\n${DOC_BEGIN}\n\nold figures\n\n${DOC_END}\n\nSources.\n`;
    expect(replaceBlock(doc, 'new figures\n')).toBe(`# Capacity\n\nMethod.\n\n${DOC_BEGIN}\n\nnew figures\n\n${DOC_END}\n\nSources.\n`);
    expect(() => replaceBlock('# no block', 'x')).toThrow('has no');
  });
});
