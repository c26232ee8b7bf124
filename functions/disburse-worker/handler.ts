import type { SQSRecord } from 'aws-lambda';
import { disbursementMessageSchema, parseMessage } from '../../shared/app/messages.js';
import { systemActor } from '../../shared/app/audit.js';
import { partialBatchHandler } from '../../shared/adapters/sqs/partial-batch.js';
import { createDisbursementContext } from '../../shared/wiring/disbursement.js';
import { createProvider } from '../../shared/wiring/provider.js';

const { disbursement, audit } = await createDisbursementContext({ provider: createProvider });

async function disburseRecord(record: SQSRecord): Promise<void> {
  const message = parseMessage(disbursementMessageSchema, record.body);
  await audit.unit({ actor: systemActor('disburse-worker'), requestId: record.messageId, action: message.kind === 'shard' ? 'fanOut' : 'disburse' }, () =>
    disbursement.handle(message),
  );
}

/**
 * The disbursement queue: fan-out pages and single payments. A transient
 * provider error fails only its record, which SQS delivers again later; after
 * the last attempt the dead-letter queue's handler ends it.
 */
export const handler = partialBatchHandler(disburseRecord);
