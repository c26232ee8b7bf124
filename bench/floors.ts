/**
 * The two floors of bench/pipeline.ts (issue 6), measured after the pipeline
 * on the same store, at the pipeline's own concurrency (its mean DynamoDB
 * requests in flight), with raw SDK DocumentClient calls and no app code:
 *
 * (a) the time to write the run's N payment items once with BatchWriteItem,
 *     25 per request, into a scratch table of the same definition as the core
 *     table (indexes included, so that the store maintains them as it did);
 * (b) the store-bound time of the pipeline's own request mix: the store's rate
 *     for each kind of request the pipeline issued (requestKind in
 *     shared/adapters/dynamodb/client.ts), measured by a short loop, and
 *     floor(b) = sum over kinds of count / rate. Batch calls and Query pages
 *     cost the store per request and per item, so their loops run at two sizes
 *     (1 item, and a full request: 25 writes, 100 keys, the pipeline's mean
 *     Query page) and a straight line through the two gives a per-request and
 *     a per-item time; a kind's time is then requests x per-request + items x
 *     per-item, whatever the pipeline's batch sizes were.
 *
 * Loop requests ask for ReturnConsumedCapacity TOTAL, as the counted pipeline
 * requests did. Each loop runs at most `sample` requests (default min(N, 5,000))
 * and stops after `maxLoopMs` (a few seconds), whichever comes first.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { Agent } from 'node:http';
import { createTables } from '../local/dynamodb.js';

export type Item = Record<string, unknown>;

/** A loop's outcome: requests done, items they carried or returned, wall time. */
export interface LoopRate {
  requests: number;
  items: number;
  ms: number;
  requestsPerSecond: number;
}

/** What a request of a kind costs the store at the loop's concurrency, in ms of wall time per request and per item. */
export interface KindCost {
  perRequestMs: number;
  perItemMs: number;
}

export interface FloorBTerm {
  requests: number;
  items: number;
  ms: number;
}

export interface FloorB {
  ms: number;
  byKind: Record<string, FloorBTerm>;
  /** Kinds the pipeline issued that no loop measured: left out of ms. */
  unmeasured: Record<string, number>;
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Per-request cost of a single-item kind: the inverse of its rate. */
export function singleCost(rate: Pick<LoopRate, 'requests' | 'ms'>): KindCost {
  return { perRequestMs: rate.requests === 0 ? 0 : rate.ms / rate.requests, perItemMs: 0 };
}

/**
 * A straight line through two loops of one kind at different sizes: time per
 * request = perRequestMs + items per request x perItemMs. Measurement noise can
 * make the slope or the intercept negative; both are kept at 0 or more (the
 * other then carries the whole time).
 */
export function fitBatchCost(small: Pick<LoopRate, 'requests' | 'items' | 'ms'>, large: Pick<LoopRate, 'requests' | 'items' | 'ms'>): KindCost {
  const point = (rate: Pick<LoopRate, 'requests' | 'items' | 'ms'>) => ({ size: rate.items / rate.requests, time: rate.ms / rate.requests });
  const a = point(small);
  const b = point(large);
  if (!(b.size > a.size)) return { perRequestMs: Math.max(a.time, b.time), perItemMs: 0 };
  let perItemMs = (b.time - a.time) / (b.size - a.size);
  let perRequestMs = a.time - perItemMs * a.size;
  if (perItemMs < 0) {
    perItemMs = 0;
    perRequestMs = (a.time + b.time) / 2;
  } else if (perRequestMs < 0) {
    perRequestMs = 0;
    perItemMs = b.time / b.size;
  }
  return { perRequestMs, perItemMs };
}

/** floor(b): sum over the kinds the pipeline issued of requests x per-request + items x per-item time. */
export function floorB(issued: { kinds: Record<string, number>; kindItems: Record<string, number> }, costs: Record<string, KindCost>): FloorB {
  const byKind: Record<string, FloorBTerm> = {};
  const unmeasured: Record<string, number> = {};
  let ms = 0;
  for (const [kind, requests] of Object.entries(issued.kinds)) {
    if (requests <= 0) continue;
    const items = issued.kindItems[kind] ?? 0;
    const cost = costs[kind];
    if (!cost) {
      unmeasured[kind] = requests;
      continue;
    }
    const term = requests * cost.perRequestMs + items * cost.perItemMs;
    byKind[kind] = { requests, items, ms: round(term, 1) };
    ms += term;
  }
  return { ms: Math.round(ms), byKind, unmeasured };
}

/** Runs `total` requests (or until `maxMs`) with `concurrency` workers; `run(i)` gives the items the request carried or returned. */
export async function loop(total: number, concurrency: number, maxMs: number, run: (index: number) => Promise<number>): Promise<LoopRate> {
  let next = 0;
  let items = 0;
  let done = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < total && performance.now() - started < maxMs) {
      // Not `items += await ...`: that reads `items` before awaiting, and concurrent workers would lose updates.
      const carried = await run(next++);
      items += carried;
      done++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, worker));
  const ms = performance.now() - started;
  return { requests: done, items, ms: round(ms, 1), requestsPerSecond: ms <= 0 ? 0 : round((done / ms) * 1000, 1) };
}

