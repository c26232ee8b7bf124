/**
 * Capacity and cost (`npm run capacity`): turns a pipeline bench result
 * (bench/pipeline.ts, bench/results/latest.json) into
 *   1. the cost of one million payments in US dollars at published AWS prices,
 *      per service, from the measured counts (DynamoDB request units, SQS
 *      requests, Lambda GB-seconds and requests, API Gateway requests), and
 *   2. the national run (5.9 million payments, the 2026 Tet payment): how long
 *      it takes at default AWS quotas, which quota binds first, how to raise it.
 *
 *   npm run bench -- --payments 100000 && npm run capacity -- --doc docs/capacity.md
 *   npx tsx bench/capacity.ts --in /tmp/cap-500.json --out /tmp/capacity.json
 *
 * Prints a summary and the markdown of docs/capacity.md's figures block
 * (--doc rewrites that block in place), and writes the figures as JSON
 * (default bench/results/capacity.json).
 *
 * Everything that is not measured is a named constant below with its source
 * (PRICES, QUOTAS) or its reason (ASSUMPTIONS), and the output says which
 * figures are measured and which are estimated. The arithmetic is in small
 * pure functions (test/unit/bench/capacity.test.ts checks them on a fixture).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { consumerDefaults, consumerWiring, deadLetterConsumerWiring, httpDefaults, httpFunctionWiring, type FunctionWiring } from '../infra/wiring.js';
import { tableDefinitions } from '../shared/adapters/dynamodb/tables.js';
import { queueDefinitions, type QueueDefinition } from '../shared/adapters/sqs/queues.js';
import { shardCountFor } from '../shared/domain/batch.js';
import { provinceCodes } from '../shared/domain/catalogues.js';

// ---------------------------------------------------------------------------
// Published prices: the one place to correct them.

export interface Price {
  /** US dollars per `per` units of `unit`. */
  usd: number;
  per: number;
  unit: string;
  /** Region the figure was published for. The stacks deploy to ap-southeast-1 (infra/stages.ts). */
  region: 'ap-southeast-1' | 'us-east-1';
  /** Where the figure was read. */
  source: string;
  /** When it was read (YYYY-MM-DD). */
  readOn: string;
  note?: string;
}

const READ_ON = '2026-11-30';
// aws.amazon.com's price tables render prices in the browser: the stored copies searched for this file
// show no ap-southeast-1 figure for any of these services, so every price is the us-east-1 list price,
// read from pages that quote it (named in `source`). Asia Pacific prices are often higher (DynamoDB
// storage, CloudWatch Logs): check each line with the region set to Asia Pacific (Singapore) on the AWS
// pricing page or the Price List API, and correct it here.
const REGION_NOTE = 'No ap-southeast-1 (Singapore) figure was findable: us-east-1 list price.';

export const PRICES = {
  dynamodbWriteRequestUnits: {
    usd: 0.625,
    per: 1_000_000,
    unit: 'DynamoDB write request units (on-demand)',
    region: 'us-east-1',
    source:
      'https://airbyte.com/data-engineering-resources/dynamodb-pricing (US East, after the 50% on-demand reduction of 1 November 2024; ' +
      'was $1.25), https://www.jusdb.com/blog/dynamodb-cost-optimization-a-comprehensive-guide-by-jusdb (the reduction); ' +
      'units per https://aws.amazon.com/dynamodb/pricing/on-demand/',
    readOn: READ_ON,
    note: `${REGION_NOTE} A standard write of up to 1 KB is 1 unit, a transactional write 2.`,
  },
  dynamodbReadRequestUnits: {
    usd: 0.125,
    per: 1_000_000,
    unit: 'DynamoDB read request units (on-demand)',
    region: 'us-east-1',
    source: 'https://airbyte.com/data-engineering-resources/dynamodb-pricing (US East, after the November 2024 reduction; was $0.25)',
    readOn: READ_ON,
    note: `${REGION_NOTE} A strongly consistent read of up to 4 KB is 1 unit, an eventually consistent one 0.5.`,
  },
  dynamodbStorageGbMonth: {
    usd: 0.25,
    per: 1,
    unit: 'DynamoDB GB-month stored (Standard table class)',
    region: 'us-east-1',
    source: 'https://aws.amazon.com/dynamodb/pricing/ ("prices start from $0.25 per GB-month"; first 25 GB a month free)',
    readOn: READ_ON,
    note: REGION_NOTE,
  },
  dynamodbPitrGbMonth: {
    usd: 0.2,
    per: 1,
    unit: 'DynamoDB GB-month of point-in-time recovery',
    region: 'us-east-1',
    source: 'https://finops.com.py/services/dynamodb/backups (continuous backups, $0.20 per GB-month of table size)',
    readOn: READ_ON,
    note: REGION_NOTE,
  },
  sqsRequests: {
    usd: 0.4,
    per: 1_000_000,
    unit: 'SQS standard requests (each 64 KB chunk of a payload is one request)',
    region: 'us-east-1',
    source:
      'https://cloudburn.io/blog/amazon-sqs-pricing (US East, March 2026: $0.40 per million for the first 100 billion a month), ' +
      'https://www.factualminds.com/blog/amazon-sqs-pricing-64kb-rule-fifo-vs-standard/ (64 KB rule)',
    readOn: READ_ON,
    note: REGION_NOTE,
  },
  lambdaArmGbSeconds: {
    usd: 0.0000133334,
    per: 1,
    unit: 'Lambda arm64 GB-seconds (first 7.5 billion a month)',
    region: 'us-east-1',
    source:
      'https://cloudchipr.com/blog/aws-lambda-pricing (US East, Arm); https://app.unpkg.com/artillery@2.0.28/files/lib/platform/aws-lambda/prices.js ' +
      "(artillery's per-region table lists the regions that differ from $0.0000133334; ap-southeast-1 is not among them)",
    readOn: READ_ON,
    note: 'us-east-1 list price; a third-party per-region table gives ap-southeast-1 the same rate.',
  },
  lambdaRequests: {
    usd: 0.2,
    per: 1_000_000,
    unit: 'Lambda requests (invocations)',
    region: 'us-east-1',
    source: 'https://cloudchipr.com/blog/aws-lambda-pricing; https://aws.amazon.com/lambda/pricing/ ($0.20 per million requests)',
    readOn: READ_ON,
    note: REGION_NOTE,
  },
  apiGatewayHttpRequests: {
    usd: 1.0,
    per: 1_000_000,
    unit: 'API Gateway HTTP API requests (first 300 million a month; metered in 512 KB increments)',
    region: 'us-east-1',
    source: 'https://docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/cost-optimization.html (Table 4, us-east-1)',
    readOn: READ_ON,
    note: `${REGION_NOTE} $0.90 per million above 300 million a month.`,
  },
  kmsRequests: {
    usd: 0.03,
    per: 10_000,
    unit: 'KMS requests',
    region: 'us-east-1',
    source: 'https://aws.amazon.com/kms/pricing/ as quoted in https://gist.github.com/dasgoll/b88d5be05dcc0deb052ad40446c2fb40 ($1 per key a month, $0.03 per 10,000 requests)',
    readOn: READ_ON,
    note:
      `${REGION_NOTE} DynamoDB does not call KMS per request: it caches the plaintext table key per caller and asks KMS again only ` +
      'after five minutes of inactivity (https://docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html).',
  },
  kmsKeyMonth: {
    usd: 1.0,
    per: 1,
    unit: 'customer-managed KMS key-month',
    region: 'us-east-1',
    source: 'https://aws.amazon.com/kms/pricing/ as quoted in https://gist.github.com/dasgoll/b88d5be05dcc0deb052ad40446c2fb40',
    readOn: READ_ON,
    note: REGION_NOTE,
  },
  cloudwatchLogsIngestionGb: {
    usd: 0.5,
    per: 1,
    unit: 'CloudWatch Logs GB ingested (Standard log class)',
    region: 'us-east-1',
    source:
      'https://c3x.dev/blog/cloudwatch-logs-cost-optimization (us-east-1, June 2026); for scale, Tokyo is $0.76 per GB ' +
      '(https://awsi.click/en/articles/cloudwatch-logs-cost-structure-surprise/)',
    readOn: READ_ON,
    note: `${REGION_NOTE} Asia Pacific ingestion is dearer (Tokyo $0.76): this line is likely low for Singapore.`,
  },
} as const satisfies Record<string, Price>;

export type PriceKey = keyof typeof PRICES;
export type PriceList = Record<PriceKey, Price>;

/** Cost in US dollars of `quantity` units at `price`. */
export function costOf(quantity: number, price: Price): number {
  return (quantity / price.per) * price.usd;
}

// ---------------------------------------------------------------------------
// Default AWS quotas (per account and Region unless said otherwise), with sources.

