import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import type { AddressInfo } from 'node:net';
import { queueDefinitions, type QueueDefinition, type QueueKey } from '../shared/adapters/sqs/queues.js';

/**
 * The SQS queues on this machine: fauxqs (an SQS emulator in Node, serving
 * SQS's JSON protocol) in this process, on a free loopback port. The queues
 * are created through the SQS SDK exactly as they would be on AWS, so the very
 * adapter that runs deployed (shared/adapters/sqs) runs here too.
 */

export const LOCAL_REGION = 'ap-southeast-1';
/** The account id fauxqs puts in queue URLs and ARNs. */
export const LOCAL_ACCOUNT_ID = '000000000000';
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * Local timing: deployed, a queue's visibility timeout is 360 s (6 x the
 * consumer's 60 s timeout), so a failed message comes back after 6 minutes and
 * reaches the dead-letter queue after half an hour. On a laptop that would make
 * every retry path untestable, so locally the visibility timeout is scaled down
 * to LOCAL_VISIBILITY_TIMEOUT_SECONDS (default 2 s): a message failing every time
 * reaches the DLQ after maxReceiveCount x 2 s (about 10-12 s for 5). The local
 * poller extends the visibility of a batch that runs longer (see
 * queue-poller.ts), so the short timeout never redelivers a batch still running,
 * as the 6x rule guarantees on AWS.
 */
export const DEFAULT_LOCAL_VISIBILITY_TIMEOUT_SECONDS = 2;

export function localVisibilityTimeoutSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.LOCAL_VISIBILITY_TIMEOUT_SECONDS;
  if (raw === undefined || raw === '') return DEFAULT_LOCAL_VISIBILITY_TIMEOUT_SECONDS;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 43_200) {
    throw new Error(`LOCAL_VISIBILITY_TIMEOUT_SECONDS must be a whole number of seconds from 1 to 43200, got "${raw}"`);
  }
  return value;
}

export interface QueueWithDeadLetter {
  queueName: string;
  queueUrl: string;
  queueArn: string;
  dlqName: string;
  dlqUrl: string;
  dlqArn: string;
}

/**
 * Creates a queue and its dead-letter queue (`<name>-dlq`) with a RedrivePolicy,
 * through the SQS API (works on AWS, fauxqs and moto alike).
 */
export async function createQueueWithDeadLetter(
  client: SQSClient,
  queueName: string,
  settings: { visibilityTimeoutSeconds: number; maxReceiveCount: number },
): Promise<QueueWithDeadLetter> {
  const dlqName = `${queueName}-dlq`;
  const dlq = await client.send(
    // The stack gives a dead-letter queue its queue's visibility timeout (its consumer retries at that pace).
    new CreateQueueCommand({ QueueName: dlqName, Attributes: { MessageRetentionPeriod: '1209600', VisibilityTimeout: String(settings.visibilityTimeoutSeconds) } }),
  );
  const dlqUrl = required(dlq.QueueUrl, 'QueueUrl');
  const dlqAttributes = await client.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
  const dlqArn = required(dlqAttributes.Attributes?.QueueArn, 'QueueArn');
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: queueName,
      Attributes: {
        VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: settings.maxReceiveCount }),
      },
    }),
  );
  const queueUrl = required(queue.QueueUrl, 'QueueUrl');
  const queueAttributes = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const queueArn = required(queueAttributes.Attributes?.QueueArn, 'QueueArn');
  return { queueName, queueUrl, queueArn, dlqName, dlqUrl, dlqArn };
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new Error(`SQS answered without ${what}`);
  return value;
}

/** SQS requests one queue received, counted by the server (whoever sent them). */
export interface QueueRequestStats {
  /** Every SQS API request naming this queue. */
  requests: number;
  /** Requests by action (SendMessageBatch, ReceiveMessage, DeleteMessageBatch, ...). */
  byAction: Record<string, number>;
  /** SendMessage + SendMessageBatch requests. */
  sends: number;
  /** Messages in those requests. */
  messagesSent: number;
  /** ReceiveMessage requests (empty long polls included). */
  receives: number;
  /** DeleteMessage + DeleteMessageBatch requests. */
  deletes: number;
}

export interface LocalQueues {
  endpoint: string;
  region: string;
  queueNames: Record<QueueKey, string>;
  queueUrls: Record<QueueKey, string>;
  queueArns: Record<QueueKey, string>;
  dlqNames: Record<QueueKey, string>;
  dlqUrls: Record<QueueKey, string>;
  dlqArns: Record<QueueKey, string>;
  /** The visibility timeout the queues were created with (seconds). */
  visibilityTimeoutSeconds: number;
  /**
   * With `consumerDeaths` only (the chaos suite, whose one consumer process is killed and replaced): makes
   * every message in flight on any queue visible now, and says how many. To be called only while no
   * consumer is alive (after a death, before the next start), so that no live consumer holds any of them.
   */
  releaseInFlight?: () => Promise<number>;
  /** Request counters by queue name (queues and DLQs, and any queue created later). */
  stats(): Record<string, QueueRequestStats>;
  resetStats(): void;
  stop(): Promise<void>;
}

