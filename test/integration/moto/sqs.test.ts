import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalConsumers, startQueuePoller, type QueuePoller, type QueuePollerOptions, type SqsConsumerHandler } from '../../../local/queue-poller.js';
import { createQueueWithDeadLetter, type QueueWithDeadLetter } from '../../../local/queues.js';
import { createSqsClient } from '../../../shared/adapters/sqs/client.js';
import { queueDefinitions, type QueueDefinition, type QueueKey } from '../../../shared/adapters/sqs/queues.js';
import { SqsWorkQueue } from '../../../shared/adapters/sqs/work-queue.js';
import { createMotoQueues, MOTO_CREDENTIALS, MOTO_REGION, motoAvailable, startMoto, type Moto } from '../../support/moto.js';

/**
 * The SQS adapter and the local Lambda-style poller on moto_server, for what
 * test/integration/sqs does not run on moto: redelivery after the visibility
 * timeout (adapter and poller), visibility extension of a long batch, and the
 * queues of queues.ts (their own maxReceiveCount) draining into their DLQs
 * through startLocalConsumers. Timing assertions are one-sided (a message
 * cannot come back earlier than its timeout, however loaded the machine), and
 * each test has queues of its own so that they run concurrently.
 */

interface Item {
  n: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const itemOf = (record: SQSRecord) => JSON.parse(record.body) as Item;
const receiveCount = (record: SQSRecord | Message) =>
  Number('attributes' in record ? record.attributes.ApproximateReceiveCount : record.Attributes?.ApproximateReceiveCount);

async function messageCount(client: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(Attributes?.ApproximateNumberOfMessages), inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible) };
}

/** A fake consumer that records every invocation and fails the records `decide` says. */
function recorder(decide: (record: SQSRecord) => 'ok' | 'fail' = () => 'ok') {
  const events: SQSEvent[] = [];
  const contexts: Context[] = [];
  const handler: SqsConsumerHandler = async (event, context) => {
    events.push(event);
    contexts.push(context);
    return { batchItemFailures: event.Records.filter((record) => decide(record) === 'fail').map((record) => ({ itemIdentifier: record.messageId })) };
  };
  const records = () => events.flatMap((event) => event.Records);
  const deliveries = (n: number) => records().filter((record) => itemOf(record).n === n);
  return { events, contexts, handler, records, deliveries };
}

const quiet: QueuePollerOptions['onError'] = () => undefined;

