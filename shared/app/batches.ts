import type { BatchRecord, PaymentRecord, Totals } from '../domain/batch.js';
import {
  SEQ_PER_CHUNK,
  createRequestFingerprint,
  hasStarted,
  parsePaymentId,
  paymentIdentity,
  personHash,
  samePaymentContent,
  shardCountFor,
  zeroByStatus,
} from '../domain/batch.js';
import type { Clock } from '../domain/dates.js';
import {
  BatchRefConflictError,
  ConflictError,
  ControlTotalsMismatchError,
  ForbiddenError,
  InvalidStateError,
  NotFoundError,
  RateLimitedError,
  type ItemError,
} from '../domain/errors.js';
import type { KeyedHash } from '../domain/keyed-hash.js';
import { allowedFrom, type BatchStatus, type PaymentStatus } from '../domain/lifecycle.js';
import { MIN_PAYMENT_AMOUNT, sumAmounts } from '../domain/money.js';
import type { ReasonCode } from '../domain/reason-codes.js';
import type { CreateBatchRequest, PaymentItem } from '../domain/schemas.js';
import type { Principal } from './principal.js';
import { ConditionFailed, type BatchStore } from '../ports/batch-store.js';
import { finishCancellation } from './cancellation.js';
import type { EntitlementStore } from '../ports/entitlement-store.js';
import type { CursorCodec } from './cursor.js';

/**
 * Longer than any request can run (the write function's timeout is 29 s, API
 * Gateway gives up at 30 s), so that a live request never loses its lease, and
 * short enough that a request that died frees the batch soon: a 429 or 409 it
 * causes says when to come back (Retry-After), and asking again then succeeds.
 */
export const UPLOAD_LEASE_MS = 35_000;
/** The lease of a create request on its batchRef (same reasoning). */
export const CREATE_LEASE_MS = UPLOAD_LEASE_MS;

/** Whole seconds until a lease expires, at least 1 (a Retry-After). */
export function secondsLeft(expiresAt: string, now: Date): number {
  return Math.max(1, Math.ceil((Date.parse(expiresAt) - now.getTime()) / 1000));
}

/**
 * A create's payments that cannot add up to its control totals, whatever is
 * uploaded later (each payment is at least MIN_AMOUNT): refused before anything
 * is stored, so that the batchRef stays free for the corrected request.
 */
export function controlMismatch(request: CreateBatchRequest): string | undefined {
  const payments = request.payments ?? [];
  if (payments.length === 0) return undefined;
  const { itemCount, totalAmount } = request.control;
  const sum = sumAmounts(payments.map((payment) => payment.amount));
  const missing = itemCount - payments.length;
  if (missing < 0) return `${payments.length} payments were sent for a batch of ${itemCount}.`;
  if (missing === 0 && sum !== totalAmount) return `the ${itemCount} payments total ${sum} VND, not ${totalAmount} VND.`;
  if (missing > 0 && sum + missing * MIN_PAYMENT_AMOUNT > totalAmount) {
    return `the ${payments.length} payments already total ${sum} VND: the ${missing} still to come cannot bring the batch to ${totalAmount} VND.`;
  }
  return undefined;
}

export interface BatchDependencies {
  store: BatchStore;
  /** Cancelled payments give their entitlements back. */
  entitlements: EntitlementStore;
  clock: Clock;
  newBatchId: () => string;
  /** Unique per request: owns the upload lease. */
  newLeaseOwner: () => string;
  hash: KeyedHash;
  cursors: CursorCodec;
  /** Called once a batch is SUBMITTED (starts verification). */
  onSubmitted: (batch: BatchRecord) => Promise<void>;
  /** The upload and create leases (default UPLOAD_LEASE_MS; shorter only where requests are known to be fast: the chaos suite). */
  leaseMs?: number;
}

