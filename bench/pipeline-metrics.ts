/**
 * Counters of bench/pipeline.ts: snapshots of the DynamoDB request counter
 * (shared/adapters/dynamodb/client.ts), of the local SQS server's request
 * counts (sandbox.queueStats()) and of process memory, and the differences
 * between two snapshots (one pipeline stage).
 */
import type { DynamoRequestCounts } from '../shared/adapters/dynamodb/client.js';
import type { QueuePollerStats } from '../local/queue-poller.js';
import type { QueueRequestStats } from '../local/queues.js';

export type Counts = Record<string, number>;

export interface SqsSnapshot {
  requests: Record<string, QueueRequestStats>;
  consumers: Record<string, QueuePollerStats>;
}

export interface Snapshot {
  at: number;
  dynamo: DynamoRequestCounts;
  sqs: SqsSnapshot;
}

export interface DynamoFigures {
  /** API calls by operation (GetItem, Query, PutItem, UpdateItem, BatchWriteItem, BatchGetItem, ...). */
  calls: Counts;
  total: number;
  /** Calls that answered an error (ConditionalCheckFailed among them), by operation. */
  errors: Counts;
  /** Calls by "<table> <operation>" (table names as the caller gave them; see renameTables). */
  byTable: Counts;
  itemsWritten: number;
  itemsWrittenByTable: Counts;
  /** Calls by request kind (conditional or not, see requestKind in shared/adapters/dynamodb/client.ts). */
  kinds: Counts;
  /** By kind: items carried (BatchWriteItem, BatchGetItem) or returned (Query). */
  kindItems: Counts;
  /** Consumed capacity units reported by the store, by table (read and write apart). */
  capacity: { read: Counts; write: Counts };
  /** Mean DynamoDB requests in flight over the window (time-weighted); the most at once since the last reset. */
  inFlight: { mean: number; max: number };
}

export interface SqsFigures {
  /** Requests by action, every queue and dead-letter queue together. */
  calls: Counts;
  total: number;
  /** Of the ReceiveMessage calls, those that came back empty (long polls of idle queues). */
  emptyReceives: number;
  /** Requests minus empty receives: what the work itself cost. */
  totalWithoutEmptyReceives: number;
  messagesSent: number;
  /** Requests by queue name, then action. */
  byQueue: Record<string, Counts>;
}

export function sum(counts: Counts): number {
  return Object.values(counts).reduce((total, value) => total + value, 0);
}

export function diffCounts(after: Counts, before: Counts): Counts {
  const result: Counts = {};
  for (const [key, value] of Object.entries(after)) {
    // Rounded: capacity units are fractions (0.5 per eventually consistent read), and float sums drift.
    const delta = Math.round((value - (before[key] ?? 0)) * 1000) / 1000;
    if (delta !== 0) result[key] = delta;
  }
  return sortedCounts(result);
}

/** Mean of a time-weighted in-flight integral between two readings (requests). */
export function meanInFlight(before: { area: number; at: number }, after: { area: number; at: number }): number {
  const span = after.at - before.at;
  return span <= 0 ? 0 : Math.round(((after.area - before.area) / span) * 100) / 100;
}

export function addCounts(...all: Counts[]): Counts {
  const result: Counts = {};
  for (const counts of all) for (const [key, value] of Object.entries(counts)) result[key] = (result[key] ?? 0) + value;
  return sortedCounts(result);
}

/** Largest first, then by name: the same order in every run's output. */
export function sortedCounts(counts: Counts): Counts {
  return Object.fromEntries(Object.entries(counts).sort(([a, x], [b, y]) => y - x || a.localeCompare(b)));
}

