import type { BatchRecord } from '../domain/batch.js';
import type { Clock } from '../domain/dates.js';
import { ForbiddenError, NotFoundError, ValidationFailedError } from '../domain/errors.js';
import {
  EVENT_ID_PATTERN,
  g2pCallbackId,
  crossedThresholds,
  nextAttemptDelaySeconds,
  receiverUrlProblem,
  retryWindowOver,
  settledShare,
  webhookEventId,
  type ReceiverPolicy,
  type WebhookEventType,
} from '../domain/webhooks.js';
import type { BatchStatus } from '../domain/lifecycle.js';
import type { BatchStore, CounterDelta, TransitionOptions } from '../ports/batch-store.js';
import type { WebhookDelivery, WebhookSender, WebhookStore } from '../ports/webhook-store.js';
import { callbackSignature } from './callbacks.js';
import type { CursorCodec } from './cursor.js';
import type { Principal } from './principal.js';
import { batchView } from './views.js';

/** A message of the webhook queue: which delivery to attempt (keys only: no event body, no personal data). */
export interface WebhookMessage {
  provinceCode: string;
  eventId: string;
  /** Start of the retry window (the event, or the redelivery request). */
  since: string;
  /** Not to be attempted before (SQS delays at most 15 minutes: longer waits hop). */
  notBefore?: string | undefined;
}

/** A queue whose messages can be delayed (SQS DelaySeconds, at most 900). */
export interface DelayingQueue<M> {
  send(messages: readonly M[], options?: { delaySeconds?: number }): Promise<void>;
}

export const SQS_MAX_DELAY_SECONDS = 900;

export interface WebhookSettings {
  policy: ReceiverPolicy;
  /** First retry after this, doubling, capped at maxSeconds; given up (FAILED) once windowSeconds have passed. */
  baseSeconds: number;
  maxSeconds: number;
  windowSeconds: number;
}

export interface WebhookDependencies {
  store: WebhookStore;
  queue: DelayingQueue<WebhookMessage>;
  clock: Clock;
  settings: WebhookSettings;
  /** Only where events are delivered (the worker). */
  sender?: WebhookSender;
  /** Only where endpoints are configured. */
  cursors?: CursorCodec;
  newSecret?: () => string;
  /** Where an announcement that could not be stored or queued is reported (name only). */
  onEmitError?: (error: unknown) => void;
  /** The worker: the body of a G2P on-disburse callback, built when it is sent (the batch's current statuses). */
  g2pBody?: (delivery: WebhookDelivery) => Promise<unknown>;
}

export function endpointView(endpoint: { url: string; createdAt: string }) {
  return { url: endpoint.url, createdAt: endpoint.createdAt };
}

export function deliveryView(delivery: WebhookDelivery) {
  return {
    eventId: delivery.eventId,
    type: delivery.type,
    batchId: delivery.batchId,
    attempts: delivery.attempts,
    status: delivery.status,
    lastStatusCode: delivery.lastStatusCode,
    lastAttemptAt: delivery.lastAttemptAt,
  };
}

const statusEvents: Partial<Record<BatchStatus, WebhookEventType>> = {
  AWAITING_APPROVAL: 'batch.awaiting_approval',
  APPROVED: 'batch.approved',
  COMPLETED: 'batch.completed',
};