export interface Quota {
  value: number;
  source: string;
}

export const QUOTAS = {
  lambdaConcurrentExecutions: {
    value: 1_000,
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/limits.html (can be raised to tens of thousands; new accounts start lower)',
  },
  /** Concurrent batches one SQS event source mapping can process (and the highest maximumConcurrency). */
  sqsEventSourceBatches: {
    value: 1_000,
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html; ScalingConfig MaximumConcurrency 2-1,000',
  },
  sqsPollerStart: {
    value: 5,
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html (starts with five concurrent batches)',
  },
  sqsPollerRampPerMinute: {
    value: 300,
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html (up to 300 more instances a minute)',
  },
  dynamodbTableWriteUnitsPerSecond: {
    value: 40_000,
    source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html (on-demand table-level write throughput, raisable)',
  },
  dynamodbTableReadUnitsPerSecond: {
    value: 40_000,
    source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html (on-demand table-level read throughput, raisable)',
  },
  dynamodbPartitionWriteUnitsPerSecond: {
    value: 1_000,
    source: 'https://repost.aws/knowledge-center/on-demand-table-throttling-dynamodb (per partition: 1,000 WRU or 3,000 RRU a second)',
  },
  dynamodbPartitionReadUnitsPerSecond: {
    value: 3_000,
    source: 'https://repost.aws/knowledge-center/on-demand-table-throttling-dynamodb',
  },
  dynamodbNewTableWriteUnitsPerSecond: {
    value: 4_000,
    source:
      'https://repost.aws/knowledge-center/on-demand-table-throttling-dynamodb (a new on-demand table serves 4,000 WRU or 12,000 RRU at once; ' +
      'more than double the previous peak within 30 minutes may throttle; warm throughput pre-warms it)',
  },
  apiGatewayRequestsPerSecond: {
    value: 10_000,
    source: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html (per account and Region, burst 5,000; raisable, L-8A5B8E43)',
  },
} as const satisfies Record<string, Quota>;

// ---------------------------------------------------------------------------
// Assumptions: what the bench does not measure, and why each value.

export const ASSUMPTIONS = {
  /**
   * Write request units per item written, used only when the results hold no consumed capacity: items
   * of the core table stay under 1 KB (payments included, docs/data-model.md), so 1 unit each.
   */
  writeUnitsPerItemWritten: 1,
  /**
   * Read request units per batched read (BatchGetItem) or Query page, used only when the results hold no
   * consumed capacity: about 25 (100 payment items of under 1 KB per page read consistently is 25 units;
   * a BatchGetItem of 25 payments or accounts under 4 KB is at most 25).
   */
  readUnitsPerBatchedRead: 25,
  /** GetItem: strongly consistent, under 4 KB. */
  readUnitsPerGetItem: 1,
  /**
   * Index writes per payment, added to any write estimate or measurement (dynalite reports table units
   * only): gsi1 (KEYS_ONLY) holds one entry per payment, written when the payment is stored; status
   * updates do not change its keys. The batch item's gsi2 (ALL) entry is rewritten with each counter
   * update, a few hundredths of a write per payment: left out.
   */
  indexWritesPerPayment: 1,
  /** CSV bytes per payment row in a chunk upload (API Gateway meters HTTP API requests in 512 KB steps). */
  csvBytesPerPayment: 200,
  /** Status reads a province makes per batch (GET /v1/batches/{id}); the bench's own 200 ms polls are left out. */
  statusReadsPerBatch: 10,
  /**
   * Bytes stored per payment, all items together: the payment item (about 800 bytes once paid, docs/data-model.md), its
   * entitlement item, index entries, and DynamoDB's 100-byte overhead per item and per index entry.
   */
  storedBytesPerPayment: 1_500,
  /** CloudWatch Logs bytes per Lambda invocation: START, END and REPORT lines and one structured line at INFO (prod). */
  logBytesPerInvocation: 1_024,
  /** Bytes of API Gateway access log per request. */
  logBytesPerApiRequest: 512,
  /** Pollers of an idle event source mapping (five; never two when maximumConcurrency is set) and its long poll of 20 s. */
  idlePollersPerQueue: 5,
  idlePollSeconds: 20,
} as const;

export type Assumptions = { readonly [K in keyof typeof ASSUMPTIONS]: number };

// ---------------------------------------------------------------------------
// The bench results: only the fields used here, checked as they are read.

export type Stage = 'upload' | 'verify' | 'disburse';
export const STAGES: readonly Stage[] = ['upload', 'verify', 'disburse'];

type Counts = Record<string, number>;

export interface FunctionFigures {
  invocations: number;
  totalMs: number;
}

export interface StageFigures {
  ms: number;
  /** Handler time per function in this stage, when the bench measured it. */
  functions?: Record<string, FunctionFigures>;
  dynamodb: { calls: Counts; byTable: Counts; errors: Counts; itemsWrittenByTable: Counts };
  sqs: { calls: Counts; total: number; emptyReceives: number; byQueue: Record<string, Counts> };
}

/** Consumed capacity units, by stage, per payment (system tables). */
export interface StageUnits {
  writeUnits: number;
  readUnits: number;
}

export interface BenchResults {
  generatedAt: string;
  ok: boolean;
  machine: { node: string; platform: string; cpus: number; cpuModel: string; memoryGb: number };
  options: { payments: number; chunkSize: number };
  stages: Record<Stage, StageFigures>;
  endToEnd: { ms: number; paymentsPerSecond: number };
  perPayment: {
    dynamodb: { byTable: Counts };
    dynamodbSystemTables: { calls: Counts; total: number; itemsWritten: number };
    sqs: { total: number; totalWithoutEmptyReceives: number };
    providerCalls: number;
  };
  observer?: { statusPolls?: number };
  /** Handler time per Lambda function, measured locally (bench/pipeline.ts, when present). */
  functions?: Record<string, FunctionFigures>;
  /** Consumed capacity units per payment, by stage, when the bench measured them (see readCapacity). */
  capacity?: Partial<Record<Stage, StageUnits>>;
  /** Module initialisation time per function in a fresh Node process (bench/bundles.ts), when present. */
  initMs?: Record<string, number>;
}

class ResultsError extends Error {}

function record(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ResultsError(`${path}: expected an object`);
  return value as Record<string, unknown>;
}

function num(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ResultsError(`${path}: expected a number`);
  return value;
}

/** Invocations and handler ms by function name; entries that are not objects (a `note`) are skipped. */
function functionFigures(value: unknown, path: string): Record<string, FunctionFigures> | undefined {
  if (value === undefined || value === null) return undefined;
  const entries = Object.entries(record(value, path)).filter(([, figures]) => typeof figures === 'object' && figures !== null);
  return Object.fromEntries(
    entries.map(([name, raw]) => {
      const figures = record(raw, `${path}.${name}`);
      return [name, { invocations: num(figures.invocations, `${path}.${name}.invocations`), totalMs: num(figures.totalMs, `${path}.${name}.totalMs`) }];
    }),
  );
}

function counts(value: unknown, path: string): Counts {
  if (value === undefined) return {};
  return Object.fromEntries(Object.entries(record(value, path)).map(([key, count]) => [key, num(count, `${path}.${key}`)]));
}

