import { DynamoDBClient, ProvisionedThroughputExceededException, RequestLimitExceeded } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient, type BatchGetCommandInput, type BatchWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { batchGetAll, batchWriteAll } from '../../../shared/adapters/dynamodb/batching.js';

/**
 * Error paths of BatchWriteItem and BatchGetItem that a local backend never
 * produces: partial results, endless refusals, throttling. Fake timers stand in
 * for the backoff between rounds.
 */

const TABLE = 'test-Core';
const ddbMock = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'ap-southeast-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
);

type Item = Record<string, unknown>;
const items = (count: number, from = 0): Item[] =>
  Array.from({ length: count }, (_, index) => ({ pk: `BATCH#B1#S00`, sk: `PAY#${String(from + index).padStart(6, '0')}`, amount: 1_000 + index }));
const keyOf = (item: Item) => ({ pk: item.pk, sk: item.sk });
const puts = (list: Item[]) => list.map((Item) => ({ PutRequest: { Item } }));

function writtenItems(call: number): Item[] {
  const input = ddbMock.commandCalls(BatchWriteCommand)[call]!.args[0].input as BatchWriteCommandInput;
  return (input.RequestItems?.[TABLE] ?? []).map((request) => request.PutRequest!.Item as Item);
}

/** Runs `work` while the fake clock moves on, so that backoff sleeps end at once. */
async function withClockRunning<T>(work: Promise<T>): Promise<T> {
  const settled = work.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  await vi.runAllTimersAsync();
  const result = await settled;
  if (!result.ok) throw result.error;
  return result.value;
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  ddbMock.reset();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

afterAll(() => {
  ddbMock.restore();
  client.destroy();
});

describe('batchWriteAll', () => {
  it('resends UnprocessedItems until none are left: twice refused, then stored', async () => {
    // Prepare: 3 items; DynamoDB leaves 2 of them, then 1, then none
    const all = items(3);
    ddbMock
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { [TABLE]: puts(all.slice(1)) } })
      .resolvesOnce({ UnprocessedItems: { [TABLE]: puts(all.slice(2)) } })
      .resolves({ UnprocessedItems: {} });

    // Act
    await withClockRunning(batchWriteAll(client, TABLE, all));

    // Assess
    expect(ddbMock).toHaveReceivedCommandTimes(BatchWriteCommand, 3);
    expect(writtenItems(0)).toEqual(all);
    expect(writtenItems(1)).toEqual(all.slice(1));
    expect(writtenItems(2)).toEqual(all.slice(2));
  });

  it('writes in requests of at most 25 items, resending only what each request left', async () => {
    // Prepare: 60 items (25 + 25 + 10); the first request of each chunk leaves its last 5 items
    const all = items(60);
    ddbMock.on(BatchWriteCommand).callsFake((input: BatchWriteCommandInput) => {
      const requests = input.RequestItems![TABLE]!;
      return requests.length > 5 ? { UnprocessedItems: { [TABLE]: requests.slice(-5) } } : {};
    });

    // Act
    await withClockRunning(batchWriteAll(client, TABLE, all));

    // Assess
    const calls = ddbMock.commandCalls(BatchWriteCommand).map((_, index) => writtenItems(index));
    expect(calls.map((call) => call.length).sort((a, b) => a - b)).toEqual([5, 5, 5, 10, 25, 25]);
    expect(Math.max(...calls.map((call) => call.length))).toBeLessThanOrEqual(25);
    const stored = calls.flat().map((item) => item.sk);
    expect(new Set(stored).size).toBe(60);
    expect(stored).toHaveLength(60 + 15);
  });

  it('waits with bounded, jittered backoff before resending', async () => {
    // Prepare: the first resend waits a random part of 25 * 2 = 50 ms (full jitter); half of it here
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const all = items(1);
    ddbMock.on(BatchWriteCommand).resolvesOnce({ UnprocessedItems: { [TABLE]: puts(all) } }).resolves({});

    // Act
    const writing = batchWriteAll(client, TABLE, all);
    await vi.advanceTimersByTimeAsync(24);
    const beforeBackoff = ddbMock.commandCalls(BatchWriteCommand).length;
    await vi.advanceTimersByTimeAsync(1);
    await writing;

    // Assess
    expect(beforeBackoff).toBe(1);
    expect(ddbMock).toHaveReceivedCommandTimes(BatchWriteCommand, 2);
  });

  it('gives up after 10 rounds when DynamoDB keeps refusing, saying how many items are left', async () => {
    // Prepare
    const all = items(4);
    ddbMock.on(BatchWriteCommand).resolves({ UnprocessedItems: { [TABLE]: puts(all.slice(1)) } });

    // Act
    const outcome = withClockRunning(batchWriteAll(client, TABLE, all));

    // Assess
    await expect(outcome).rejects.toThrow('BatchWriteItem left 3 items unprocessed after 10 rounds');
    expect(ddbMock).toHaveReceivedCommandTimes(BatchWriteCommand, 10);
  });

  it('surfaces a throttling error instead of hiding it', async () => {
    // Prepare
    const throttled = new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput', $metadata: {} });
    ddbMock.on(BatchWriteCommand).rejects(throttled);

    // Act
    const outcome = withClockRunning(batchWriteAll(client, TABLE, items(3)));

    // Assess
    await expect(outcome).rejects.toBe(throttled);
    expect(ddbMock).toHaveReceivedCommandTimes(BatchWriteCommand, 1);
  });

  it('sends nothing for no items', async () => {
    // Act
    await batchWriteAll(client, TABLE, []);

    // Assess
    expect(ddbMock).toHaveReceivedCommandTimes(BatchWriteCommand, 0);
  });
});