export function dynamoBetween(before: Snapshot, after: Snapshot): DynamoFigures {
  const calls = diffCounts(after.dynamo.calls, before.dynamo.calls);
  return {
    calls,
    total: sum(calls),
    errors: diffCounts(after.dynamo.errors, before.dynamo.errors),
    byTable: diffCounts(after.dynamo.byTable, before.dynamo.byTable),
    itemsWritten: after.dynamo.itemsWritten - before.dynamo.itemsWritten,
    itemsWrittenByTable: diffCounts(after.dynamo.itemsWrittenByTable, before.dynamo.itemsWrittenByTable),
    kinds: diffCounts(after.dynamo.kinds, before.dynamo.kinds),
    kindItems: diffCounts(after.dynamo.kindItems, before.dynamo.kindItems),
    capacity: {
      read: diffCounts(after.dynamo.capacity.read, before.dynamo.capacity.read),
      write: diffCounts(after.dynamo.capacity.write, before.dynamo.capacity.write),
    },
    inFlight: { mean: meanInFlight(before.dynamo.inFlight, after.dynamo.inFlight), max: after.dynamo.inFlight.max },
  };
}

/** Table names (`local-Core`) replaced by their keys (`core`) in "<table> <operation>" and table keys. */
export function renameTables(figures: DynamoFigures, names: Record<string, string>): DynamoFigures {
  const key = (name: string) => Object.entries(names).find(([, tableName]) => tableName === name)?.[0] ?? name;
  const rename = (counts: Counts) =>
    sortedCounts(
      Object.entries(counts).reduce<Counts>((result, [label, count]) => {
        const [table = '', ...rest] = label.split(' ');
        const renamed = [key(table), ...rest].join(' ');
        result[renamed] = (result[renamed] ?? 0) + count;
        return result;
      }, {}),
    );
  const renameKeys = (counts: Counts) =>
    sortedCounts(Object.entries(counts).reduce<Counts>((result, [table, count]) => ({ ...result, [key(table)]: (result[key(table)] ?? 0) + count }), {}));
  return {
    ...figures,
    byTable: rename(figures.byTable),
    itemsWrittenByTable: rename(figures.itemsWrittenByTable),
    capacity: { read: renameKeys(figures.capacity.read), write: renameKeys(figures.capacity.write) },
  };
}

/** Only the calls and writes on some tables (keys after renameTables), by operation. */
export function onTables(figures: DynamoFigures, tables: readonly string[]): { calls: Counts; total: number; itemsWritten: number } {
  const calls: Counts = {};
  for (const [label, count] of Object.entries(figures.byTable)) {
    const [table = '', operation = ''] = label.split(' ');
    if (tables.includes(table)) calls[operation] = (calls[operation] ?? 0) + count;
  }
  const itemsWritten = Object.entries(figures.itemsWrittenByTable).reduce((total, [table, count]) => (tables.includes(table) ? total + count : total), 0);
  return { calls: sortedCounts(calls), total: sum(calls), itemsWritten };
}

/** What one of the bench's status polls costs, as measured (see ObserverCost in pipeline.ts). */
export interface ObserverCost {
  calls: Counts;
  byTable: Counts;
  kinds: Counts;
  kindItems: Counts;
  /** Read units by table name (a poll writes nothing). */
  readCapacity: Counts;
}

/** Removes `times` x `each` from the figures: the bench's own status polls. */
export function withoutObserver(figures: DynamoFigures, each: ObserverCost, times: number): DynamoFigures {
  const subtract = (counts: Counts, less: Counts) => {
    const left: Counts = {};
    for (const [key, count] of Object.entries(counts)) {
      const value = Math.round((count - (less[key] ?? 0) * times) * 1000) / 1000;
      if (value !== 0) left[key] = value;
    }
    return sortedCounts(left);
  };
  const calls = subtract(figures.calls, each.calls);
  return {
    ...figures,
    calls,
    total: sum(calls),
    byTable: subtract(figures.byTable, each.byTable),
    kinds: subtract(figures.kinds, each.kinds),
    kindItems: subtract(figures.kindItems, each.kindItems),
    capacity: { read: subtract(figures.capacity.read, each.readCapacity), write: figures.capacity.write },
  };
}

