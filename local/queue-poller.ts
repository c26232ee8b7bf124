import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { functionModules, importHandler } from './function-modules.js';
import { queueDefinitions, type QueueDefinition, type QueueKey } from '../shared/adapters/sqs/queues.js';
import { runAsFunction } from './function-context.js';
import { LOCAL_ACCOUNT_ID, type LocalQueues } from './queues.js';

/**
 * A Lambda-style SQS event source mapping for the local server: it long-polls
 * a queue, hands each batch to the consumer handler as a real SQSEvent, and
 * deletes what the handler did not report in `batchItemFailures`. Everything
 * else is left to SQS semantics (here fauxqs): unreported failures come back
 * after the visibility timeout with ApproximateReceiveCount + 1, and after
 * maxReceiveCount deliveries the queue's RedrivePolicy moves the message to the
 * dead-letter queue (fauxqs does that on the next ReceiveMessage, as SQS does).
 */

/** A consumer function's handler, as Lambda calls it (ReportBatchItemFailures on); aws-lambda's SQSHandler result type. */
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- a handler may resolve with nothing, as Lambda allows
export type SqsConsumerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void | undefined>;

/** Upper bound on batches in flight per queue locally (deployed: the definition's maximumConcurrency). */
export const LOCAL_MAX_CONCURRENCY = 4;

export type PollerPhase = 'load' | 'receive' | 'handler' | 'timeout' | 'response' | 'delete' | 'visibility';

export interface QueuePollerOptions {
  client: SQSClient;
  queueUrl: string;
  /** The consumer function's name (Lambda context, messages). */
  functionName: string;
  /**
   * Gives the handler; called once before the first receive (a cold start
   * never eats into a batch's visibility timeout), again after a failure.
   */
  loadHandler: () => Promise<SqsConsumerHandler> | SqsConsumerHandler;
  /** Records per event, 1-10 (the event source mapping's BatchSize). */
  batchSize: number;
  /** Batches in flight at once (the event source mapping's MaximumConcurrency). Default 1. */
  concurrency?: number;
  /** Long-poll wait per ReceiveMessage, 0-20 s. Default 1 s. */
  waitTimeSeconds?: number;
  /** Lambda's function timeout: a batch running longer counts as failed (nothing deleted). Default 60 s. */
  timeoutSeconds?: number;
  /**
   * Keep a running batch invisible (ChangeMessageVisibilityBatch every half
   * visibility timeout) so that the short local visibility timeout never
   * redelivers a batch still being processed. Default true.
   */
  extendVisibility?: boolean;
  /** Region in records and context. Default AWS_REGION or ap-southeast-1. */
  region?: string;
  /** Errors of the handler and of SQS calls. Default: one line on stderr, never a message body. */
  onError?: (error: unknown, info: { queueName: string; phase: PollerPhase; records: number }) => void;
  /** Pause after a failed receive or handler load. Default 1,000 ms (doubling up to 30 s for loads). */
  retryDelayMs?: number;
}

export interface QueuePollerStats {
  /** ReceiveMessage requests, and how many came back empty. */
  receives: number;
  emptyReceives: number;
  messagesReceived: number;
  /** Handler invocations. */
  batches: number;
  /** Invocations that threw or timed out (whole batch left for redelivery). */
  failedBatches: number;
  /** Records reported in batchItemFailures. */
  failedRecords: number;
  /** DeleteMessageBatch requests, and messages deleted. */
  deletes: number;
  messagesDeleted: number;
  /** ChangeMessageVisibilityBatch requests (long batches only). */
  visibilityExtensions: number;
  /** Batches being processed now. */
  inFlight: number;
}

export interface QueuePoller {
  queueName: string;
  queueUrl: string;
  /** Resolves when polling has begun (the handler loaded, the queue's attributes read). */
  ready: Promise<void>;
  stats(): QueuePollerStats;
  /** Stops receiving and waits for the batches in flight to finish. */
  stop(): Promise<void>;
}

const DEFAULT_REGION = 'ap-southeast-1';
const LAMBDA_ATTRIBUTE_ORDER = ['ApproximateReceiveCount', 'SentTimestamp', 'SenderId', 'ApproximateFirstReceiveTimestamp'];

