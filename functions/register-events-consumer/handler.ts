import type { SQSRecord } from 'aws-lambda';
import { partialBatchHandler } from '../../shared/adapters/sqs/partial-batch.js';
import { registerEventFromMessage } from '../../shared/adapters/sqs/register-event-message.js';
import { createRegisterEventContext } from '../../shared/wiring/register-events.js';

const { registerEvents, audit } = await createRegisterEventContext();

async function receiveRecord(record: SQSRecord): Promise<void> {
  const registerEvent = registerEventFromMessage(record.body);
  await audit.unit({ actor: 'register:population', requestId: record.messageId, action: 'receiveRegisterEventFromQueue' }, () => registerEvents.receive(registerEvent));
}

/**
 * The register-events queue: the population register's integration pushes its
 * events here, directly (SQS SendMessage) or through an EventBridge rule whose
 * target is this queue. Both shapes feed the use case the HTTP route runs; a
 * record that does not parse fails alone and ends in the dead-letter queue.
 */
export const handler = partialBatchHandler(receiveRecord);