export function sqsBetween(before: Snapshot, after: Snapshot): SqsFigures {
  const byQueue: Record<string, Counts> = {};
  let calls: Counts = {};
  let messagesSent = 0;
  for (const [queue, stats] of Object.entries(after.sqs.requests)) {
    const earlier = before.sqs.requests[queue];
    const delta = diffCounts(stats.byAction, earlier?.byAction ?? {});
    messagesSent += stats.messagesSent - (earlier?.messagesSent ?? 0);
    if (Object.keys(delta).length === 0) continue;
    byQueue[queue] = delta;
    calls = addCounts(calls, delta);
  }
  let emptyReceives = 0;
  for (const [queue, stats] of Object.entries(after.sqs.consumers)) {
    emptyReceives += stats.emptyReceives - (before.sqs.consumers[queue]?.emptyReceives ?? 0);
  }
  const total = sum(calls);
  return { calls, total, emptyReceives, totalWithoutEmptyReceives: total - emptyReceives, messagesSent, byQueue };
}

/** The figures of consecutive windows together; in-flight figures are the caller's (a mean does not add up). */
export function addDynamo(inFlight: { mean: number; max: number }, ...all: DynamoFigures[]): DynamoFigures {
  const calls = addCounts(...all.map((figures) => figures.calls));
  return {
    calls,
    total: sum(calls),
    errors: addCounts(...all.map((figures) => figures.errors)),
    byTable: addCounts(...all.map((figures) => figures.byTable)),
    itemsWritten: all.reduce((total, figures) => total + figures.itemsWritten, 0),
    itemsWrittenByTable: addCounts(...all.map((figures) => figures.itemsWrittenByTable)),
    kinds: addCounts(...all.map((figures) => figures.kinds)),
    kindItems: addCounts(...all.map((figures) => figures.kindItems)),
    capacity: {
      read: addCounts(...all.map((figures) => figures.capacity.read)),
      write: addCounts(...all.map((figures) => figures.capacity.write)),
    },
    inFlight,
  };
}

export function addSqs(...all: SqsFigures[]): SqsFigures {
  const byQueue: Record<string, Counts> = {};
  for (const figures of all) for (const [queue, counts] of Object.entries(figures.byQueue)) byQueue[queue] = addCounts(byQueue[queue] ?? {}, counts);
  const calls = addCounts(...all.map((figures) => figures.calls));
  const total = sum(calls);
  const emptyReceives = all.reduce((count, figures) => count + figures.emptyReceives, 0);
  return {
    calls,
    total,
    emptyReceives,
    totalWithoutEmptyReceives: total - emptyReceives,
    messagesSent: all.reduce((count, figures) => count + figures.messagesSent, 0),
    byQueue,
  };
}

/** Every count divided by `payments`, rounded to 4 decimals. */
export function perPayment(counts: Counts, payments: number): Counts {
  return Object.fromEntries(Object.entries(counts).map(([key, value]) => [key, ratio(value, payments)]));
}

export function ratio(value: number, by: number): number {
  return by === 0 ? 0 : Math.round((value / by) * 10_000) / 10_000;
}

/**
 * The largest resident set size seen, sampled every `everyMs` (default 100 ms)
 * from now until stop(); `mark()` starts a new window (per-stage peak) without
 * losing the overall one.
 */
export function sampleMemory(everyMs = 100) {
  let overall = process.memoryUsage().rss;
  let window = overall;
  let heap = process.memoryUsage().heapUsed;
  const sample = () => {
    const { rss, heapUsed } = process.memoryUsage();
    if (rss > overall) overall = rss;
    if (rss > window) window = rss;
    if (heapUsed > heap) heap = heapUsed;
  };
  const timer = setInterval(sample, everyMs);
  timer.unref();
  return {
    /** Peak of the window just ended; starts the next one. */
    mark(): number {
      sample();
      const peak = window;
      window = process.memoryUsage().rss;
      return peak;
    },
    peak(): number {
      sample();
      return overall;
    },
    /** The largest V8 heap in use seen (the part that counts against --max-old-space-size). */
    peakHeapUsed(): number {
      return heap;
    },
    stop(): void {
      clearInterval(timer);
    },
  };
}

export const mebibytes = (bytes: number) => Math.round((bytes / 1_048_576) * 10) / 10;
