import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { StageConfig } from '../stages.js';

/**
 * An alarm's settings, with `treatMissingData` required: every alarm of the
 * stack states what a missing datapoint means instead of inheriting
 * CloudWatch's default (MISSING, which leaves an alarm INSUFFICIENT_DATA on a
 * quiet night and hides the difference between "nothing happened" and "no
 * data").
 */
export type AlarmSpec = cloudwatch.AlarmProps & { treatMissingData: cloudwatch.TreatMissingData };

/**
 * The SNS topic every alarm notifies (on ALARM and on OK), encrypted with its
 * own key and refusing non-TLS publishers. CloudWatch alarms of this account
 * may use the key; nothing else is granted. An e-mail subscription is added when
 * the stage (or `-c alarmEmail=...`) names one.
 */
export class AlarmTopic extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: { stage: StageConfig }) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: `Alarm notifications of social-payments (${props.stage.name})`,
      enableKeyRotation: true,
      removalPolicy: props.stage.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // CloudWatch publishes to an encrypted topic with the topic's key.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
        },
      }),
    );

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: `social-payments ${props.stage.name} alarms`,
      masterKey: this.key,
      enforceSSL: true,
    });
    if (props.stage.alarmEmail) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.stage.alarmEmail));
    }
    this.action = new SnsAction(this.topic);
  }

  /**
   * Creates an alarm under `scope` that notifies this topic (on ALARM and on
   * OK). Every alarm of the stack is made here, so none can miss the topic.
   */
  addAlarm(scope: Construct, id: string, spec: AlarmSpec): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(scope, id, spec);
    this.notify(alarm);
    return alarm;
  }

  /** Notify the topic when the alarm fires and when it recovers. */
  notify(alarm: cloudwatch.Alarm): void {
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
  }
}
