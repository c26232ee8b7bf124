import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * An SQS consumer's handler that reports each failed record on its own
 * (ReportBatchItemFailures). The Powertools processor keeps the records of the
 * batch it is processing and their outcomes, so each invocation gets its own:
 * one processor at module scope, shared by invocations running at the same
 * time in one process (the local server runs up to four batches of a queue at
 * once), reported a failed record of one invocation as a success of another,
 * whose message was then deleted and its payments left QUEUED.
 */
export function partialBatchHandler(handleRecord: (record: SQSRecord) => Promise<void>) {
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, handleRecord, new BatchProcessor(EventType.SQS), { context });
}
