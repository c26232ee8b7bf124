import type { SQSRecord } from 'aws-lambda';
import { parseMessage, webhookMessageSchema } from '../../shared/app/messages.js';
import { partialBatchHandler } from '../../shared/adapters/sqs/partial-batch.js';
import { createCore } from '../../shared/wiring/core.js';
import { createWebhooks } from '../../shared/wiring/webhooks.js';

const webhooks = createWebhooks(await createCore(), { delivers: true });

/** One attempt per message; a failed attempt queues the next one itself (backoff), so only a worker that cannot work fails its record. */
export const handler = partialBatchHandler(async (record: SQSRecord) => webhooks.deliver(parseMessage(webhookMessageSchema, record.body)));
