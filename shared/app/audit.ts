import { AsyncLocalStorage } from 'node:async_hooks';
import type { BatchRecord } from '../domain/batch.js';
import type { Clock } from '../domain/dates.js';
import type { Principal } from './principal.js';
import type { AccountLinkRecord, AccountStore } from '../ports/account-store.js';
import type { AuditChange, AuditLog, AuditRecord, AuditScope } from '../ports/audit-log.js';
import type { BatchStore } from '../ports/batch-store.js';
import type { CursorCodec } from './cursor.js';

/**
 * The audit trail, recorded per unit of work (an HTTP request, a queue
 * message): the stores' state changes are collected as they succeed, and when
 * the unit ends (even by throwing) they are appended as one record per scope
 * (the batch, each payment shard it touched, each person), naming who, which
 * request and when. One write per scope and unit rather than one per change:
 * a verification page of 100 payments adds one audit write, not 100.
 *
 * Changes are captured by decorating the stores (`auditedBatchStore`,
 * `auditedAccountStore`), so no use case can change state without it being
 * recorded, and none has to remember to. The current unit travels in an
 * AsyncLocalStorage, as a request context does in Powertools' logger: payments
 * processed in parallel within one invocation each record into their own unit.
 *
 * Known limit: a process killed between a state write and the end of its unit
 * (timeout, out of memory) loses that unit's record; the state change itself
 * is safe. docs/decisions.md says how that gap would be closed.
 */

interface Unit {
  actor: string;
  requestId: string;
  action: string;
  changes: { scope: AuditScope; change: AuditChange }[];
}

const currentUnit = new AsyncLocalStorage<Unit>();

/** Changes above this go into several records (an item holds at most 400 KB; a change is about 150 bytes). */
export const MAX_CHANGES_PER_RECORD = 1_000;

function scopeKey(scope: AuditScope): string {
  return scope.kind === 'batch' ? `batch ${scope.batchId} ${scope.shard ?? '-'}` : `person ${scope.personHash}`;
}

/** Records a change into the unit of work running now; outside one (a test of a store), nothing is recorded. */
function record(scope: AuditScope, change: AuditChange): void {
  currentUnit.getStore()?.changes.push({ scope, change });
}

/** Who acts in a unit: the token's subject for API calls, the function for queue consumers. */
export const systemActor = (functionName: string) => `system:${functionName}`;

export class AuditTrail {
  constructor(
    private readonly log: AuditLog,
    private readonly clock: Clock,
  ) {}

  /**
   * Runs `work` as one unit and appends what it changed. When `work` throws, what
   * it changed before is still recorded and its error is the one rethrown.
   */
  async unit<T>(who: { actor: string; requestId: string; action: string }, work: () => Promise<T>): Promise<T> {
    const unit: Unit = { ...who, changes: [] };
    let result: T;
    try {
      result = await currentUnit.run(unit, work);
    } catch (error) {
      await this.flush(unit).catch((flushError: unknown) => {
        throw new AggregateError([error, flushError], 'The work failed, and so did recording what it had changed');
      });
      throw error;
    }
    await this.flush(unit);
    return result;
  }

  private async flush(unit: Unit): Promise<void> {
    if (unit.changes.length === 0) return;
    const at = this.clock.now().toISOString();
    const byScope = new Map<string, { scope: AuditScope; changes: AuditChange[] }>();
    for (const { scope, change } of unit.changes) {
      const key = scopeKey(scope);
      const entry = byScope.get(key) ?? { scope, changes: [] };
      entry.changes.push(change);
      byScope.set(key, entry);
    }
    const records: AuditRecord[] = [];
    for (const { scope, changes } of byScope.values()) {
      for (let from = 0; from < changes.length; from += MAX_CHANGES_PER_RECORD) {
        records.push({ scope, actor: unit.actor, requestId: unit.requestId, action: unit.action, at, changes: changes.slice(from, from + MAX_CHANGES_PER_RECORD) });
      }
    }
    await this.log.append(records);
  }
}

const batchScope = (batchId: string): AuditScope => ({ kind: 'batch', batchId, shard: null });

/**
 * The batch store, recording every state change it makes into the current unit.
 * The methods overridden here are all those that change a batch's or a
 * payment's state; the others (reads, the upload lease, counters derived from
 * the payments, storing a chunk, which completeUpload records) pass through.
 */
