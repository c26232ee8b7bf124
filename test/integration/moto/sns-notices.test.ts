import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DisbursementMessage } from '../../../shared/app/disbursement.js';
import { createSqsClient } from '../../../shared/adapters/sqs/client.js';
import { logger } from '../../../shared/observability/logger.js';
import { metrics } from '../../../shared/observability/metrics.js';
import { createNoticesFor } from '../../../shared/wiring/notices.js';
import { approver, drain, paymentsOf, PROVINCE, RecordingQueue, seedVerifiedBatch, startWorld, useCases, type World } from '../../support/disbursement-harness.js';
import { MOTO_CREDENTIALS, MOTO_REGION, motoAvailable, startMoto, type Moto } from '../../support/moto.js';

/**
 * The deployed notice channel (docs/decisions.md 144) on moto_server: the
 * functions' wiring with NOTIFIER=sns publishes every notice to the notices
 * topic, a province's subscription (here an SQS queue, raw delivery, filtered
 * on provinceCode as a province's SMS gateway subscribes) gets its own
 * province's notices and no other's, and no message holds a personal ID, a
 * person hash or an account number.
 */

describe.runIf(motoAvailable)('beneficiary notices published to SNS (moto_server)', () => {
  let moto: Moto;
  let world: World;
  let sns: SNSClient;
  let sqs: SQSClient;

  beforeAll(async () => {
    moto = (await startMoto({ prefix: 'moto-sns' }))!;
    world = await startWorld();
    sns = new SNSClient({ endpoint: moto.endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS });
    sqs = createSqsClient(moto.endpoint, { region: MOTO_REGION, credentials: MOTO_CREDENTIALS });
  });

  afterAll(async () => {
    sns?.destroy();
    sqs?.destroy();
    await world?.stop();
    await moto?.stop();
  });

  async function subscribedQueue(topicArn: string, name: string, provinceCode: string): Promise<string> {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: Attributes!.QueueArn,
        Attributes: { RawMessageDelivery: 'true', FilterPolicy: JSON.stringify({ provinceCode: [provinceCode] }) },
      }),
    );
    return QueueUrl!;
  }

  async function receiveAll(queueUrl: string, expected: number): Promise<Message[]> {
    const messages: Message[] = [];
    for (let round = 0; round < 20 && messages.length < expected; round += 1) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      messages.push(...Messages);
    }
    return messages;
  }

  it("publishes each notice once to the topic, to the payment's province only, naming the payment by the province's reference and never the person", async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'beneficiary-notices' }));
    const own = await subscribedQueue(TopicArn!, 'province-own-gateway', PROVINCE);
    const other = await subscribedQueue(TopicArn!, 'province-other-gateway', '01');

    const queue = new RecordingQueue<DisbursementMessage>();
    const seeded = await seedVerifiedBatch(world, ['paid', 'closed', 'no-account']);
    const app = useCases(world, queue);
    await app.approve(approver('hcm-checker'), seeded.batch.batchId);
    await drain(app, queue);
    const payments = [...(await paymentsOf(world, seeded)).values()];
    expect(payments.map((payment) => payment.status).sort()).toEqual(['FAILED', 'ON_HOLD', 'PAID']);

    // The functions' wiring, switched to the deployed channel.
    const saved = { ...process.env };
    Object.assign(process.env, { NOTIFIER: 'sns', NOTICES_TOPIC_ARN: TopicArn, SNS_ENDPOINT: moto.endpoint, AWS_REGION: MOTO_REGION, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' });
    try {
      const notices = createNoticesFor(world.batches);
      for (const payment of payments) await notices.afterMove(payment);
    } finally {
      process.env = saved;
    }

    const received = await receiveAll(own, 3);
    const bodies = received.map((message) => JSON.parse(message.Body!) as Record<string, unknown>);
    expect(bodies.map((body) => body.event).sort()).toEqual(['FAILED_ACTION_NEEDED', 'ON_HOLD_LINK_ACCOUNT', 'PAID']);
    for (const body of bodies) {
      const payment = payments.find((candidate) => candidate.paymentId === body.paymentId)!;
      expect(body).toMatchObject({ provinceCode: PROVINCE, batchId: seeded.batch.batchId, paymentRef: payment.paymentRef, attempt: 1, language: 'vi', noticeId: `${payment.paymentId}:${String(body.event)}:1` });
      expect(body.text).toEqual(expect.stringContaining('đồng'));
    }
    // Nothing about the person: no personal ID, no person hash, no name, no full account number, no run of nine digits.
    for (const message of received) {
      for (const payment of payments) {
        expect(message.Body).not.toContain(payment.personalId);
        expect(message.Body).not.toContain(payment.personHash);
        expect(message.Body).not.toContain(payment.fullName);
        if (payment.payout) expect(message.Body).not.toContain(payment.payout.accountNumber);
      }
      expect(message.Body).not.toMatch(/\d{9}/);
    }
    expect(await receiveAll(other, 0)).toEqual([]);
    expect((await receiveAll(own, 1)).length, 'each notice once').toBe(0);
  });

  it('loses a notice the channel refuses without failing the unit that moved the payment, and says so in the log (no personal data)', async () => {
    const queue = new RecordingQueue<DisbursementMessage>();
    const seeded = await seedVerifiedBatch(world, ['paid']);
    const app = useCases(world, queue);
    await app.approve(approver('hcm-checker'), seeded.batch.batchId);
    await drain(app, queue);
    const [paid] = [...(await paymentsOf(world, seeded)).values()];
    const lost = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    const counted = vi.spyOn(metrics, 'addMetric');
    const published = vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
    const saved = { ...process.env };
    Object.assign(process.env, {
      NOTIFIER: 'sns',
      NOTICES_TOPIC_ARN: `arn:aws:sns:${MOTO_REGION}:123456789012:no-such-topic`,
      SNS_ENDPOINT: moto.endpoint,
      AWS_REGION: MOTO_REGION,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    });
    try {
      await expect(createNoticesFor(world.batches).afterMove(paid!)).resolves.toBeUndefined();
      expect(lost).toHaveBeenCalledWith('beneficiary notice lost', { paymentId: paid!.paymentId, event: 'PAID', errorName: expect.any(String) });
      expect(JSON.stringify(lost.mock.calls)).not.toContain(paid!.personalId);
      // Counted and published at once (the alarm NoticesLost): the unit's handler may publish nothing else.
      // One constant name, nothing of the payment or the person (no dimension, no metadata added).
      expect(counted.mock.calls).toEqual([['NoticesLost', 'Count', 1]]);
      expect(published).toHaveBeenCalledTimes(1);
    } finally {
      process.env = saved;
      lost.mockRestore();
      counted.mockRestore();
      published.mockRestore();
    }
  });
});
