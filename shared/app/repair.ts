import { hasStarted, isDue, type BatchRecord } from '../domain/batch.js';
import type { Clock } from '../domain/dates.js';
import { allowedFrom, paymentStatuses, unsettledPaymentStatuses, type PaymentStatus } from '../domain/lifecycle.js';
import type { AccountStore } from '../ports/account-store.js';
import { ConditionFailed, type BatchStore, type Census, type PagePosition, type PaymentSummary } from '../ports/batch-store.js';
import type { EntitlementStore } from '../ports/entitlement-store.js';
import type { WorkQueue } from '../ports/work-queue.js';
import { finishCancellation } from './cancellation.js';
import { inParallel } from './concurrency.js';
import { paymentGroups, shardMessages, type DisbursementMessage } from './disbursement.js';
import { createRetryUseCases } from './retries.js';
import { noNotices, type Notices } from './notices.js';
import { findProgram } from '../domain/catalogues.js';
import { verificationMessagesFor, type VerificationMessage } from './verification.js';

/**
 * Self-repair (domain.md, invariant 5; docs/decisions.md, "Self-repair"): finds
 * what a process that died between two steps left behind, and finishes it. It
 * reads the reconciler's watch (a sparse index of the batches where work can be
 * in flight), so that a run with nothing to repair costs one Query and one
 * BatchGetItem, and looks closer only at a batch that has been quiet for longer
 * than any unit of work can run: then no unit is between a status write and its
 * counter update, and what the payments say is the truth the batch must agree
 * with.
 *
 * Every repair is idempotent (resending work whose steps are conditional
 * writes, recounting under a condition on the batch as read), so two runs
 * racing, or a run racing the work it repairs, cannot do harm.
 */

export interface RepairSettings {
  /**
   * A batch none of whose payments and counters changed for this long has no
   * unit of work in flight: longer than any function runs (60 s deployed).
   */
  quietMs: number;
  /**
   * A payment QUEUED and unchanged for this long has lost its message: longer
   * than the queue's whole retry horizon (visibility timeout x receives, then
   * the dead-letter queue's handler).
   */
  redriveAfterMs: number;
  /** A quiet batch that is only waiting (callbacks, held payments) is looked at again after this long. */
  recheckMs: number;
}

export const repairKinds = [
  'upload-lease-cleared',
  'verification-resumed',
  'fan-out-resumed',
  'queued-redriven',
  'held-released',
  'cancel-finished',
  'completed',
  'counters-recounted',
  'entitlements-released',
  'register-event-finished',
  'retry-resumed',
] as const;
export type RepairKind = (typeof repairKinds)[number];

export interface Repair {
  batchId: string;
  kind: RepairKind;
  /** Payments (or shards) it concerned. */
  count: number;
}

export interface RepairReport {
  /** Held payments past their program's holdDays, cancelled HOLD_EXPIRED (not repairs: the rule working). */
  holdsExpired: number;
  /** Reminders sent to beneficiaries whose payment is held past half its hold window. */
  holdRemindersSent: number;
  watched: number;
  /** Watched batches read in full (a census of their payments) this run. */
  examined: number;
  repairs: Repair[];
  /** Scheduled batches this run started at their scheduledFor (their work, not a repair). */
  started: string[];
  /** PAID transfers no statement has confirmed (or returned) within their provider's settlement window. */
  overdueUnconfirmed: number;
}

export interface RepairDependencies {
  batches: BatchStore;
  entitlements: EntitlementStore;
  accounts: AccountStore;
  verificationQueue: WorkQueue<VerificationMessage>;
  disbursementQueue: WorkQueue<DisbursementMessage>;
  clock: Clock;
  settings: RepairSettings;
  /** Register events left PENDING by a delivery that died (shared/app/register-events.ts); absent where none arrive. */
  registerEvents?: { resumePending(quietBefore: string): Promise<number> };
  /** Beneficiary notices (the hold reminder); none when not given. */
  notices?: Notices | undefined;
}

const sameCounters = (batch: BatchRecord, census: Census) =>
  paymentStatuses.every((status) => (batch.counts[status] ?? 0) === census.counts[status] && (batch.amounts[status] ?? 0) === census.amounts[status]) &&
  JSON.stringify(Object.entries(batch.rejections).filter(([, n]) => n).sort()) === JSON.stringify(Object.entries(census.rejections).filter(([, n]) => n).sort());

const toSend = (payment: Pick<PaymentSummary, 'paymentId' | 'personHash'>) => ({ paymentId: payment.paymentId, personHash: payment.personHash });
const ago = (now: Date, ms: number) => new Date(now.getTime() - ms).toISOString();

