import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { DynamoWebhookStore } from '../adapters/dynamodb/webhook-store.js';
import { sqsClient } from '../adapters/sqs/client.js';
import { queueDefinitions } from '../adapters/sqs/queues.js';
import { SqsWorkQueue } from '../adapters/sqs/work-queue.js';
import { HttpWebhookSender } from '../adapters/webhook/http-sender.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { onDisburseEnvelope } from '../app/g2p.js';
import { ulid } from 'ulid';
import { createWebhookUseCases, type DelayingQueue, type WebhookMessage } from '../app/webhooks.js';
import { loadConfig } from '../config/env.js';
import { systemClock } from '../domain/dates.js';
import type { BatchStore } from '../ports/batch-store.js';
import { logger } from '../observability/logger.js';
import type { Core } from './core.js';

/**
 * Webhook timing and network policy (docs/decisions.md 111-112). The stack
 * sets the deployed values (public https receivers, first retry after 30 s,
 * doubling up to 1 h, for 24 h, 5 s per attempt); the local server its own
 * (loopback receivers, seconds).
 */
const webhookConfigSchema = z.object({
  WEBHOOK_RECEIVER_POLICY: z.enum(['public-https', 'loopback']).default('public-https'),
  WEBHOOK_RETRY_BASE_SECONDS: z.coerce.number().int().min(1).default(30),
  WEBHOOK_RETRY_MAX_SECONDS: z.coerce.number().int().min(1).default(3600),
  WEBHOOK_RETRY_WINDOW_SECONDS: z.coerce.number().int().min(1).default(86_400),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(10_000).default(5_000),
});

function webhookQueue(): DelayingQueue<WebhookMessage> {
  const url = process.env[queueDefinitions.webhook.envVar];
  if (!url) throw new Error(`Invalid configuration: ${queueDefinitions.webhook.envVar} is not set`);
  return new SqsWorkQueue<WebhookMessage>(sqsClient(), url);
}

/** The webhook use cases of a function: every function that changes batches announces; the worker delivers; the HTTP function configures. */
export function createWebhooks(core: Pick<Core, 'client' | 'config' | 'cursors'>, options: { delivers?: boolean; configures?: boolean } = {}) {
  const config = loadConfig(webhookConfigSchema);
  return createWebhookUseCases({
    store: new DynamoWebhookStore(core.client, core.config.CORE_TABLE_NAME),
    queue: webhookQueue(),
    clock: systemClock,
    settings: {
      policy: config.WEBHOOK_RECEIVER_POLICY,
      baseSeconds: config.WEBHOOK_RETRY_BASE_SECONDS,
      maxSeconds: config.WEBHOOK_RETRY_MAX_SECONDS,
      windowSeconds: config.WEBHOOK_RETRY_WINDOW_SECONDS,
    },
    ...(options.delivers
      ? {
          sender: new HttpWebhookSender({ policy: config.WEBHOOK_RECEIVER_POLICY, timeoutMs: config.WEBHOOK_TIMEOUT_MS }),
          g2pBody: async (delivery) => {
            const store = new DynamoBatchStore(core.client, core.config.CORE_TABLE_NAME);
            const batch = await store.getBatch(delivery.batchId);
            if (!batch) throw new Error('A G2P callback names a batch that does not exist');
            // The signature is in the x-signature header (over x-timestamp and this very body): docs/decisions.md 122.
            return onDisburseEnvelope({ clock: systemClock, newMessageId: ulid, store }, batch, 'x-signature');
          },
        }
      : {}),
    ...(options.configures ? { cursors: core.cursors, newSecret: () => `whsec_${randomBytes(32).toString('base64url')}` } : {}),
    // Name only: the message of a store error may quote keys.
    onEmitError: (error) => logger.error('webhook announcement lost', { errorName: error instanceof Error ? error.name : 'unknown' }),
  });
}

/** A batch store whose changes are announced to the province's webhook. */
export function announcing(core: Pick<Core, 'client' | 'config' | 'cursors'>, store: BatchStore): BatchStore {
  return createWebhooks(core).announcingBatchStore(store);
}