/** The fields of a results file this script uses; a clear error naming the first missing one. */
export function parseResults(raw: unknown): BenchResults {
  const root = record(raw, 'results');
  const options = record(root.options, 'options');
  const machine = record(root.machine ?? {}, 'machine');
  const stagesRaw = record(root.stages, 'stages');
  const stages = Object.fromEntries(
    STAGES.map((stage) => {
      const figures = record(stagesRaw[stage], `stages.${stage}`);
      const dynamodb = record(figures.dynamodb, `stages.${stage}.dynamodb`);
      const sqs = record(figures.sqs, `stages.${stage}.sqs`);
      const byQueue = record(sqs.byQueue ?? {}, `stages.${stage}.sqs.byQueue`);
      const functions = functionFigures(figures.functions, `stages.${stage}.functions`);
      return [
        stage,
        {
          ms: num(figures.ms, `stages.${stage}.ms`),
          ...(functions ? { functions } : {}),
          dynamodb: {
            calls: counts(dynamodb.calls, `stages.${stage}.dynamodb.calls`),
            byTable: counts(dynamodb.byTable, `stages.${stage}.dynamodb.byTable`),
            errors: counts(dynamodb.errors, `stages.${stage}.dynamodb.errors`),
            itemsWrittenByTable: counts(dynamodb.itemsWrittenByTable, `stages.${stage}.dynamodb.itemsWrittenByTable`),
          },
          sqs: {
            calls: counts(sqs.calls, `stages.${stage}.sqs.calls`),
            total: num(sqs.total, `stages.${stage}.sqs.total`),
            emptyReceives: num(sqs.emptyReceives ?? 0, `stages.${stage}.sqs.emptyReceives`),
            byQueue: Object.fromEntries(Object.entries(byQueue).map(([queue, actions]) => [queue, counts(actions, `stages.${stage}.sqs.byQueue.${queue}`)])),
          },
        },
      ];
    }),
  ) as Record<Stage, StageFigures>;
  const perPayment = record(root.perPayment, 'perPayment');
  const dynamodb = record(perPayment.dynamodb, 'perPayment.dynamodb');
  const system = record(perPayment.dynamodbSystemTables, 'perPayment.dynamodbSystemTables');
  const sqs = record(perPayment.sqs, 'perPayment.sqs');
  const endToEnd = record(root.endToEnd, 'endToEnd');
  const functions = functionFigures(root.functions, 'functions');
  const capacity = readCapacity(root);
  const bundleFunctions = root.bundles && typeof root.bundles === 'object' ? (root.bundles as { functions?: unknown }).functions : undefined;
  const initMs = bundleFunctions
    ? Object.fromEntries(Object.entries(record(bundleFunctions, 'bundles.functions')).map(([name, b]) => [name, num(record(b, `bundles.functions.${name}`).initMs, `bundles.functions.${name}.initMs`)]))
    : undefined;
  return {
    generatedAt: typeof root.generatedAt === 'string' ? root.generatedAt : 'unknown',
    ok: root.ok === true,
    machine: {
      node: String(machine.node ?? 'unknown'),
      platform: String(machine.platform ?? 'unknown'),
      cpus: Number(machine.cpus ?? 0),
      cpuModel: String(machine.cpuModel ?? 'unknown'),
      memoryGb: Number(machine.memoryGb ?? 0),
    },
    options: { payments: num(options.payments, 'options.payments'), chunkSize: num(options.chunkSize ?? 5_000, 'options.chunkSize') },
    stages,
    endToEnd: { ms: num(endToEnd.ms, 'endToEnd.ms'), paymentsPerSecond: num(endToEnd.paymentsPerSecond, 'endToEnd.paymentsPerSecond') },
    perPayment: {
      dynamodb: { byTable: counts(dynamodb.byTable, 'perPayment.dynamodb.byTable') },
      dynamodbSystemTables: {
        calls: counts(system.calls, 'perPayment.dynamodbSystemTables.calls'),
        total: num(system.total, 'perPayment.dynamodbSystemTables.total'),
        itemsWritten: num(system.itemsWritten, 'perPayment.dynamodbSystemTables.itemsWritten'),
      },
      sqs: {
        total: num(sqs.total, 'perPayment.sqs.total'),
        totalWithoutEmptyReceives: num(sqs.totalWithoutEmptyReceives ?? sqs.total, 'perPayment.sqs.totalWithoutEmptyReceives'),
      },
      providerCalls: num(perPayment.providerCalls ?? 0, 'perPayment.providerCalls'),
    },
    observer: { statusPolls: Number(record(root.observer ?? {}, 'observer').statusPolls ?? 0) },
    ...(functions ? { functions } : {}),
    ...(capacity ? { capacity } : {}),
    ...(initMs ? { initMs } : {}),
  };
}

/**
 * Consumed capacity per payment by stage, on the system tables, when the bench measured it
 * (stages.<stage>.dynamodb.capacity: { read, write } units by table, the status polls left out).
 * Results of a bench that did not measure it: undefined, and request units are estimated from the calls.
 */
export function readCapacity(root: Record<string, unknown>): Partial<Record<Stage, StageUnits>> | undefined {
  const payments = num(record(root.options, 'options').payments, 'options.payments');
  const stages = record(root.stages, 'stages');
  const result: Partial<Record<Stage, StageUnits>> = {};
  for (const stage of STAGES) {
    const dynamodb = record(record(stages[stage], `stages.${stage}`).dynamodb, `stages.${stage}.dynamodb`);
    if (dynamodb.capacity === undefined) return undefined;
    const capacity = record(dynamodb.capacity, `stages.${stage}.dynamodb.capacity`);
    const onSystemTables = (units: Counts) => SYSTEM_TABLES.reduce((total, table) => total + (units[table] ?? 0), 0) / payments;
    result[stage] = {
      writeUnits: onSystemTables(counts(capacity.write, `stages.${stage}.dynamodb.capacity.write`)),
      readUnits: onSystemTables(counts(capacity.read, `stages.${stage}.dynamodb.capacity.read`)),
    };
  }
  return result;
}

// ---------------------------------------------------------------------------
// Per-payment usage, from the measured counts

/** Tables deployed for real; registry and sandboxProvider stand in for external HTTP services. */
export const SYSTEM_TABLES = ['core', 'audit'] as const;

const WRITE_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

/** Calls by operation on the system tables only, from "<table> <operation>" counts. */
export function systemCalls(byTable: Counts): Counts {
  const result: Counts = {};
  for (const [label, count] of Object.entries(byTable)) {
    const [table = '', operation = ''] = label.split(' ');
    if ((SYSTEM_TABLES as readonly string[]).includes(table)) result[operation] = (result[operation] ?? 0) + count;
  }
  return result;
}

/** Single writes that failed (their condition, mostly) in a stage. */
export function failedWrites(figures: StageFigures): number {
  return Object.entries(figures.dynamodb.errors).reduce((sum, [operation, count]) => (WRITE_OPERATIONS.has(operation) ? sum + count : sum), 0);
}

/**
 * Request units of one stage per payment, estimated from its calls (ASSUMPTIONS): each item written is
 * writeUnitsPerItemWritten, a failed conditional write still consumes a unit; GetItem readUnitsPerGetItem,
 * BatchGetItem and Query readUnitsPerBatchedRead each.
 */
export function estimateStageUnits(figures: StageFigures, payments: number, assumptions: Assumptions = ASSUMPTIONS): StageUnits {
  const calls = systemCalls(figures.dynamodb.byTable);
  const itemsWritten = SYSTEM_TABLES.reduce((sum, table) => sum + (figures.dynamodb.itemsWrittenByTable[table] ?? 0), 0);
  const writeUnits = (itemsWritten + failedWrites(figures)) * assumptions.writeUnitsPerItemWritten;
  const readUnits =
    (calls.GetItem ?? 0) * assumptions.readUnitsPerGetItem + ((calls.BatchGetItem ?? 0) + (calls.Query ?? 0)) * assumptions.readUnitsPerBatchedRead;
  return { writeUnits: writeUnits / payments, readUnits: readUnits / payments };
}

export interface DynamoUsage {
  source: 'measured' | 'estimated';
  byStage: Record<Stage, StageUnits>;
  /** Whole life of a payment, index writes included. */
  writeUnits: number;
  readUnits: number;
}

/** Request units per payment by stage: measured where the bench has them, else estimated; plus gsi1's write. */
export function dynamoUsage(results: BenchResults, assumptions: Assumptions = ASSUMPTIONS): DynamoUsage {
  const n = results.options.payments;
  const measured = results.capacity;
  const byStage = Object.fromEntries(
    STAGES.map((stage) => {
      const stageMeasured = measured?.[stage];
      // A write that fails its condition consumes a unit on DynamoDB; the bench counts the capacity of successes only.
      const units = stageMeasured
        ? { ...stageMeasured, writeUnits: stageMeasured.writeUnits + (failedWrites(results.stages[stage]) * assumptions.writeUnitsPerItemWritten) / n }
        : estimateStageUnits(results.stages[stage], n, assumptions);
      // The payment's gsi1 entry is written when it is stored, in the upload.
      const index = stage === 'upload' ? assumptions.indexWritesPerPayment : 0;
      return [stage, { writeUnits: units.writeUnits + index, readUnits: units.readUnits }];
    }),
  ) as Record<Stage, StageUnits>;
  const sum = (key: keyof StageUnits) => STAGES.reduce((total, stage) => total + byStage[stage][key], 0);
  return { source: measured ? 'measured' : 'estimated', byStage, writeUnits: sum('writeUnits'), readUnits: sum('readUnits') };
}

// --- Lambda

export interface FunctionConfig {
  memoryMb: number;
  /** Pipeline stage whose time it adds to (national run). */
  stage: Stage;
  /** Deployed tables it is granted (each a KMS table key to decrypt per execution environment). */
  tables: number;
  /** Most execution environments it runs in at once: its queue's maximumConcurrency, if it has one. */
  maxConcurrency?: number;
}

/**
 * Functions the bench runs only as an observer or during setup, left out of per-payment figures:
 * batches-read serves the bench's 200 ms status polls (a province's own status reads are counted as
 * API requests from ASSUMPTIONS.statusReadsPerBatch), accounts links the accounts before the pipeline.
 */