export function createRepairUseCases(deps: RepairDependencies) {
  const { batches, entitlements, accounts, clock, settings } = deps;
  const notices = deps.notices ?? noNotices;

  /**
   * Held-payment expiry (domain.md "After the money leaves"; docs/decisions.md 106): a payment held
   * longer than its program's holdDays becomes CANCELLED HOLD_EXPIRED and releases its entitlement;
   * past half the window its beneficiary is reminded, once (the notice's conditional claim). Read
   * through the batch's held index, oldest first, only those held before half the window.
   */
  async function expireHeld(batch: BatchRecord, now: Date): Promise<{ expired: number; reminded: number }> {
    const program = findProgram(batch.programCode);
    if (!program || (batch.counts.ON_HOLD ?? 0) === 0) return { expired: 0, reminded: 0 };
    const windowMs = program.holdDays * 86_400_000;
    const remindBefore = new Date(now.getTime() - windowMs / 2).toISOString();
    const expireBefore = new Date(now.getTime() - windowMs).toISOString();
    let expired = 0;
    let reminded = 0;
    let amount = 0;
    let after: PagePosition | undefined;
    do {
      const page = await batches.listHeldPayments(batch.batchId, { heldBefore: remindBefore, limit: 500, after });
      for (const payment of page.items) {
        const heldAt = payment.history.findLast((entry) => entry.status === 'ON_HOLD')?.at ?? payment.updatedAt;
        if (heldAt < expireBefore) {
          const moved = await batches.transitionPayment(payment, allowedFrom('payment', 'CANCELLED', ['ON_HOLD']), 'CANCELLED', { reasonCode: 'HOLD_EXPIRED', at: now.toISOString() });
          if (!moved) continue; // released or expired meanwhile
          await entitlements.release({ personHash: payment.personHash, programCode: payment.programCode, period: payment.period, paymentId: payment.paymentId });
          expired += 1;
          amount += payment.amount;
        } else if (await notices.notify(payment, 'HOLD_EXPIRING', { expiresOn: new Date(Date.parse(heldAt) + windowMs).toISOString().slice(0, 10) })) {
          reminded += 1;
        }
      }
      after = page.next;
    } while (after);
    if (expired > 0) {
      await batches.addToCounters(batch.batchId, [{ status: 'ON_HOLD', count: -expired, amount: -amount }, { status: 'CANCELLED', count: expired, amount }], now.toISOString());
    }
    return { expired, reminded };
  }
  // An approved retry whose approval died before every payment started its new attempt (shared/app/retries.ts).
  const retries = createRetryUseCases({
    batches,
    accounts,
    entitlements,
    queue: deps.disbursementQueue,
    clock,
    newRetryId: () => {
      throw new Error('The reconciler never requests a retry');
    },
  });

  /** Gives back the entitlements of failed payments whose release a death may have lost (conditional: a no-op otherwise). */
  async function releaseFailed(batch: BatchRecord, failed: PaymentSummary[], repairs: Repair[]): Promise<void> {
    if (failed.length === 0) return;
    let count = 0;
    await inParallel(failed, 16, async (payment) => {
      if (await entitlements.release({ personHash: payment.personHash, programCode: batch.programCode, period: batch.period, paymentId: payment.paymentId })) count++;
    });
    // Only what a death had really left held is a repair (the alarm counts repairs).
    if (count > 0) repairs.push({ batchId: batch.batchId, kind: 'entitlements-released', count });
  }

  /** Held payments whose person has an account now (the release after a link died): queued again. */
  async function releaseHeld(batch: BatchRecord, held: PaymentSummary[], repairs: Repair[]): Promise<void> {
    if (held.length === 0) return;
    const linked = await accounts.getCurrentMany([...new Set(held.map((payment) => payment.personHash))]);
    const release = held.filter((payment) => linked.has(payment.personHash));
    if (release.length === 0) return;
    await deps.disbursementQueue.send(paymentGroups(release.map(toSend)));
    repairs.push({ batchId: batch.batchId, kind: 'held-released', count: release.length });
  }

  /**
   * A quiet batch whose payments may still move (approved), or whose counters a
   * change from outside may have left behind (recountDue): a census of its
   * payments decides. 'moving': a payment changed within quietMs (a unit may be
   * in flight: look again later); 'repaired'; 'waiting': nothing to do but wait
   * for others (callbacks, links).
   */
  async function repairByCensus(batch: BatchRecord, now: Date, nothingInFlight: boolean, repairs: Repair[]): Promise<'moving' | 'repaired' | 'waiting'> {
    const census = await batches.censusPayments(batch, ['VERIFIED', 'QUEUED', 'ON_HOLD', 'FAILED']);
    if (!nothingInFlight && census.lastChangeAt !== null && census.lastChangeAt > ago(now, settings.quietMs)) return 'moving';
    const found = repairs.length;
    const of = (status: PaymentStatus) => census.collected.filter((payment) => payment.status === status);

    if (batch.status === 'APPROVED' && census.counts.VERIFIED > 0) {
      // The approval or a fan-out page died before queueing them (fan-out only moves VERIFIED payments).
      await deps.disbursementQueue.send(shardMessages(batch));
      repairs.push({ batchId: batch.batchId, kind: 'fan-out-resumed', count: census.counts.VERIFIED });
    }
    const stuck = of('QUEUED').filter((payment) => nothingInFlight || payment.changedAt < ago(now, settings.redriveAfterMs));
    if (stuck.length > 0) {
      // Their message is gone (it would have been delivered, dead-lettered and handled by now): send them again.
      // The provider is called with the same reference, so a transfer it already took is not made twice.
      await deps.disbursementQueue.send(paymentGroups(stuck.map(toSend)));
      repairs.push({ batchId: batch.batchId, kind: 'queued-redriven', count: stuck.length });
    }
    await releaseHeld(batch, of('ON_HOLD'), repairs);

    const drifted = !sameCounters(batch, census);
    // Counters lag only where a unit died after a status write, before its counter update; a failed
    // payment's release comes between the two, so it may be lost too.
    if (drifted) await releaseFailed(batch, of('FAILED'), repairs);
    const unsettled = unsettledPaymentStatuses.reduce((sum, status) => sum + census.counts[status], 0);
    try {
      if (batch.status === 'APPROVED' && unsettled === 0) {
        await batches.transitionBatch(batch.batchId, allowedFrom('batch', 'COMPLETED'), 'COMPLETED', census, clock.now().toISOString());
        repairs.push({ batchId: batch.batchId, kind: 'completed', count: census.counts.ON_HOLD });
      } else if (drifted || batch.recountDue) {
        await batches.recountBatch(batch.batchId, census, batch.updatedAt, clock.now().toISOString());
        if (drifted) repairs.push({ batchId: batch.batchId, kind: 'counters-recounted', count: 1 });
      }
    } catch (error) {
      if (!(error instanceof ConditionFailed)) throw error; // it moved meanwhile: the next run looks again
    }
    return repairs.length > found ? 'repaired' : 'waiting';
  }

  /** A completed batch watched for its held payments: their people may have linked an account meanwhile. */
  async function checkHeld(batch: BatchRecord, repairs: Repair[]): Promise<'repaired' | 'waiting'> {
    const held: PaymentSummary[] = [];
    let after: PagePosition | undefined;
    do {
      const page = await batches.listHeldPayments(batch.batchId, { limit: 500, after });
      held.push(...page.items.map((payment) => ({ ...toSend(payment), status: payment.status, amount: payment.amount, changedAt: payment.updatedAt })));
      after = page.next;
    } while (after);
    // Watched for held payments that are not there: its counters say otherwise than its payments.
    if (held.length === 0) return (await repairByCensus(batch, clock.now(), false, repairs)) === 'waiting' ? 'waiting' : 'repaired';
    const found = repairs.length;
    await releaseHeld(batch, held, repairs);
    return repairs.length > found ? 'repaired' : 'waiting';
  }

  /**
   * A scheduled batch is started here, by the run that finds it due (docs/decisions.md 115): the
   * conditional write of `startedAt` (which a cancel cannot pass, nor a second run), then its fan-out.
   * A death between the two leaves an APPROVED, started batch with VERIFIED payments: the census
   * below resumes its fan-out once it is quiet, as for any approval that died before fanning out.
   */
  async function startScheduled(batch: BatchRecord, now: Date, started: string[]): Promise<void> {
    if (!isDue(batch, now)) return;
    const startedBatch = await batches.startScheduledBatch(batch.batchId, now.toISOString());
    if (!startedBatch) return;
    await deps.disbursementQueue.send(shardMessages(startedBatch));
    started.push(batch.batchId);
  }

  /** What one watched batch needs; true when its payments were read in full (a census). */
  async function repairBatch(batch: BatchRecord, now: Date, nothingInFlight: boolean, repairs: Repair[], started: string[]): Promise<boolean> {
    // Approved, waiting for its scheduledFor: nothing moves before it (no re-drive), and it starts when due.
    if (batch.status === 'APPROVED' && !hasStarted(batch)) {
      await startScheduled(batch, now, started);
      return false;
    }
    const quiet = nothingInFlight || (batch.updatedAt < ago(now, settings.quietMs) && (batch.checkedAt ?? '') < ago(now, settings.quietMs));
    if (!quiet) return false;
    const checkedRecently = !nothingInFlight && batch.checkedAt !== undefined && batch.checkedAt > ago(now, settings.recheckMs);
    switch (batch.status) {
      case 'OPEN': {
        // A chunk's request died holding the upload lease: clear it and recount what was stored.
        if (batch.uploadLease && batch.uploadLease.expiresAt >= now.toISOString()) return false;
        try {
          await batches.repairReceived(batch.batchId, await batches.sumPayments(batch), now);
          repairs.push({ batchId: batch.batchId, kind: 'upload-lease-cleared', count: 1 });
        } catch (error) {
          if (!(error instanceof ConditionFailed)) throw error;
        }
        return false;
      }
      case 'SUBMITTED': {
        // Verification stopped (a page's message was lost, or the seal died before queueing it). Pages only
        // touch RECEIVED payments, and a finished shard is counted once: resending every shard is safe.
        await deps.verificationQueue.send(verificationMessagesFor(batch));
        await batches.markChecked(batch.batchId, batch.updatedAt, now.toISOString());
        repairs.push({ batchId: batch.batchId, kind: 'verification-resumed', count: batch.shardCount });
        return false;
      }
      case 'CANCELLED': {
        await finishCancellation({ store: batches, entitlements, clock }, batch, { resumed: true });
        repairs.push({ batchId: batch.batchId, kind: 'cancel-finished', count: 1 });
        return true;
      }
      case 'APPROVED':
      case 'COMPLETED':
      case 'AWAITING_APPROVAL': {
        if (checkedRecently && !batch.recountDue) return false;
        // A completed batch is watched for its held payments, read through their index; a census only when a
        // change from outside (a return) waits to be recounted.
        const census = batch.status !== 'COMPLETED' || batch.recountDue === true;
        const outcome = census ? await repairByCensus(batch, now, nothingInFlight, repairs) : await checkHeld(batch, repairs);
        if (outcome === 'waiting') await batches.markChecked(batch.batchId, batch.updatedAt, now.toISOString());
        return census;
      }
    }
  }

  return {
    /**
     * One pass over the watch. `nothingInFlight`: this process has just started
     * and its queues are new (the local server after a restart), so nothing can
     * be between two steps and every batch is treated as quiet.
     */
    async run(options: { nothingInFlight?: boolean } = {}): Promise<RepairReport> {
      const now = clock.now();
      const repairs: Repair[] = [];
      const started: string[] = [];
      // Register events first: finishing one can cancel payments of the batches looked at next.
      // Quiet as batches are: received longer ago than any delivery runs (or any time, after a restart).
      const resumed = (await deps.registerEvents?.resumePending(options.nothingInFlight === true ? now.toISOString() : ago(now, settings.quietMs))) ?? 0;
      if (resumed > 0) repairs.push({ batchId: '', kind: 'register-event-finished', count: resumed });
      // Then the retries, so that the census of their batches below sees the payments they move.
      for (const resumedRetry of await retries.resumeInterrupted(now, options.nothingInFlight === true ? 0 : settings.quietMs)) {
        repairs.push({ batchId: resumedRetry.batchId, kind: 'retry-resumed', count: resumedRetry.itemCount });
      }
      const watched = await batches.listWatchedBatches();
      let examined = 0;
      let holdsExpired = 0;
      let holdRemindersSent = 0;
      for (const batch of watched) {
        const held = await expireHeld(batch, now);
        holdsExpired += held.expired;
        holdRemindersSent += held.reminded;
        if (await repairBatch(held.expired > 0 ? ((await batches.getBatch(batch.batchId)) ?? batch) : batch, now, options.nothingInFlight === true, repairs, started)) examined++;
      }
      // PAID transfers no statement confirmed within their settlement window: counted every run (the alarm's metric).
      const overdueUnconfirmed = await batches.countOverdueUnconfirmed(now.toISOString());
      return { holdsExpired, holdRemindersSent, watched: watched.length, examined, repairs, started, overdueUnconfirmed };
    },
  };
}

export type RepairUseCases = ReturnType<typeof createRepairUseCases>;
