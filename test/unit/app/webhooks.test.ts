import { describe, expect, it } from 'vitest';
import { callbackSignature } from '../../../shared/app/callbacks.js';
import { createWebhookUseCases, type WebhookMessage } from '../../../shared/app/webhooks.js';
import { zeroByStatus, type BatchRecord } from '../../../shared/domain/batch.js';
import type { DeliveryStatus } from '../../../shared/domain/webhooks.js';
import type { ReceiverAnswer, WebhookDelivery, WebhookEndpoint, WebhookStore } from '../../../shared/ports/webhook-store.js';

class MemoryWebhookStore implements WebhookStore {
  endpoints = new Map<string, WebhookEndpoint>();
  deliveries = new Map<string, WebhookDelivery>();
  async putEndpoint(endpoint: WebhookEndpoint) {
    this.endpoints.set(endpoint.provinceCode, endpoint);
  }
  async getEndpoint(provinceCode: string) {
    return this.endpoints.get(provinceCode);
  }
  async deleteEndpoint(provinceCode: string) {
    return this.endpoints.delete(provinceCode);
  }
  async putDeliveryIfAbsent(delivery: WebhookDelivery) {
    if (this.deliveries.has(delivery.eventId)) return false;
    this.deliveries.set(delivery.eventId, structuredClone(delivery));
    return true;
  }
  async getDelivery(_provinceCode: string, eventId: string) {
    return this.deliveries.get(eventId);
  }
  async recordAttempt(_provinceCode: string, eventId: string, outcome: { status: DeliveryStatus; statusCode: number | null; at: string }) {
    const delivery = this.deliveries.get(eventId);
    if (!delivery) return undefined;
    if (delivery.status === 'DELIVERED' && outcome.status !== 'DELIVERED') return delivery;
    Object.assign(delivery, { attempts: delivery.attempts + 1, status: outcome.status, lastStatusCode: outcome.statusCode, lastAttemptAt: outcome.at });
    return delivery;
  }
  async setStatus(_provinceCode: string, eventId: string, status: DeliveryStatus) {
    const delivery = this.deliveries.get(eventId);
    if (delivery) delivery.status = status;
  }
  async listPending() {
    return [...this.deliveries.values()].filter((delivery) => delivery.status === 'RETRYING');
  }
  async listDeliveries() {
    return { items: [...this.deliveries.values()], next: undefined };
  }
}

const batch: BatchRecord = {
  batchId: '01KBZ0000000000000000000AB',
  batchRef: 'ref',
  provinceCode: '79',
  programCode: 'SOCIAL_ALLOWANCE',
  period: '2026-11',
  status: 'APPROVED',
  control: { itemCount: 4, totalAmount: 4000 },
  received: { itemCount: 4, totalAmount: 4000 },
  counts: zeroByStatus(),
  amounts: { ...zeroByStatus(), SENT: 4000 },
  rejections: {},
  shardCount: 1,
  chunkCount: 1,
  fingerprint: 'f',
  createdBy: 'maker',
  approvedBy: 'checker',
  createdAt: '2026-12-01T00:00:00.000Z',
  updatedAt: '2026-12-01T00:00:00.000Z',
};

function setup(answers: ReceiverAnswer[]) {
  let now = new Date('2026-12-01T00:00:00.000Z');
  const store = new MemoryWebhookStore();
  const sent: { message: WebhookMessage; delaySeconds: number | undefined }[] = [];
  const posts: { url: string; headers: Record<string, string>; body: string }[] = [];
  const webhooks = createWebhookUseCases({
    store,
    queue: { send: async (messages, options) => void sent.push(...messages.map((message) => ({ message, delaySeconds: options?.delaySeconds }))) },
    clock: { now: () => now },
    settings: { policy: 'loopback', baseSeconds: 30, maxSeconds: 3600, windowSeconds: 86_400 },
    sender: { post: async (url, headers, body) => (posts.push({ url, headers, body }), answers.shift() ?? { kind: 'answered', statusCode: 200 }) },
    newSecret: () => 'whsec_test',
  });
  return { store, sent, posts, webhooks, advance: (seconds: number) => (now = new Date(now.getTime() + seconds * 1000)) };
}

