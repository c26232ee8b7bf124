import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalConsumers, startQueuePoller, type QueuePoller, type QueuePollerOptions, type SqsConsumerHandler } from '../../../local/queue-poller.js';
import { createQueueWithDeadLetter, startLocalQueues, type LocalQueues, type QueueWithDeadLetter } from '../../../local/queues.js';
import { queueDefinitions, type QueueDefinition, type QueueKey } from '../../../shared/adapters/sqs/queues.js';
import { SqsWorkQueue } from '../../../shared/adapters/sqs/work-queue.js';
import { sqsEvent } from '../../support/events.js';
import { MOTO_CREDENTIALS, MOTO_REGION, motoAvailable, startMoto, type Moto } from '../../support/moto.js';

/**
 * The local Lambda-style poller against fauxqs: real SQS semantics (visibility
 * timeout, receive counts, redrive to the DLQ) with a 1-second visibility
 * timeout, so that every redelivery takes about a second. Each test has queues
 * of its own, so the tests run concurrently.
 */

interface Item {
  n: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const itemOf = (record: SQSRecord) => JSON.parse(record.body) as Item;
const receiveCount = (record: SQSRecord) => Number(record.attributes.ApproximateReceiveCount);

async function messageCount(client: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(Attributes?.ApproximateNumberOfMessages), inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible) };
}

/** Every invocation a fake consumer saw. */
function recorder(decide: (record: SQSRecord, invocation: number) => 'ok' | 'fail' = () => 'ok') {
  const events: SQSEvent[] = [];
  const contexts: Context[] = [];
  const handler: SqsConsumerHandler = async (event, context) => {
    events.push(event);
    contexts.push(context);
    const invocation = events.length;
    return {
      batchItemFailures: event.Records.filter((record) => decide(record, invocation) === 'fail').map((record) => ({ itemIdentifier: record.messageId })),
    };
  };
  const deliveries = (n: number) => events.flatMap((event) => event.Records).filter((record) => itemOf(record).n === n);
  return { events, contexts, handler, deliveries };
}

const quiet: QueuePollerOptions['onError'] = () => undefined;