export interface ChunkResult {
  batch: BatchRecord;
  accepted: number;
  alreadyStored: number;
}

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function createBatchUseCases(deps: BatchDependencies) {
  const { store, clock } = deps;
  const leaseMs = deps.leaseMs ?? UPLOAD_LEASE_MS;

  /** A batch this use case has just written. */
  async function requireBatch(batchId: string): Promise<BatchRecord> {
    const batch = await store.getBatch(batchId);
    if (!batch) throw new Error(`Batch ${batchId} vanished after being written`);
    return batch;
  }

  /** The caller's province's batch, or 404 (another province's batch does not exist for them). */
  async function loadOwnBatch(principal: Principal, batchId: string): Promise<BatchRecord> {
    const batch = ULID.test(batchId) ? await store.getBatch(batchId) : undefined;
    if (!batch || !principal.provinceCode || batch.provinceCode !== principal.provinceCode) {
      throw new NotFoundError('No batch with this id.');
    }
    return batch;
  }

  async function appendChunk(batch: BatchRecord, items: PaymentItem[]): Promise<ChunkResult> {
    const owner = deps.newLeaseOwner();
    const leased = await store.acquireUploadLease(batch.batchId, owner, clock.now(), leaseMs);
    let written = false;
    try {
      const identities = items.map((item) => paymentIdentity(deps.hash, batch.batchId, item.paymentRef, leased.shardCount));
      const stored = await store.getPayments(identities.map(({ shard, refDigest }) => ({ batchId: batch.batchId, shard, refDigest })));
      const storedByDigest = new Map(stored.map((payment) => [payment.refDigest, payment]));

      const conflicts: ItemError[] = [];
      const fresh: PaymentRecord[] = [];
      const now = clock.now().toISOString();
      items.forEach((item, index) => {
        const identity = identities[index] as (typeof identities)[number];
        const existing = storedByDigest.get(identity.refDigest);
        if (existing) {
          if (!samePaymentContent(existing, item)) {
            conflicts.push({
              index,
              paymentRef: item.paymentRef,
              path: `payments[${index}]`,
              code: 'payment_ref_reused',
              message: 'this paymentRef is already stored in the batch with different content',
            });
          }
          return;
        }
        fresh.push({
          ...identity,
          batchId: batch.batchId,
          provinceCode: batch.provinceCode,
          programCode: batch.programCode,
          period: batch.period,
          seq: leased.chunkCount * SEQ_PER_CHUNK + index,
          paymentRef: item.paymentRef,
          personalId: item.personalId,
          personHash: personHash(deps.hash, item.personalId),
          fullName: item.fullName,
          dateOfBirth: item.dateOfBirth,
          gender: item.gender ?? null,
          amount: item.amount,
          status: 'RECEIVED',
          reasonCode: null,
          nameMatch: null,
          account: null,
          history: [{ status: 'RECEIVED', reasonCode: null, at: now }],
          createdAt: now,
          updatedAt: now,
        });
      });

      if (conflicts.length > 0) {
        throw new ConflictError(`${conflicts.length} payment(s) reuse a paymentRef with different content; nothing was stored.`, {
          errors: conflicts.slice(0, 1000),
          extensions: { errorCount: conflicts.length },
        });
      }
      if (fresh.length === 0) {
        // The batch as the release left it (no lease): a seal right after must not see this request's own lease.
        const released = (await store.releaseUploadLease(batch.batchId, owner)) ?? (await requireBatch(batch.batchId));
        return { batch: released, accepted: 0, alreadyStored: items.length };
      }
      written = true;
      await store.putPayments(fresh);
      const added: Totals = { itemCount: fresh.length, totalAmount: sumAmounts(fresh.map((payment) => payment.amount)) };
      const updated = await store.completeUpload(batch.batchId, owner, added, now);
      return { batch: updated, accepted: fresh.length, alreadyStored: items.length - fresh.length };
    } catch (error) {
      // Some payments may be stored without being counted: the seal recounts.
      await store.releaseUploadLease(batch.batchId, owner, { recount: written });
      throw error;
    }
  }

  async function seal(batch: BatchRecord): Promise<BatchRecord> {
    if (batch.status === 'CANCELLED') throw new InvalidStateError('The batch is CANCELLED and cannot be sealed.');
    if (batch.status !== 'OPEN') return batch; // sealed already: a retried seal is a no-op
    const now = clock.now();
    let current = batch;
    const leaseExpired = current.uploadLease !== undefined && current.uploadLease.expiresAt < now.toISOString();
    if (current.uploadLease && !leaseExpired) {
      throw new RateLimitedError('A chunk of this batch is being uploaded right now. Seal once it has finished.', {
        retryAfterSeconds: secondsLeft(current.uploadLease.expiresAt, now),
      });
    }
    if (current.recountNeeded || leaseExpired) {
      current = await store.repairReceived(current.batchId, await store.sumPayments(current), now);
    }
    const { control, received } = current;
    if (received.itemCount !== control.itemCount || received.totalAmount !== control.totalAmount) {
      throw new ControlTotalsMismatchError(
        `The uploaded payments do not add up to the control totals: expected ${control.itemCount} payments totalling ${control.totalAmount} VND, found ${received.itemCount} totalling ${received.totalAmount} VND.`,
        { extensions: { expected: control, actual: received } },
      );
    }
    let sealed: BatchRecord;
    try {
      sealed = await store.sealBatch(current.batchId, received, now);
    } catch (error) {
      if (!(error instanceof ConditionFailed) || !error.current) throw error;
      // Someone else changed the batch meanwhile: a concurrent seal, upload or cancel decides.
      if (error.current.status === 'OPEN') throw new ConflictError('The batch changed while sealing (a chunk arrived). Retry the seal.');
      return seal(error.current);
    }
    await deps.onSubmitted(sealed);
    return sealed;
  }

  /** The create's steps after the claim: the batch, its payments, the seal. Each one is a no-op when already done. */
  async function completeCreate(principal: Principal, request: CreateBatchRequest, batchId: string, fingerprint: string, now: string, extra: Pick<BatchRecord, 'g2p'> = {}): Promise<BatchRecord> {
    let batch = await store.getBatch(batchId);
    if (!batch) {
      await store.putBatchIfAbsent({
        batchId,
        batchRef: request.batchRef,
        provinceCode: request.provinceCode,
        programCode: request.programCode,
        period: request.period,
        status: 'OPEN',
        control: request.control,
        received: { itemCount: 0, totalAmount: 0 },
        counts: zeroByStatus(),
        amounts: zeroByStatus(),
        rejections: {},
        shardCount: shardCountFor(request.control.itemCount),
        chunkCount: 0,
        fingerprint,
        createdBy: principal.sub,
        approvedBy: null,
        scheduledFor: request.scheduledFor ? new Date(request.scheduledFor).toISOString() : null,
        ...(extra.g2p ? { g2p: extra.g2p } : {}),
        createdAt: now,
        updatedAt: now,
      });
      batch = await requireBatch(batchId);
    }
    if (request.payments && request.payments.length > 0 && batch.status === 'OPEN') {
      batch = (await appendChunk(batch, request.payments)).batch;
      if (request.payments.length === request.control.itemCount) batch = await seal(batch);
    }
    return batch;
  }

  function bindingOf(principal: Principal, operation: string, query: Record<string, unknown>): string {
    return JSON.stringify([principal.sub, principal.provinceCode ?? '', operation, query]);
  }

  return {
    /**
     * Idempotent by content (api.md, "Version 1.1 additions"): the request that
     * claims the batchRef answers 201; an identical request answers 200 with the
     * batch once the first has finished, 409 CONFLICT with Retry-After while it
     * is still working, and finishes the work itself when the first died (its
     * create lease expired). Payments that cannot match `control` are refused
     * before anything is stored.
     */
    async createBatch(principal: Principal, request: CreateBatchRequest, extra: Pick<BatchRecord, 'g2p'> = {}): Promise<{ created: boolean; batch: BatchRecord }> {
      if (!principal.provinceCode || principal.provinceCode !== request.provinceCode) {
        throw new ForbiddenError('provinceCode must be the province of the calling system.');
      }
      const mismatch = controlMismatch(request);
      if (mismatch) {
        throw new ControlTotalsMismatchError(`The payments do not add up to the control totals: ${mismatch} Nothing was stored.`, {
          extensions: {
            expected: request.control,
            actual: { itemCount: request.payments?.length ?? 0, totalAmount: sumAmounts((request.payments ?? []).map((payment) => payment.amount)) },
          },
        });
      }
      const fingerprint = createRequestFingerprint(request);
      const now = clock.now();
      const batchRefHash = deps.hash('batch-ref', request.batchRef);
      const lease = { owner: deps.newLeaseOwner(), expiresAt: new Date(now.getTime() + leaseMs).toISOString() };
      const claim = await store.claimBatchRef({ provinceCode: request.provinceCode, batchRefHash, batchId: deps.newBatchId(), fingerprint, at: now.toISOString(), lease });
      if (!claim.claimed) {
        if (claim.fingerprint !== fingerprint) {
          throw new BatchRefConflictError('This batchRef was already used in your province for a different batch.', { extensions: { batchId: claim.batchId } });
        }
        if (!claim.lease) return { created: false, batch: await requireBatch(claim.batchId) }; // finished: a replay
        const inFlight = claim.lease.expiresAt >= now.toISOString() || !(await store.takeOverCreate(request.provinceCode, batchRefHash, lease, now.toISOString()));
        if (inFlight) {
          throw new ConflictError('An identical request is creating this batch right now. Ask again shortly: the answer will be the batch.', {
            retryAfterSeconds: secondsLeft(claim.lease.expiresAt, now),
            extensions: { batchId: claim.batchId },
          });
        }
        // The first request died: this one finishes what it started (every step below is idempotent).
      }
      try {
        const batch = await completeCreate(principal, request, claim.batchId, fingerprint, now.toISOString(), extra);
        await store.releaseCreateLease(request.provinceCode, batchRefHash, lease.owner, { finished: true });
        return { created: claim.claimed, batch };
      } catch (error) {
        // Let an identical retry take over at once rather than wait for the lease; the lease stays (expired), so
        // that the retry finishes the create instead of answering with a batch this request left unsealed.
        await store.releaseCreateLease(request.provinceCode, batchRefHash, lease.owner, { finished: false }).catch(() => undefined);
        throw error;
      }
    },

    async appendPayments(principal: Principal, batchId: string, items: PaymentItem[]): Promise<ChunkResult> {
      const batch = await loadOwnBatch(principal, batchId);
      if (batch.status !== 'OPEN') throw new InvalidStateError(`The batch is ${batch.status}; payments can only be added while it is OPEN.`);
      return appendChunk(batch, items);
    },

    async sealBatch(principal: Principal, batchId: string): Promise<BatchRecord> {
      return seal(await loadOwnBatch(principal, batchId));
    },

    getBatch: loadOwnBatch,

    async listBatches(principal: Principal, query: { period?: string | undefined; status?: BatchStatus | undefined; limit: number; cursor?: string | undefined }) {
      if (!principal.provinceCode) throw new ForbiddenError('Only a provincial system lists batches.');
      const binding = bindingOf(principal, 'listBatches', { period: query.period, status: query.status });
      const page = await store.listBatches(principal.provinceCode, {
        period: query.period,
        status: query.status,
        limit: query.limit,
        after: deps.cursors.decode(query.cursor, binding),
      });
      return { items: page.items, nextCursor: deps.cursors.encode(page.next, binding) };
    },

    async listBatchPayments(
      principal: Principal,
      batchId: string,
      query: { status?: PaymentStatus | undefined; reasonCode?: ReasonCode | undefined; limit: number; cursor?: string | undefined },
      operation = 'listBatchPayments',
    ) {
      const batch = await loadOwnBatch(principal, batchId);
      const binding = bindingOf(principal, operation, { batchId, status: query.status, reasonCode: query.reasonCode });
      const page = await store.listPayments(batch, {
        status: query.status,
        reasonCode: query.reasonCode,
        limit: query.limit,
        after: deps.cursors.decode(query.cursor, binding),
      });
      return { batch, items: page.items, nextCursor: deps.cursors.encode(page.next, binding) };
    },

    async getPayment(principal: Principal, paymentId: string): Promise<PaymentRecord> {
      const key = parsePaymentId(paymentId);
      const payment = key ? await store.getPayment(key) : undefined;
      if (!payment || !principal.provinceCode || payment.provinceCode !== principal.provinceCode) {
        throw new NotFoundError('No payment with this id.');
      }
      return payment;
    },

    async cancelBatch(principal: Principal, batchId: string): Promise<BatchRecord> {
      const batch = await loadOwnBatch(principal, batchId);
      // Cancelled already: finish what an earlier cancel may have left (its request may have died mid-way).
      if (batch.status === 'CANCELLED') return batch.cancelPending ? finishCancellation(deps, batch, { resumed: true }) : batch;
      const cancellable = allowedFrom('batch', 'CANCELLED');
      if (!cancellable.includes(batch.status)) {
        throw new InvalidStateError(`The batch is ${batch.status}; only a batch that is not yet approved (or approved and not yet at its scheduledFor) can be cancelled.`);
      }
      if (batch.status === 'APPROVED' && (hasStarted(batch) || Date.parse(batch.scheduledFor ?? '') <= clock.now().getTime())) {
        throw new InvalidStateError(
          batch.scheduledFor
            ? 'The batch is APPROVED and its scheduledFor has come: it is being sent and can no longer be cancelled.'
            : 'The batch is APPROVED; only a batch that is not yet approved (or approved and not yet at its scheduledFor) can be cancelled.',
        );
      }
      if (batch.uploadLease && batch.uploadLease.expiresAt >= clock.now().toISOString()) {
        throw new RateLimitedError('A chunk of this batch is being uploaded right now. Cancel once it has finished.', {
          retryAfterSeconds: secondsLeft(batch.uploadLease.expiresAt, clock.now()),
        });
      }
      let cancelled: BatchRecord;
      try {
        // cancelPending puts the batch in the reconciler's watch until every payment is cancelled.
        // An APPROVED batch only while not started and before its scheduledFor: the same write that the start's cannot pass.
        cancelled = await store.transitionBatch(batchId, cancellable, 'CANCELLED', { cancelPending: true }, clock.now().toISOString(), { beforeScheduledStart: true });
      } catch (error) {
        if (error instanceof ConditionFailed && error.current?.status === 'CANCELLED') return this.cancelBatch(principal, batchId);
        if (error instanceof ConditionFailed) throw new InvalidStateError(`The batch is ${error.current?.status}; it can no longer be cancelled.`);
        throw error;
      }
      return finishCancellation(deps, cancelled, { resumed: false });
    },
  };
}

export type BatchUseCases = ReturnType<typeof createBatchUseCases>;
