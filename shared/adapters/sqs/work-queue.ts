import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { logger } from '../../observability/logger.js';
import type { WorkQueue } from '../../ports/work-queue.js';

/** SendMessageBatch takes at most 10 entries... */
export const SQS_MAX_BATCH_ENTRIES = 10;
/**
 * ...whose bodies (and attributes) add up to at most 256 KiB. SQS has since
 * raised its message size limit, but 256 KiB is the classic batch limit and the
 * one the local emulators enforce; our bodies are keys only, far below it.
 */
export const SQS_MAX_BATCH_BYTES = 262_144;
/** SQS's largest DelaySeconds (15 minutes). */
export const SQS_MAX_DELAY_SECONDS = 900;

export interface SendOptions<M> {
  /**
   * Delivery delay in seconds (0-900): one value for every message, or chosen
   * per message (for example a transient failure's backoff). Undefined: the
   * queue's default (0).
   */
  delaySeconds?: number | ((message: M, index: number) => number | undefined);
}

export interface SqsWorkQueueOptions {
  /** Attempts per entry that SQS reports in `Failed` (the first included). Default 5. */
  maxAttempts?: number;
  /** Backoff before the n-th retry: random(0, min(maxDelayMs, baseDelayMs * 2^(n-1))) ("full jitter"). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** SendMessageBatch requests in flight at once for one send(). Default 4. */
  parallelBatches?: number;
  /** Byte budget of one batch request. Default SQS_MAX_BATCH_BYTES. */
  maxBatchBytes?: number;
  /** For tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** One reason SQS gave for not taking entries, and how many it did not take for it. */
export interface SendFailure {
  code: string;
  senderFault: boolean;
  count: number;
}

/**
 * Some messages could not be queued. Carries counts and SQS's error codes,
 * never message bodies. Messages of other batches of the same send() may have
 * been queued: consumers are idempotent (SQS delivers at least once anyway).
 */
export class QueueSendError extends Error {
  constructor(
    message: string,
    readonly unsent: number,
    readonly failures: SendFailure[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'QueueSendError';
  }
}

interface Chunk {
  entries: SendMessageBatchRequestEntry[];
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function checkDelay(delay: number): number {
  if (!Number.isInteger(delay) || delay < 0 || delay > SQS_MAX_DELAY_SECONDS) {
    throw new RangeError(`DelaySeconds must be an integer from 0 to ${SQS_MAX_DELAY_SECONDS}, got ${delay}`);
  }
  return delay;
}

/**
 * WorkQueue over SQS: JSON bodies, SendMessageBatch of up to 10 entries within
 * the batch byte limit, entries SQS reports in `Failed` retried with jittered
 * backoff a bounded number of times. Whole-request errors (throttling, 5xx,
 * network) are retried by the SDK's own retry strategy first.
 * Runs unchanged against AWS, fauxqs (locally) and moto (tests).
 */
export class SqsWorkQueue<M> implements WorkQueue<M> {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly parallelBatches: number;
  private readonly maxBatchBytes: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly client: SQSClient,
    readonly queueUrl: string,
    options: SqsWorkQueueOptions = {},
  ) {
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.maxDelayMs = options.maxDelayMs ?? 2_000;
    this.parallelBatches = Math.max(1, options.parallelBatches ?? 4);
    this.maxBatchBytes = options.maxBatchBytes ?? SQS_MAX_BATCH_BYTES;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  /** Queues every message; throws QueueSendError if some could not be queued. */
  async send(messages: readonly M[], options: SendOptions<M> = {}): Promise<void> {
    if (messages.length === 0) return;
    const chunks = this.chunk(messages, options);
    const errors: QueueSendError[] = [];
    let next = 0;
    const worker = async () => {
      // Stop starting new batches after a failure; let the ones in flight finish.
      while (errors.length === 0) {
        const chunk = chunks[next];
        if (!chunk) return;
        next++;
        try {
          await this.sendChunk(chunk);
        } catch (error) {
          errors.push(
            error instanceof QueueSendError
              ? error
              : new QueueSendError(`SendMessageBatch failed: ${(error as Error).name}`, chunk.entries.length, [], { cause: error }),
          );
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.parallelBatches, chunks.length) }, worker));
    const [first] = errors;
    if (first) {
      const notAttempted = chunks.slice(next).reduce((sum, chunk) => sum + chunk.entries.length, 0);
      const unsent = errors.reduce((sum, error) => sum + error.unsent, notAttempted);
      const failures = errors.flatMap((error) => error.failures);
      throw new QueueSendError(`${unsent} of ${messages.length} messages were not queued (${first.message})`, unsent, failures, {
        cause: first.cause ?? first,
      });
    }
  }

