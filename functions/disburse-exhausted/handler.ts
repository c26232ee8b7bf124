import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { disbursementMessageSchema, parseMessage } from '../../shared/app/messages.js';
import { logger } from '../../shared/observability/logger.js';
import { createDisbursementContext } from '../../shared/wiring/disbursement.js';

const { disbursement } = await createDisbursementContext({ withProvider: true });
const processor = new BatchProcessor(EventType.SQS);

async function exhaustedRecord(record: SQSRecord): Promise<void> {
  const message = parseMessage(disbursementMessageSchema, record.body);
  logger.warn('disbursement retries exhausted', {
    kind: message.kind,
    ...(message.kind === 'payments' ? { paymentIds: message.payments.map((payment) => payment.paymentId) } : { batchId: message.batchId }),
  });
  await disbursement.exhausted(message);
}

/** The disbursement dead-letter queue: a payment that could not be sent ends FAILED RETRIES_EXHAUSTED. */
export const handler = async (event: SQSEvent, context: Context) =>
  processPartialResponse(event, exhaustedRecord, processor, { context });
