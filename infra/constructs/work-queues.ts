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

/**
 * Event source of a dead-letter consumer (a queue definition's
 * `deadLetterConsumer`). One message per invocation: a message the consumer
 * cannot process then fails the whole invocation, so it counts in the
 * function's Errors metric (alarmed), where a partial batch failure would not;
 * the messages are rare and each is handled on its own. Concurrency 2, the
 * least SQS event sources accept: this is a trickle, not a pipeline.
 */
export const deadLetterConsumerSettings = { batchSize: 1, maximumConcurrency: 2 } as const;

export interface WorkQueue {
  definition: QueueDefinition;
  queue: sqs.Queue;
  deadLetterQueue: sqs.Queue;
}

/**
 * The SQS queues of shared/adapters/sqs/queues.ts, each with its dead-letter
 * queue (maxReceiveCount from the definition), KMS encryption with one
 * customer-managed key, TLS enforced, and the alarms of `addAlarms` (every
 * queue: age of its oldest message; every dead-letter queue: depth and age of
 * its oldest message; a consumed dead-letter queue: arrivals too).
 *
 * Producers: `grantSend(fn, queueKey)`. Consumers: `addConsumer(queueKey, fn)`,
 * `addDeadLetterConsumer(queueKey, fn)`.
 */
export class WorkQueues extends Construct {
  readonly key: kms.Key;
  private readonly queues = new Map<QueueKey, WorkQueue>();
  private readonly keyGrants = new Set<Grantee>();
  private readonly alarms: AlarmTopic;
  private readonly stackName: string;

  constructor(scope: Construct, id: string, props: { stage: StageConfig; alarms: AlarmTopic }) {
    super(scope, id);
    const { stage, alarms } = props;
    this.alarms = alarms;
    const removalPolicy = stage.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const stackName = Stack.of(this).stackName;
    this.stackName = stackName;

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
      const deadLetterConsumer = definition.deadLetterConsumer;
      const deadLetterQueue = new sqs.Queue(this, `${definition.id}DeadLetterQueue`, {
        // A consumed DLQ is sized like its queue: Lambda refuses an event source whose
        // visibility timeout is below the function timeout, and 6x leaves room for retries.
        ...(deadLetterConsumer ? { visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds) } : {}),
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

      this.addAlarms(queueKey, stage);
    }
  }

