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

/** Gets every key with BatchGetItem (strongly consistent), resending UnprocessedKeys with backoff. */
export async function batchGetAll(client: DynamoDBDocumentClient, tableName: string, keys: Item[]): Promise<Item[]> {
  const found: Item[] = [];
  await inParallel(chunks(keys, GET_BATCH), async (batch) => {
    let pending = batch;
    for (let round = 0; pending.length > 0; round += 1) {
      if (round >= MAX_ROUNDS) throw new Error(`BatchGetItem left ${pending.length} keys unprocessed after ${MAX_ROUNDS} rounds`);
      if (round > 0) await sleep(backoff(round));
      const result = await client.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }));
      found.push(...(result.Responses?.[tableName] ?? []));
      pending = (result.UnprocessedKeys?.[tableName]?.Keys ?? []) as Item[];
    }
  });
  return found;
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
