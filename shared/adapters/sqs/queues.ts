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
} as const satisfies Record<string, QueueDefinition>;

export type QueueKey = keyof typeof queueDefinitions;
