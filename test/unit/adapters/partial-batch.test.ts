import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { partialBatchHandler } from '../../../shared/adapters/sqs/partial-batch.js';

const record = (messageId: string, body: string): SQSRecord =>
  ({
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:ap-southeast-1:000000000000:q',
    awsRegion: 'ap-southeast-1',
  }) as SQSRecord;
const context = { functionName: 'w', awsRequestId: 'r', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('partialBatchHandler', () => {
  it('reports each invocation its own failed records when invocations of one process overlap', async () => {
    // Prepare: A's record a2 fails at once while a1 takes a while; B starts meanwhile and takes longer still.
    const handler = partialBatchHandler(async (item) => {
      if (item.body === 'fail') throw new Error('transient');
      await sleep(Number(item.body));
    });
    const a: SQSEvent = { Records: [record('a1', '60'), record('a2', 'fail')] };
    const b: SQSEvent = { Records: [record('b1', '100'), record('b2', '5')] };

    // Act
    const [answerA, answerB] = await Promise.all([handler(a, context), sleep(20).then(() => handler(b, context))]);

    // Assess: the failure belongs to A (its message comes back); B deletes both of its own.
    expect(answerA.batchItemFailures).toEqual([{ itemIdentifier: 'a2' }]);
    expect(answerB.batchItemFailures).toEqual([]);
  });

  it('is how every queue consumer of functions/ is built (no processor shared at module scope)', () => {
    const root = fileURLToPath(new URL('../../../functions/', import.meta.url));
    const consumers = readdirSync(root).filter((name) => readFileSync(`${root}${name}/handler.ts`, 'utf8').includes('SQSRecord'));
    expect(consumers.sort()).toEqual(['disburse-exhausted', 'disburse-worker', 'register-events-consumer', 'verify-worker', 'webhook-exhausted', 'webhook-worker']);
    for (const name of consumers) {
      const source = readFileSync(`${root}${name}/handler.ts`, 'utf8');
      expect(source, name).toContain('partialBatchHandler(');
      expect(source, name).not.toMatch(/new BatchProcessor/);
    }
  });
});
