import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { queueDefinitions, type QueueDefinition, type QueueKey } from '../../shared/adapters/sqs/queues.js';
import type { StageConfig } from '../stages.js';
import type { AlarmTopic } from './alarm-topic.js';
import type { Grantee, ServiceFunction } from './service-function.js';

/**
 * A work queue's messages live 4 days; its dead-letter queue keeps them 14 days
 * (the SQS maximum). For standard queues a message keeps its original enqueue
 * time when it is dead-lettered, so the DLQ's retention must exceed the source's
 * or messages would expire on arrival.
 */
export const queueRetention = Duration.days(4);
export const deadLetterRetention = Duration.days(14);
/** Alarm when a dead-lettered message is this old: it expires (and is lost) 4 days later. */
export const deadLetterAgeAlarm = Duration.days(10);

export interface WorkQueue {
  definition: QueueDefinition;
  queue: sqs.Queue;
  deadLetterQueue: sqs.Queue;
}

/**
 * The SQS queues of shared/adapters/sqs/queues.ts, each with its dead-letter
 * queue (maxReceiveCount from the definition), KMS encryption with one
 * customer-managed key, TLS enforced, and three alarms to the alarm topic:
 * a message in the DLQ, the queue's oldest message older than the stage's
 * threshold (backlog stuck), and a dead-lettered message close to expiry.
 *
 * Producers: `grantSend(fn, queueKey)`. Consumers: `addConsumer(queueKey, fn)`.
 */
export class WorkQueues extends Construct {
  readonly key: kms.Key;
  private readonly queues = new Map<QueueKey, WorkQueue>();
  private readonly keyGrants = new Set<Grantee>();

  constructor(scope: Construct, id: string, props: { stage: StageConfig; alarms: AlarmTopic }) {
    super(scope, id);
    const { stage, alarms } = props;
    const removalPolicy = stage.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const stackName = Stack.of(this).stackName;

    this.key = new kms.Key(this, 'Key', {
      description: `SQS work queues of social-payments (${stage.name})`,
      enableKeyRotation: true,
      removalPolicy,
    });

    for (const [queueKey, definition] of Object.entries(queueDefinitions) as [QueueKey, QueueDefinition][]) {
      if (definition.visibilityTimeoutSeconds < 6 * definition.consumerTimeoutSeconds) {
        // AWS's guidance for Lambda event sources: at least six times the function timeout.
        throw new Error(
          `Queue "${queueKey}": visibility timeout ${definition.visibilityTimeoutSeconds}s is below 6 x the consumer timeout (${definition.consumerTimeoutSeconds}s).`,
        );
      }
      const deadLetterQueue = new sqs.Queue(this, `${definition.id}DeadLetterQueue`, {
        retentionPeriod: deadLetterRetention,
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: this.key,
        enforceSSL: true,
        removalPolicy,
      });
      const queue = new sqs.Queue(this, `${definition.id}Queue`, {
        visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
        retentionPeriod: queueRetention,
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: this.key,
        enforceSSL: true,
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: definition.maxReceiveCount },
        removalPolicy,
      });
      this.queues.set(queueKey, { definition, queue, deadLetterQueue });

      const depth = new cloudwatch.Alarm(this, `${definition.id}DeadLetterDepthAlarm`, {
        alarmName: `${stackName}-${definition.id}-dead-letters`,
        alarmDescription: `${definition.id}: messages in the dead-letter queue (failed ${definition.maxReceiveCount} times). Inspect, fix, then redrive.`,
        metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      const backlogAge = new cloudwatch.Alarm(this, `${definition.id}OldestMessageAlarm`, {
        alarmName: `${stackName}-${definition.id}-oldest-message`,
        alarmDescription: `${definition.id}: oldest message older than ${stage.queueAgeAlarmSeconds}s: the consumer is failing, throttled or not keeping up.`,
        metric: queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: 'Maximum' }),
        threshold: stage.queueAgeAlarmSeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      const deadLetterAge = new cloudwatch.Alarm(this, `${definition.id}DeadLetterAgeAlarm`, {
        alarmName: `${stackName}-${definition.id}-dead-letter-expiring`,
        alarmDescription: `${definition.id}: a dead-lettered message is ${deadLetterAgeAlarm.toDays()} days old and expires ${deadLetterRetention.toDays() - deadLetterAgeAlarm.toDays()} days from now. Redrive or record it before it is lost.`,
        metric: deadLetterQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: 'Maximum' }),
        threshold: deadLetterAgeAlarm.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      for (const alarm of [depth, backlogAge, deadLetterAge]) alarms.notify(alarm);
    }
  }

  queue(queueKey: QueueKey): WorkQueue {
    const queue = this.queues.get(queueKey);
    if (!queue) throw new Error(`Unknown queue "${queueKey}".`);
    return queue;
  }

  entries(): [QueueKey, WorkQueue][] {
    return [...this.queues.entries()];
  }

  /**
   * Lets a function send (SendMessage and SendMessageBatch) to one queue, with
   * the key use SQS needs to encrypt on its behalf, and sets the queue-URL
   * variable of the definition.
   */
  grantSend(grantee: Grantee, queueKey: QueueKey): void {
    const { definition, queue } = this.queue(queueKey);
    grantee.addToRolePolicy(
      new iam.PolicyStatement({
        sid: `${definition.id}Send`,
        actions: ['sqs:SendMessage'],
        resources: [queue.queueArn],
      }),
    );
    if (!this.keyGrants.has(grantee)) {
      this.keyGrants.add(grantee);
      grantee.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'QueueKeySend',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [this.key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `sqs.${Aws.REGION}.amazonaws.com` } },
        }),
      );
    }
    grantee.addEnvironment(definition.envVar, queue.queueUrl);
  }

  /**
   * Makes `fn` the queue's consumer: batch size and maximum concurrency from
   * the definition, partial batch failures reported (`batchItemFailures`), and
   * receive/delete/decrypt permissions (granted by the event source, scoped to
   * this queue and key). The function's timeout must not exceed the
   * definition's consumer timeout, which the visibility timeout is sized for.
   */
  addConsumer(queueKey: QueueKey, fn: ServiceFunction): void {
    const { definition, queue } = this.queue(queueKey);
    const timeout = fn.function.timeout?.toSeconds();
    if (timeout === undefined || timeout > definition.consumerTimeoutSeconds) {
      throw new Error(
        `Consumer of "${queueKey}" has timeout ${timeout ?? 'unset'}s; the queue is sized for at most ${definition.consumerTimeoutSeconds}s.`,
      );
    }
    fn.function.addEventSource(
      new SqsEventSource(queue, {
        batchSize: definition.batchSize,
        maxConcurrency: definition.maximumConcurrency,
        reportBatchItemFailures: true,
      }),
    );
  }
}