/** The names, URLs and ARNs of every queue of queues.ts and its DLQ. */
export type DefinedQueues = Pick<LocalQueues, 'queueNames' | 'queueUrls' | 'queueArns' | 'dlqNames' | 'dlqUrls' | 'dlqArns'>;

/**
 * Creates every queue of queues.ts with its dead-letter queue and the
 * definition's maxReceiveCount (names `<prefix>-<id>` and `<prefix>-<id>-dlq`),
 * on any SQS endpoint: fauxqs here, moto in the integration tests.
 */
export async function createDefinedQueues(client: SQSClient, prefix: string, visibilityTimeoutSeconds: number): Promise<DefinedQueues> {
  const created = await Promise.all(
    (Object.entries(queueDefinitions) as [QueueKey, QueueDefinition][]).map(
      async ([key, definition]) =>
        [key, await createQueueWithDeadLetter(client, `${prefix}-${definition.id}`, { visibilityTimeoutSeconds, maxReceiveCount: definition.maxReceiveCount })] as const,
    ),
  );
  const pick = (field: keyof QueueWithDeadLetter) => Object.fromEntries(created.map(([key, queue]) => [key, queue[field]])) as Record<QueueKey, string>;
  return {
    queueNames: pick('queueName'),
    queueUrls: pick('queueUrl'),
    queueArns: pick('queueArn'),
    dlqNames: pick('dlqName'),
    dlqUrls: pick('dlqUrl'),
    dlqArns: pick('dlqArn'),
  };
}

/** Marks the requests the local queues make to themselves (consumerDeaths), left out of the counters. */
const INTERNAL_HEADER = 'x-local-queues-internal';

export interface LocalQueuesOptions {
  /** Queue names are `<prefix>-<id>` and `<prefix>-<id>-dlq`. Default "local". */
  prefix?: string;
  /** Default: LOCAL_VISIBILITY_TIMEOUT_SECONDS or 2 s (see above). */
  visibilityTimeoutSeconds?: number;
  /**
   * The chaos suite's queues, whose one consumer process is killed with SIGKILL and replaced at once
   * (test/chaos/harness.ts). Off by default: `npm start` and the other suites keep SQS's behaviour. On:
   * - a ReceiveMessage answered to a connection that is already closed (the long poll of a consumer
   *   that died while it waited) gives its messages back at once: nobody received them, and SQS would
   *   keep them invisible for the visibility timeout;
   * - `releaseInFlight()` is available (see LocalQueues).
   * Messages are never made visible while a live consumer holds them: the first case has none, the
   * second is called only between a death and the next start.
   */
  consumerDeaths?: boolean;
}

function emptyStats(): QueueRequestStats {
  return { requests: 0, byAction: {}, sends: 0, messagesSent: 0, receives: 0, deletes: 0 };
}

/** One message as a client sent it to a local queue: a SendMessage request, or one entry of a SendMessageBatch. */
export interface SentQueueMessage {
  queueName: string;
  action: 'SendMessage' | 'SendMessageBatch';
  /** The message as sent: MessageBody, and MessageAttributes, DelaySeconds, Id... where given (QueueUrl left out). */
  entry: Record<string, unknown>;
}

const sentMessageObservers = new Set<(message: SentQueueMessage) => void>();

/**
 * Opt-in, for tests that inspect what is queued (the personal-data scan): calls
 * `observer` with every message sent to any local queue of this process until
 * the returned function is called. It only looks: the request reaches fauxqs
 * unchanged, and an observer that throws is not allowed to fail the send.
 */
export function observeSentMessages(observer: (message: SentQueueMessage) => void): () => void {
  const wrapped = (message: SentQueueMessage) => {
    try {
      observer(message);
    } catch {
      // An observer's bug is the test's to find, not the queue's.
    }
  };
  sentMessageObservers.add(wrapped);
  return () => sentMessageObservers.delete(wrapped);
}

function notifySent(queueName: string, action: string, body: Record<string, unknown>): void {
  if (sentMessageObservers.size === 0) return;
  if (action === 'SendMessage') {
    const { QueueUrl: _queueUrl, ...entry } = body;
    for (const observer of sentMessageObservers) observer({ queueName, action, entry });
  } else if (action === 'SendMessageBatch' && Array.isArray(body.Entries)) {
    for (const entry of body.Entries as unknown[]) {
      if (typeof entry !== 'object' || entry === null) continue;
      for (const observer of sentMessageObservers) observer({ queueName, action, entry: entry as Record<string, unknown> });
    }
  }
}