export interface MeasureFloorsOptions {
  endpoint: string;
  /** The core table (payment items are read from it). */
  coreTable: string;
  /** Payment items of the run: those whose pk starts with this and whose sk starts with `paymentSkPrefix`. */
  paymentPkPrefix: string;
  paymentSkPrefix: string;
  /** N: payments in the run (floor (a) writes N items even if fewer are found). */
  payments: number;
  concurrency: number;
  /** What the pipeline issued (whole pipeline, the bench's status polls left out). */
  issued: { kinds: Record<string, number>; kindItems: Record<string, number> };
  sample?: number;
  maxLoopMs?: number;
  log?: (line: string) => void;
}

export interface FloorsResult {
  concurrency: number;
  scratchTable: string;
  /** itemsFound: payment items of the run read back (in their final state); meanItemJsonBytes: their mean size as JSON, roughly their stored size. */
  a: { ms: number; items: number; requests: number; itemsPerSecond: number; itemsFound: number; meanItemJsonBytes: number };
  b: FloorB;
  /** The loops, by kind and size. */
  loops: Record<string, LoopRate & { itemsPerRequest: number }>;
  costs: Record<string, { perRequestMs: number; perItemMs: number }>;
}

function clients(endpoint: string, concurrency: number): { raw: DynamoDBClient; client: DynamoDBDocumentClient } {
  // As shared/adapters/dynamodb/client.ts configures it, without the request counter (these calls are not the pipeline's),
  // and with a socket for each request in flight: the SDK's default of 50 sockets a client would queue the rest in the
  // agent, and the store would see fewer at once than the pipeline's several clients gave it.
  const raw = new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'ap-southeast-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 8,
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: concurrency }) },
  });
  return { raw, client: DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false } }) };
}

const TOTAL = 'TOTAL' as const;

/** BatchWriteItem until nothing is left unprocessed; returns the requests made. */
async function batchWrite(client: DynamoDBDocumentClient, table: string, items: Item[]): Promise<number> {
  let requests = 0;
  let pending: Record<string, unknown>[] = items.map((item) => ({ PutRequest: { Item: item } }));
  while (pending.length > 0) {
    requests++;
    const result = await client.send(new BatchWriteCommand({ RequestItems: { [table]: pending as never }, ReturnConsumedCapacity: TOTAL }));
    pending = (result.UnprocessedItems?.[table] as Record<string, unknown>[] | undefined) ?? [];
  }
  return requests;
}

async function readPayments(client: DynamoDBDocumentClient, options: MeasureFloorsOptions): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: options.coreTable,
        FilterExpression: 'begins_with(pk, :pk) AND begins_with(sk, :sk)',
        ExpressionAttributeValues: { ':pk': options.paymentPkPrefix, ':sk': options.paymentSkPrefix },
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...((page.Items ?? []) as Item[]));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

