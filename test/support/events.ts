import { readFileSync } from 'node:fs';
import type { Context, SQSEvent } from 'aws-lambda';
import type { ApiEvent } from '../../shared/http/api-handler.js';

const eventsDir = new URL('../../events/', import.meta.url);

/** A fresh copy of a recorded API Gateway HTTP API event from events/http. */
export function httpEvent(name: string): ApiEvent {
  return JSON.parse(readFileSync(new URL(`http/${name}.json`, eventsDir), 'utf8')) as ApiEvent;
}

/** A fresh copy of a recorded SQS event from events/sqs. */
export function sqsEvent(name: string): SQSEvent {
  return JSON.parse(readFileSync(new URL(`sqs/${name}.json`, eventsDir), 'utf8')) as SQSEvent;
}

export function lambdaContext(functionName = 'test'): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:ap-southeast-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/23/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