function queueNameOf(queueUrl: string): string {
  return queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
}

/** Message attributes as Lambda delivers them (camelCase, binary as base64, the list fields present). */
function lambdaMessageAttributes(attributes: Record<string, MessageAttributeValue> | undefined): SQSMessageAttributes {
  const result: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    result[name] = {
      ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
      ...(value.BinaryValue === undefined ? {} : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((item) => Buffer.from(item).toString('base64')),
      dataType: value.DataType ?? 'String',
    };
  }
  return result;
}

/** One record of an SQSEvent, shaped exactly as Lambda's SQS event source delivers it. */
export function toSqsRecord(message: Message, eventSourceARN: string, awsRegion: string): SQSRecord {
  const given = message.Attributes ?? {};
  const attributes: Record<string, string> = {};
  for (const name of LAMBDA_ATTRIBUTE_ORDER) {
    const value = given[name as keyof typeof given];
    if (value !== undefined) attributes[name] = value;
  }
  for (const [name, value] of Object.entries(given)) {
    if (value !== undefined && !(name in attributes)) attributes[name] = value;
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: attributes as unknown as SQSRecordAttributes,
    messageAttributes: lambdaMessageAttributes(message.MessageAttributes),
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN,
    awsRegion,
  };
}

function lambdaContext(functionName: string, region: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

class BatchTimeoutError extends Error {
  constructor(seconds: number) {
    super(`Task timed out after ${seconds} seconds`);
    this.name = 'BatchTimeoutError';
  }
}

/** The distinct causes a batch failure carries (Powertools' FullBatchFailureError.recordErrors), names and messages only. */
function recordErrorsOf(error: Error): string {
  const causes = (error as { recordErrors?: unknown[] }).recordErrors ?? [];
  const distinct = [...new Set(causes.map((cause) => (cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause))))];
  return distinct.length > 0 ? ` [${distinct.slice(0, 3).join('; ')}]` : '';
}

function defaultOnError(error: unknown, info: { queueName: string; phase: PollerPhase; records: number }): void {
  // Name and message only: records' bodies are never printed.
  const what = error instanceof Error ? `${error.name}: ${error.message}${recordErrorsOf(error)}` : String(error);
  const outcome =
    info.phase === 'handler' || info.phase === 'timeout' || info.phase === 'response'
      ? ` (${info.records} record(s) come back after the visibility timeout)`
      : '';
  console.error(`[queue ${info.queueName}] ${info.phase} failed: ${what}${outcome}`);
}

/**
 * Starts polling a queue. The handler's result decides what is deleted, as with
 * Lambda and ReportBatchItemFailures:
 * - resolves with no batchItemFailures (or nothing): every record is deleted;
 * - lists some records: the others are deleted, those come back after the
 *   visibility timeout;
 * - throws, times out, or names an unknown/empty itemIdentifier: nothing is
 *   deleted, the whole batch comes back.
 */