describe('batchGetAll', () => {
  it('reads more than 100 keys in requests of at most 100, resending UnprocessedKeys, strongly consistent', async () => {
    // Prepare: 150 stored items; the request for the first 100 keys leaves 40 of them for later
    const all = items(150);
    const byKey = new Map(all.map((item) => [`${String(item.pk)}|${String(item.sk)}`, item]));
    let refused = false;
    ddbMock.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => {
      const keys = input.RequestItems![TABLE]!.Keys!;
      const found = (list: typeof keys) => list.map((key) => byKey.get(`${String(key.pk)}|${String(key.sk)}`)!);
      if (keys.length === 100 && !refused) {
        refused = true;
        return { Responses: { [TABLE]: found(keys.slice(0, 60)) }, UnprocessedKeys: { [TABLE]: { Keys: keys.slice(60), ConsistentRead: true } } };
      }
      return { Responses: { [TABLE]: found(keys) }, UnprocessedKeys: {} };
    });

    // Act
    const read = await withClockRunning(batchGetAll(client, TABLE, all.map(keyOf)));

    // Assess
    expect(ddbMock).toHaveReceivedCommandTimes(BatchGetCommand, 3);
    const requested = ddbMock.commandCalls(BatchGetCommand).map((call) => call.args[0].input.RequestItems![TABLE]!);
    expect(requested.map((request) => request.Keys!.length).sort((a, b) => a - b)).toEqual([40, 50, 100]);
    expect(requested.every((request) => request.ConsistentRead === true)).toBe(true);
    expect(read).toHaveLength(150);
    expect([...read].sort((a, b) => String(a.sk).localeCompare(String(b.sk)))).toEqual(all);
  });

  it('calls of one tick on one table share a request; each gets back only its own items, a key asked twice is asked once', async () => {
    // Prepare: 30 stored items; a group's payments (0-24) and another read (20-29) overlapping on five
    const all = items(30);
    const byKey = new Map(all.map((item) => [`${String(item.pk)}|${String(item.sk)}`, item]));
    ddbMock.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => ({
      Responses: { [TABLE]: input.RequestItems![TABLE]!.Keys!.map((key) => byKey.get(`${String(key.pk)}|${String(key.sk)}`)!) },
      UnprocessedKeys: {},
    }));

    // Act
    const [first, second] = await withClockRunning(Promise.all([batchGetAll(client, TABLE, all.slice(0, 25).map(keyOf)), batchGetAll(client, TABLE, all.slice(20).map(keyOf))]));

    // Assess
    expect(ddbMock).toHaveReceivedCommandTimes(BatchGetCommand, 1);
    expect(ddbMock.commandCalls(BatchGetCommand)[0]!.args[0].input.RequestItems![TABLE]!.Keys).toHaveLength(30);
    expect(first).toEqual(all.slice(0, 25));
    expect(second).toEqual(all.slice(20));
  });

  it('a failed shared request fails every call that shared it', async () => {
    ddbMock.on(BatchGetCommand).rejects(new Error('the store is down'));
    const reads = [batchGetAll(client, TABLE, items(2).map(keyOf)), batchGetAll(client, TABLE, items(2, 5).map(keyOf))];
    await expect(Promise.all(reads.map((read) => read.then(() => 'read', (error: Error) => error.message)))).resolves.toEqual(['the store is down', 'the store is down']);
    expect(ddbMock).toHaveReceivedCommandTimes(BatchGetCommand, 1);
  });

  it('gives up after 10 rounds of UnprocessedKeys', async () => {
    // Prepare
    const all = items(2);
    ddbMock.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] }, UnprocessedKeys: { [TABLE]: { Keys: all.map(keyOf) } } });

    // Act
    const outcome = withClockRunning(batchGetAll(client, TABLE, all.map(keyOf)));

    // Assess
    await expect(outcome).rejects.toThrow('BatchGetItem left 2 keys unprocessed after 10 rounds');
    expect(ddbMock).toHaveReceivedCommandTimes(BatchGetCommand, 10);
  });

  it('surfaces a throttling error instead of returning a partial result', async () => {
    // Prepare
    const throttled = new RequestLimitExceeded({ message: 'Throughput exceeds the current throughput limit for your account', $metadata: {} });
    ddbMock.on(BatchGetCommand).rejects(throttled);

    // Act
    const outcome = withClockRunning(batchGetAll(client, TABLE, items(5).map(keyOf)));

    // Assess
    await expect(outcome).rejects.toBe(throttled);
  });
});