describe.runIf(motoAvailable)('SQS on moto_server: redelivery, visibility and dead-letter queues', () => {
  let moto: Moto;
  let client: SQSClient;
  let counter = 0;
  const pollers: QueuePoller[] = [];

  const newQueues = (visibilityTimeoutSeconds: number, maxReceiveCount = 5): Promise<QueueWithDeadLetter> =>
    createQueueWithDeadLetter(client, `moto-sqs-${++counter}`, { visibilityTimeoutSeconds, maxReceiveCount });

  const poll = (options: Partial<QueuePollerOptions> & Pick<QueuePollerOptions, 'queueUrl' | 'loadHandler'>) => {
    const poller = startQueuePoller({ client, functionName: 'fake-worker', batchSize: 10, onError: quiet, region: MOTO_REGION, ...options });
    pollers.push(poller);
    return poller;
  };

  const sendItems = (queueUrl: string, count: number) =>
    new SqsWorkQueue<Item>(client, queueUrl).send(Array.from({ length: count }, (_, n) => ({ n })));

  beforeAll(async () => {
    moto = (await startMoto({ prefix: 'moto-sqs' }))!;
    // The factory the functions use, pointed at moto as SQS_ENDPOINT points it locally.
    client = createSqsClient(moto.endpoint, { region: MOTO_REGION, credentials: MOTO_CREDENTIALS });
  });

  afterAll(async () => {
    await Promise.all(pollers.map((poller) => poller.stop()));
    client?.destroy();
    await moto?.stop();
  });

  describe.concurrent('redelivery', () => {
    it('SqsWorkQueue: a received, undeleted message comes back after the visibility timeout (not before), its receive count incremented; a deleted one does not', async ({ expect }) => {
      // Prepare: a 3 s visibility timeout, two messages sent through the adapter
      const timeoutMs = 3_000;
      const { queueUrl } = await newQueues(timeoutMs / 1000);
      await sendItems(queueUrl, 2);

      // Act: receive both, delete n=0 only, then wait for whatever comes back
      const startedAt = Date.now(); // before moto starts the visibility clock
      const first = await client.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }),
      );
      const byN = new Map((first.Messages ?? []).map((message) => [(JSON.parse(message.Body!) as Item).n, message]));
      await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: byN.get(0)!.ReceiptHandle! }));
      const back: Message[] = [];
      let backAt = 0;
      await waitFor(
        async () => {
          const { Messages } = await client.send(
            new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }),
          );
          back.push(...(Messages ?? []));
          backAt = Date.now();
          return back.length > 0;
        },
        20_000,
        'the undeleted message',
      );

      // Assess
      expect([...byN.keys()].sort()).toEqual([0, 1]);
      expect(receiveCount(byN.get(1)!)).toBe(1);
      expect(back).toHaveLength(1);
      const [again] = back;
      expect(JSON.parse(again!.Body!)).toEqual({ n: 1 });
      expect(again!.MessageId).toBe(byN.get(1)!.MessageId);
      expect(receiveCount(again!)).toBe(2);
      expect(again!.ReceiptHandle).not.toBe(byN.get(1)!.ReceiptHandle);
      expect(again!.Attributes?.ApproximateFirstReceiveTimestamp).toBe(byN.get(1)!.Attributes?.ApproximateFirstReceiveTimestamp);
      // Not before the timeout: the clock started after startedAt, and load only delays backAt further.
      // (100 ms allows for moto's millisecond rounding; an early redelivery would be seconds early.)
      expect(backAt - startedAt).toBeGreaterThanOrEqual(timeoutMs - 100);
      // Nothing else is left: n=0 was deleted, n=1 is in flight again.
      expect(await messageCount(client, queueUrl)).toEqual({ visible: 0, inFlight: 1 });
    });

    it('poller: a record reported in batchItemFailures comes back alone after the visibility timeout, with ApproximateReceiveCount 2; the others are deleted once', async ({ expect }) => {
      // Prepare: n=1 fails on its first delivery only
      const { queueUrl, dlqUrl } = await newQueues(1);
      await sendItems(queueUrl, 3);
      const fake = recorder((record) => (itemOf(record).n === 1 && receiveCount(record) === 1 ? 'fail' : 'ok'));

      // Act
      const poller = poll({ queueUrl, loadHandler: () => fake.handler });
      await waitFor(() => poller.stats().messagesDeleted === 3, 15_000, 'all three deleted');

      // Assess
      expect(fake.deliveries(0).map(receiveCount)).toEqual([1]);
      expect(fake.deliveries(2).map(receiveCount)).toEqual([1]);
      expect(fake.deliveries(1).map(receiveCount)).toEqual([1, 2]);
      const [firstTry, retry] = fake.deliveries(1);
      expect(retry!.messageId).toBe(firstTry!.messageId);
      // The retry was a batch of its own (the adapter test above shows it cannot come back early).
      const retryEvent = fake.events.find((event) => event.Records.includes(retry!))!;
      expect(retryEvent.Records).toHaveLength(1);
      expect(Number(retry!.attributes.ApproximateFirstReceiveTimestamp)).toBe(Number(firstTry!.attributes.ApproximateFirstReceiveTimestamp));
      expect(poller.stats()).toMatchObject({ failedRecords: 1, failedBatches: 0, messagesDeleted: 3 });
      expect(await messageCount(client, queueUrl)).toEqual({ visible: 0, inFlight: 0 });
      expect(await messageCount(client, dlqUrl)).toEqual({ visible: 0, inFlight: 0 });
    });

    it('poller: a batch running past the visibility timeout is kept invisible (ChangeMessageVisibilityBatch), so it is not redelivered meanwhile', async ({ expect }) => {
      // Prepare: a 2 s visibility timeout (extended every second: a second of margin for moto's
      // answer under load) and a consumer that takes 4.5 s
      const { queueUrl } = await newQueues(2);
      await sendItems(queueUrl, 2);
      const fake = recorder();
      const slow: SqsConsumerHandler = async (event, context) => {
        await sleep(4_500);
        return fake.handler(event, context);
      };

      // Act: room for a second batch, so that a message visible again would be received meanwhile
      const poller = poll({ queueUrl, loadHandler: () => slow, concurrency: 2 });
      await waitFor(() => poller.stats().messagesDeleted === 2, 15_000, 'the slow batch');

      // Assess: received once each (a redelivery would have started a second batch meanwhile),
      // kept invisible by extensions moto accepted
      expect(poller.stats()).toMatchObject({ messagesReceived: 2, batches: 1, failedBatches: 0 });
      expect(fake.records().map(receiveCount)).toEqual([1, 1]);
      expect(poller.stats().visibilityExtensions).toBeGreaterThanOrEqual(3);
      expect(await messageCount(client, queueUrl)).toEqual({ visible: 0, inFlight: 0 });
    });
  });

  it('the queues of queues.ts, with their maxReceiveCount: the local consumers retry a disbursement failing every time exactly maxReceiveCount times, then its dead-letter consumer gets it', async () => {
    // Prepare: every queue of queues.ts on moto (1 s visibility), consumers wired as the local server wires them
    const queues = await createMotoQueues(moto, { prefix: 'defined', visibilityTimeoutSeconds: 1 });
    for (const [key, definition] of Object.entries(queueDefinitions) as [QueueKey, QueueDefinition][]) {
      const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queues.queueUrls[key], AttributeNames: ['All'] }));
      expect(JSON.parse(Attributes!.RedrivePolicy!)).toEqual({ deadLetterTargetArn: queues.dlqArns[key], maxReceiveCount: definition.maxReceiveCount });
    }
    const byFunction = new Map<string, ReturnType<typeof recorder>>([
      ['verify-worker', recorder()],
      ['disburse-worker', recorder((record) => (itemOf(record).n === 1 ? 'fail' : 'ok'))],
      ['disburse-exhausted', recorder()],
    ]);
    const consumers = startLocalConsumers(client, queues, {
      onError: quiet,
      loadHandler: async (name) => byFunction.get(name)!.handler,
    });

    // Act
    try {
      await new SqsWorkQueue<Item>(client, queues.queueUrls.disbursement).send([{ n: 0 }, { n: 1 }]);
      await waitFor(() => byFunction.get('disburse-exhausted')!.events.length > 0, 25_000, 'the dead-letter consumer');
    } finally {
      await consumers.stop();
    }

    // Assess
    const { maxReceiveCount } = queueDefinitions.disbursement;
    const worker = byFunction.get('disburse-worker')!;
    expect(worker.deliveries(0).map(receiveCount)).toEqual([1]);
    expect(worker.deliveries(1).map(receiveCount)).toEqual(Array.from({ length: maxReceiveCount }, (_, index) => index + 1));
    const dead = byFunction.get('disburse-exhausted')!.records();
    expect(dead.map(itemOf)).toEqual([{ n: 1 }]);
    expect(dead[0]!.messageId).toBe(worker.deliveries(1)[0]!.messageId);
    expect(dead[0]!.eventSourceARN).toBe(queues.dlqArns.disbursement);
    expect(byFunction.get('disburse-exhausted')!.contexts[0]!.functionName).toBe('disburse-exhausted');
    expect(byFunction.get('verify-worker')!.events).toHaveLength(0);
    expect(await messageCount(client, queues.queueUrls.disbursement)).toEqual({ visible: 0, inFlight: 0 });
    expect(await messageCount(client, queues.dlqUrls.disbursement)).toEqual({ visible: 0, inFlight: 0 });
  }, 45_000);
});