export function startQueuePoller(options: QueuePollerOptions): QueuePoller {
  const { client, queueUrl, functionName } = options;
  const queueName = queueNameOf(queueUrl);
  const region = options.region ?? process.env.AWS_REGION ?? DEFAULT_REGION;
  const batchSize = Math.min(10, Math.max(1, Math.trunc(options.batchSize)));
  const concurrency = Math.max(1, Math.trunc(options.concurrency ?? 1));
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;
  const timeoutSeconds = options.timeoutSeconds ?? 60;
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  const onError = options.onError ?? defaultOnError;

  const stats: QueuePollerStats = {
    receives: 0,
    emptyReceives: 0,
    messagesReceived: 0,
    batches: 0,
    failedBatches: 0,
    failedRecords: 0,
    deletes: 0,
    messagesDeleted: 0,
    visibilityExtensions: 0,
    inFlight: 0,
  };
  let running = true;
  const stopping = new AbortController();
  const inFlight = new Set<Promise<void>>();

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopping.signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        stopping.signal.removeEventListener('abort', done);
        resolve();
      }
      stopping.signal.addEventListener('abort', done);
    });

  async function loadHandler(): Promise<SqsConsumerHandler | undefined> {
    for (let delay = retryDelayMs; running; delay = Math.min(delay * 2, 30_000)) {
      try {
        const handler = await options.loadHandler();
        if (typeof handler !== 'function') throw new TypeError(`${functionName} exports no handler function`);
        return handler;
      } catch (error) {
        if (!running) return undefined;
        onError(error, { queueName, phase: 'load', records: 0 });
        await pause(delay);
      }
    }
    return undefined;
  }

  async function queueSettings(): Promise<{ arn: string; visibilityTimeoutSeconds: number }> {
    const fallback = { arn: `arn:aws:sqs:${region}:${LOCAL_ACCOUNT_ID}:${queueName}`, visibilityTimeoutSeconds: 30 };
    const result = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn', 'VisibilityTimeout'] }),
    );
    return {
      arn: result.Attributes?.QueueArn ?? fallback.arn,
      visibilityTimeoutSeconds: Number(result.Attributes?.VisibilityTimeout ?? fallback.visibilityTimeoutSeconds),
    };
  }

  /** While a batch runs, push its visibility deadline out every half timeout. */
  function keepInvisible(messages: Message[], visibilityTimeoutSeconds: number): () => void {
    if (options.extendVisibility === false || visibilityTimeoutSeconds <= 0) return () => undefined;
    const timer = setInterval(() => {
      stats.visibilityExtensions++;
      client
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle,
              VisibilityTimeout: visibilityTimeoutSeconds,
            })),
          }),
        )
        .catch((error: unknown) => onError(error, { queueName, phase: 'visibility', records: messages.length }));
    }, (visibilityTimeoutSeconds * 1000) / 2);
    return () => clearInterval(timer);
  }

  async function runBatch(handler: SqsConsumerHandler, messages: Message[], eventSourceARN: string, visibilityTimeoutSeconds: number) {
    stats.batches++;
    const event: SQSEvent = { Records: messages.map((message) => toSqsRecord(message, eventSourceARN, region)) };
    const release = keepInvisible(messages, visibilityTimeoutSeconds);
    let timer: NodeJS.Timeout | undefined;
    let response: Awaited<ReturnType<SqsConsumerHandler>>;
    try {
      response = await Promise.race([
        Promise.resolve().then(() => handler(event, lambdaContext(functionName, region, timeoutSeconds * 1000))),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new BatchTimeoutError(timeoutSeconds)), timeoutSeconds * 1000);
        }),
      ]);
    } catch (error) {
      stats.failedBatches++;
      onError(error, { queueName, phase: error instanceof BatchTimeoutError ? 'timeout' : 'handler', records: messages.length });
      return;
    } finally {
      clearTimeout(timer);
      release();
    }

    const ids = new Set(messages.map((message) => message.MessageId));
    const failures = (response && Array.isArray(response.batchItemFailures) ? response.batchItemFailures : []).map(
      (failure) => failure?.itemIdentifier,
    );
    if (failures.some((id) => typeof id !== 'string' || !ids.has(id))) {
      // Lambda treats a response naming no record of the batch as a failure of the whole batch.
      stats.failedBatches++;
      onError(new Error('batchItemFailures names an itemIdentifier that is not a messageId of the batch'), {
        queueName,
        phase: 'response',
        records: messages.length,
      });
      return;
    }
    const failed = new Set(failures);
    stats.failedRecords += failed.size;
    const done = messages.filter((message) => !failed.has(message.MessageId ?? ''));
    if (done.length === 0) return;
    try {
      stats.deletes++;
      const result = await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
      stats.messagesDeleted += result.Successful?.length ?? 0;
      if (result.Failed?.length) {
        onError(new Error(`${result.Failed.length} deletes failed: ${result.Failed.map((entry) => entry.Code).join(', ')}`), {
          queueName,
          phase: 'delete',
          records: result.Failed.length,
        });
      }
    } catch (error) {
      // The records come back after the visibility timeout: consumers are idempotent.
      onError(error, { queueName, phase: 'delete', records: done.length });
    }
  }

  async function poll(): Promise<void> {
    const handler = await loadHandler();
    if (!handler) return;
    let settings: { arn: string; visibilityTimeoutSeconds: number } | undefined;
    while (running && !settings) {
      try {
        settings = await queueSettings();
      } catch (error) {
        if (!running) return;
        onError(error, { queueName, phase: 'receive', records: 0 });
        await pause(retryDelayMs);
      }
    }
    if (!settings) return;
    const { arn, visibilityTimeoutSeconds } = settings;
    markReady();

    while (running) {
      if (inFlight.size >= concurrency) {
        await Promise.race(inFlight);
        continue;
      }
      let messages: Message[];
      try {
        stats.receives++;
        const result = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: waitTimeSeconds,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: stopping.signal },
        );
        messages = result.Messages ?? [];
      } catch (error) {
        if (!running) break;
        onError(error, { queueName, phase: 'receive', records: 0 });
        await pause(retryDelayMs);
        continue;
      }
      if (messages.length === 0) {
        stats.emptyReceives++;
        continue;
      }
      stats.messagesReceived += messages.length;
      stats.inFlight++;
      const batch: Promise<void> = runBatch(handler, messages, arn, visibilityTimeoutSeconds).finally(() => {
        stats.inFlight--;
        inFlight.delete(batch);
      });
      inFlight.add(batch);
    }
  }

  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const polling = poll().catch((error: unknown) => onError(error, { queueName, phase: 'receive', records: 0 }));

  return {
    queueName,
    queueUrl,
    ready,
    stats: () => ({ ...stats }),
    stop: async () => {
      running = false;
      // Ends a long poll at once; a message it was about to take stays in the queue (or comes back
      // after the visibility timeout), exactly as if this poller had never asked.
      stopping.abort();
      markReady();
      await polling;
      await Promise.allSettled([...inFlight]);
    },
  };
}