export const NOT_PER_PAYMENT: Record<string, string> = {
  'batches-read': "the bench's status polls",
  accounts: 'account links, set up before the pipeline',
};

/** Stage of each HTTP function the pipeline calls (consumers take the stage of their queue). */
const HTTP_FUNCTION_STAGE: Record<string, Stage> = {
  'batches-write': 'upload',
  'batches-approve': 'disburse',
  'provider-callbacks': 'disburse',
};
const QUEUE_STAGE: Record<string, Stage> = { verification: 'verify', disbursement: 'disburse' };

/** Concurrency reserved in prod (infra/wiring.ts `reservedConcurrency`): taken out of the account's pool. */
export function reservedInProd(): number {
  const all = [...Object.values(httpFunctionWiring), ...Object.values(consumerWiring), ...Object.values(deadLetterConsumerWiring)];
  return all.reduce((sum, wiring) => sum + (wiring?.reservedConcurrency?.prod ?? 0), 0);
}

/** Deployed tables of a wiring entry (the sandbox-only stand-ins do not exist in prod). */
function deployedTables(wiring: FunctionWiring | undefined): number {
  return Object.keys(wiring?.tables ?? {}).filter((key) => !(tableDefinitions as Record<string, { sandboxOnly?: boolean }>)[key]?.sandboxOnly).length;
}

/** Memory size, stage, tables and concurrency of a function, from infra/wiring.ts and shared/adapters/sqs/queues.ts. */
export function functionConfig(name: string): FunctionConfig | undefined {
  const http = httpFunctionWiring[name];
  if (http) return { memoryMb: http.memorySize ?? httpDefaults.memorySize, stage: HTTP_FUNCTION_STAGE[name] ?? 'disburse', tables: deployedTables(http) };
  for (const [key, queue] of Object.entries(queueDefinitions) as [keyof typeof queueDefinitions, QueueDefinition][]) {
    const stage = QUEUE_STAGE[key] ?? 'disburse';
    const wiring = queue.consumer === name ? consumerWiring[key] : queue.deadLetterConsumer === name ? deadLetterConsumerWiring[key] : undefined;
    if (wiring || queue.consumer === name || queue.deadLetterConsumer === name) {
      return { memoryMb: wiring?.memorySize ?? consumerDefaults.memorySize, stage, tables: deployedTables(wiring), maxConcurrency: queue.maximumConcurrency };
    }
  }
  return undefined;
}

export interface FunctionUsage extends FunctionConfig {
  name: string;
  /** Module initialisation per cold start, measured by bench/bundles.ts (undefined: not in the results). */
  initMs?: number;
  invocationsPerPayment: number;
  /** Handler milliseconds per payment (all invocations together). */
  msPerPayment: number;
  /** The same, by the stage it was spent in (measured per stage when the bench did, else all in `stage`). */
  msPerPaymentByStage: Partial<Record<Stage, number>>;
  msPerInvocation: number;
  gbSecondsPerPayment: number;
}

export interface LambdaUsage {
  source: 'measured' | 'estimated';
  /**
   * By stage: handler time of all functions / the stage's wall time, at least 1. Above 1, handlers
   * overlapped in the one local process, each waiting behind the others for the CPU: their summed time
   * overstates what separate Lambda environments would take, by up to this factor.
   */
  overlapByStage: Record<Stage, number>;
  functions: FunctionUsage[];
  /** Functions in the results file left out, and why. */
  leftOut: Record<string, string>;
  invocations: number;
  gbSeconds: number;
}

/** HTTP requests the pipeline itself makes per batch besides chunks: create, seal (batches-write) and approve. */
export function httpRequestsOfBatch(payments: number, chunkSize: number) {
  return { create: 1, chunks: Math.ceil(payments / chunkSize), seal: 1, approve: 1 };
}

/**
 * Per-function invocations and handler time per payment. From `functions` when the bench measured them;
 * otherwise estimated: HTTP invocations from the pipeline's own requests, consumer invocations from the
 * DeleteMessageBatch calls on each queue (one per batch handled), and each stage's wall-clock time given
 * to its main function (the handlers shared one process, so it is their time together).
 */
export function lambdaUsage(results: BenchResults, configOf: (name: string) => FunctionConfig | undefined = functionConfig): LambdaUsage {
  const n = results.options.payments;
  const leftOut: Record<string, string> = {};
  const raw: { name: string; invocations: number; totalMs: number }[] = [];
  if (results.functions) {
    for (const [name, figures] of Object.entries(results.functions)) {
      const reason = NOT_PER_PAYMENT[name];
      if (reason) leftOut[name] = reason;
      else raw.push({ name, ...figures });
    }
  } else {
    const batch = httpRequestsOfBatch(n, results.options.chunkSize);
    const deletesOn = (queueId: string, suffix = '') =>
      STAGES.reduce((sum, stage) => sum + (results.stages[stage].sqs.byQueue[`local-${queueId}${suffix}`]?.DeleteMessageBatch ?? 0), 0);
    raw.push({ name: 'batches-write', invocations: batch.create + batch.chunks + batch.seal, totalMs: results.stages.upload.ms });
    raw.push({ name: 'batches-approve', invocations: batch.approve, totalMs: 0 });
    for (const queue of Object.values(queueDefinitions) as QueueDefinition[]) {
      const stage = configOf(queue.consumer)?.stage ?? 'disburse';
      raw.push({ name: queue.consumer, invocations: deletesOn(queue.id), totalMs: results.stages[stage].ms });
      if (queue.deadLetterConsumer) raw.push({ name: queue.deadLetterConsumer, invocations: deletesOn(queue.id, '-dlq'), totalMs: 0 });
    }
  }
  const functions = raw.map(({ name, invocations, totalMs }): FunctionUsage => {
    // A function the wiring does not know yet: the consumer default, so that its cost is not lost.
    const config = configOf(name) ?? { memoryMb: consumerDefaults.memorySize, stage: 'disburse' as Stage, tables: 1 };
    const msPerPayment = totalMs / n;
    const initMs = results.initMs?.[name];
    const measuredByStage = STAGES.some((stage) => results.stages[stage].functions !== undefined);
    const msPerPaymentByStage = measuredByStage
      ? Object.fromEntries(STAGES.map((stage) => [stage, (results.stages[stage].functions?.[name]?.totalMs ?? 0) / n]))
      : { [config.stage]: msPerPayment };
    return {
      name,
      ...config,
      ...(initMs === undefined ? {} : { initMs }),
      msPerPaymentByStage,
      invocationsPerPayment: invocations / n,
      msPerPayment,
      msPerInvocation: invocations === 0 ? 0 : totalMs / invocations,
      gbSecondsPerPayment: (config.memoryMb / 1024) * (msPerPayment / 1000),
    };
  });
  const overlapByStage = Object.fromEntries(
    STAGES.map((stage) => {
      const handlerMs = functions.reduce((sum, f) => sum + (f.msPerPaymentByStage[stage] ?? 0) * n, 0);
      return [stage, results.stages[stage].ms > 0 ? Math.max(1, handlerMs / results.stages[stage].ms) : 1];
    }),
  ) as Record<Stage, number>;
  return {
    source: results.functions ? 'measured' : 'estimated',
    overlapByStage,
    functions,
    leftOut,
    invocations: functions.reduce((sum, f) => sum + f.invocationsPerPayment, 0),
    gbSeconds: functions.reduce((sum, f) => sum + f.gbSecondsPerPayment, 0),
  };
}

// --- everything per payment

export interface Usage {
  payments: number;
  dynamodb: DynamoUsage;
  /** SQS requests per payment, the idle pollers' empty receives left out (a monthly cost of their own). */
  sqsRequests: number;
  lambda: LambdaUsage;
  /** API Gateway requests per payment as billed (512 KB steps), with what they are. */
  api: { requests: number; billedRequests: number; perBatch: Record<string, number> };
  /** KMS requests per payment, upper bound: one per Lambda invocation and table, as if no table key were ever cached. */
  kmsRequestsUpperBound: number;
  logGb: number;
  storedGb: number;
  external: { providerCalls: number; registryLookups: number };
}

/** API requests a province makes for one batch (bench polls excluded), and as API Gateway bills them. */
export function apiRequests(payments: number, chunkSize: number, assumptions: Assumptions = ASSUMPTIONS) {
  const batch = httpRequestsOfBatch(payments, chunkSize);
  // HTTP APIs are metered in 512 KB steps: a 5,000-payment CSV chunk of about 1 MB is two requests.
  const chunkBytes = Math.min(payments, chunkSize) * assumptions.csvBytesPerPayment;
  const billedPerChunk = Math.max(1, Math.ceil(chunkBytes / (512 * 1024)));
  const perBatch = { create: batch.create, chunks: batch.chunks, seal: batch.seal, approve: batch.approve, statusReads: assumptions.statusReadsPerBatch };
  const requests = batch.create + batch.chunks + batch.seal + batch.approve + assumptions.statusReadsPerBatch;
  const billed = requests + batch.chunks * (billedPerChunk - 1);
  return { requests: requests / payments, billedRequests: billed / payments, perBatch };
}