/**
 * Starts fauxqs on a free loopback port (quiet: no request logging) and
 * creates every queue of queues.ts with its dead-letter queue.
 */
export async function startLocalQueues(options: LocalQueuesOptions = {}): Promise<LocalQueues> {
  const prefix = options.prefix ?? 'local';
  const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? localVisibilityTimeoutSeconds();

  // buildApp rather than startFauxqs: startFauxqs listens on 0.0.0.0; this listens on loopback only.
  const app = buildApp({ logger: false, defaultRegion: LOCAL_REGION });

  const counters = new Map<string, QueueRequestStats>();
  app.addHook('preHandler', (request, _reply, done) => {
    // This process's own requests (consumerDeaths) are not counted.
    if (request.headers[INTERNAL_HEADER]) return done();
    const target = request.headers['x-amz-target'];
    const body = request.body as { QueueUrl?: unknown; Entries?: unknown } | undefined;
    if (typeof target === 'string' && target.startsWith('AmazonSQS.') && typeof body?.QueueUrl === 'string') {
      const action = target.slice('AmazonSQS.'.length);
      const name = body.QueueUrl.slice(body.QueueUrl.lastIndexOf('/') + 1);
      let stats = counters.get(name);
      if (!stats) counters.set(name, (stats = emptyStats()));
      stats.requests++;
      stats.byAction[action] = (stats.byAction[action] ?? 0) + 1;
      if (action === 'SendMessage' || action === 'SendMessageBatch') {
        notifySent(name, action, body as Record<string, unknown>);
        stats.sends++;
        stats.messagesSent += action === 'SendMessage' ? 1 : Array.isArray(body.Entries) ? body.Entries.length : 0;
      } else if (action === 'ReceiveMessage') {
        stats.receives++;
      } else if (action === 'DeleteMessage' || action === 'DeleteMessageBatch') {
        stats.deletes++;
      }
    }
    done();
  });

  /** Makes the messages of these receipt handles visible now (ChangeMessageVisibilityBatch to 0, as any client could). */
  const visibleNow = async (queueUrl: string, receiptHandles: string[]): Promise<void> => {
    for (let start = 0; start < receiptHandles.length; start += 10) {
      await app.inject({
        method: 'POST',
        url: '/',
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.ChangeMessageVisibilityBatch', [INTERNAL_HEADER]: '1' },
        payload: JSON.stringify({
          QueueUrl: queueUrl,
          Entries: receiptHandles.slice(start, start + 10).map((ReceiptHandle, index) => ({ Id: String(index), ReceiptHandle, VisibilityTimeout: 0 })),
        }),
      });
    }
  };
  if (options.consumerDeaths) {
    app.addHook('onSend', (request, _reply, payload, done) => {
      // A long poll whose consumer died while it waited: the answer goes nowhere, its messages come back now.
      if (request.headers['x-amz-target'] === 'AmazonSQS.ReceiveMessage' && request.raw.socket?.destroyed && typeof payload === 'string') {
        const queueUrl = (request.body as { QueueUrl?: unknown } | undefined)?.QueueUrl;
        const handles = ((JSON.parse(payload) as { Messages?: { ReceiptHandle?: string }[] }).Messages ?? []).flatMap((message) => (message.ReceiptHandle ? [message.ReceiptHandle] : []));
        if (typeof queueUrl === 'string' && handles.length > 0) void visibleNow(queueUrl, handles).catch(() => undefined);
      }
      done(null, payload);
    });
  }

  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;

  const client = new SQSClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    const queues = await createDefinedQueues(client, prefix, visibilityTimeoutSeconds);
    counters.clear();
    return {
      endpoint,
      region: LOCAL_REGION,
      ...queues,
      visibilityTimeoutSeconds,
      stats: () => Object.fromEntries([...counters].map(([name, stats]) => [name, { ...stats, byAction: { ...stats.byAction } }])),
      resetStats: () => counters.clear(),
      ...(options.consumerDeaths
        ? {
            releaseInFlight: async () => {
              let released = 0;
              const listed = await app.inject({ method: 'GET', url: '/_fauxqs/queues' });
              for (const { name } of listed.json<{ name: string }[]>()) {
                const queue = (await app.inject({ method: 'GET', url: `/_fauxqs/queues/${encodeURIComponent(name)}` })).json<{ url: string; messages: { inflight: { receiptHandle: string }[] } }>();
                const handles = queue.messages.inflight.map((entry) => entry.receiptHandle);
                await visibleNow(queue.url, handles);
                released += handles.length;
              }
              return released;
            },
          }
        : {}),
      stop: async () => {
        // Closing fauxqs also answers any long poll still waiting (its preClose hook).
        await app.close();
      },
    };
  } catch (error) {
    await app.close();
    throw error;
  } finally {
    client.destroy();
  }
}