  /**
   * The alarms of one queue and its dead-letter queue, to the alarm topic.
   * Missing data is "not breaching" for all of them: SQS stops publishing a
   * queue's metrics after about six hours without messages or calls, which
   * means an empty, idle queue.
   * - `<stack>-<Queue>-oldest-message`: the queue's oldest message is older
   *   than the stage's `queueAgeAlarmSeconds` (the consumer is failing,
   *   throttled or not keeping up).
   * - `<stack>-<Queue>-dead-letters`: messages visible in the dead-letter
   *   queue (ApproximateNumberOfMessagesVisible >= 1). Without a dead-letter
   *   consumer: any message, within a minute. With one, which empties the
   *   queue as messages arrive: visible messages in each of three 5-minute
   *   periods, i.e. the consumer is not draining it (event source disabled,
   *   function failing at cold start or throttled).
   * - `<stack>-<Queue>-dead-lettered` (consumed dead-letter queues): messages
   *   arrived and were received by the consumer (NumberOfMessagesReceived >= 1
   *   in 5 minutes); SQS does not count a redriven message as sent.
   * - `<stack>-<Queue>-dead-letter-expiring`: the dead-letter queue's oldest
   *   message is `deadLetterAgeAlarm` old; it is lost at `deadLetterRetention`.
   */
  private addAlarms(queueKey: QueueKey, stage: StageConfig): void {
    const { definition, queue, deadLetterQueue } = this.queue(queueKey);
    const consumer = definition.deadLetterConsumer;
    const atLeast = {
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    const name = (suffix: string) => `${this.stackName}-${definition.id}-${suffix}`;
    this.alarms.addAlarm(this, `${definition.id}OldestMessageAlarm`, {
      ...atLeast,
      alarmName: name('oldest-message'),
      alarmDescription: `${definition.id}: oldest message older than ${stage.queueAgeAlarmSeconds}s: ${definition.consumer} is failing, throttled or not keeping up. Runbook: docs/runbook.md#queue-oldest-message`,
      metric: queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: stage.queueAgeAlarmSeconds,
      evaluationPeriods: 1,
    });
    this.alarms.addAlarm(this, `${definition.id}DeadLetterDepthAlarm`, {
      ...atLeast,
      alarmName: name('dead-letters'),
      alarmDescription: consumer
        ? `${definition.id}: messages waiting in the dead-letter queue for 15 minutes: its consumer ${consumer} is not draining it. Runbook: docs/runbook.md#dead-letters`
        : `${definition.id}: messages in the dead-letter queue (failed ${definition.maxReceiveCount} times). Inspect, fix, then redrive. Runbook: docs/runbook.md#dead-letters`,
      metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: consumer ? Duration.minutes(5) : Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: consumer ? 3 : 1,
      ...(consumer ? { datapointsToAlarm: 3 } : {}),
    });
    if (consumer) {
      this.alarms.addAlarm(this, `${definition.id}DeadLetteredAlarm`, {
        ...atLeast,
        alarmName: name('dead-lettered'),
        alarmDescription: `${definition.id}: messages reached the dead-letter queue (failed ${definition.maxReceiveCount} times) and went to ${consumer}. Find why in ${definition.consumer}'s logs. Runbook: docs/runbook.md#dead-lettered`,
        // Counted when the dead-letter consumer receives them: SQS does not count redriven messages as sent.
        metric: deadLetterQueue.metricNumberOfMessagesReceived({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
      });
    }
    this.alarms.addAlarm(this, `${definition.id}DeadLetterAgeAlarm`, {
      ...atLeast,
      alarmName: name('dead-letter-expiring'),
      alarmDescription: `${definition.id}: a dead-lettered message is ${deadLetterAgeAlarm.toDays()} days old and expires ${deadLetterRetention.toDays() - deadLetterAgeAlarm.toDays()} days from now. Redrive or record it before it is lost. Runbook: docs/runbook.md#dead-letter-expiring`,
      metric: deadLetterQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: deadLetterAgeAlarm.toSeconds(),
      evaluationPeriods: 1,
    });
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
    checkConsumerTimeout(queueKey, definition, fn.function.timeout?.toSeconds());
    fn.function.addEventSource(
      new SqsEventSource(queue, {
        batchSize: definition.batchSize,
        maxConcurrency: definition.maximumConcurrency,
        reportBatchItemFailures: true,
      }),
    );
  }

  /**
   * Makes `fn` the consumer of the queue's dead-letter queue (the definition's
   * `deadLetterConsumer`): batch size and concurrency of
   * `deadLetterConsumerSettings`, partial batch failures reported. Its Errors
   * are alarmed like every function's (ServiceFunction.addAlarms). A message
   * it fails stays in the DLQ and is retried after the visibility timeout
   * until it expires (the dead-letter age alarm warns before).
   */
  addDeadLetterConsumer(queueKey: QueueKey, fn: ServiceFunction): void {
    const { definition, deadLetterQueue } = this.queue(queueKey);
    if (!definition.deadLetterConsumer) {
      throw new Error(`Queue "${queueKey}" names no deadLetterConsumer in shared/adapters/sqs/queues.ts.`);
    }
    checkConsumerTimeout(`${queueKey} (dead-letter queue)`, definition, fn.function.timeout?.toSeconds());
    fn.function.addEventSource(
      new SqsEventSource(deadLetterQueue, {
        batchSize: deadLetterConsumerSettings.batchSize,
        maxConcurrency: deadLetterConsumerSettings.maximumConcurrency,
        reportBatchItemFailures: true,
      }),
    );
  }
}

/**
 * A consumer's timeout must not exceed the definition's consumer timeout,
 * which the visibility timeout is sized for.
 */
export function checkConsumerTimeout(what: string, definition: QueueDefinition, timeoutSeconds: number | undefined): void {
  if (timeoutSeconds === undefined || timeoutSeconds > definition.consumerTimeoutSeconds) {
    throw new Error(
      `Consumer of "${what}" has timeout ${timeoutSeconds ?? 'unset'}s; the queue is sized for at most ${definition.consumerTimeoutSeconds}s.`,
    );
  }
}