export function createWebhookUseCases(deps: WebhookDependencies) {
  const { store, queue, clock, settings } = deps;

  function provinceOf(principal: Principal): string {
    if (!principal.provinceCode) throw new ForbiddenError('Only a provincial system has a webhook.');
    return principal.provinceCode;
  }

  /** Sends a delivery's message, delayed; a wait longer than SQS allows hops (notBefore). */
  async function schedule(message: WebhookMessage, delaySeconds: number): Promise<void> {
    const hop = Math.min(SQS_MAX_DELAY_SECONDS, Math.max(0, Math.ceil(delaySeconds)));
    const notBefore = delaySeconds > SQS_MAX_DELAY_SECONDS ? new Date(clock.now().getTime() + delaySeconds * 1000).toISOString() : undefined;
    const { notBefore: _previous, ...rest } = message;
    await queue.send([{ ...rest, ...(notBefore ? { notBefore } : {}) }], hop > 0 ? { delaySeconds: hop } : {});
  }

  /**
   * Announces a batch change to its province's endpoint, if it has one: the
   * delivery is stored first (once per eventId), then queued. Announcing the
   * same change again queues it again only while no attempt was made (the
   * first announcer may have died between the two writes).
   */
  async function announce(batch: BatchRecord, type: WebhookEventType, marker?: string): Promise<void> {
    const endpoint = await store.getEndpoint(batch.provinceCode);
    if (!endpoint) return;
    const now = clock.now().toISOString();
    const eventId = webhookEventId(batch.batchId, type, marker);
    const delivery: WebhookDelivery = {
      provinceCode: batch.provinceCode,
      eventId,
      type,
      batchId: batch.batchId,
      event: { eventId, type, occurredAt: now, batch: batchView(batch) },
      attempts: 0,
      status: 'RETRYING',
      lastStatusCode: null,
      lastAttemptAt: null,
      createdAt: now,
    };
    const stored = await store.putDeliveryIfAbsent(delivery);
    if (!stored) {
      const existing = await store.getDelivery(batch.provinceCode, eventId);
      if (!existing || existing.attempts > 0 || existing.status !== 'RETRYING') return;
    }
    await schedule({ provinceCode: batch.provinceCode, eventId, since: now }, 0);
  }

  /**
   * A batch created by an asynchronous G2P Connect disburse: its on-disburse callback to the sender_uri,
   * once verified (statuses PDNG or RJCT), once complete or cancelled (final statuses). Delivered like
   * the webhook events (same queue, backoff, signature with the province's webhook secret).
   */
  async function announceG2p(batch: BatchRecord, type: WebhookEventType): Promise<void> {
    const url = batch.g2p?.senderUri;
    if (!url || !['batch.awaiting_approval', 'batch.completed', 'batch.cancelled'].includes(type)) return;
    if (!(await store.getEndpoint(batch.provinceCode))) return;
    const now = clock.now().toISOString();
    const eventId = g2pCallbackId(batch.batchId, type);
    const stored = await store.putDeliveryIfAbsent({
      provinceCode: batch.provinceCode,
      eventId,
      type,
      batchId: batch.batchId,
      event: { eventId, type, occurredAt: now, batch: { batchId: batch.batchId } },
      attempts: 0,
      status: 'RETRYING',
      lastStatusCode: null,
      lastAttemptAt: null,
      createdAt: now,
      url,
    });
    if (stored) await schedule({ provinceCode: batch.provinceCode, eventId, since: now }, 0);
  }

  async function emitSafely(batch: BatchRecord, type: WebhookEventType, marker?: string): Promise<void> {
    try {
      await announce(batch, type, marker);
      await announceG2p(batch, type);
    } catch (error) {
      // The batch change is done and must stand: its announcement is at most lost, never the change.
      deps.onEmitError?.(error);
    }
  }

  return {
    announce,

    /**
     * A batch store that announces what its writes change: a status reaching
     * one of the event types, and the paid share of the approved amount
     * crossing 25, 50 or 75 %. Every write path of every function goes through
     * the store, so no use case can change a batch without its announcement.
     */
    announcingBatchStore(inner: BatchStore): BatchStore {
      return Object.assign(Object.create(inner) as BatchStore, {
        async transitionBatch(batchId: string, from: readonly BatchStatus[], to: BatchStatus, changes: Partial<BatchRecord>, now: string, options?: TransitionOptions) {
          const batch = await inner.transitionBatch(batchId, from, to, changes, now, options);
          const type = statusEvents[to];
          // A refresh of counters (APPROVED -> APPROVED) and a reopened completed batch announce nothing.
          if (type && !(from.length === 1 && from[0] === to) && !(to === 'APPROVED' && from.includes('COMPLETED') && !from.includes('AWAITING_APPROVAL'))) {
            await emitSafely(batch, type, to === 'COMPLETED' ? String(Date.parse(now)) : undefined);
          }
          return batch;
        },
        // Announced when the cancel is finished (every payment cancelled, counters final), by the request
        // or, after its death, by the reconciler that finishes it.
        async finishCancellation(batchId: string, tally: Parameters<BatchStore['finishCancellation']>[1], at: string) {
          const batch = await inner.finishCancellation(batchId, tally, at);
          await emitSafely(batch, 'batch.cancelled');
          return batch;
        },
        async addToCounters(batchId: string, deltas: CounterDelta[], now: string, rejections?: Parameters<BatchStore['addToCounters']>[3]) {
          const batch = await inner.addToCounters(batchId, deltas, now, rejections);
          if (!batch || (batch.status !== 'APPROVED' && batch.status !== 'COMPLETED')) return batch;
          const before = { ...batch.amounts };
          for (const delta of deltas) before[delta.status] = (before[delta.status] ?? 0) - delta.amount;
          const after = settledShare(batch.amounts);
          const earlier = settledShare(before);
          for (const percent of crossedThresholds(after.approved, earlier.paid, after.paid)) {
            await emitSafely(batch, 'batch.progress', String(percent));
          }
          return batch;
        },
      });
    },

    async configure(principal: Principal, url: string) {
      const provinceCode = provinceOf(principal);
      const problem = receiverUrlProblem(url, settings.policy);
      if (problem) {
        throw new ValidationFailedError(`The webhook url is not accepted: ${problem}.`, { errors: [{ path: 'url', code: 'url_not_allowed', message: problem }] });
      }
      if (!deps.newSecret) throw new Error('configure needs newSecret');
      const endpoint = { provinceCode, url, secret: deps.newSecret(), createdAt: clock.now().toISOString() };
      await store.putEndpoint(endpoint);
      return { url: endpoint.url, secret: endpoint.secret, createdAt: endpoint.createdAt };
    },

    async get(principal: Principal) {
      const endpoint = await store.getEndpoint(provinceOf(principal));
      if (!endpoint) throw new NotFoundError('This province has no webhook.');
      return endpointView(endpoint);
    },

    async remove(principal: Principal): Promise<void> {
      if (!(await store.deleteEndpoint(provinceOf(principal)))) throw new NotFoundError('This province has no webhook.');
    },

    async listDeliveries(principal: Principal, query: { limit: number; cursor?: string | undefined }) {
      const provinceCode = provinceOf(principal);
      if (!deps.cursors) throw new Error('listDeliveries needs cursors');
      const binding = JSON.stringify([principal.sub, provinceCode, 'listWebhookDeliveries']);
      const page = await store.listDeliveries(provinceCode, { limit: query.limit, after: deps.cursors.decode(query.cursor, binding) });
      return { items: page.items.map(deliveryView), nextCursor: deps.cursors.encode(page.next, binding) };
    },

    /** Sends an event again, whatever its status: a new retry window starts now. */
    async redeliver(principal: Principal, eventId: string) {
      const provinceCode = provinceOf(principal);
      const delivery = EVENT_ID_PATTERN.test(eventId) ? await store.getDelivery(provinceCode, eventId) : undefined;
      if (!delivery) throw new NotFoundError('No delivery with this eventId.');
      await store.setStatus(provinceCode, eventId, 'RETRYING');
      await schedule({ provinceCode, eventId, since: clock.now().toISOString() }, 0);
      return deliveryView({ ...delivery, status: 'RETRYING' });
    },

    /** One attempt (the queue's consumer). A failure schedules the next attempt, or ends the delivery FAILED once the window is over. */
    async deliver(message: WebhookMessage): Promise<void> {
      const now = clock.now();
      if (message.notBefore && Date.parse(message.notBefore) > now.getTime()) {
        await schedule(message, (Date.parse(message.notBefore) - now.getTime()) / 1000);
        return;
      }
      const delivery = await store.getDelivery(message.provinceCode, message.eventId);
      if (!delivery || delivery.status !== 'RETRYING') return; // delivered, given up, or gone: a duplicate message
      const endpoint = await store.getEndpoint(message.provinceCode);
      if (!endpoint) {
        await store.setStatus(message.provinceCode, message.eventId, 'FAILED');
        return;
      }
      if (!deps.sender) throw new Error('deliver needs a sender');
      if (delivery.url && !deps.g2pBody) throw new Error('deliver needs g2pBody for G2P callbacks');
      const body = JSON.stringify(delivery.url && deps.g2pBody ? await deps.g2pBody(delivery) : delivery.event);
      const timestamp = String(Math.floor(now.getTime() / 1000));
      const answer = await deps.sender.post(
        delivery.url ?? endpoint.url,
        {
          'content-type': 'application/json',
          'user-agent': 'social-payments-webhooks/1',
          'x-event-id': delivery.eventId,
          'x-timestamp': timestamp,
          'x-signature': callbackSignature(endpoint.secret, timestamp, body),
        },
        body,
      );
      const at = clock.now().toISOString();
      const statusCode = answer.kind === 'answered' ? answer.statusCode : null;
      if (statusCode !== null && statusCode >= 200 && statusCode < 300) {
        await store.recordAttempt(message.provinceCode, message.eventId, { status: 'DELIVERED', statusCode, at });
        return;
      }
      if (retryWindowOver(message.since, clock.now(), settings.windowSeconds)) {
        await store.recordAttempt(message.provinceCode, message.eventId, { status: 'FAILED', statusCode, at });
        return;
      }
      const recorded = await store.recordAttempt(message.provinceCode, message.eventId, { status: 'RETRYING', statusCode, at });
      if (recorded?.status !== 'RETRYING') return;
      await schedule(message, nextAttemptDelaySeconds(recorded.attempts, settings));
    },

    /**
     * Deliveries RETRYING whose message may be lost, queued again (the reconciler's run; docs/decisions.md 129):
     * every one when nothing can be in flight (the local server just started on new queues), else those
     * neither attempted nor created for `lostAfterSeconds` (longer than any wait between attempts). A
     * duplicate message is harmless: the worker sends nothing for a delivery no longer RETRYING, and
     * receivers deduplicate by eventId.
     */
    async redrivePending(options: { nothingInFlight: boolean; lostAfterSeconds: number }): Promise<number> {
      const now = clock.now();
      let queued = 0;
      for (const delivery of await store.listPending()) {
        const last = Date.parse(delivery.lastAttemptAt ?? delivery.createdAt);
        if (!options.nothingInFlight && now.getTime() - last < options.lostAfterSeconds * 1000) continue;
        await schedule({ provinceCode: delivery.provinceCode, eventId: delivery.eventId, since: now.toISOString() }, 0);
        queued++;
      }
      return queued;
    },

    /** A message that kept failing (the dead-letter queue): its delivery is FAILED (a redelivery request can send it again). */
    async exhausted(message: Pick<WebhookMessage, 'provinceCode' | 'eventId'>): Promise<void> {
      const delivery = await store.getDelivery(message.provinceCode, message.eventId);
      if (delivery && delivery.status === 'RETRYING') await store.setStatus(message.provinceCode, message.eventId, 'FAILED');
    },
  };
}

export type WebhookUseCases = ReturnType<typeof createWebhookUseCases>;
