import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { disbursementMessageSchema, parseMessage } from '../../shared/app/messages.js';
import { createDisbursementContext } from '../../shared/wiring/disbursement.js';

const { disbursement } = await createDisbursementContext({ withProvider: true });
const processor = new BatchProcessor(EventType.SQS);

async function disburseRecord(record: SQSRecord): Promise<void> {
  await disbursement.handle(parseMessage(disbursementMessageSchema, record.body));
}

/**
 * The disbursement queue: fan-out pages and single payments. A transient
 * provider error fails only its record, which SQS delivers again later; after
 * the last attempt the dead-letter queue's handler ends it.
 */
export const handler = async (event: SQSEvent, context: Context) =>
  processPartialResponse(event, disburseRecord, processor, { context });
