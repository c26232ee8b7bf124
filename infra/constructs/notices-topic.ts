import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { StageConfig } from '../stages.js';
import type { Grantee } from './service-function.js';

/** The variables a notifying function reads (shared/wiring/notices.ts). */
export const noticesVariables = { channel: 'NOTIFIER', topicArn: 'NOTICES_TOPIC_ARN' } as const;

/**
 * The beneficiary notices topic (docs/decisions.md 144): the notifying
 * functions publish each notice (the payment's keys and the Vietnamese text,
 * nothing about the person) with a `provinceCode` message attribute; each
 * province subscribes its own SMS gateway with a filter policy on it
 * (docs/runbook.md, "Beneficiary notices"). Encrypted with its own key, TLS
 * only. The functions get sns:Publish on it and the key's data-key use,
 * nothing else.
 */
export class NoticesTopic extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: { stage: StageConfig }) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: `Beneficiary notices of social-payments (${props.stage.name})`,
      enableKeyRotation: true,
      removalPolicy: props.stage.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: `social-payments ${props.stage.name} beneficiary notices`,
      masterKey: this.key,
      enforceSSL: true,
    });
  }

  /** sns:Publish on the topic, its key's data-key use through SNS only, NOTIFIER=sns and NOTICES_TOPIC_ARN. */
  grantPublish(grantee: Grantee): void {
    grantee.addToRolePolicy(new iam.PolicyStatement({ sid: 'NoticesPublish', actions: ['sns:Publish'], resources: [this.topic.topicArn] }));
    grantee.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'NoticesKeyPublish',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sns.${Aws.REGION}.amazonaws.com` } },
      }),
    );
    grantee.addEnvironment(noticesVariables.channel, 'sns');
    grantee.addEnvironment(noticesVariables.topicArn, this.topic.topicArn);
  }
}
