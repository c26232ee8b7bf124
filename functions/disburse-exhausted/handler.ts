import type { SQSRecord } from 'aws-lambda';
import { disbursementMessageSchema, parseMessage } from '../../shared/app/messages.js';
import { systemActor } from '../../shared/app/audit.js';
import { partialBatchHandler } from '../../shared/adapters/sqs/partial-batch.js';
import { queueDefinitions } from '../../shared/adapters/sqs/queues.js';
import { logger } from '../../shared/observability/logger.js';
import { createDisbursementContext } from '../../shared/wiring/disbursement.js';
import { createProvider } from '../../shared/wiring/provider.js';

// A provider call follows its hand-off within the worker's timeout (the queue's consumer timeout, deployed);
// the local server's handlers take milliseconds, and its queues' visibility timeout is seconds.
const handOffWindowSeconds = Number(process.env.LOCAL_HANDOFF_WINDOW_SECONDS ?? queueDefinitions.disbursement.consumerTimeoutSeconds);
const { disbursement, audit } = await createDisbursementContext({ provider: createProvider, handOffWindowMs: handOffWindowSeconds * 1000 });

async function exhaustedRecord(record: SQSRecord): Promise<void> {
  const message = parseMessage(disbursementMessageSchema, record.body);
  logger.warn('disbursement retries exhausted', {
    kind: message.kind,
    ...(message.kind === 'payments' ? { paymentIds: message.payments.map((payment) => payment.paymentId) } : { batchId: message.batchId }),
  });
  await audit.unit({ actor: systemActor('disburse-exhausted'), requestId: record.messageId, action: 'retriesExhausted' }, () => disbursement.exhausted(message));
}

/** The disbursement dead-letter queue: a payment that could not be sent ends FAILED RETRIES_EXHAUSTED. */
export const handler = partialBatchHandler(exhaustedRecord);
