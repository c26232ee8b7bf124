import { ulid } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVerificationUseCases, type VerificationMessage } from '../../../shared/app/verification.js';
import { paymentIdentity, type BatchRecord, type PaymentRecord } from '../../../shared/domain/batch.js';
import type { BatchStore } from '../../../shared/ports/batch-store.js';
import type { EntitlementStore } from '../../../shared/ports/entitlement-store.js';
import type { Citizen, PopulationRegistry } from '../../../shared/ports/population-registry.js';
import { batchRecordOf, decorate, entitlementHolder, hash, InjectedCrash, PERIOD, PROGRAM, PROVINCE, RecordingQueue, startWorld, type World } from '../../support/disbursement-harness.js';
import { makePersonalId } from '../../support/personal-ids.js';
import { paymentRecord } from '../../support/records.js';

/**
 * One entitlement, one payment, when one person appears twice in a batch and
 * the two items are verified in parallel shards (domain.md: the item uploaded
 * first keeps the entitlement). Real adapters on dynalite; the verification
 * worker's pages are delivered by the test, crashes injected by decorating the
 * batch store.
 */

let world: World;
beforeEach(async () => {
  world = await startWorld();
});
afterEach(async () => {
  await world?.stop();
});

const person: Citizen = { personalId: makePersonalId({ gender: 'F', birthYear: 1952, serial: 424_242 }), fullName: 'Võ Thị Lan', dateOfBirth: '1952-06-01', gender: 'F', dateOfDeath: null };
const registry: PopulationRegistry = { lookup: async (ids) => new Map(ids.filter((id) => id === person.personalId).map((id) => [id, person])) };

/** A SUBMITTED batch over `shardCount` shards holding the same person twice: `earlier` (seq 10,001) and `later` (seq 10,002), in different shards. */
async function batchWithDuplicate(): Promise<{ batch: BatchRecord; earlier: PaymentRecord; later: PaymentRecord }> {
  const batchId = ulid();
  const at = '2026-11-20T03:00:00.000Z';
  const shardCount = 2;
  // Find two refs whose keyed hashes land in different shards.
  const refs: { ref: string; shard: number }[] = [];
  for (let n = 0; refs.length < 2 && n < 100; n += 1) {
    const { shard } = paymentIdentity(hash, batchId, `DUP-${n}`, shardCount);
    if (!refs.some((entry) => entry.shard === shard)) refs.push({ ref: `DUP-${n}`, shard });
  }
  const batchKeys = { batchId, shardCount, provinceCode: PROVINCE, programCode: PROGRAM, period: PERIOD };
  const [earlier, later] = refs.map(({ ref }, index) => paymentRecord(hash, batchKeys, { paymentRef: ref, seq: 10_001 + index, amount: 500_000, payee: person, at })) as [
    PaymentRecord,
    PaymentRecord,
  ];
  const batch = batchRecordOf(batchId, [earlier, later], { status: 'SUBMITTED', shardCount, at });
  await world.batches.putBatchIfAbsent(batch);
  await world.batches.putPayments([earlier, later]);
  return { batch, earlier, later };
}

function verification(batches: BatchStore = world.batches, entitlements: EntitlementStore = world.entitlements) {
  return createVerificationUseCases({ batches, entitlements, registry, queue: new RecordingQueue<VerificationMessage>(), clock: world.clock });
}

const statusOf = async (payment: PaymentRecord) => (await world.batches.getPayment(payment))?.status;

describe('duplicate entitlement within one batch, verified in parallel shards', () => {
  it('the earlier item takes the entitlement over from the later one, which is rejected naming it', async () => {
    // Prepare: the later item's shard is verified first, so it claims first
    const { batch, earlier, later } = await batchWithDuplicate();
    const app = verification();

    // Act
    await app.verifyPage({ batchId: batch.batchId, shard: later.shard });
    await app.verifyPage({ batchId: batch.batchId, shard: earlier.shard });

    // Assess
    expect(await statusOf(earlier)).toBe('VERIFIED');
    expect(await world.batches.getPayment(later)).toMatchObject({ status: 'REJECTED', reasonCode: 'DUPLICATE_ENTITLEMENT', duplicateOf: earlier.paymentId });
    expect(await entitlementHolder(world, earlier)).toBe(earlier.paymentId);
    expect((await world.batches.getBatch(batch.batchId))?.status).toBe('AWAITING_APPROVAL');
  });

  it('a crash after rejecting the later item and before verifying the earlier one is finished by the redelivered page', async () => {
    // Prepare: the later item holds the entitlement; the earlier one's first delivery dies right after
    // the takeover rejected the later item, before its own status write.
    const { batch, earlier, later } = await batchWithDuplicate();
    await verification().verifyPage({ batchId: batch.batchId, shard: later.shard });
    const crashing = decorate<BatchStore>(world.batches, {
      transitionPayment: async (key, from, to, change) => {
        if (to === 'VERIFIED') throw new InjectedCrash('before the VERIFIED write');
        return world.batches.transitionPayment(key, from, to, change);
      },
    });

    // Act
    await expect(verification(crashing).verifyPage({ batchId: batch.batchId, shard: earlier.shard })).rejects.toThrow(InjectedCrash);
    const between = { earlier: await statusOf(earlier), later: await statusOf(later) };
    await verification().verifyPage({ batchId: batch.batchId, shard: earlier.shard }); // the redelivery

    // Assess: never two VERIFIED payments for one entitlement, and the redelivery completed the job
    expect(between).toEqual({ earlier: 'RECEIVED', later: 'REJECTED' });
    expect(await statusOf(earlier)).toBe('VERIFIED');
    expect(await statusOf(later)).toBe('REJECTED');
    expect(await entitlementHolder(world, earlier)).toBe(earlier.paymentId);
  });
});