describe('queue poller on fauxqs', () => {
  let queues: LocalQueues;
  let client: SQSClient;
  let counter = 0;
  const pollers: QueuePoller[] = [];

  /** A queue and its DLQ of the test's own (1 s visibility timeout). */
  const newQueues = (maxReceiveCount = 3): Promise<QueueWithDeadLetter> =>
    createQueueWithDeadLetter(client, `poller-${++counter}`, { visibilityTimeoutSeconds: 1, maxReceiveCount });

  const poll = (options: Partial<QueuePollerOptions> & Pick<QueuePollerOptions, 'queueUrl' | 'loadHandler'>) => {
    const poller = startQueuePoller({ client, functionName: 'fake-worker', batchSize: 10, onError: quiet, ...options });
    pollers.push(poller);
    return poller;
  };

  const sendItems = (queueUrl: string, from: number, count: number) =>
    new SqsWorkQueue<Item>(client, queueUrl).send(Array.from({ length: count }, (_, index) => ({ n: from + index })));

  beforeAll(async () => {
    queues = await startLocalQueues({ prefix: 'poller', visibilityTimeoutSeconds: 1 });
    client = new SQSClient({ endpoint: queues.endpoint, region: queues.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  });

  afterAll(async () => {
    await Promise.all(pollers.map((poller) => poller.stop()));
    client.destroy();
    await queues.stop();
  });

  it('creates every queue of queues.ts with a DLQ and its maxReceiveCount', async () => {
    for (const [key, definition] of Object.entries(queueDefinitions) as [keyof typeof queueDefinitions, (typeof queueDefinitions)[keyof typeof queueDefinitions]][]) {
      const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queues.queueUrls[key], AttributeNames: ['All'] }));
      expect(JSON.parse(Attributes!.RedrivePolicy!)).toEqual({ deadLetterTargetArn: queues.dlqArns[key], maxReceiveCount: definition.maxReceiveCount });
      expect(Attributes!.VisibilityTimeout).toBe('1');
      expect(queues.queueNames[key]).toBe(`poller-${definition.id}`);
      expect(queues.dlqNames[key]).toBe(`poller-${definition.id}-dlq`);
    }
  });

  describe.concurrent('delivery', () => {
    it('delivers records shaped exactly as Lambda delivers them (events/sqs/verification-batch.json)', async ({ expect }) => {
      // Prepare
      const { queueUrl, queueName } = await newQueues();
      await sendItems(queueUrl, 0, 2);
      await client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify({ n: 2 }),
          MessageAttributes: {
            origin: { DataType: 'String', StringValue: 'seal' },
            blob: { DataType: 'Binary', BinaryValue: Buffer.from('ok') },
          },
        }),
      );
      const fake = recorder();
      const sentAfter = Date.now() - 5_000;

      // Act
      poll({ queueUrl, loadHandler: () => fake.handler, functionName: 'verify-worker' });
      await waitFor(() => fake.events.flatMap((event) => event.Records).length === 3, 5_000, '3 records');

      // Assess
      const fixture = sqsEvent('verification-batch').Records[0]!;
      const records = fake.events.flatMap((event) => event.Records).sort((a, b) => itemOf(a).n - itemOf(b).n);
      for (const record of records) {
        const plain = itemOf(record).n !== 2;
        // The same fields as the recorded Lambda event (plus md5OfMessageAttributes when there are attributes, as Lambda adds).
        expect(Object.keys(record).sort()).toEqual(Object.keys(fixture).concat(plain ? [] : ['md5OfMessageAttributes']).sort());
        expect(Object.keys(record.attributes)).toEqual(Object.keys(fixture.attributes));
        expect(record).toMatchObject({
          eventSource: 'aws:sqs',
          eventSourceARN: `arn:aws:sqs:ap-southeast-1:000000000000:${queueName}`,
          awsRegion: 'ap-southeast-1',
          md5OfBody: createHash('md5').update(record.body).digest('hex'),
        });
        expect(record.messageId).toMatch(/^[0-9a-f-]{36}$/);
        expect(record.receiptHandle).not.toBe('');
        expect(record.attributes.ApproximateReceiveCount).toBe('1');
        expect(Number(record.attributes.SentTimestamp)).toBeGreaterThan(sentAfter);
        expect(Number(record.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(Number(record.attributes.SentTimestamp));
        expect(record.attributes.SenderId).toMatch(/\S/);
        for (const value of Object.values(record.attributes)) expect(typeof value).toBe('string');
        if (plain) expect(record.messageAttributes).toEqual({});
      }
      expect(records[2]!.messageAttributes).toEqual({
        origin: { stringValue: 'seal', stringListValues: [], binaryListValues: [], dataType: 'String' },
        blob: { binaryValue: Buffer.from('ok').toString('base64'), stringListValues: [], binaryListValues: [], dataType: 'Binary' },
      });
      expect(records[2]!.md5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
      const context = fake.contexts[0]!;
      expect(context.functionName).toBe('verify-worker');
      expect(context.getRemainingTimeInMillis()).toBeGreaterThan(50_000);
      expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('redelivers only the record the consumer reported failed (Powertools batch processor), with a growing receive count', async ({ expect }) => {
      // Prepare: a real consumer shape: Powertools fails record n=2 twice, then succeeds
      const { queueUrl, dlqUrl } = await newQueues(5);
      await sendItems(queueUrl, 0, 5);
      const seen: SQSRecord[] = [];
      const processor = new BatchProcessor(EventType.SQS);
      const handler: SqsConsumerHandler = (event, context) =>
        processPartialResponse(
          event,
          async (record: SQSRecord) => {
            seen.push(record);
            if (itemOf(record).n === 2 && receiveCount(record) < 3) throw new Error('transient');
          },
          processor,
          { context },
        );

      // Act
      const poller = poll({ queueUrl, loadHandler: () => handler });
      await waitFor(() => seen.filter((record) => itemOf(record).n === 2).length === 3, 8_000, 'third delivery');
      await waitFor(() => poller.stats().messagesDeleted === 5, 2_000, 'all deleted');

      // Assess
      const deliveries = (n: number) => seen.filter((record) => itemOf(record).n === n);
      for (const n of [0, 1, 3, 4]) expect(deliveries(n).map(receiveCount)).toEqual([1]);
      expect(deliveries(2).map(receiveCount)).toEqual([1, 2, 3]);
      expect(new Set(deliveries(2).map((record) => record.messageId)).size).toBe(1);
      // Each redelivery waited for the visibility timeout (1 s).
      const firstReceived = deliveries(2).map((record) => Number(record.attributes.ApproximateFirstReceiveTimestamp));
      expect(new Set(firstReceived).size).toBe(1);
      // Redelivered alone and failing, n=2 fails its whole batch: Powertools then throws (FullBatchFailureError).
      expect(poller.stats()).toMatchObject({ batches: 3, failedRecords: 1, failedBatches: 1, messagesDeleted: 5 });
      expect(await messageCount(client, queueUrl)).toEqual({ visible: 0, inFlight: 0 });
      expect(await messageCount(client, dlqUrl)).toEqual({ visible: 0, inFlight: 0 });
    });

    it('redelivers the whole batch when the consumer throws, deleting nothing', async ({ expect }) => {
      // Prepare
      const { queueUrl } = await newQueues();
      await sendItems(queueUrl, 0, 3);
      const events: SQSEvent[] = [];
      const at: number[] = [];
      const handler: SqsConsumerHandler = async (event) => {
        events.push(event);
        at.push(Date.now());
        if (events.length === 1) throw new Error('the whole invocation failed');
      };
      const errors: string[] = [];

      // Act
      const poller = poll({ queueUrl, loadHandler: () => handler, onError: (_error, info) => errors.push(info.phase) });
      await waitFor(() => poller.stats().messagesDeleted === 3, 6_000, 'the second invocation');

      // Assess
      expect(events).toHaveLength(2);
      const ids = (event: SQSEvent) => event.Records.map((record) => record.messageId).sort();
      expect(ids(events[1]!)).toEqual(ids(events[0]!));
      expect(events[1]!.Records.map(receiveCount)).toEqual([2, 2, 2]);
      expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(900);
      expect(errors).toEqual(['handler']);
      expect(poller.stats()).toMatchObject({ batches: 2, failedBatches: 1, deletes: 1, messagesDeleted: 3 });
    });

    it('treats batchItemFailures naming an unknown record as a failure of the whole batch', async ({ expect }) => {
      const { queueUrl } = await newQueues();
      await sendItems(queueUrl, 0, 2);
      let calls = 0;
      const handler: SqsConsumerHandler = async () => (++calls === 1 ? { batchItemFailures: [{ itemIdentifier: 'not-a-message-id' }] } : undefined);

      const poller = poll({ queueUrl, loadHandler: () => handler });
      await waitFor(() => poller.stats().messagesDeleted === 2, 6_000, 'redelivery');

      expect(poller.stats()).toMatchObject({ batches: 2, failedBatches: 1, messagesDeleted: 2 });
    });

    it('moves a record failing every time to the DLQ after maxReceiveCount, and a DLQ consumer gets it', async ({ expect }) => {
      // Prepare: maxReceiveCount 3; n=1 always fails
      const { queueUrl, dlqUrl } = await newQueues(3);
      await sendItems(queueUrl, 0, 3);
      const fake = recorder((record) => (itemOf(record).n === 1 ? 'fail' : 'ok'));
      const dead = recorder();

      // Act
      const poller = poll({ queueUrl, loadHandler: () => fake.handler });
      poll({ queueUrl: dlqUrl, loadHandler: () => dead.handler, functionName: 'dlq-worker' });
      await waitFor(() => dead.events.length === 1, 8_000, 'the DLQ consumer');

      // Assess: delivered exactly maxReceiveCount times, then moved (SQS semantics, done by fauxqs)
      expect(fake.deliveries(1).map(receiveCount)).toEqual([1, 2, 3]);
      expect(fake.deliveries(0)).toHaveLength(1);
      const [deadRecord] = dead.events[0]!.Records;
      expect(itemOf(deadRecord!)).toEqual({ n: 1 });
      expect(deadRecord!.messageId).toBe(fake.deliveries(1)[0]!.messageId);
      expect(deadRecord!.eventSourceARN).toMatch(/:poller-\d+-dlq$/);
      expect(poller.stats()).toMatchObject({ failedRecords: 3, messagesDeleted: 2 });
      await waitFor(async () => (await messageCount(client, dlqUrl)).visible + (await messageCount(client, dlqUrl)).inFlight === 0, 2_000, 'DLQ consumed');
      expect(await messageCount(client, queueUrl)).toEqual({ visible: 0, inFlight: 0 });
    });

    it('honours the batch size and the concurrency limit', async ({ expect }) => {
      // Prepare
      const { queueUrl } = await newQueues();
      await sendItems(queueUrl, 0, 20);
      const sizes: number[] = [];
      let running = 0;
      let most = 0;
      const handler: SqsConsumerHandler = async (event) => {
        sizes.push(event.Records.length);
        running++;
        most = Math.max(most, running);
        await sleep(100);
        running--;
      };

      // Act
      const poller = poll({ queueUrl, loadHandler: () => handler, batchSize: 3, concurrency: 2 });
      await waitFor(() => poller.stats().messagesDeleted === 20, 8_000, '20 deleted');

      // Assess
      expect(Math.max(...sizes)).toBe(3);
      expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(20);
      expect(most).toBe(2);
    });

    it('keeps a batch running longer than the visibility timeout invisible, so it is not redelivered meanwhile', async ({ expect }) => {
      const { queueUrl } = await newQueues();
      await sendItems(queueUrl, 0, 1);
      let calls = 0;
      const handler: SqsConsumerHandler = async () => {
        calls++;
        await sleep(2_500);
      };

      const poller = poll({ queueUrl, loadHandler: () => handler, concurrency: 2 });
      await waitFor(() => poller.stats().messagesDeleted === 1, 6_000, 'the slow batch');

      expect(calls).toBe(1);
      expect(poller.stats().visibilityExtensions).toBeGreaterThanOrEqual(2);
    });

    it('counts a batch running past the function timeout as failed, as Lambda does', async ({ expect }) => {
      const { queueUrl } = await newQueues();
      await sendItems(queueUrl, 0, 1);
      let calls = 0;
      const phases: string[] = [];
      const handler: SqsConsumerHandler = async () => {
        if (++calls === 1) await sleep(1_500);
      };

      const poller = poll({ queueUrl, loadHandler: () => handler, timeoutSeconds: 1, onError: (_error, info) => phases.push(info.phase) });
      await waitFor(() => poller.stats().messagesDeleted === 1, 6_000, 'the retry');

      expect(calls).toBe(2);
      expect(phases).toEqual(['timeout']);
    });

    it('loads the handler before receiving, and retries a handler that fails to load', async ({ expect }) => {
      const { queueUrl } = await newQueues();
      await sendItems(queueUrl, 0, 1);
      let loads = 0;
      const fake = recorder();
      const phases: string[] = [];

      const poller = poll({
        queueUrl,
        retryDelayMs: 100,
        onError: (_error, info) => phases.push(info.phase),
        loadHandler: async () => {
          if (++loads === 1) throw new Error('cannot load');
          return fake.handler;
        },
      });
      await waitFor(() => poller.stats().messagesDeleted === 1, 4_000, 'the delivery');

      expect(phases).toEqual(['load']);
      // No receive was spent while the handler could not run.
      expect(fake.deliveries(0).map(receiveCount)).toEqual([1]);
    });
  });

  describe('stop()', () => {
    it('finishes the batch in flight, then stops receiving', async () => {
      // Prepare
      const { queueUrl } = await newQueues();
      const fake = recorder();
      let finished = 0;
      const handler: SqsConsumerHandler = async (event, context) => {
        await sleep(300);
        finished++;
        return fake.handler(event, context);
      };
      const poller = startQueuePoller({ client, queueUrl, functionName: 'w', batchSize: 10, loadHandler: () => handler, onError: quiet });
      await poller.ready;
      await sendItems(queueUrl, 0, 2);
      await waitFor(() => poller.stats().inFlight === 1, 3_000, 'a batch in flight');

      // Act
      await poller.stop();

      // Assess: the batch completed and was deleted; nothing is received afterwards
      expect(finished).toBe(1);
      expect(poller.stats()).toMatchObject({ inFlight: 0, messagesDeleted: 2 });
      const receives = poller.stats().receives;
      await sendItems(queueUrl, 10, 1);
      await sleep(300);
      expect(poller.stats().receives).toBe(receives);
      expect(fake.events).toHaveLength(1);
      expect(await messageCount(client, queueUrl)).toEqual({ visible: 1, inFlight: 0 });
    });

    it('returns at once when idle, without waiting for the long poll', async () => {
      const { queueUrl } = await newQueues();
      const poller = startQueuePoller({ client, queueUrl, functionName: 'w', batchSize: 10, waitTimeSeconds: 20, loadHandler: () => recorder().handler, onError: quiet });
      await poller.ready;
      await sleep(100);
      const started = Date.now();
      await poller.stop();
      expect(Date.now() - started).toBeLessThan(1_000);
      await poller.stop(); // twice is harmless
    });
  });

  it('startLocalConsumers starts one poller per queue (and dead-letter queue) with a consumer', async () => {
    // Prepare: a handler for every consumer, injected instead of importing functions/<name>/handler.ts
    const loaded: string[] = [];
    const fake = recorder();
    const consumers = startLocalConsumers(client, queues, {
      onError: quiet,
      loadHandler: async (name) => {
        loaded.push(name);
        return fake.handler;
      },
    });

    // Act
    await new SqsWorkQueue<Item>(client, queues.queueUrls.disbursement).send([{ n: 1 }]);
    await waitFor(() => fake.events.length === 1, 5_000, 'the disbursement consumer');
    await consumers.stop();

    // Assess
    const definitions: QueueDefinition[] = Object.values(queueDefinitions);
    expect(loaded.sort()).toEqual(definitions.flatMap((definition) => [definition.consumer, definition.deadLetterConsumer ?? []].flat()).sort());
    const withDeadLetterConsumer = (Object.keys(queueDefinitions) as QueueKey[]).filter((key) => (queueDefinitions[key] as QueueDefinition).deadLetterConsumer);
    expect([...consumers.pollers.keys()].sort()).toEqual([...Object.values(queues.queueNames), ...withDeadLetterConsumer.map((key) => queues.dlqNames[key])].sort());
    expect(consumers.stats()[queues.queueNames.disbursement]).toMatchObject({ messagesDeleted: 1 });
    expect(queues.stats()[queues.queueNames.disbursement]).toMatchObject({ sends: 1, messagesSent: 1, deletes: 1 });
    expect(queues.stats()[queues.queueNames.disbursement]!.receives).toBeGreaterThanOrEqual(1);
  });
});

describe.runIf(motoAvailable)('queue poller on moto_server', () => {
  let moto: Moto;
  let client: SQSClient;

  beforeAll(async () => {
    moto = (await startMoto({ prefix: 'poller' }))!;
    client = new SQSClient({ endpoint: moto.endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS });
  });

  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  it('a record failing every time reaches the DLQ after maxReceiveCount (moto implements redrive)', async () => {
    // Prepare
    const { queueUrl, dlqUrl } = await createQueueWithDeadLetter(client, 'poller-redrive', { visibilityTimeoutSeconds: 1, maxReceiveCount: 2 });
    await new SqsWorkQueue<Item>(client, queueUrl).send([{ n: 0 }, { n: 1 }]);
    const fake = recorder((record) => (itemOf(record).n === 1 ? 'fail' : 'ok'));

    // Act
    const poller = startQueuePoller({ client, queueUrl, functionName: 'w', batchSize: 10, loadHandler: () => fake.handler, onError: quiet, region: MOTO_REGION });
    try {
      await waitFor(async () => (await messageCount(client, dlqUrl)).visible === 1, 15_000, 'the DLQ');
    } finally {
      await poller.stop();
    }

    // Assess
    expect(fake.deliveries(1).map(receiveCount)).toEqual([1, 2]);
    expect(fake.deliveries(0)).toHaveLength(1);
    expect(fake.events[0]!.Records[0]!.eventSourceARN).toMatch(/^arn:aws:sqs:ap-southeast-1:\d{12}:poller-redrive$/);
    const { Messages } = await client.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 1 }));
    expect(JSON.parse(Messages![0]!.Body!)).toEqual({ n: 1 });
  });
});
