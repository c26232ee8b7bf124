import type { DeliveryStatus, WebhookEventType } from '../domain/webhooks.js';
import type { Page, PagePosition } from './batch-store.js';

/** A province's endpoint. The secret signs every event; it is shown once, on the PUT that sets it. */
export interface WebhookEndpoint {
  provinceCode: string;
  url: string;
  secret: string;
  createdAt: string;
}

/** The body POSTed to the receiver (api.md): no personal data, the batch as GET /v1/batches/{id} answers. */
export interface WebhookEvent {
  eventId: string;
  type: WebhookEventType;
  occurredAt: string;
  batch: Record<string, unknown>;
}

/** One event for one province and how its delivery went (the delivery log). */
export interface WebhookDelivery {
  provinceCode: string;
  eventId: string;
  type: WebhookEventType;
  batchId: string;
  event: WebhookEvent;
  attempts: number;
  status: DeliveryStatus;
  lastStatusCode: number | null;
  lastAttemptAt: string | null;
  createdAt: string;
  /** A G2P Connect on-disburse callback (eventId `g2p-...`): sent to the disburse's sender_uri, its body built when sent. */
  url?: string | undefined;
}

export interface WebhookStore {
  putEndpoint(endpoint: WebhookEndpoint): Promise<void>;
  getEndpoint(provinceCode: string): Promise<WebhookEndpoint | undefined>;
  /** True when there was one. */
  deleteEndpoint(provinceCode: string): Promise<boolean>;
  /** Stores the delivery unless one with its eventId exists; true when this call stored it. */
  putDeliveryIfAbsent(delivery: WebhookDelivery): Promise<boolean>;
  getDelivery(provinceCode: string, eventId: string): Promise<WebhookDelivery | undefined>;
  /** Records one attempt (attempts + 1, its outcome). */
  recordAttempt(provinceCode: string, eventId: string, outcome: { status: DeliveryStatus; statusCode: number | null; at: string }): Promise<WebhookDelivery | undefined>;
  /** Sets the status without an attempt (FAILED when the retry window closed; RETRYING on a redelivery request). */
  setStatus(provinceCode: string, eventId: string, status: DeliveryStatus): Promise<void>;
  /** Every delivery still RETRYING (the pending index), with when it was last attempted or created. */
  listPending(): Promise<WebhookDelivery[]>;
  /** The province's deliveries, newest batch first. */
  listDeliveries(provinceCode: string, query: { limit: number; after?: PagePosition | undefined }): Promise<Page<WebhookDelivery>>;
}

/** What came back from one POST to a receiver. */
export type ReceiverAnswer = { kind: 'answered'; statusCode: number } | { kind: 'unreachable'; reason: string };

/** Posts one signed event to a receiver (an adapter enforcing the network policy). */
export interface WebhookSender {
  post(url: string, headers: Record<string, string>, body: string): Promise<ReceiverAnswer>;
}
