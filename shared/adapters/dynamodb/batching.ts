import { BatchGetCommand, BatchWriteCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

type Item = Record<string, unknown>;

/** DynamoDB limits: 25 puts per BatchWriteItem, 100 keys per BatchGetItem. */
const WRITE_BATCH = 25;
const GET_BATCH = 100;
const MAX_ROUNDS = 10;
/** Parallel requests per call: enough to fill a 5,000-item chunk quickly without flooding the table. */
const PARALLEL = 8;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Full-jitter exponential backoff (the AWS architecture blog's recommendation for contention). */
function backoff(round: number): number {
  return Math.random() * Math.min(2_000, 25 * 2 ** round);
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let index = 0; index < items.length; index += size) result.push(items.slice(index, index + size));
  return result;
}

async function inParallel<T>(tasks: T[], run: (task: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(PARALLEL, tasks.length) }, async () => {
    for (let task = tasks[next++]; task !== undefined; task = tasks[next++]) await run(task);
  });
  await Promise.all(workers);
}

/**
 * Puts every item with BatchWriteItem, resending UnprocessedItems with backoff
 * until all are stored; fails (without hiding it) if DynamoDB keeps refusing.
 */
export async function batchWriteAll(client: DynamoDBDocumentClient, tableName: string, items: Item[]): Promise<void> {
  await inParallel(chunks(items, WRITE_BATCH), async (batch) => {
    let pending = batch.map((Item) => ({ PutRequest: { Item } }));
    for (let round = 0; pending.length > 0; round += 1) {
      if (round >= MAX_ROUNDS) throw new Error(`BatchWriteItem left ${pending.length} items unprocessed after ${MAX_ROUNDS} rounds`);
      if (round > 0) await sleep(backoff(round));
      const result = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = (result.UnprocessedItems?.[tableName] ?? []) as typeof pending;
    }
  });
}

/** A batchGetAll waiting for the requests of its tick. */
interface PendingGet {
  keys: Item[];
  resolve(items: Item[]): void;
  reject(error: unknown): void;
}

/** batchGetAll calls made in one tick, by client and table, not yet sent. */
const pendingGets = new WeakMap<DynamoDBDocumentClient, Map<string, PendingGet[]>>();

/** A key's identity, from its own attributes (a returned item carries them too). */
const identityOf = (names: readonly string[], item: Item): string => names.map((name) => JSON.stringify(item[name])).join('\u0000');

/**
 * Gets every key with BatchGetItem (strongly consistent), resending
 * UnprocessedKeys with backoff. Calls made on one client and table in the same
 * tick share their requests (up to 100 keys each): a disbursement group's
 * payments and its people's accounts, read at once from two stores, cost one
 * request, not two. Each call gets back the items of its own keys.
 */
export function batchGetAll(client: DynamoDBDocumentClient, tableName: string, keys: Item[]): Promise<Item[]> {
  if (keys.length === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    let tables = pendingGets.get(client);
    if (!tables) pendingGets.set(client, (tables = new Map()));
    const waiting = tables.get(tableName);
    if (waiting) {
      waiting.push({ keys, resolve, reject });
      return;
    }
    const calls: PendingGet[] = [{ keys, resolve, reject }];
    tables.set(tableName, calls);
    queueMicrotask(() => {
      tables.delete(tableName);
      void sendGets(client, tableName, calls);
    });
  });
}

async function sendGets(client: DynamoDBDocumentClient, tableName: string, calls: PendingGet[]): Promise<void> {
  const names = Object.keys(calls[0]?.keys[0] ?? {}).sort();
  // One request may not name a key twice: two calls asking for the same item share it.
  const unique = new Map<string, Item>();
  for (const call of calls) for (const key of call.keys) unique.set(identityOf(names, key), key);
  const found = new Map<string, Item>();
  try {
    await inParallel(chunks([...unique.values()], GET_BATCH), async (batch) => {
      let pending = batch;
      for (let round = 0; pending.length > 0; round += 1) {
        if (round >= MAX_ROUNDS) throw new Error(`BatchGetItem left ${pending.length} keys unprocessed after ${MAX_ROUNDS} rounds`);
        if (round > 0) await sleep(backoff(round));
        const result = await client.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }));
        for (const item of result.Responses?.[tableName] ?? []) found.set(identityOf(names, item), item);
        pending = (result.UnprocessedKeys?.[tableName]?.Keys ?? []) as Item[];
      }
    });
  } catch (error) {
    for (const call of calls) call.reject(error);
    return;
  }
  for (const call of calls) {
    const items: Item[] = [];
    for (const key of call.keys) {
      const item = found.get(identityOf(names, key));
      if (item) items.push(item);
    }
    call.resolve(items);
  }
}

/**
 * Every item of a sparse gsi3 partition (the reconciler's watch, retries to dispatch, pending webhook
 * deliveries): the index's keys, every page of them, then the items themselves with batchGetAll
 * (strongly consistent, which the index is not).
 */
export async function sparseIndexItems(client: DynamoDBDocumentClient, tableName: string, partition: string): Promise<Item[]> {
  const found: Item[] = [];
  let start: Item | undefined;
  do {
    const result = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: 'gsi3',
        KeyConditionExpression: 'gsi3pk = :pk',
        ExpressionAttributeValues: { ':pk': partition },
        ExclusiveStartKey: start,
      }),
    );
    found.push(...(result.Items ?? []).map((item) => ({ pk: item.pk, sk: item.sk })));
    start = result.LastEvaluatedKey;
  } while (start);
  return batchGetAll(client, tableName, found);
}
