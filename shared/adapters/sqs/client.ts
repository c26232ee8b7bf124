import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { observed } from '../aws-call-observers.js';

/**
 * An SQS client. `SQS_ENDPOINT` is set only by the local server and tests
 * (fauxqs, moto); deployed, the SDK's regional endpoint is used. With an
 * explicit endpoint the SDK sends every request there, whatever host a queue
 * URL names (it does not switch to the QueueUrl's host).
 */
export function createSqsClient(endpoint = process.env.SQS_ENDPOINT, config: SQSClientConfig = {}): SQSClient {
  return observed(
    new SQSClient({
      ...(endpoint ? { endpoint, region: process.env.AWS_REGION ?? 'ap-southeast-1' } : {}),
      // Standard retry mode with more attempts: throttling and 5xx are retried, not surfaced.
      maxAttempts: 8,
      ...config,
    }),
  );
}

let shared: SQSClient | undefined;

/** The process's one SQS client (module scope: created at cold start, reused by every invocation). */
export function sqsClient(): SQSClient {
  shared ??= createSqsClient();
  return shared;
}