describe('webhook use cases', () => {
  it('stores and queues an event once per eventId, and signs it with the current secret', async () => {
    const { store, sent, posts, webhooks } = setup([]);
    await store.putEndpoint({ provinceCode: '79', url: 'http://127.0.0.1:1/h', secret: 'whsec_test', createdAt: batch.createdAt });
    await webhooks.announce(batch, 'batch.approved');
    await webhooks.deliver(sent[0]!.message);
    await webhooks.announce(batch, 'batch.approved'); // the same change announced again (a retried unit of work)
    expect(sent).toHaveLength(1);
    expect(posts).toHaveLength(1);
    const post = posts[0]!;
    expect(post.headers['x-signature']).toBe(callbackSignature('whsec_test', post.headers['x-timestamp'] ?? '', post.body));
    expect(post.headers['x-event-id']).toBe(`${batch.batchId}-approved`);
    // A duplicate message of a delivered event sends nothing.
    await webhooks.deliver(sent[0]!.message);
    expect(posts).toHaveLength(1);
  });

  it('announces nothing for a province without an endpoint', async () => {
    const { sent, webhooks } = setup([]);
    await webhooks.announce(batch, 'batch.approved');
    expect(sent).toEqual([]);
  });

  it('retries with backoff, hops waits longer than SQS allows, and ends FAILED after the window', async () => {
    const failures: ReceiverAnswer[] = Array.from({ length: 200 }, () => ({ kind: 'answered', statusCode: 500 }));
    const { store, sent, webhooks, advance } = setup(failures);
    await store.putEndpoint({ provinceCode: '79', url: 'http://127.0.0.1:1/h', secret: 's', createdAt: batch.createdAt });
    await webhooks.announce(batch, 'batch.approved');
    await webhooks.deliver(sent.shift()!.message);
    expect(sent[0]?.delaySeconds).toBe(30);
    const delays: number[] = [];
    for (let step = 0; step < 400 && sent.length > 0; step++) {
      const next = sent.shift()!;
      delays.push(next.delaySeconds ?? 0);
      advance(next.delaySeconds ?? 0);
      await webhooks.deliver(next.message);
    }
    const delivery = store.deliveries.get(`${batch.batchId}-approved`)!;
    expect(delivery.status).toBe('FAILED');
    expect(delivery.lastStatusCode).toBe(500);
    // 30 s, 1, 2, 4 ... minutes up to hourly, for 24 hours: about 30 attempts; no delay beyond SQS's 900 s.
    expect(delivery.attempts).toBeGreaterThan(20);
    expect(delivery.attempts).toBeLessThan(40);
    expect(Math.max(...delays)).toBe(900);
  });

  it('announces 25, 50 and 75 % of the approved amount settled through the store, once each', async () => {
    const { store, sent, webhooks } = setup([]);
    await store.putEndpoint({ provinceCode: '79', url: 'http://127.0.0.1:1/h', secret: 's', createdAt: batch.createdAt });
    let current = { ...batch, amounts: { ...batch.amounts } };
    const inner = {
      addToCounters: async (_batchId: string, deltas: { status: keyof BatchRecord['amounts']; count: number; amount: number }[]) => {
        for (const delta of deltas) current.amounts[delta.status] += delta.amount;
        current = { ...current, amounts: { ...current.amounts } };
        return current;
      },
    };
    const announcing = webhooks.announcingBatchStore(inner as never);
    const pay = (amount: number) => announcing.addToCounters(batch.batchId, [{ status: 'SENT', count: -1, amount: -amount }, { status: 'PAID', count: 1, amount }], 'now');
    await pay(1000); // 25 %
    await pay(1000); // 50 %
    await pay(1000); // 75 %
    await pay(1000); // 100 %: no progress event (the completion is its own)
    expect(sent.map((entry) => entry.message.eventId)).toEqual([`${batch.batchId}-progress-25`, `${batch.batchId}-progress-50`, `${batch.batchId}-progress-75`]);
  });

  it('a dead-lettered message ends its delivery FAILED; a redelivery request sends it again', async () => {
    const { store, sent, webhooks } = setup([]);
    await store.putEndpoint({ provinceCode: '79', url: 'http://127.0.0.1:1/h', secret: 's', createdAt: batch.createdAt });
    await webhooks.announce(batch, 'batch.approved');
    await webhooks.exhausted(sent[0]!.message);
    expect(store.deliveries.get(`${batch.batchId}-approved`)?.status).toBe('FAILED');
    const principal = { sub: 'p', scopes: new Set(['batches:write'] as const), provinceCode: '79', personalId: undefined };
    await webhooks.redeliver(principal, `${batch.batchId}-approved`);
    await webhooks.deliver(sent.at(-1)!.message);
    expect(store.deliveries.get(`${batch.batchId}-approved`)).toMatchObject({ status: 'DELIVERED', attempts: 1 });
  });
});