export function usageOf(results: BenchResults, assumptions: Assumptions = ASSUMPTIONS, configOf: (name: string) => FunctionConfig | undefined = functionConfig): Usage {
  const n = results.options.payments;
  const lambda = lambdaUsage(results, configOf);
  const api = apiRequests(n, results.options.chunkSize, assumptions);
  const GB = 1024 ** 3;
  return {
    payments: n,
    dynamodb: dynamoUsage(results, assumptions),
    sqsRequests: results.perPayment.sqs.totalWithoutEmptyReceives,
    lambda,
    api,
    kmsRequestsUpperBound: lambda.functions.reduce((sum, f) => sum + f.invocationsPerPayment * f.tables, 0),
    logGb: (lambda.invocations * assumptions.logBytesPerInvocation + api.requests * assumptions.logBytesPerApiRequest) / GB,
    storedGb: assumptions.storedBytesPerPayment / GB,
    external: {
      providerCalls: results.perPayment.providerCalls,
      registryLookups: results.perPayment.dynamodb.byTable['registry BatchGetItem'] ?? 0,
    },
  };
}

// ---------------------------------------------------------------------------
// Cost of one million payments

export interface CostLine {
  service: string;
  item: string;
  /** Quantity for one million payments. */
  quantity: number;
  unit: string;
  price: PriceKey;
  usd: number;
  basis: 'measured' | 'estimated' | 'assumed';
}

export interface CostReport {
  payments: number;
  lines: CostLine[];
  byService: Record<string, number>;
  totalUsd: number;
  /** Kept per month, on top: storage and PITR of the million payments' items. */
  monthly: CostLine[];
  /** Fixed a month whatever the volume: the KMS key, idle queue polling. */
  fixedMonthly: { item: string; usd: number }[];
  external: { providerCalls: number; registryLookups: number };
}

export const MILLION = 1_000_000;

/**
 * KMS requests for `payments`: DynamoDB decrypts a table key once per caller (an execution environment)
 * and again only after five minutes idle, so one request per environment and table it uses. A queue
 * consumer runs in at most its maximumConcurrency environments; an HTTP function is counted once per
 * invocation (a few per batch).
 */
export function kmsRequestsFor(lambda: LambdaUsage, payments: number): number {
  return lambda.functions.reduce((sum, f) => sum + environmentsFor(f, payments) * f.tables, 0);
}

/** Execution environments a function starts for `payments`: a consumer at most its queue's maximumConcurrency, an HTTP function one per invocation. */
export function environmentsFor(f: FunctionUsage, payments: number): number {
  const invocations = f.invocationsPerPayment * payments;
  return Math.min(invocations, f.maxConcurrency ?? invocations);
}

/** GB-seconds of INIT (billed since 1 August 2025): environments x measured initialisation x memory; undefined without init figures. */
export function initGbSecondsFor(lambda: LambdaUsage, payments: number): number | undefined {
  if (!lambda.functions.some((f) => f.initMs !== undefined)) return undefined;
  return lambda.functions.reduce((sum, f) => sum + environmentsFor(f, payments) * ((f.initMs ?? 0) / 1000) * (f.memoryMb / 1024), 0);
}

/** Idle event source mappings long-poll their queues all month: requests a month for `queues` queues. */
export function idlePollingRequestsPerMonth(queues: number, assumptions: Assumptions = ASSUMPTIONS): number {
  const secondsPerMonth = 30 * 24 * 3600;
  return queues * assumptions.idlePollersPerQueue * (secondsPerMonth / assumptions.idlePollSeconds);
}

export function costPerMillion(usage: Usage, prices: PriceList = PRICES, payments = MILLION): CostReport {
  const line = (service: string, item: string, perPayment: number, price: PriceKey, basis: CostLine['basis']): CostLine => {
    const quantity = perPayment * payments;
    return { service, item, quantity, unit: prices[price].unit, price, usd: costOf(quantity, prices[price]), basis };
  };
  const ddbBasis = usage.dynamodb.source;
  const initGbSeconds = initGbSecondsFor(usage.lambda, payments);
  const lines = [
    line('DynamoDB', 'write request units', usage.dynamodb.writeUnits, 'dynamodbWriteRequestUnits', ddbBasis),
    line('DynamoDB', 'read request units', usage.dynamodb.readUnits, 'dynamodbReadRequestUnits', ddbBasis),
    line('SQS', 'requests (send, receive, delete, visibility)', usage.sqsRequests, 'sqsRequests', 'measured'),
    line('Lambda', 'GB-seconds (arm64)', usage.lambda.gbSeconds, 'lambdaArmGbSeconds', usage.lambda.source),
    line('Lambda', 'requests', usage.lambda.invocations, 'lambdaRequests', usage.lambda.source),
    // Not proportional to payments either: one INIT per execution environment.
    ...(initGbSeconds === undefined ? [] : [line('Lambda', 'GB-seconds of INIT (cold starts)', initGbSeconds / payments, 'lambdaArmGbSeconds', 'measured')]),
    line('API Gateway', 'HTTP API requests (512 KB steps)', usage.api.billedRequests, 'apiGatewayHttpRequests', 'assumed'),
    // Not proportional to payments: one per execution environment and table.
    line('KMS', 'requests (table key per execution environment)', kmsRequestsFor(usage.lambda, payments) / payments, 'kmsRequests', 'estimated'),
    line('CloudWatch Logs', 'GB ingested', usage.logGb, 'cloudwatchLogsIngestionGb', 'assumed'),
  ];
  const byService: Record<string, number> = {};
  for (const { service, usd } of lines) byService[service] = (byService[service] ?? 0) + usd;
  const queuesPolled = Object.values(queueDefinitions).reduce((count, queue: QueueDefinition) => count + (queue.deadLetterConsumer ? 2 : 1), 0);
  return {
    payments,
    lines,
    byService,
    totalUsd: lines.reduce((sum, { usd }) => sum + usd, 0),
    monthly: [
      line('DynamoDB', 'storage, per month kept', usage.storedGb, 'dynamodbStorageGbMonth', 'assumed'),
      line('DynamoDB', 'point-in-time recovery, per month kept', usage.storedGb, 'dynamodbPitrGbMonth', 'assumed'),
    ],
    fixedMonthly: [
      { item: 'customer-managed KMS key', usd: costOf(1, prices.kmsKeyMonth) },
      { item: `idle long polling of ${queuesPolled} queues by Lambda`, usd: costOf(idlePollingRequestsPerMonth(queuesPolled), prices.sqsRequests) },
    ],
    external: { providerCalls: usage.external.providerCalls * payments, registryLookups: usage.external.registryLookups * payments },
  };
}

// ---------------------------------------------------------------------------
// The national run

export interface NationalRunInput {
  payments: number;
  /** Divide each stage's Lambda time by the local overlap of its handlers (LambdaUsage.overlapByStage). */
  uncontended?: boolean;
  /** Batches uploaded and processed side by side (one per province by default). */
  batches: number;
  /** maximumConcurrency of each queue's event source mapping (queues.ts as configured, or raised). */
  maximumConcurrency: { verification: number; disbursement: number };
  /** Concurrency reserved for other functions (infra/wiring.ts, prod): out of the account's pool. */
  reservedElsewhere?: number;
}

export interface Limit {
  name: string;
  /** Payments a second this limit allows in the stage. */
  paymentsPerSecond: number;
  /** Kind: an AWS quota, or a setting or property of this design. */
  kind: 'AWS quota' | 'design';
  raise: string;
}

export interface StageEstimate {
  stage: Stage;
  /** Most concurrent invocations the limits allow, and how many the binding rate keeps busy. */
  concurrency: number;
  concurrencyUsed: number;
  /** Lambda handler seconds per payment in the stage. */
  lambdaSecondsPerPayment: number;
  limits: Limit[];
  binding: Limit;
  /** Seconds, ramp-up of the SQS pollers included. */
  seconds: number;
}

export interface NationalRunEstimate {
  input: NationalRunInput;
  shards: number;
  stages: StageEstimate[];
  totalSeconds: number;
  /** The binding limit of the longest stage. */
  binding: { stage: Stage; limit: Limit };
}

