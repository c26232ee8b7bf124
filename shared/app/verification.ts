import { inParallel } from './concurrency.js';
import type { BatchRecord, PaymentRecord } from '../domain/batch.js';
import { findProgram } from '../domain/catalogues.js';
import { allowedFrom } from '../domain/lifecycle.js';
import type { Clock } from '../domain/dates.js';
import { periodStart } from '../domain/dates.js';
import { sumAmounts } from '../domain/money.js';
import { matchNames } from '../domain/names.js';
import { checkPersonalId } from '../domain/personal-id.js';
import type { RejectionReasonCode } from '../domain/reason-codes.js';
import { ConditionFailed, type BatchStore, type CounterDelta, type PagePosition, type PaymentKey } from '../ports/batch-store.js';
import type { EntitlementStore } from '../ports/entitlement-store.js';
import type { Citizen, PopulationRegistry } from '../ports/population-registry.js';
import type { WorkQueue } from '../ports/work-queue.js';

/** A unit of verification work: keys only, never personal data. */
export interface VerificationMessage {
  batchId: string;
  shard: number;
  /** Where the previous page of this shard stopped. */
  after?: PagePosition | undefined;
}

/** Payments per page: one registry lookup (its limit is 100 IDs). */
export const VERIFICATION_PAGE_SIZE = 100;
/** Conditional writes in flight at once per page. */
const PARALLEL_PEOPLE = 16;


export interface VerificationDependencies {
  batches: BatchStore;
  entitlements: EntitlementStore;
  registry: PopulationRegistry;
  queue: WorkQueue<VerificationMessage>;
  clock: Clock;
}

type Verdict =
  | { status: 'VERIFIED'; nameMatch: 'EXACT' | 'ASCII_FOLDED' }
  | { status: 'REJECTED'; reasonCode: RejectionReasonCode; duplicateOf?: string };

/**
 * Everything about the person, in the order of domain.md's reason codes; the
 * entitlement claim (the one check with a side effect) comes last, in verify().
 */
export function judge(payment: PaymentRecord, citizen: Citizen | undefined, maxAmount: number): Verdict | { status: 'CLAIM'; nameMatch: 'EXACT' | 'ASCII_FOLDED' } {
  const offline = checkPersonalId(payment.personalId, { dateOfBirth: payment.dateOfBirth, gender: payment.gender ?? undefined });
  if (!offline.ok) return { status: 'REJECTED', reasonCode: 'INVALID_ID' };
  if (!citizen) return { status: 'REJECTED', reasonCode: 'ID_NOT_FOUND' };
  if (citizen.dateOfDeath !== null && citizen.dateOfDeath < periodStart(payment.period)) return { status: 'REJECTED', reasonCode: 'DECEASED' };
  const nameMatch = matchNames(payment.fullName, citizen.fullName);
  if (nameMatch === 'MISMATCH') return { status: 'REJECTED', reasonCode: 'NAME_MISMATCH' };
  if (citizen.dateOfBirth !== payment.dateOfBirth) return { status: 'REJECTED', reasonCode: 'BIRTH_DATE_MISMATCH' };
  if (payment.gender !== null && payment.gender !== citizen.gender) return { status: 'REJECTED', reasonCode: 'GENDER_MISMATCH' };
  if (payment.amount > maxAmount) return { status: 'REJECTED', reasonCode: 'AMOUNT_OVER_PROGRAM_LIMIT' };
  return { status: 'CLAIM', nameMatch };
}

/** The first message of each shard's chain of pages. */
export function verificationMessagesFor(batch: Pick<BatchRecord, 'batchId' | 'shardCount'>): VerificationMessage[] {
  return Array.from({ length: batch.shardCount }, (_, shard) => ({ batchId: batch.batchId, shard }));
}

