import type { SQSRecord } from 'aws-lambda';
import { parseMessage, verificationMessageSchema } from '../../shared/app/messages.js';
import { systemActor } from '../../shared/app/audit.js';
import { partialBatchHandler } from '../../shared/adapters/sqs/partial-batch.js';
import { logger } from '../../shared/observability/logger.js';
import { createVerificationContext } from '../../shared/wiring/verification.js';

const { verification, audit } = await createVerificationContext();

async function verifyRecord(record: SQSRecord): Promise<void> {
  const message = parseMessage(verificationMessageSchema, record.body);
  const result = await audit.unit({ actor: systemActor('verify-worker'), requestId: record.messageId, action: 'verifyPage' }, () => verification.verifyPage(message));
  logger.info('verification page done', { batchId: message.batchId, shard: message.shard, ...result });
}

/** Verification pages from the verification queue; each failed record is retried on its own. */
export const handler = partialBatchHandler(verifyRecord);