/**
 * Seconds to process `payments` at a steady `rate` a second, when the concurrency starts at `start` and
 * grows by `perMinute` a minute (Lambda's SQS pollers) and each unit of concurrency handles `perUnit`
 * payments a second. Without a ramp (perUnit = Infinity, or start high enough) it is payments / rate.
 */
export function rampedSeconds(payments: number, rate: number, ramp: { start: number; perMinute: number; perUnit: number }): number {
  const { start, perMinute, perUnit } = ramp;
  if (!(rate > 0)) return Infinity;
  const needed = rate / perUnit; // concurrency at which something else (or the cap) binds
  if (!Number.isFinite(perUnit) || needed <= start) return payments / rate;
  const a = perMinute / 60; // concurrency added per second
  const rampSeconds = (needed - start) / a;
  const duringRamp = perUnit * ((start + needed) / 2) * rampSeconds;
  if (payments >= duringRamp) return rampSeconds + (payments - duringRamp) / rate;
  // Done while still ramping: perUnit * (start t + a t^2 / 2) = payments.
  return (-start + Math.sqrt(start * start + (2 * a * payments) / perUnit)) / a;
}

/** The lowest of the limits (the first one listed wins a tie). */
export function bindingLimit(limits: readonly Limit[]): Limit {
  const [first, ...rest] = limits;
  if (!first) throw new Error('no limits');
  return rest.reduce((low, limit) => (limit.paymentsPerSecond < low.paymentsPerSecond ? limit : low), first);
}

const per = (capacity: number, perPayment: number) => (perPayment > 0 ? capacity / perPayment : Infinity);
const fmt = (value: number) => value.toLocaleString('en');

export type Quotas = { [K in keyof typeof QUOTAS]: Quota };

export function nationalRun(usage: Usage, input: NationalRunInput, quotas: Quotas = QUOTAS): NationalRunEstimate {
  const perBatch = Math.ceil(input.payments / input.batches);
  const shards = shardCountFor(perBatch) * input.batches;
  const stages = STAGES.map((stage): StageEstimate => {
    const units = usage.dynamodb.byStage[stage];
    const overlap = input.uncontended ? usage.lambda.overlapByStage[stage] : 1;
    const lambdaSeconds = usage.lambda.functions.reduce((sum, f) => sum + (f.msPerPaymentByStage[stage] ?? 0) / 1000, 0) / overlap;
    const limits: Limit[] = [
      {
        name: `DynamoDB table write throughput (${fmt(quotas.dynamodbTableWriteUnitsPerSecond.value)} WRU/s)`,
        paymentsPerSecond: per(quotas.dynamodbTableWriteUnitsPerSecond.value, units.writeUnits),
        kind: 'AWS quota',
        raise: 'Service Quotas: DynamoDB table-level write throughput (on-demand tables); set warm throughput before the run so the table does not start at 4,000 WRU/s',
      },
      {
        name: `DynamoDB table read throughput (${fmt(quotas.dynamodbTableReadUnitsPerSecond.value)} RRU/s)`,
        paymentsPerSecond: per(quotas.dynamodbTableReadUnitsPerSecond.value, units.readUnits),
        kind: 'AWS quota',
        raise: 'Service Quotas: DynamoDB table-level read throughput; eventually consistent reads where the flow allows (half a unit)',
      },
      {
        // Conservative: as if every write of the stage landed on the batch's shard partitions.
        name: `DynamoDB partitions (${fmt(quotas.dynamodbPartitionWriteUnitsPerSecond.value)} WRU/s x ${shards} shard keys)`,
        paymentsPerSecond: per(quotas.dynamodbPartitionWriteUnitsPerSecond.value * shards, units.writeUnits),
        kind: 'design',
        raise: 'more shards per batch (PAYMENTS_PER_SHARD, MAX_SHARDS in shared/domain/batch.ts)',
      },
      {
        // The same for reads: payment pages and groups are read from the shards.
        name: `DynamoDB partitions (${fmt(quotas.dynamodbPartitionReadUnitsPerSecond.value)} RRU/s x ${shards} shard keys)`,
        paymentsPerSecond: per(quotas.dynamodbPartitionReadUnitsPerSecond.value * shards, units.readUnits),
        kind: 'design',
        raise: 'more shards per batch; eventually consistent reads (half a unit) where the flow allows',
      },
    ];
    let concurrency: number;
    let ramp = { start: Infinity, perMinute: 0 };
    const account = quotas.lambdaConcurrentExecutions.value - (input.reservedElsewhere ?? 0);
    if (stage === 'upload') {
      // Chunks of one batch are serialised by its upload lease: one request in flight per batch.
      concurrency = Math.min(account, input.batches);
      limits.push({
        name: `upload lease: one chunk at a time per batch (${input.batches} batches)`,
        paymentsPerSecond: per(Math.min(account, input.batches), lambdaSeconds),
        kind: 'design',
        raise: 'more, smaller batches (several per province), or parallel chunks per batch',
      });
      limits.push({
        name: `API Gateway account throttle (${fmt(quotas.apiGatewayRequestsPerSecond.value)} requests/s)`,
        paymentsPerSecond: per(quotas.apiGatewayRequestsPerSecond.value, usage.api.requests),
        kind: 'AWS quota',
        raise: 'Service Quotas: API Gateway throttle rate (L-8A5B8E43); the prod stage throttle in infra/stages.ts (500 requests/s)',
      });
    } else {
      const queueKey = stage === 'verify' ? 'verification' : 'disbursement';
      const configured = input.maximumConcurrency[queueKey];
      const esm = Math.min(configured, quotas.sqsEventSourceBatches.value);
      concurrency = Math.min(account, esm);
      limits.push({
        name: `Lambda concurrent executions (${fmt(account)})`,
        paymentsPerSecond: per(account, lambdaSeconds),
        kind: 'AWS quota',
        raise: 'Service Quotas: Lambda concurrent executions (L-B99A9384), up to tens of thousands',
      });
      limits.push({
        name: `${queueKey} queue maximumConcurrency (${fmt(esm)})`,
        paymentsPerSecond: per(esm, lambdaSeconds),
        kind: configured < quotas.sqsEventSourceBatches.value ? 'design' : 'AWS quota',
        raise: `maximumConcurrency in shared/adapters/sqs/queues.ts (2-1,000 per event source mapping); above 1,000, more queues or provisioned mode`,
      });
      if (stage === 'verify') {
        // One chain of pages per shard: a shard's next page is queued when its page is done.
        concurrency = Math.min(concurrency, shards);
        limits.push({
          name: `verification chains: one page in flight per shard (${shards} shards)`,
          paymentsPerSecond: per(shards, lambdaSeconds),
          kind: 'design',
          raise: 'more shards per batch, or several pages in flight per shard',
        });
      }
      ramp = { start: quotas.sqsPollerStart.value, perMinute: quotas.sqsPollerRampPerMinute.value };
    }
    const binding = bindingLimit(limits);
    const perUnit = lambdaSeconds > 0 ? 1 / lambdaSeconds : Infinity;
    const seconds = rampedSeconds(input.payments, binding.paymentsPerSecond, { ...ramp, perUnit });
    const concurrencyUsed = Math.min(concurrency, Math.ceil(binding.paymentsPerSecond * lambdaSeconds));
    return { stage, concurrency, concurrencyUsed, lambdaSecondsPerPayment: lambdaSeconds, limits, binding, seconds };
  });
  const longest = stages.reduce((a, b) => (b.seconds > a.seconds ? b : a));
  return {
    input,
    shards,
    stages,
    totalSeconds: stages.reduce((sum, s) => sum + s.seconds, 0),
    binding: { stage: longest.stage, limit: longest.binding },
  };
}

// ---------------------------------------------------------------------------
// Output

