import { BatchGetCommand, BatchWriteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalDynamo } from '../../../local/dynamodb.js';
import { createDocumentClient, dynamoRequestCounts, resetDynamoRequestCounts } from '../../../shared/adapters/dynamodb/client.js';

/**
 * The opt-in request counter of createDocumentClient (the pipeline benchmark's) against dynalite: kinds,
 * items per batch and Query, the capacity units the store reports, requests in flight.
 */

let dynamo: LocalDynamo;
let client: ReturnType<typeof createDocumentClient>;
let table: string;

beforeAll(async () => {
  process.env.AWS_REGION ??= 'ap-southeast-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  process.env.DYNAMODB_REQUEST_COUNTER = '1';
  dynamo = await startLocalDynamo('counter');
  client = createDocumentClient(dynamo.endpoint);
  table = dynamo.tableNames.core;
});

afterAll(async () => {
  client.destroy();
  await dynamo.stop();
  delete process.env.DYNAMODB_REQUEST_COUNTER;
});

describe('request counter', () => {
  it('counts by kind, carried and returned items, and consumed capacity by table', async () => {
    resetDynamoRequestCounts();
    const item = (i: number) => ({ pk: 'P', sk: `S${String(i).padStart(3, '0')}`, payload: 'x'.repeat(1500) });
    await client.send(new BatchWriteCommand({ RequestItems: { [table]: Array.from({ length: 25 }, (_, i) => ({ PutRequest: { Item: item(i) } })) } }));
    await client.send(new PutCommand({ TableName: table, Item: item(100), ConditionExpression: 'attribute_not_exists(pk)' }));
    await client.send(new PutCommand({ TableName: table, Item: item(101) }));
    await client.send(new UpdateCommand({ TableName: table, Key: { pk: 'P', sk: 'S000' }, UpdateExpression: 'SET n = :n', ExpressionAttributeValues: { ':n': 1 } }));
    await expect(
      client.send(new UpdateCommand({ TableName: table, Key: { pk: 'P', sk: 'S000' }, UpdateExpression: 'SET n = :n', ConditionExpression: 'n = :m', ExpressionAttributeValues: { ':n': 2, ':m': 9 } })),
    ).rejects.toThrow();
    const got = await client.send(new GetCommand({ TableName: table, Key: { pk: 'P', sk: 'S001' }, ConsistentRead: true }));
    await client.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: [{ pk: 'P', sk: 'S002' }, { pk: 'P', sk: 'S003' }, { pk: 'P', sk: 'S004' }] } } }));
    const page = await client.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'P' }, Limit: 10 }));

    const counts = dynamoRequestCounts();
    expect(counts.kinds).toEqual({
      BatchWriteItem: 1,
      'PutItem conditional': 1,
      PutItem: 1,
      UpdateItem: 1,
      'UpdateItem conditional': 1,
      GetItem: 1,
      BatchGetItem: 1,
      Query: 1,
    });
    expect(counts.kindItems).toEqual({ BatchWriteItem: 25, BatchGetItem: 3, Query: 10 });
    expect(counts.errors).toEqual({ UpdateItem: 1 });
    // dynalite: 1 write unit per started KB of each item (2 for these 1.5 KB items), reads per 4 KB (halved when eventually consistent).
    expect(counts.capacity.write[table]).toBe(25 * 2 + 2 + 2 + 2);
    expect(counts.capacity.read[table]).toBeGreaterThan(0);
    // The callers' results are as they would be without the counter, apart from the capacity it asked for.
    expect(got.Item?.sk).toBe('S001');
    expect(page.Items).toHaveLength(10);
  });

  it('tracks requests in flight: the most at once, and the time-weighted integral', async () => {
    resetDynamoRequestCounts();
    const before = dynamoRequestCounts();
    await Promise.all(Array.from({ length: 8 }, (_, i) => client.send(new GetCommand({ TableName: table, Key: { pk: 'P', sk: `S${String(i).padStart(3, '0')}` } }))));
    const after = dynamoRequestCounts();
    expect(after.inFlight.now).toBe(0);
    expect(after.inFlight.max).toBeGreaterThanOrEqual(2);
    expect(after.inFlight.max).toBeLessThanOrEqual(8);
    const mean = (after.inFlight.area - before.inFlight.area) / (after.inFlight.at - before.inFlight.at);
    expect(mean).toBeGreaterThan(0);
    expect(mean).toBeLessThanOrEqual(8);
  });
});
