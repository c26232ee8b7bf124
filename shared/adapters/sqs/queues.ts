/**
 * The SQS queues, described once for the CDK stack and the local server.
 * Each has a dead-letter queue; a message moves there after `maxReceiveCount`
 * failed deliveries. Visibility timeout stays well above the consumer's timeout.
 */

export interface QueueDefinition {
  id: string;
  envVar: string;
  /** Function (directory under functions/) that consumes the queue. */
  consumer: string;
  consumerTimeoutSeconds: number;
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
  batchSize: number;
  /** Upper bound on concurrent consumer invocations (protects the store and the provider). */
  maximumConcurrency: number;
  /** Function (directory under functions/) that consumes the dead-letter queue, if any. */
  deadLetterConsumer?: string;
}

export const queueDefinitions = {
  verification: {
    id: 'Verification',
    envVar: 'VERIFICATION_QUEUE_URL',
    consumer: 'verify-worker',
    consumerTimeoutSeconds: 60,
    visibilityTimeoutSeconds: 360,
    maxReceiveCount: 5,
    batchSize: 10,
    maximumConcurrency: 20,
  },
  disbursement: {
    id: 'Disbursement',
    envVar: 'DISBURSEMENT_QUEUE_URL',
    consumer: 'disburse-worker',
    // A payment whose message exhausted its deliveries ends FAILED RETRIES_EXHAUSTED (unless the provider took it).
    deadLetterConsumer: 'disburse-exhausted',
    consumerTimeoutSeconds: 60,
    visibilityTimeoutSeconds: 360,
    maxReceiveCount: 5,
    batchSize: 10,
    maximumConcurrency: 20,
  },
  /**
   * Events of the population register pushed by its integration (SQS
   * SendMessage, or an EventBridge rule targeting this queue): the same use
   * case as POST /v1/register-events (shared/app/register-events.ts). Unlike
   * the work queues above, its bodies are the register's events and hold
   * personal IDs: the queue is KMS-encrypted, only the register's principal
   * may send to it, and nothing logs a body (docs/decisions.md 135).
   */
  registerEvents: {
    id: 'RegisterEvents',
    envVar: 'REGISTER_EVENTS_QUEUE_URL',
    consumer: 'register-events-consumer',
    consumerTimeoutSeconds: 60,
    visibilityTimeoutSeconds: 360,
    maxReceiveCount: 5,
    batchSize: 1,
    maximumConcurrency: 5,
  },
  // Signed events to provincial systems (shared/app/webhooks.ts). A failed attempt is not a failed
  // message: the worker sends the next attempt itself, delayed (backoff for 24 h), and deletes this one.
  // A message fails only when the worker cannot work (the store is down): after 5 such deliveries it
  // goes to the dead-letter queue, whose consumer marks the delivery FAILED (redelivery sends it again).
  webhook: {
    id: 'Webhook',
    envVar: 'WEBHOOK_QUEUE_URL',
    consumer: 'webhook-worker',
    deadLetterConsumer: 'webhook-exhausted',
    consumerTimeoutSeconds: 30,
    visibilityTimeoutSeconds: 180,
    maxReceiveCount: 5,
    // One receiver that hangs holds its batch for the attempt's timeout: small batches.
    batchSize: 5,
    maximumConcurrency: 10,
  },
} as const satisfies Record<string, QueueDefinition>;

export type QueueKey = keyof typeof queueDefinitions;