const usd = (value: number) => (value >= 100 ? `$${value.toFixed(0)}` : value >= 1 ? `$${value.toFixed(2)}` : `$${value.toFixed(value >= 0.01 ? 3 : 4)}`);
const qty = (value: number) => (value >= 100 ? Math.round(value).toLocaleString('en') : value.toLocaleString('en', { maximumSignificantDigits: 3 }));
const rate = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en') : 'unbounded');
export const duration = (seconds: number) => {
  if (!Number.isFinite(seconds)) return 'never';
  if (seconds < 120) return `${seconds.toFixed(0)} s`;
  if (seconds < 7_200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3_600).toFixed(1)} h`;
};
const priceText = (price: Price) => `$${price.usd} / ${price.per === 1 ? 'unit' : price.per === MILLION ? 'million' : price.per.toLocaleString('en')}`;

export interface CapacityReport {
  source: {
    file: string;
    generatedAt: string;
    payments: number;
    ok: boolean;
    machine: BenchResults['machine'];
    endToEndMs: number;
    /** The repository's commit when the figures were computed (the results file does not record the bench's). */
    commit?: string;
  };
  usage: Usage;
  cost: CostReport;
  national: { asConfigured: NationalRunEstimate; uncontended: NationalRunEstimate; defaultQuotas: NationalRunEstimate; coldTable: NationalRunEstimate };
  prices: PriceList;
  assumptions: Assumptions;
  notes: string[];
}

export function buildReport(results: BenchResults, file: string, nationalPayments = 5_900_000, batches = provinceCodes.length, commit?: string): CapacityReport {
  const usage = usageOf(results);
  const configured = { verification: queueDefinitions.verification.maximumConcurrency, disbursement: queueDefinitions.disbursement.maximumConcurrency };
  const reservedElsewhere = reservedInProd();
  const lifted = { verification: QUOTAS.sqsEventSourceBatches.value, disbursement: QUOTAS.sqsEventSourceBatches.value };
  const notes = [
    usage.dynamodb.source === 'measured'
      ? 'DynamoDB request units: consumed capacity measured by the bench (dynalite computes table units from item sizes), plus one gsi1 write per payment.'
      : `DynamoDB request units: ESTIMATED from calls (no consumed capacity in this results file): ${ASSUMPTIONS.writeUnitsPerItemWritten} WRU per item written ` +
        `(items under 1 KB) and per failed conditional write, ${ASSUMPTIONS.readUnitsPerGetItem} RRU per GetItem, ${ASSUMPTIONS.readUnitsPerBatchedRead} RRU per ` +
        `BatchGetItem or Query page, ${ASSUMPTIONS.indexWritesPerPayment} gsi1 write per payment.`,
    usage.lambda.source === 'measured'
      ? 'Lambda duration: handler time measured per function on this machine, an estimate of Lambda duration: the handlers shared one process and ' +
        'its in-memory store, so concurrent invocations waited for one another (longer than on Lambda), while DynamoDB answered in microseconds ' +
        '(shorter than on Lambda, 3-10 ms a call), and the sandbox provider and register answered at once (a real provider adds its latency).'
      : 'Lambda duration: ESTIMATED from each stage\'s wall-clock time (no per-function handler time in this results file), given to the ' +
        "stage's main function; invocations from the pipeline's requests and the queues' DeleteMessageBatch calls.",
    `API Gateway: per batch, create, ${'ceil(n / chunk)'} chunks of ${results.options.chunkSize.toLocaleString('en')} (billed in 512 KB steps, ` +
      `${ASSUMPTIONS.csvBytesPerPayment} CSV bytes a payment), seal, approve and ${ASSUMPTIONS.statusReadsPerBatch} status reads; the bench's own ` +
      'status polls and setup (people, account links) left out. Batches of the size of this run.',
    'SQS: every request of the run but the empty receives of idle pollers (a fixed monthly cost, below); each request under 64 KB (messages carry ids).',
    'KMS: one request per execution environment and table (DynamoDB caches the table key per caller and asks KMS again after five minutes idle); ' +
      `even one per invocation and table would be ${usd(costOf(usage.kmsRequestsUpperBound * MILLION, PRICES.kmsRequests))} per million payments.`,
    'Free tiers left out (the production account has other usage). Prices: us-east-1 list prices, no ap-southeast-1 figure found (see PRICES).',
    results.initMs
      ? 'Lambda INIT (billed since 1 August 2025): one per execution environment, at the module initialisation time bench/bundles.ts measured in a fresh Node process.'
      : 'Lambda INIT (billed since 1 August 2025) left out: no initialisation times (bundles) in this results file.',
    ...Object.entries(usage.lambda.leftOut).map(([name, why]) => `Left out of Lambda: ${name} (${why}).`),
  ];
  return {
    source: {
      file,
      generatedAt: results.generatedAt,
      payments: results.options.payments,
      ok: results.ok,
      machine: results.machine,
      endToEndMs: results.endToEnd.ms,
      ...(commit ? { commit } : {}),
    },
    usage,
    cost: costPerMillion(usage),
    national: {
      asConfigured: nationalRun(usage, { payments: nationalPayments, batches, maximumConcurrency: configured, reservedElsewhere }),
      uncontended: nationalRun(usage, { payments: nationalPayments, batches, maximumConcurrency: configured, uncontended: true, reservedElsewhere }),
      defaultQuotas: nationalRun(usage, { payments: nationalPayments, batches, maximumConcurrency: lifted, reservedElsewhere }),
      // A table never driven this hard starts at 4,000 WRU/s and 12,000 RRU/s: the run's worst case if not pre-warmed.
      coldTable: nationalRun(
        usage,
        { payments: nationalPayments, batches, maximumConcurrency: lifted, reservedElsewhere },
        {
          ...QUOTAS,
          dynamodbTableWriteUnitsPerSecond: QUOTAS.dynamodbNewTableWriteUnitsPerSecond,
          dynamodbTableReadUnitsPerSecond: { value: 12_000, source: QUOTAS.dynamodbNewTableWriteUnitsPerSecond.source },
        },
      ),
    },
    prices: PRICES,
    assumptions: ASSUMPTIONS,
    notes,
  };
}

/** The prices table, with sources and the date each was read. */
export function pricesMarkdown(prices: PriceList = PRICES): string {
  return [
    '| price | USD | region | read on | source |',
    '|---|---:|---|---|---|',
    ...Object.values(prices).map((p) => `| ${p.unit} | ${p.usd} per ${p.per.toLocaleString('en')} | ${p.region} | ${p.readOn} | ${p.source}${p.note ? `. ${p.note}` : ''} |`),
  ].join('\n');
}

