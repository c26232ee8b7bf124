/**
 * Issue 15's infrastructure, asserted on the synthesized sandbox template: the
 * webhook queue with its dead-letter queue and alarms, its worker and
 * dead-letter consumer, the functions that announce batch changes allowed to
 * send to it (and given its URL), and the G2P Connect function.
 */
import type { CfnElement } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { queueDefinitions } from '../../shared/adapters/sqs/queues.js';
import { functionPolicyStatements, list, must, referencedId, resourcesOfType, synthStage, type SynthesizedStage } from './support.js';

interface QueueProps {
  RedrivePolicy?: { deadLetterTargetArn?: unknown; maxReceiveCount?: number };
  VisibilityTimeout?: number;
}
interface AlarmProps {
  MetricName?: string;
  Threshold?: number;
  Dimensions?: { Name: string; Value: unknown }[];
}
interface MappingProps {
  EventSourceArn?: unknown;
  FunctionName?: unknown;
  FunctionResponseTypes?: string[];
}

let synth: SynthesizedStage;

beforeAll(() => {
  synth = synthStage('sandbox');
});

const logicalIdOf = (name: string) => synth.stack.getLogicalId(synth.stack.fn(name).function.node.defaultChild as CfnElement);

describe('webhook delivery infrastructure', () => {
  it('has the webhook queue with a dead-letter queue after 5 receives, alarmed on any dead letter', () => {
    const queues = resourcesOfType<QueueProps>(synth.template, 'AWS::SQS::Queue');
    const [queueId, queue] = must(queues.find(([id]) => id.startsWith('QueuesWebhookQueue')), 'webhook queue');
    expect(queue.Properties.RedrivePolicy?.maxReceiveCount).toBe(queueDefinitions.webhook.maxReceiveCount);
    expect(queue.Properties.VisibilityTimeout).toBe(queueDefinitions.webhook.visibilityTimeoutSeconds);
    const dlqId = must(referencedId(queue.Properties.RedrivePolicy?.deadLetterTargetArn), 'webhook DLQ');
    expect(dlqId.startsWith('QueuesWebhookDeadLetterQueue')).toBe(true);
    const alarms = resourcesOfType<AlarmProps>(synth.template, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    const on = (id: string) => alarms.filter((alarm) => referencedId(alarm.Dimensions?.find((d) => d.Name === 'QueueName')?.Value) === id);
    expect(on(dlqId).map((alarm) => alarm.MetricName).sort()).toEqual(['ApproximateAgeOfOldestMessage', 'ApproximateNumberOfMessagesVisible', 'NumberOfMessagesReceived']);
    expect(on(queueId).map((alarm) => alarm.MetricName)).toContain('ApproximateAgeOfOldestMessage');
  });

  it('consumes the queue with webhook-worker and its dead-letter queue with webhook-exhausted, reporting item failures', () => {
    const mappings = resourcesOfType<MappingProps>(synth.template, 'AWS::Lambda::EventSourceMapping').map(([, mapping]) => mapping.Properties);
    const consumerOf = (prefix: string) => mappings.find((mapping) => referencedId(mapping.EventSourceArn)?.startsWith(prefix));
    expect(referencedId(consumerOf('QueuesWebhookQueue')?.FunctionName)).toBe(logicalIdOf('webhook-worker'));
    expect(referencedId(consumerOf('QueuesWebhookDeadLetterQueue')?.FunctionName)).toBe(logicalIdOf('webhook-exhausted'));
    expect(consumerOf('QueuesWebhookQueue')?.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
  });

  it('lets every function that changes batches (and so announces) send to the webhook queue, with its URL', () => {
    const functions = synth.template.findResources('AWS::Lambda::Function');
    for (const name of ['batches-write', 'batches-approve', 'provider-callbacks', 'verify-worker', 'disburse-worker', 'disburse-exhausted', 'reconciler', 'webhooks', 'webhook-worker']) {
      const id = logicalIdOf(name);
      const variables = must(functions[id], id).Properties.Environment.Variables as Record<string, unknown>;
      expect(variables.WEBHOOK_QUEUE_URL, `${name} WEBHOOK_QUEUE_URL`).toBeDefined();
      const sends = functionPolicyStatements(synth.template, id).filter((statement) => list(statement.Action).some((action) => action === 'sqs:SendMessage'));
      expect(
        sends.some((statement) => list(statement.Resource).some((resource) => referencedId(resource)?.startsWith('QueuesWebhookQueue'))),
        `${name} may send to the webhook queue`,
      ).toBe(true);
    }
    // Reads and the G2P function (which only creates batches) get no webhook queue.
    for (const name of ['batches-read', 'g2p']) {
      const variables = must(functions[logicalIdOf(name)], name).Properties.Environment.Variables as Record<string, unknown>;
      expect(variables.WEBHOOK_QUEUE_URL, name).toBeUndefined();
    }
  });
});