export function createVerificationUseCases(deps: VerificationDependencies) {
  const { batches, entitlements, registry, queue, clock } = deps;

  /**
   * Judges one payment and writes its verdict. A claim that takes the entitlement
   * over from a later item of the same batch rejects that item first, before this
   * payment's own status write: if the process dies in between, the redelivered
   * page still finds this payment RECEIVED, claims again (the entitlement
   * remembers whom it took over from) and finishes the job. The other way round,
   * a redelivery would never see this payment again and both would stay VERIFIED.
   */
  async function verifyOne(payment: PaymentRecord, verdict: ReturnType<typeof judge>, at: string): Promise<{ moved: Verdict | undefined; superseded?: PaymentRecord }> {
    let final: Verdict;
    let superseded: PaymentRecord | undefined;
    let claimed = false;
    if (verdict.status === 'CLAIM') {
      const outcome = await entitlements.claim({
        personHash: payment.personHash,
        programCode: payment.programCode,
        period: payment.period,
        paymentId: payment.paymentId,
        batchId: payment.batchId,
        seq: payment.seq,
      });
      if (outcome.held) {
        claimed = true;
        final = { status: 'VERIFIED', nameMatch: verdict.nameMatch };
        const loserKey = outcome.supersededPaymentId ? parseKey(outcome.supersededPaymentId) : undefined;
        if (loserKey) {
          superseded = await batches.transitionPayment(loserKey, allowedFrom('payment', 'REJECTED', ['RECEIVED', 'VERIFIED']), 'REJECTED', {
            reasonCode: 'DUPLICATE_ENTITLEMENT',
            at,
            set: { duplicateOf: payment.paymentId },
          });
        }
      } else {
        final = { status: 'REJECTED', reasonCode: 'DUPLICATE_ENTITLEMENT', duplicateOf: outcome.holderPaymentId };
      }
    } else {
      final = verdict;
    }
    const moved = await batches.transitionPayment(payment, allowedFrom('payment', final.status, ['RECEIVED']), final.status, {
      reasonCode: final.status === 'REJECTED' ? final.reasonCode : null,
      at,
      set: final.status === 'VERIFIED' ? { nameMatch: final.nameMatch } : { duplicateOf: final.duplicateOf },
    });
    if (!moved && claimed) {
      // No longer RECEIVED (cancelled, or rejected as a later duplicate): do not keep the entitlement,
      // unless this payment was verified by an earlier delivery of the same message.
      const current = await batches.getPayment(payment);
      if (current?.status !== 'VERIFIED') await entitlements.release({ ...payment });
    }
    return { moved: moved ? final : undefined, ...(superseded ? { superseded } : {}) };
  }

  function parseKey(paymentId: string): PaymentKey | undefined {
    const match = /^([0-9A-HJKMNP-TV-Z]{26})-(\d{2})([0-9a-z]{20})$/.exec(paymentId);
    return match ? { batchId: match[1] ?? '', shard: Number(match[2]), refDigest: match[3] ?? '' } : undefined;
  }

  async function finishShard(batch: BatchRecord, shard: number): Promise<void> {
    // The chain reached the end of its shard, and a page only moves on once all its payments are
    // written (a failure retries the page), so the shard is done.
    const verifiedShards = await batches.markShardVerified(batch.batchId, shard);
    if (verifiedShards < batch.shardCount) return;
    // Every shard is done: counts are recomputed from the payments themselves (exact, whatever was
    // redelivered), and the batch waits for its approver. One read of the batch, once.
    const tally = await batches.tallyPayments(batch);
    if (tally.counts.RECEIVED > 0) {
      // Work was lost somewhere (it should not be): run the chains again; they only touch RECEIVED payments.
      await queue.send(verificationMessagesFor(batch));
      return;
    }
    try {
      await batches.transitionBatch(batch.batchId, allowedFrom('batch', 'AWAITING_APPROVAL', ['SUBMITTED']), 'AWAITING_APPROVAL', tally, clock.now().toISOString());
    } catch (error) {
      if (!(error instanceof ConditionFailed)) throw error; // already moved on (or cancelled)
    }
  }

  return {
    /** Queues the verification of a newly sealed batch: one chain of pages per shard. */
    async startVerification(batch: BatchRecord): Promise<void> {
      await queue.send(verificationMessagesFor(batch));
    },

    /** Verifies one page of a shard, then queues the next page (or finishes the shard). */
    async verifyPage(message: VerificationMessage): Promise<{ verified: number; rejected: number }> {
      const batch = await batches.getBatch(message.batchId);
      if (!batch || batch.status !== 'SUBMITTED') return { verified: 0, rejected: 0 }; // cancelled, or done already
      const program = findProgram(batch.programCode);
      if (!program) throw new Error(`Batch ${batch.batchId} names an unknown program`);
      const page = await batches.listPayments(
        { batchId: batch.batchId, shardCount: message.shard + 1 },
        { status: 'RECEIVED', limit: VERIFICATION_PAGE_SIZE, after: message.after ?? { shard: message.shard } },
      );
      const payments = page.items;
      const lookupIds = [...new Set(payments.filter((payment) => checkPersonalId(payment.personalId, { dateOfBirth: payment.dateOfBirth }).ok).map((payment) => payment.personalId))];
      const citizens = lookupIds.length > 0 ? await registry.lookup(lookupIds) : new Map<string, Citizen>();
      const at = clock.now().toISOString();

      // People in parallel; one person's payments one after the other, in upload order, so that the
      // earlier item claims the entitlement first.
      const byPerson = new Map<string, PaymentRecord[]>();
      for (const payment of [...payments].sort((a, b) => a.seq - b.seq)) {
        byPerson.set(payment.personHash, [...(byPerson.get(payment.personHash) ?? []), payment]);
      }
      const results: ({ payment: PaymentRecord } & Awaited<ReturnType<typeof verifyOne>>)[] = [];
      await inParallel([...byPerson.values()], PARALLEL_PEOPLE, async (group) => {
        for (const payment of group) {
          results.push({ payment, ...(await verifyOne(payment, judge(payment, citizens.get(payment.personalId), program.maxAmount), at)) });
        }
      });

      const verified = results.filter((result) => result.moved?.status === 'VERIFIED').map((result) => result.payment);
      const rejected = results.filter((result) => result.moved?.status === 'REJECTED');
      const deltas: CounterDelta[] = [
        { status: 'RECEIVED', count: -(verified.length + rejected.length), amount: -sumAmounts([...verified, ...rejected.map((r) => r.payment)].map((p) => p.amount)) },
        { status: 'VERIFIED', count: verified.length, amount: sumAmounts(verified.map((p) => p.amount)) },
        { status: 'REJECTED', count: rejected.length, amount: sumAmounts(rejected.map((r) => r.payment.amount)) },
      ];
      const reasons: Partial<Record<RejectionReasonCode, number>> = {};
      for (const result of rejected) {
        if (result.moved?.status === 'REJECTED') reasons[result.moved.reasonCode] = (reasons[result.moved.reasonCode] ?? 0) + 1;
      }

      // Later duplicates of the same batch that held the entitlement before an earlier item claimed it.
      for (const { superseded: loser } of results) {
        if (!loser) continue;
        const was = loser.history.at(-2)?.status ?? 'RECEIVED';
        deltas.push({ status: was, count: -1, amount: -loser.amount }, { status: 'REJECTED', count: 1, amount: loser.amount });
        reasons.DUPLICATE_ENTITLEMENT = (reasons.DUPLICATE_ENTITLEMENT ?? 0) + 1;
      }
      await batches.addToCounters(batch.batchId, deltas, at, reasons);

      const next = page.next && (page.next as { shard?: number }).shard === message.shard ? page.next : undefined;
      if (next) await queue.send([{ batchId: batch.batchId, shard: message.shard, after: next }]);
      else await finishShard(batch, message.shard);
      return { verified: verified.length, rejected: rejected.length };
    },
  };
}

export type VerificationUseCases = ReturnType<typeof createVerificationUseCases>;