// ---------------------------------------------------------------------------
// The local server's consumers

export interface LocalConsumers {
  /** Pollers by queue name. */
  pollers: Map<string, QueuePoller>;
  stats(): Record<string, QueuePollerStats>;
  stop(): Promise<void>;
}

/**
 * One poller per queue whose consumer handler exists (functions/<consumer>/handler.ts,
 * checked now), and one per dead-letter queue whose definition names a
 * `deadLetterConsumer` with a handler (the disbursement DLQ's marks payments
 * FAILED RETRIES_EXHAUSTED). Handlers load in the background, so a
 * consumer that fails to load does not stop the server (its messages wait).
 */
export function startLocalConsumers(
  client: SQSClient,
  queues: LocalQueues,
  options: Pick<QueuePollerOptions, 'onError' | 'waitTimeSeconds'> & {
    loadHandler?: (functionName: string) => Promise<SqsConsumerHandler>;
  } = {},
): LocalConsumers {
  const load = options.loadHandler ?? ((functionName: string) => importHandler<SqsConsumerHandler>(functionName));
  const pollers = new Map<string, QueuePoller>();
  for (const [key, definition] of Object.entries(queueDefinitions) as [QueueKey, QueueDefinition][]) {
    const targets = [
      { queueUrl: queues.queueUrls[key], functionName: definition.consumer },
      ...(definition.deadLetterConsumer ? [{ queueUrl: queues.dlqUrls[key], functionName: definition.deadLetterConsumer }] : []),
    ];
    for (const { queueUrl, functionName } of targets) {
      if (!options.loadHandler && !(functionName in functionModules)) continue;
      // The poller's calls and the handler's run as this function's (local/function-context.ts): Lambda's event source uses its role.
      const poller = runAsFunction(functionName, () => startQueuePoller({
        client,
        queueUrl,
        functionName,
        loadHandler: () => load(functionName),
        batchSize: definition.batchSize,
        concurrency: Math.min(definition.maximumConcurrency, LOCAL_MAX_CONCURRENCY),
        timeoutSeconds: definition.consumerTimeoutSeconds,
        ...(options.onError ? { onError: options.onError } : {}),
        ...(options.waitTimeSeconds === undefined ? {} : { waitTimeSeconds: options.waitTimeSeconds }),
      }));
      pollers.set(poller.queueName, poller);
    }
  }
  return {
    pollers,
    stats: () => Object.fromEntries([...pollers].map(([name, poller]) => [name, poller.stats()])),
    stop: async () => {
      await Promise.all([...pollers.values()].map((poller) => poller.stop()));
    },
  };
}
