import {
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
  type SendMessageBatchCommandInput,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createQueueWithDeadLetter, startLocalQueues, type LocalQueues } from '../../../local/queues.js';
import { createSqsClient } from '../../../shared/adapters/sqs/client.js';
import { QueueSendError, SqsWorkQueue } from '../../../shared/adapters/sqs/work-queue.js';
import { MOTO_CREDENTIALS, MOTO_REGION, motoAvailable, startMoto, type Moto } from '../../support/moto.js';

/**
 * SqsWorkQueue against real SQS wire protocols (fauxqs in process, always;
 * moto_server where installed, which includes CI), and with aws-sdk-client-mock
 * for what neither produces: entries SQS reports in `Failed`.
 */

interface Item {
  batchId: string;
  shard: number;
}

const items = (count: number, batchId = 'B1'): Item[] => Array.from({ length: count }, (_, shard) => ({ batchId, shard }));
let queueCounter = 0;

/** Receives until `count` messages arrived (or the deadline passed), deleting nothing. */
async function receiveAll(client: SQSClient, queueUrl: string, count: number, timeoutMs = 10_000): Promise<Message[]> {
  const received: Message[] = [];
  const deadline = Date.now() + timeoutMs;
  while (received.length < count && Date.now() < deadline) {
    const result = await client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }),
    );
    received.push(...(result.Messages ?? []));
  }
  return received;
}

interface Backend {
  name: string;
  start(): Promise<{ endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } }>;
  stop(): Promise<void>;
}

