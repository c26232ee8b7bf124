/**
 * Signed notifications to provincial systems (api.md "Version 1.1 additions",
 * webhooks): what an event is, how it is named, when it is retried, and which
 * receivers may be called. Pure: no I/O here (the delivery adapter resolves
 * names and calls `isPublicAddress` on what DNS answered).
 */
import { isIP } from 'node:net';
import type { BatchRecord } from './batch.js';

export const webhookEventTypes = ['batch.awaiting_approval', 'batch.approved', 'batch.progress', 'batch.completed', 'batch.cancelled'] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

export const deliveryStatuses = ['DELIVERED', 'RETRYING', 'FAILED'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

/** Shares of the approved amount at which `batch.progress` is sent. */
export const PROGRESS_THRESHOLDS = [25, 50, 75] as const;

/**
 * An event id is derived from what happened (the batch, the kind of event, and
 * for a completion the time of the write that completed it), never drawn at
 * random: the same change announced twice (a retried unit of work) is the same
 * event, stored once and deduplicable by the receiver.
 */
export function webhookEventId(batchId: string, type: WebhookEventType, marker?: string): string {
  const kind = type.slice('batch.'.length).replace('_', '-');
  return `${batchId}-${kind}${marker ? `-${marker}` : ''}`;
}

export const EVENT_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}-[a-z]+(?:-[a-z]+)?(?:-[0-9]{1,16})?$/;

/** A G2P Connect on-disburse callback of a batch (kept apart from the webhook log: `g2p-` ids). */
export function g2pCallbackId(batchId: string, type: WebhookEventType): string {
  return `g2p-${webhookEventId(batchId, type)}`;
}

/**
 * The approved amount of an approved batch (every payment neither REJECTED nor
 * CANCELLED: VERIFIED ones are approved and not fanned out yet) and the part
 * of it paid (PAID, and RETURNED: paid, then sent back).
 */
export function settledShare(amounts: BatchRecord['amounts']): { approved: number; paid: number } {
  const of = (status: keyof BatchRecord['amounts']) => amounts[status] ?? 0;
  const approved = of('VERIFIED') + of('QUEUED') + of('ON_HOLD') + of('SENT') + of('PAID') + of('FAILED') + of('RETURNED');
  return { approved, paid: of('PAID') + of('RETURNED') };
}

/** The progress thresholds a counter update crossed (from `before` to `after` paid amounts of the same approved amount). */
export function crossedThresholds(approved: number, paidBefore: number, paidAfter: number): number[] {
  if (approved <= 0) return [];
  return PROGRESS_THRESHOLDS.filter((percent) => paidBefore * 100 < percent * approved && paidAfter * 100 >= percent * approved);
}

/**
 * When the next attempt is due after `attempts` failed ones: exponential
 * (base, 2x base, 4x base...) capped at `maxSeconds`; none once `windowSeconds`
 * have passed since the event (then FAILED). Deployed: base 30 s, cap 1 h,
 * window 24 h (15 attempts or so); locally the stack's values are scaled down.
 */
export function nextAttemptDelaySeconds(attempts: number, settings: { baseSeconds: number; maxSeconds: number }): number {
  return Math.min(settings.maxSeconds, settings.baseSeconds * 2 ** Math.max(0, attempts - 1));
}

export function retryWindowOver(occurredAt: string, now: Date, windowSeconds: number): boolean {
  return now.getTime() - Date.parse(occurredAt) >= windowSeconds * 1000;
}

/** Which receivers may be called: deployed, public https hosts only; locally, loopback only. */
export type ReceiverPolicy = 'public-https' | 'loopback';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Why a receiver URL is refused (a sentence naming the rule), or undefined when it is acceptable as written. */
export function receiverUrlProblem(raw: string, policy: ReceiverPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'url must be an absolute URL';
  }
  if (url.username || url.password) return 'url must not carry credentials';
  if (url.hash) return 'url must not have a fragment';
  if (policy === 'loopback') {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'url must be http or https';
    if (!LOOPBACK_HOSTS.has(url.hostname)) return 'the local server calls loopback receivers only: http://127.0.0.1:<port>/... or http://localhost:<port>/...';
    return undefined;
  }
  if (url.protocol !== 'https:') return 'url must be https';
  if (url.port && url.port !== '443') return 'url must use the default https port 443';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && !isPublicAddress(host)) return 'url must not name a private, loopback or link-local address';
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal') || host.endsWith('.local')) return 'url must name a public host';
  if (isIP(host) === 0 && !host.includes('.')) return 'url must name a public host';
  return undefined;
}

function ipv4Parts(address: string): number[] | undefined {
  const parts = address.split('.').map(Number);
  return parts.length === 4 && parts.every((part) => Number.isInteger(part) && part >= 0 && part <= 255) ? parts : undefined;
}

/**
 * Whether an address DNS answered (or a URL named) is on the public internet:
 * not private (RFC 1918, unique local), loopback, link-local (the instance
 * metadata service at 169.254.169.254 included), unspecified, CGNAT, multicast,
 * reserved or documentation ranges, nor an IPv4 one of those mapped into IPv6.
 */
export function isPublicAddress(address: string): boolean {
  const kind = isIP(address);
  if (kind === 4) {
    const [a = 0, b = 0, c = 0] = ipv4Parts(address) ?? [];
    if (a === 0 || a === 10 || a === 127) return false;
    if (a === 100 && b >= 64 && b <= 127) return false; // CGNAT
    if (a === 169 && b === 254) return false; // link-local, instance metadata
    if (a === 172 && b >= 16 && b <= 31) return false;
    if (a === 192 && b === 168) return false;
    if (a === 192 && b === 0 && (c === 0 || c === 2)) return false;
    if (a === 198 && (b === 18 || b === 19)) return false;
    if (a === 198 && b === 51 && c === 100) return false;
    if (a === 203 && b === 0 && c === 113) return false;
    if (a >= 224) return false; // multicast, reserved, broadcast
    return true;
  }
  if (kind === 6) {
    const lower = address.toLowerCase();
    const mapped = /^(?:0*:)*:?(?:0*:)*ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower) ?? /^::(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped?.[1]) return isPublicAddress(mapped[1]);
    const hexMapped = /^(?:0*:)*:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
    if (hexMapped) {
      const high = parseInt(hexMapped[1] ?? '0', 16);
      const low = parseInt(hexMapped[2] ?? '0', 16);
      return isPublicAddress(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`);
    }
    if (lower === '::' || lower === '::1') return false;
    const first = parseInt(lower.split(':')[0] || '0', 16);
    if ((first & 0xfe00) === 0xfc00) return false; // unique local fc00::/7
    if ((first & 0xffc0) === 0xfe80) return false; // link-local fe80::/10
    if ((first & 0xff00) === 0xff00) return false; // multicast
    if (lower.startsWith('2001:db8:') || lower.startsWith('64:ff9b:')) return false; // documentation, NAT64
    return true;
  }
  return false;
}

/** Whether a loopback-policy receiver resolved to loopback. */
export function isLoopbackAddress(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith('127.');
  return address === '::1' || /^::ffff:127\./i.test(address);
}
