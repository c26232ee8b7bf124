import type { BatchRecord, PaymentRecord } from '../domain/batch.js';
import type { Clock } from '../domain/dates.js';
import { allowedFrom, type PaymentStatus } from '../domain/lifecycle.js';
import { ConditionFailed, type BatchStore, type PagePosition } from '../ports/batch-store.js';
import type { EntitlementStore } from '../ports/entitlement-store.js';
import { inParallel } from './concurrency.js';

/** Statuses a cancelled batch's payments can still be in (a batch is cancelled only before approval). */
const CANCELLABLE: readonly PaymentStatus[] = ['RECEIVED', 'VERIFIED'];
/** Payments cancelled per page, in parallel. */
const PAGE_SIZE = 500;
/** Conditional writes in flight at once. */
const PARALLEL_WRITES = 32;
/** Passes before giving up for now (verification racing the cancel can move a payment once more). */
const MAX_PASSES = 3;

export interface CancellationDependencies {
  store: BatchStore;
  entitlements: EntitlementStore;
  clock: Clock;
}

const entitlementOf = (payment: Pick<PaymentRecord, 'personHash' | 'programCode' | 'period' | 'paymentId'>) => ({
  personHash: payment.personHash,
  programCode: payment.programCode,
  period: payment.period,
  paymentId: payment.paymentId,
});

/**
 * Finishes the cancellation of a CANCELLED batch: every payment still
 * RECEIVED or VERIFIED becomes CANCELLED and gives its entitlement back; then
 * the counters are set from a tally and the batch leaves the reconciler's
 * watch. Idempotent, so that it can be run again by a retried cancel or by the
 * reconciler after the request that started it died anywhere in between.
 *
 * `resumed`: an earlier run may have died between a payment's CANCELLED write
 * and its release, so every CANCELLED payment's entitlement is released again
 * (a conditional delete that does nothing unless that payment still holds it).
 */
export async function finishCancellation(deps: CancellationDependencies, batch: BatchRecord, options: { resumed: boolean }): Promise<BatchRecord> {
  const { store, entitlements, clock } = deps;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    for (const status of CANCELLABLE) {
      let after: PagePosition | undefined;
      do {
        const page = await store.listPayments(batch, { status, limit: PAGE_SIZE, after });
        const at = clock.now().toISOString();
        await inParallel(page.items, PARALLEL_WRITES, async (payment) => {
          const moved = await store.transitionPayment(payment, allowedFrom('payment', 'CANCELLED', [status]), 'CANCELLED', { reasonCode: null, at });
          if (moved) await entitlements.release(entitlementOf(payment));
        });
        after = page.next;
      } while (after);
    }
    const census = await store.censusPayments(batch, options.resumed ? ['CANCELLED'] : []);
    if (options.resumed) {
      await inParallel(census.collected, PARALLEL_WRITES, async (payment) => {
        await entitlements.release(entitlementOf({ ...payment, programCode: batch.programCode, period: batch.period }));
      });
    }
    if (CANCELLABLE.some((status) => census.counts[status] > 0)) continue;
    try {
      return await store.finishCancellation(batch.batchId, census, clock.now().toISOString());
    } catch (error) {
      if (error instanceof ConditionFailed && error.current) return error.current;
      throw error;
    }
  }
  // Still moving (a verification page racing the cancel): the reconciler finishes it later.
  return (await store.getBatch(batch.batchId)) ?? batch;
}