export function auditedBatchStore(inner: BatchStore): BatchStore {
  const batchChange = (batch: BatchRecord, from: string | null, at: string, details?: Record<string, string | number | boolean | null>) =>
    record(batchScope(batch.batchId), { subject: 'batch', batchId: batch.batchId, from, to: batch.status, at, ...(details ? { details } : {}) });
  const audited: Partial<BatchStore> = {
    async startScheduledBatch(batchId, now) {
      const batch = await inner.startScheduledBatch(batchId, now);
      if (batch) batchChange(batch, 'APPROVED', now, { startedAt: now });
      return batch;
    },
    async putBatchIfAbsent(batch) {
      const created = await inner.putBatchIfAbsent(batch);
      if (created) batchChange(batch, null, batch.createdAt, { batchRef: batch.batchRef, itemCount: batch.control.itemCount, totalAmount: batch.control.totalAmount });
      return created;
    },
    async completeUpload(batchId, owner, added, now) {
      const batch = await inner.completeUpload(batchId, owner, added, now);
      batchChange(batch, batch.status, now, { paymentsReceived: added.itemCount, amountReceived: added.totalAmount });
      return batch;
    },
    async repairReceived(batchId, received, now) {
      const batch = await inner.repairReceived(batchId, received, now);
      batchChange(batch, batch.status, now.toISOString(), { receivedRecounted: received.itemCount, amountRecounted: received.totalAmount });
      return batch;
    },
    async sealBatch(batchId, received, now) {
      const batch = await inner.sealBatch(batchId, received, now);
      batchChange(batch, 'OPEN', now.toISOString());
      return batch;
    },
    async transitionBatch(batchId, from, to, changes, now, options) {
      const batch = await inner.transitionBatch(batchId, from, to, changes, now, options);
      // A tally refreshing an APPROVED batch's counters changes no state: not an audit event.
      if (!(from.length === 1 && from[0] === to)) {
        batchChange(batch, from.length === 1 ? (from[0] ?? null) : null, now, changes.approvedBy ? { approvedBy: changes.approvedBy } : undefined);
      }
      return batch;
    },
    // A retry's request and approval are batch events: `to` names the retry's status (RETRY_<status>).
    async putRetry(retry) {
      const created = await inner.putRetry(retry);
      if (created) {
        record(batchScope(retry.batchId), {
          subject: 'batch',
          batchId: retry.batchId,
          from: null,
          to: `RETRY_${retry.status}`,
          at: retry.createdAt,
          details: { retryId: retry.retryId, itemCount: retry.itemCount, totalAmount: retry.totalAmount },
        });
      }
      return created;
    },
    async updateRetry(batchId, retryId, from, changes, now) {
      const retry = await inner.updateRetry(batchId, retryId, from, changes, now);
      if (retry && changes.status) {
        record(batchScope(batchId), {
          subject: 'batch',
          batchId,
          from: from.length === 1 ? `RETRY_${from[0]}` : null,
          to: `RETRY_${retry.status}`,
          at: now,
          details: { retryId, ...(retry.approvedBy ? { approvedBy: retry.approvedBy } : {}) },
        });
      }
      return retry;
    },
    async transitionPayment(key, from, to, change) {
      const payment = await inner.transitionPayment(key, from, to, change);
      if (payment) {
        record(
          { kind: 'batch', batchId: payment.batchId, shard: payment.shard },
          { subject: 'payment', paymentId: payment.paymentId, from: payment.history.at(-2)?.status ?? null, to, reasonCode: change.reasonCode, at: change.at },
        );
      }
      return payment;
    },
  };
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (Object.prototype.hasOwnProperty.call(audited, property)) return audited[property as keyof BatchStore];
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The account store, recording links and unlinks (masked account, never the number; the consent a province named) into the current unit. */
export function auditedAccountStore(inner: AccountStore): AccountStore {
  const accountChange = (personHash: string, link: AccountLinkRecord, event: 'LINKED' | 'UNLINKED', at: string, consentRef: string | null) =>
    record(
      { kind: 'person', personHash },
      { subject: 'account', linkId: link.linkId, event, provider: link.provider.code, accountNumberMasked: link.accountNumberMasked, at, consentRef },
    );
  return {
    getCurrent: (personHash) => inner.getCurrent(personHash),
    getCurrentMany: (personHashes) => inner.getCurrentMany(personHashes),
    history: (personHash) => inner.history(personHash),
    async link(personHash, link) {
      await inner.link(personHash, link);
      accountChange(personHash, link, 'LINKED', link.linkedAt, link.consentRef);
    },
    async unlink(personHash, unlinking) {
      const removed = await inner.unlink(personHash, unlinking);
      if (removed) accountChange(personHash, removed, 'UNLINKED', unlinking.at, unlinking.consentRef);
      return removed;
    },
  };
}

/** A batch's audit trail, for the province that owns it (others get 404 from `loadOwnBatch`). */
export function createAuditReads(deps: { log: AuditLog; cursors: CursorCodec; loadOwnBatch: (principal: Principal, batchId: string) => Promise<BatchRecord> }) {
  return {
    async listBatchAudit(principal: Principal, batchId: string, query: { limit: number; cursor?: string | undefined }) {
      const batch = await deps.loadOwnBatch(principal, batchId);
      const binding = JSON.stringify([principal.sub, principal.provinceCode ?? '', 'listBatchAudit', { batchId }]);
      const page = await deps.log.listForBatch(batch, { limit: query.limit, after: deps.cursors.decode(query.cursor, binding) });
      return { items: page.items, nextCursor: deps.cursors.encode(page.next, binding) };
    },
  };
}