export async function measureFloors(options: MeasureFloorsOptions): Promise<FloorsResult> {
  const log = options.log ?? (() => undefined);
  const c = Math.max(1, Math.round(options.concurrency));
  const sample = Math.max(1, options.sample ?? Math.min(options.payments, 5_000));
  const maxMs = options.maxLoopMs ?? 3_000;
  const { raw, client } = clients(options.endpoint, c);
  try {
    const { core: table } = await createTables(raw, `floor${Date.now().toString(36)}`, ['core']);

    // --- (a): the run's payment items, written once, 25 a request, c requests at once
    const found = await readPayments(client, options);
    if (found.length === 0) throw new Error(`floors: no payment items under ${options.paymentPkPrefix}`);
    // Fewer found than N (a changed key layout): the ones found, repeated under new sort keys.
    const items = Array.from({ length: options.payments }, (_, i) => {
      const item = found[i % found.length] as Item;
      return i < found.length ? item : { ...item, sk: `${String(item.sk)}#${i}` };
    });
    const chunks: Item[][] = [];
    for (let from = 0; from < items.length; from += 25) chunks.push(items.slice(from, from + 25));
    let aRequests = 0;
    const aStart = performance.now();
    await loop(chunks.length, c, Number.POSITIVE_INFINITY, async (i) => {
      const requests = await batchWrite(client, table, chunks[i] as Item[]);
      aRequests += requests;
      return 0;
    });
    const aMs = performance.now() - aStart;
    const meanItemJsonBytes = Math.round(found.slice(0, 1000).reduce((total, item) => total + JSON.stringify(item).length, 0) / Math.min(found.length, 1000));
    log(`floors     (a) ${items.length.toLocaleString('en')} items by BatchWriteItem in ${round(aMs / 1000)} s at concurrency ${c}`);

    // --- (b): one loop per kind (two sizes for batch kinds and Query), on keys of their own
    const template = found[0] as Item;
    const itemAt = (space: string, i: number): Item => ({ ...template, pk: `FLOOR#${space}#${i % 97}`, sk: `${space}#${String(i).padStart(7, '0')}` });
    const keyAt = (space: string, i: number) => ({ pk: `FLOOR#${space}#${i % 97}`, sk: `${space}#${String(i).padStart(7, '0')}` });
    const loops: FloorsResult['loops'] = {};
    const run = async (label: string, total: number, request: (i: number) => Promise<number>) => {
      const rate = await loop(total, c, maxMs, request);
      loops[label] = { ...rate, itemsPerRequest: rate.requests === 0 ? 0 : round(rate.items / rate.requests, 2) };
      log(`floors     ${label.padEnd(28)} ${String(rate.requests).padStart(6)} requests, ${String(rate.requestsPerSecond).padStart(8)}/s`);
      return rate;
    };
    const one = async (send: Promise<unknown>) => {
      await send;
      return 1;
    };

    const putConditional = await run('PutItem conditional', sample, (i) =>
      one(client.send(new PutCommand({ TableName: table, Item: itemAt('P', i), ConditionExpression: 'attribute_not_exists(pk)', ReturnConsumedCapacity: TOTAL }))),
    );
    // Every later single-item loop works on the items that loop created.
    const created = putConditional.requests;
    const existing = (i: number) => keyAt('P', i % created);
    const put = await run('PutItem', sample, (i) => one(client.send(new PutCommand({ TableName: table, Item: itemAt('P', i % created), ReturnConsumedCapacity: TOTAL }))));
    const update = (conditional: boolean) => (i: number) =>
      one(
        client.send(
          new UpdateCommand({
            TableName: table,
            Key: existing(i),
            UpdateExpression: 'SET #touched = :now ADD #n :one',
            ...(conditional ? { ConditionExpression: 'attribute_exists(pk)' } : {}),
            ExpressionAttributeNames: { '#touched': 'floorTouchedAt', '#n': 'floorUpdates' },
            ExpressionAttributeValues: { ':now': new Date().toISOString(), ':one': 1 },
            ReturnConsumedCapacity: TOTAL,
          }),
        ),
      );
    const updateConditional = await run('UpdateItem conditional', sample, update(true));
    const updatePlain = await run('UpdateItem', sample, update(false));
    const get = await run('GetItem', sample, (i) => one(client.send(new GetCommand({ TableName: table, Key: existing(i), ConsistentRead: true, ReturnConsumedCapacity: TOTAL }))));
    const batchGet = (size: number) => async (i: number) => {
      const keys = Array.from({ length: size }, (_, k) => existing(i * size + k));
      const unique = [...new Map(keys.map((key) => [`${key.pk}|${key.sk}`, key])).values()];
      await client.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: unique } }, ReturnConsumedCapacity: TOTAL }));
      return unique.length;
    };
    const batchGet100 = await run('BatchGetItem 100 keys', sample, batchGet(Math.min(100, created)));
    const batchGet1 = await run('BatchGetItem 1 key', sample, batchGet(1));
    const batchWriteOf = (space: string, size: number) => async (i: number) => {
      await batchWrite(client, table, Array.from({ length: size }, (_, k) => itemAt(space, i * size + k)));
      return size;
    };
    const batchWrite25 = await run('BatchWriteItem 25 items', sample, batchWriteOf('W', 25));
    const batchWrite1 = await run('BatchWriteItem 1 item', sample, batchWriteOf('V', 1));
    // Query pages the size the pipeline's were (items returned per Query), from one partition that holds that many.
    const pageSize = Math.min(1_000, Math.max(2, Math.round((options.issued.kindItems.Query ?? 0) / Math.max(1, options.issued.kinds.Query ?? 0))));
    const queryItems = Array.from({ length: pageSize }, (_, i) => ({ ...template, pk: 'FLOOR#Q', sk: `Q#${String(i).padStart(7, '0')}` }));
    for (let from = 0; from < queryItems.length; from += 25) await batchWrite(client, table, queryItems.slice(from, from + 25));
    const query = (limit: number) => async () => {
      const page = await client.send(
        new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'FLOOR#Q' }, Limit: limit, ReturnConsumedCapacity: TOTAL }),
      );
      return page.Count ?? 0;
    };
    const queryLarge = await run(`Query ${pageSize} items`, sample, query(pageSize));
    const querySmall = await run('Query 1 item', sample, query(1));
    const deleteOf = (conditional: boolean, space: string) => (i: number) =>
      one(
        client.send(
          new DeleteCommand({ TableName: table, Key: keyAt(space, i), ...(conditional ? { ConditionExpression: 'attribute_exists(pk)' } : {}), ReturnConsumedCapacity: TOTAL }),
        ),
      );
    // Deletes remove items that exist: the conditional loop those PutItem created, the plain one those BatchWriteItem wrote.
    const deleteConditional = await run('DeleteItem conditional', created, deleteOf(true, 'P'));
    const deletePlain = await run('DeleteItem', Math.min(sample, batchWrite25.items), deleteOf(false, 'W'));

    const costs: Record<string, KindCost> = {
      'PutItem conditional': singleCost(putConditional),
      PutItem: singleCost(put),
      'UpdateItem conditional': singleCost(updateConditional),
      UpdateItem: singleCost(updatePlain),
      GetItem: singleCost(get),
      'DeleteItem conditional': singleCost(deleteConditional),
      DeleteItem: singleCost(deletePlain),
      BatchWriteItem: fitBatchCost(batchWrite1, batchWrite25),
      BatchGetItem: fitBatchCost(batchGet1, batchGet100),
      Query: fitBatchCost(querySmall, queryLarge),
    };
    return {
      concurrency: c,
      scratchTable: table,
      a: {
        ms: Math.round(aMs),
        items: items.length,
        requests: aRequests,
        itemsPerSecond: round((items.length / aMs) * 1000, 1),
        itemsFound: found.length,
        meanItemJsonBytes,
      },
      b: floorB(options.issued, costs),
      loops,
      costs: Object.fromEntries(Object.entries(costs).map(([kind, cost]) => [kind, { perRequestMs: round(cost.perRequestMs, 4), perItemMs: round(cost.perItemMs, 4) }])),
    };
  } finally {
    client.destroy();
  }
}