/** The markdown of docs/capacity.md's figures, to paste over the old ones (or --doc). */
export function markdown(report: CapacityReport): string {
  const { source, usage, cost, national } = report;
  const out: string[] = [];
  out.push(
    source.payments < 100_000
      ? `> **Provisional: figures from a ${source.payments.toLocaleString('en')}-payment run** (\`${source.file}\`, ${source.generatedAt}). ` +
          'The figures of record come from a 100,000-payment run; small runs weigh per-batch work on few payments.'
      : `> **Figures from a ${source.payments.toLocaleString('en')}-payment run** (\`${source.file}\`, ${source.generatedAt}).`,
    '',
  );
  const summaryOf = (estimate: NationalRunEstimate) => `${duration(estimate.totalSeconds)}, bound by ${estimate.binding.limit.name} in the ${estimate.binding.stage} stage`;
  out.push(
    `**Summary.** One million payments cost **${usd(cost.totalUsd)}** at the prices below ` +
      `(${Object.entries(cost.byService).map(([service, value]) => `${service} ${usd(value)}`).join(', ')}), plus storage while kept. ` +
      `The national run of ${national.defaultQuotas.input.payments.toLocaleString('en')} payments takes **${summaryOf(national.asConfigured)}** as configured, ` +
      `and **${summaryOf(national.defaultQuotas)}** with maximumConcurrency raised to the event source mapping's 1,000 at default AWS quotas.`,
    '',
  );
  out.push(
    `Figures from \`${source.file}\`: ${source.payments.toLocaleString('en')} payments, generated ${source.generatedAt}` +
      `${source.ok ? '' : ' (the bench run FAILED its checks)'}, Node ${source.machine.node} on ${source.machine.platform}, ` +
      `${source.machine.cpus} CPU (${source.machine.cpuModel}), ${source.machine.memoryGb} GB; end to end ${(source.endToEndMs / 1000).toFixed(1)} s` +
      `${source.commit ? `; computed at commit ${source.commit}` : ''}.`,
    '',
    ...report.notes.map((note) => `- ${note}`),
    '',
    '**Per payment**',
    '',
    '| what | per payment | basis |',
    '|---|---:|---|',
    `| DynamoDB write request units | ${qty(usage.dynamodb.writeUnits)} | ${usage.dynamodb.source} |`,
    `| DynamoDB read request units | ${qty(usage.dynamodb.readUnits)} | ${usage.dynamodb.source} |`,
    `| SQS requests | ${qty(usage.sqsRequests)} | measured |`,
    `| Lambda invocations | ${qty(usage.lambda.invocations)} | ${usage.lambda.source} |`,
    `| Lambda GB-seconds | ${qty(usage.lambda.gbSeconds)} | ${usage.lambda.source} |`,
    `| API Gateway requests (billed) | ${qty(usage.api.billedRequests)} | assumed |`,
    `| provider calls (external) | ${qty(usage.external.providerCalls)} | measured |`,
    `| register lookups, batched (external) | ${qty(usage.external.registryLookups)} | measured |`,
    '',
    '| stage | WRU | RRU |',
    '|---|---:|---:|',
    ...STAGES.map((stage) => `| ${stage} | ${qty(usage.dynamodb.byStage[stage].writeUnits)} | ${qty(usage.dynamodb.byStage[stage].readUnits)} |`),
    '',
    '| function | memory | stage | invocations / payment | ms / invocation | GB-s / payment |',
    '|---|---:|---|---:|---:|---:|',
    ...usage.lambda.functions.map(
      (f) => `| ${f.name} | ${f.memoryMb} MB | ${f.stage} | ${qty(f.invocationsPerPayment)} | ${qty(f.msPerInvocation)} | ${qty(f.gbSecondsPerPayment)} |`,
    ),
    '',
    `**Cost of ${cost.payments.toLocaleString('en')} payments**`,
    '',
    '| service | item | quantity | price | USD | basis |',
    '|---|---|---:|---|---:|---|',
    ...cost.lines.map((l) => `| ${l.service} | ${l.item} | ${qty(l.quantity)} | ${priceText(PRICES[l.price])} | ${usd(l.usd)} | ${l.basis} |`),
    `| **total** | | | | **${usd(cost.totalUsd)}** | |`,
    '',
    '| service | USD per million payments |',
    '|---|---:|',
    ...Object.entries(cost.byService).map(([service, value]) => `| ${service} | ${usd(value)} |`),
    '',
    'Per month on top: ' +
      [...cost.monthly.map((l) => `${l.item} ${usd(l.usd)}`), ...cost.fixedMonthly.map((f) => `${f.item} ${usd(f.usd)}`)].join('; ') +
      `. External, no AWS cost: ${qty(cost.external.providerCalls)} provider calls, ${qty(cost.external.registryLookups)} batched register lookups.`,
    '',
  );
  for (const [title, estimate] of [
    ['as configured (queues.ts maximumConcurrency)', national.asConfigured],
    ['at default AWS quotas (maximumConcurrency raised to 1,000)', national.defaultQuotas],
  ] as const) {
    out.push(
      `**National run, ${estimate.input.payments.toLocaleString('en')} payments in ${estimate.input.batches} batches (${estimate.shards} shards), ${title}: ` +
        `${duration(estimate.totalSeconds)}; binding: ${estimate.binding.limit.name} (${estimate.binding.stage})**`,
      '',
      '| stage | Lambda s / payment | concurrency used (cap) | binding limit | payments/s | time | next limit |',
      '|---|---:|---:|---|---:|---:|---|',
      ...estimate.stages.map((s) => {
        const next = [...s.limits].sort((a, b) => a.paymentsPerSecond - b.paymentsPerSecond)[1];
        return (
          `| ${s.stage} | ${qty(s.lambdaSecondsPerPayment)} | ${s.concurrencyUsed.toLocaleString('en')} (${s.concurrency.toLocaleString('en')}) | ` +
          `${s.binding.name} | ${rate(s.binding.paymentsPerSecond)} | ${duration(s.seconds)} | ` +
          `${next ? `${next.name}: ${rate(next.paymentsPerSecond)}/s` : '-'} |`
        );
      }),
      '',
    );
  }
  const raise = new Map<string, Limit>();
  for (const estimate of [national.asConfigured, national.defaultQuotas]) {
    for (const s of estimate.stages) {
      const ordered = [...s.limits].sort((a, b) => a.paymentsPerSecond - b.paymentsPerSecond).slice(0, 2);
      for (const limit of ordered) if (Number.isFinite(limit.paymentsPerSecond)) raise.set(limit.name, limit);
    }
  }
  out.push('How to raise the limits that bind or come next:', '', ...[...raise.values()].map((l) => `- ${l.name} (${l.kind}): ${l.raise}.`), '');
  const cold = national.coldTable;
  const overlaps = STAGES.map((stage) => `${stage} ${usage.lambda.overlapByStage[stage].toFixed(1)}x`).join(', ');
  out.push(
    `Handlers overlapped in the one local process (summed handler time / stage wall time: ${overlaps}), waiting behind one another for the CPU. ` +
      `With each stage's Lambda time divided by that overlap, the run as configured takes ${duration(national.uncontended.totalSeconds)} ` +
      `(bound by ${national.uncontended.binding.limit.name} in ${national.uncontended.binding.stage}). Where Lambda binds, AWS likely lies between the two: ` +
      'separate environments do not wait for one another, but DynamoDB and the provider answer in milliseconds, not microseconds.',
    '',
  );
  out.push(
    `If the table is not pre-warmed (a new on-demand table serves 4,000 WRU/s and 12,000 RRU/s at once), the run at default quotas takes up to ` +
      `${duration(cold.totalSeconds)} (bound by ${cold.binding.limit.name} in ${cold.binding.stage}); ` +
      'on-demand doubles its previous peak within about 30 minutes, so this is an upper bound.',
    '',
    `**Prices used** (bench/capacity.ts PRICES):`,
    '',
    pricesMarkdown(report.prices),
    '',
  );
  return out.join('\n');
}

export const DOC_BEGIN = '<!-- capacity:begin (npm run capacity -- --doc docs/capacity.md rewrites this block) -->';
export const DOC_END = '<!-- capacity:end -->';

/** The document with the block between DOC_BEGIN and DOC_END replaced by `block`. */
export function replaceBlock(doc: string, block: string): string {
  const begin = doc.indexOf(DOC_BEGIN);
  const end = doc.indexOf(DOC_END, begin);
  if (begin < 0 || end < 0) throw new ResultsError(`the document has no ${DOC_BEGIN} ... ${DOC_END} block`);
  return `${doc.slice(0, begin + DOC_BEGIN.length)}\n\n${block.trim()}\n\n${doc.slice(end)}`;
}

function printSummary(report: CapacityReport): void {
  const { cost, national } = report;
  console.log(`capacity: ${report.source.payments.toLocaleString('en')}-payment run of ${report.source.generatedAt} (${report.source.file})`);
  console.log(`cost of one million payments: ${usd(cost.totalUsd)} (${Object.entries(cost.byService).map(([s, v]) => `${s} ${usd(v)}`).join(', ')})`);
  for (const [label, estimate] of [
    ['national run, as configured', national.asConfigured],
    ['national run, default quotas', national.defaultQuotas],
  ] as const) {
    console.log(`${label}: ${duration(estimate.totalSeconds)}, bound by ${estimate.binding.limit.name} in ${estimate.binding.stage}`);
  }
  for (const note of report.notes) console.log(`note: ${note}`);
  console.log(`\n--- markdown for docs/capacity.md ---\n\n${markdown(report)}`);
}

// ---------------------------------------------------------------------------
// Command line

const USAGE = `Usage: npx tsx bench/capacity.ts [--in FILE] [--out FILE] [--doc FILE] [--national N] [--batches N]
  --in        bench results (default bench/results/latest.json)
  --out       capacity figures as JSON (default bench/results/capacity.json)
  --doc       also rewrite the figures block of this markdown file (docs/capacity.md)
  --national  payments in the national run (default 5900000)
  --batches   batches of the national run, processed side by side (default one per province: ${provinceCodes.length})`;

/** The short commit, "+ changes" when the working tree differs from it; undefined outside a repository. */
function gitCommit(): string | undefined {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${commit} + changes` : commit;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const benchDir = dirname(fileURLToPath(import.meta.url));
  const { values } = parseArgs({
    options: {
      in: { type: 'string' },
      out: { type: 'string' },
      doc: { type: 'string' },
      national: { type: 'string' },
      batches: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const whole = (raw: string | undefined, fallback: number, name: string) => {
    if (raw === undefined) return fallback;
    if (!/^[1-9][0-9]*$/.test(raw)) throw new ResultsError(`--${name} must be a whole number >= 1`);
    return Number(raw);
  };
  const input = values.in ?? `${benchDir}/results/latest.json`;
  const out = values.out ?? `${benchDir}/results/capacity.json`;
  const results = parseResults(JSON.parse(await readFile(input, 'utf8')));
  const shown = relative(process.cwd(), input);
  const report = buildReport(
    results,
    shown === '' || shown.startsWith('..') ? input : shown,
    whole(values.national, 5_900_000, 'national'),
    whole(values.batches, provinceCodes.length, 'batches'),
    gitCommit(),
  );
  await mkdir(dirname(out), { recursive: true });
  await writeFile(`${out}.tmp`, `${JSON.stringify(report, (_key, value: unknown) => (value === Infinity ? null : value), 2)}\n`);
  await rename(`${out}.tmp`, out);
  printSummary(report);
  console.log(`written    ${relative(process.cwd(), out) || out}`);
  if (values.doc) {
    await writeFile(values.doc, replaceBlock(await readFile(values.doc, 'utf8'), markdown(report)));
    console.log(`updated    ${values.doc}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(`capacity: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    process.exit(error instanceof ResultsError || (error as { code?: string }).code === 'ENOENT' ? 2 : 1);
  });
}
