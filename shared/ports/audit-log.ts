import type { PagePosition, Page } from './batch-store.js';

/** One change a unit of work made. Keys, statuses and codes only: never a personal ID, name or account number. */
export type AuditChange =
  | { subject: 'batch'; batchId: string; from: string | null; to: string; at: string; details?: Record<string, string | number | boolean | null> }
  | { subject: 'payment'; paymentId: string; from: string | null; to: string; reasonCode: string | null; at: string }
  | {
      subject: 'account';
      linkId: string;
      event: 'LINKED' | 'UNLINKED';
      provider: string;
      accountNumberMasked: string;
      at: string;
      /** The consent a province named to link or unlink (absent or null when the person acted). */
      consentRef?: string | null;
    };

/** Where a record lives: a batch (its own partition, or one of its payment shards), or a person (hashed). */
export type AuditScope = { kind: 'batch'; batchId: string; shard: number | null } | { kind: 'person'; personHash: string };

/**
 * What one unit of work (an HTTP request, a queue message) changed in one
 * scope: who (the token's `sub`, or `system:<function>` / `provider:<code>`),
 * which request, when it ended, and every change, in order.
 */
export interface AuditRecord {
  scope: AuditScope;
  actor: string;
  requestId: string;
  /** The operation: an API operationId, or the consumer's name. */
  action: string;
  at: string;
  changes: AuditChange[];
}

/**
 * The append-only audit trail. `append` only ever creates records (an
 * existing key is never overwritten); nothing updates or deletes them.
 */
export interface AuditLog {
  append(records: readonly AuditRecord[]): Promise<void>;
  /** A batch's records: batch-level ones first, then each payment shard's, each in time order. */
  listForBatch(batch: { batchId: string; shardCount: number }, query: { limit: number; after?: PagePosition | undefined }): Promise<Page<AuditRecord>>;
}