  /** Splits into batches of at most 10 entries and maxBatchBytes bytes. */
  private chunk(messages: readonly M[], options: SendOptions<M>): Chunk[] {
    const chunks: Chunk[] = [];
    let current: Chunk = { entries: [] };
    let bytes = 0;
    messages.forEach((message, index) => {
      const body = JSON.stringify(message);
      if (body === undefined) throw new TypeError(`Message ${index} cannot be serialized to JSON`);
      const size = Buffer.byteLength(body, 'utf8');
      if (size > this.maxBatchBytes) {
        throw new RangeError(`Message ${index} is ${size} bytes, over the ${this.maxBatchBytes}-byte limit`);
      }
      const delay = typeof options.delaySeconds === 'function' ? options.delaySeconds(message, index) : options.delaySeconds;
      if (current.entries.length === SQS_MAX_BATCH_ENTRIES || bytes + size > this.maxBatchBytes) {
        chunks.push(current);
        current = { entries: [] };
        bytes = 0;
      }
      current.entries.push({
        Id: String(current.entries.length),
        MessageBody: body,
        ...(delay === undefined ? {} : { DelaySeconds: checkDelay(delay) }),
      });
      bytes += size;
    });
    if (current.entries.length > 0) chunks.push(current);
    return chunks;
  }

  private async sendChunk(chunk: Chunk): Promise<void> {
    let pending = chunk.entries;
    for (let attempt = 1; ; attempt++) {
      const result = await this.client.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }));
      const succeeded = new Set((result.Successful ?? []).map((entry) => entry.Id));
      const failedById = new Map((result.Failed ?? []).map((entry) => [entry.Id, entry]));
      const notSent = pending.filter((entry) => !succeeded.has(entry.Id));
      if (notSent.length === 0) return;

      // A sender fault (a malformed entry) fails the same way every time: do not retry it.
      const permanent = notSent.filter((entry) => failedById.get(entry.Id)?.SenderFault === true);
      const retryable = notSent.filter((entry) => failedById.get(entry.Id)?.SenderFault !== true);
      const failures = summarize(notSent.map((entry) => failedById.get(entry.Id)));
      if (permanent.length > 0 || attempt >= this.maxAttempts) {
        const why = permanent.length > 0 ? 'rejected by SQS' : `still failing after ${attempt} attempts`;
        throw new QueueSendError(`${notSent.length} entries ${why}: ${describe(failures)}`, notSent.length, failures);
      }
      const delayMs = Math.round(this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1)));
      // Counts and codes only: message bodies never reach the logs.
      logger.warn('SQS did not take some batch entries; retrying them', {
        failedEntries: retryable.length,
        attempt,
        delayMs,
        failures,
      });
      await this.sleep(delayMs);
      pending = retryable;
    }
  }
}

function summarize(entries: ({ Code?: string | undefined; SenderFault?: boolean | undefined } | undefined)[]): SendFailure[] {
  const byKey = new Map<string, SendFailure>();
  for (const entry of entries) {
    const code = entry?.Code ?? 'Unreported';
    const senderFault = entry?.SenderFault === true;
    const key = `${code}/${senderFault}`;
    const found = byKey.get(key);
    if (found) found.count++;
    else byKey.set(key, { code, senderFault, count: 1 });
  }
  return [...byKey.values()];
}

function describe(failures: SendFailure[]): string {
  return failures.map((failure) => `${failure.count} x ${failure.code}${failure.senderFault ? ' (sender fault)' : ''}`).join(', ');
}
