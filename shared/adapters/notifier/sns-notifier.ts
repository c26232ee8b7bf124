import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { parsePaymentId } from '../../domain/batch.js';
import type { Notice, Notifier } from '../../ports/notifier.js';
import { observed } from '../aws-call-observers.js';

/**
 * The deployed notice channel (docs/decisions.md 144): every notice is
 * published to one SNS topic, to which each province subscribes its own SMS
 * gateway (HTTPS or SQS) with a filter policy on `provinceCode`. The province
 * holds its beneficiaries' phone numbers; this system holds none, so the
 * message names the payment by the province's own reference (batchId,
 * paymentRef) and never the person: no personal ID, no person hash, no account
 * number (the text shows the masked account only). SNS delivers at least once:
 * `noticeId` is stable per (payment, event, attempt), for the subscriber to
 * deduplicate.
 */
export class SnsNotifier implements Notifier {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async send(notice: Notice): Promise<void> {
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Message: JSON.stringify(snsMessageOf(notice)),
        MessageAttributes: {
          provinceCode: { DataType: 'String', StringValue: notice.provinceCode },
          event: { DataType: 'String', StringValue: notice.event },
        },
      }),
    );
  }
}

/** The published body: the notice's keys and text, nothing about the person. */
export function snsMessageOf(notice: Notice) {
  return {
    noticeId: `${notice.paymentId}:${notice.event}:${notice.attempt}`,
    event: notice.event,
    provinceCode: notice.provinceCode,
    batchId: parsePaymentId(notice.paymentId)?.batchId ?? null,
    paymentId: notice.paymentId,
    paymentRef: notice.paymentRef,
    attempt: notice.attempt,
    language: 'vi',
    text: notice.text,
    sentAt: notice.sentAt,
  };
}

/** An SNS client. `SNS_ENDPOINT` is set only by tests (moto); deployed, the SDK's regional endpoint is used. */
export function createSnsClient(endpoint = process.env.SNS_ENDPOINT): SNSClient {
  return observed(new SNSClient({ ...(endpoint ? { endpoint, region: process.env.AWS_REGION ?? 'ap-southeast-1' } : {}), maxAttempts: 8 }));
}