const fauxqsBackend = (): Backend => {
  let queues: LocalQueues | undefined;
  return {
    name: 'fauxqs',
    start: async () => {
      queues = await startLocalQueues({ prefix: 'wq' });
      return { endpoint: queues.endpoint, region: queues.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
    },
    stop: async () => queues?.stop(),
  };
};

const motoBackend = (): Backend => {
  let moto: Moto | undefined;
  return {
    name: 'moto_server',
    start: async () => {
      moto = await startMoto({ prefix: 'wq' });
      if (!moto) throw new Error('moto_server is on the PATH but did not start');
      return { endpoint: moto.endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS };
    },
    stop: async () => moto?.stop(),
  };
};

const backends = [fauxqsBackend(), ...(motoAvailable ? [motoBackend()] : [])];

describe.each(backends)('SqsWorkQueue on $name', (backend) => {
  let client: SQSClient;

  const newQueue = async () => {
    const pair = await createQueueWithDeadLetter(client, `wq-${backend.name.replace(/\W/g, '')}-${++queueCounter}`, {
      visibilityTimeoutSeconds: 30,
      maxReceiveCount: 5,
    });
    return pair.queueUrl;
  };

  beforeAll(async () => {
    const { endpoint, region, credentials } = await backend.start();
    // The factory the functions use, pointed at the backend as SQS_ENDPOINT points it locally.
    client = createSqsClient(endpoint, { region, credentials });
  });

  afterAll(async () => {
    client?.destroy();
    await backend.stop();
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('sends 35 messages in 4 SendMessageBatch requests, and every one arrives with its JSON body', async () => {
    // Prepare
    const queueUrl = await newQueue();
    const queue = new SqsWorkQueue<Item>(client, queueUrl);
    const send = vi.spyOn(client, 'send');

    // Act
    await queue.send(items(35));

    // Assess
    const batches = send.mock.calls.map(([command]) => command).filter((command) => command instanceof SendMessageBatchCommand);
    expect(batches.map((command) => (command.input as SendMessageBatchCommandInput).Entries?.length)).toEqual([10, 10, 10, 5]);
    send.mockRestore();
    const received = await receiveAll(client, queueUrl, 35);
    expect(received).toHaveLength(35);
    const bodies = received.map((message) => JSON.parse(message.Body!) as Item).sort((a, b) => a.shard - b.shard);
    expect(bodies).toEqual(items(35));
  });

  it('sends nothing for no messages', async () => {
    const queueUrl = await newQueue();
    const send = vi.spyOn(client, 'send');
    await new SqsWorkQueue<Item>(client, queueUrl).send([]);
    expect(send).not.toHaveBeenCalled();
  });

  it('delays delivery when asked (DelaySeconds), per message', async () => {
    // Prepare
    const queueUrl = await newQueue();
    const queue = new SqsWorkQueue<Item>(client, queueUrl);

    // Act: shard 0 now, shard 1 in 2 seconds
    await queue.send(items(2), { delaySeconds: (item) => (item.shard === 1 ? 2 : undefined) });

    // Assess
    const first = await receiveAll(client, queueUrl, 2, 1_000);
    expect(first.map((message) => JSON.parse(message.Body!) as Item)).toEqual([{ batchId: 'B1', shard: 0 }]);
    const later = await receiveAll(client, queueUrl, 1, 5_000);
    expect(later.map((message) => JSON.parse(message.Body!) as Item)).toEqual([{ batchId: 'B1', shard: 1 }]);
  });
});

describe('SqsWorkQueue batching by size (fauxqs)', () => {
  let queues: LocalQueues;
  let client: SQSClient;

  beforeAll(async () => {
    queues = await startLocalQueues({ prefix: 'size' });
    client = createSqsClient(queues.endpoint, { region: queues.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  });

  afterAll(async () => {
    client.destroy();
    await queues.stop();
  });

  it('keeps every SendMessageBatch within 256 KiB, however few entries that allows', async () => {
    // Prepare: 9 messages of about 100 KB: at most 2 fit in one request
    const queue = new SqsWorkQueue<{ n: number; pad: string }>(client, queues.queueUrls.verification);
    const messages = Array.from({ length: 9 }, (_, n) => ({ n, pad: 'x'.repeat(100_000) }));
    const send = vi.spyOn(client, 'send');

    // Act
    await queue.send(messages);

    // Assess
    const sizes = send.mock.calls.map(([command]) => (command.input as SendMessageBatchCommandInput).Entries ?? []);
    expect(sizes.map((entries) => entries.length)).toEqual([2, 2, 2, 2, 1]);
    for (const entries of sizes) {
      expect(entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody!), 0)).toBeLessThanOrEqual(262_144);
    }
    send.mockRestore();
    expect(await receiveAll(client, queues.queueUrls.verification, 9)).toHaveLength(9);
  });

  it('refuses a message larger than a whole batch, before sending anything', async () => {
    const queue = new SqsWorkQueue<{ pad: string }>(client, queues.queueUrls.disbursement);
    const send = vi.spyOn(client, 'send');
    await expect(queue.send([{ pad: 'a' }, { pad: 'x'.repeat(300_000) }])).rejects.toThrow(RangeError);
    expect(send).not.toHaveBeenCalled();
  });

  it('refuses a delay SQS would refuse', async () => {
    const queue = new SqsWorkQueue<Item>(client, queues.queueUrls.disbursement);
    await expect(queue.send(items(1), { delaySeconds: 901 })).rejects.toThrow(/DelaySeconds/);
    await expect(queue.send(items(1), { delaySeconds: 1.5 })).rejects.toThrow(/DelaySeconds/);
  });
});

describe('SqsWorkQueue when SQS fails entries (aws-sdk-client-mock)', () => {
  const QUEUE_URL = 'https://sqs.ap-southeast-1.amazonaws.com/123456789012/test-Verification';
  // One instance, mocked alone: the fauxqs and moto suites above keep their real clients.
  const client = new SQSClient({ region: 'ap-southeast-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const sqsMock = mockClient(client);
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
  };
  const sent = (call: number) => (sqsMock.commandCalls(SendMessageBatchCommand)[call]!.args[0].input.Entries ?? []);
  const bodies = (call: number) => sent(call).map((entry) => JSON.parse(entry.MessageBody!) as Item);

  afterEach(() => {
    sqsMock.reset();
    sleeps.length = 0;
  });

  afterAll(() => {
    sqsMock.restore();
    client.destroy();
  });

  it('resends only the entries SQS reported in Failed, with a jittered backoff, until all are taken', async () => {
    // Prepare: entries 3 and 7 fail twice (throttled on SQS's side), then are taken
    let round = 0;
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      round++;
      const failing = round <= 2 ? new Set(['3', '7']) : new Set<string>();
      const entries = input.Entries ?? [];
      return {
        Successful: entries.filter((entry) => !failing.has(entry.Id!)).map((entry) => ({ Id: entry.Id, MessageId: `m-${entry.Id}`, MD5OfMessageBody: 'x' })),
        Failed: entries.filter((entry) => failing.has(entry.Id!)).map((entry) => ({ Id: entry.Id, Code: 'InternalError', SenderFault: false })),
      };
    });
    const queue = new SqsWorkQueue<Item>(client, QUEUE_URL, { sleep, random: () => 1, baseDelayMs: 40, maxDelayMs: 1_000 });

    // Act
    await queue.send(items(10));

    // Assess
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 3);
    expect(bodies(0)).toEqual(items(10));
    expect(bodies(1)).toEqual([items(10)[3], items(10)[7]]);
    expect(bodies(2)).toEqual([items(10)[3], items(10)[7]]);
    // Exponential (random() = 1 gives the ceiling): 40 ms, then 80 ms.
    expect(sleeps).toEqual([40, 80]);
  });

  it('jitters the backoff: random(0, ceiling), the ceiling capped', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: [],
      Failed: (input.Entries ?? []).map((entry) => ({ Id: entry.Id, Code: 'InternalError', SenderFault: false })),
    }));
    const queue = new SqsWorkQueue<Item>(client, QUEUE_URL, { sleep, random: () => 0.5, baseDelayMs: 100, maxDelayMs: 300, maxAttempts: 5 });

    await expect(queue.send(items(1))).rejects.toThrow(QueueSendError);

    expect(sleeps).toEqual([50, 100, 150, 150]);
  });

  it('gives up after maxAttempts and throws QueueSendError with counts and codes, never bodies', async () => {
    // Prepare: entry 0 of every request always fails
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      const entries = input.Entries ?? [];
      return {
        Successful: entries.slice(1).map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
        Failed: entries.slice(0, 1).map((entry) => ({ Id: entry.Id, Code: 'ServiceUnavailable', SenderFault: false, Message: 'try later' })),
      };
    });
    const queue = new SqsWorkQueue<Item>(client, QUEUE_URL, { sleep, maxAttempts: 3, parallelBatches: 1 });

    // Act
    const error = await queue.send(items(3, 'SECRET-LOOKING')).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(QueueSendError);
    const sendError = error as QueueSendError;
    expect(sendError.unsent).toBe(1);
    expect(sendError.failures).toEqual([{ code: 'ServiceUnavailable', senderFault: false, count: 1 }]);
    expect(sendError.message).toMatch(/1 of 3 messages were not queued/);
    expect(sendError.message).not.toContain('SECRET-LOOKING');
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 3);
    expect(sleeps).toHaveLength(2);
  });

  it('does not retry an entry SQS rejects as the sender fault', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: [],
      Failed: (input.Entries ?? []).map((entry) => ({ Id: entry.Id, Code: 'InvalidMessageContents', SenderFault: true })),
    }));
    const queue = new SqsWorkQueue<Item>(client, QUEUE_URL, { sleep });

    await expect(queue.send(items(2))).rejects.toMatchObject({
      name: 'QueueSendError',
      unsent: 2,
      failures: [{ code: 'InvalidMessageContents', senderFault: true, count: 2 }],
    });
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    expect(sleeps).toEqual([]);
  });

  it('stops starting batches once one request fails outright, and counts what was not sent', async () => {
    // Prepare: the second request fails (after the SDK's own retries)
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Successful: items(10).map((_, index) => ({ Id: String(index), MessageId: 'm', MD5OfMessageBody: 'x' })) })
      .rejectsOnce(Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' }))
      .resolves({ Successful: [] });
    const queue = new SqsWorkQueue<Item>(client, QUEUE_URL, { sleep, parallelBatches: 1 });

    // Act
    const error = (await queue.send(items(35)).catch((caught: unknown) => caught)) as QueueSendError;

    // Assess: 10 sent, the 2nd batch failed, the 3rd and 4th never tried
    expect(error).toBeInstanceOf(QueueSendError);
    expect(error.unsent).toBe(25);
    expect((error.cause as Error).name).toBe('ServiceUnavailable');
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 2);
  });
});
