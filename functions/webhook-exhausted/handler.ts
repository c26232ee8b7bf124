import type { SQSRecord } from 'aws-lambda';
import { parseMessage, webhookMessageSchema } from '../../shared/app/messages.js';
import { partialBatchHandler } from '../../shared/adapters/sqs/partial-batch.js';
import { logger } from '../../shared/observability/logger.js';
import { createCore } from '../../shared/wiring/core.js';
import { createWebhooks } from '../../shared/wiring/webhooks.js';

const webhooks = createWebhooks(await createCore());

/** The webhook dead-letter queue: a delivery whose message kept failing ends FAILED (POST .../redeliver sends it again). */
export const handler = partialBatchHandler(async (record: SQSRecord) => {
  const message = parseMessage(webhookMessageSchema, record.body);
  logger.warn('webhook delivery given up', { eventId: message.eventId });
  await webhooks.exhausted(message);
});
