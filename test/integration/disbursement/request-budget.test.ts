import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PAYMENT_GROUP_SIZE, type DisbursementMessage } from '../../../shared/app/disbursement.js';
import type { AccountStore } from '../../../shared/ports/account-store.js';
import type { BatchStore } from '../../../shared/ports/batch-store.js';
import { approver, Counter, decorate, paymentsOf, RecordingQueue, seedVerifiedBatch, startWorld, useCases, type Profile, type World } from '../../support/disbursement-harness.js';

/**
 * The request budget of disbursement (issue 6: per payment, at most one read and
 * few writes): a group message is read with one batched read of its payments and
 * one of its people's accounts, each payment costs its two status writes
 * (QUEUED, then the outcome), and the group one counter update, which returns
 * the batch so that completion needs no read of its own. Counted at the ports,
 * on the real adapters.
 */

let world: World;
beforeEach(async () => {
  world = await startWorld();
});
afterEach(async () => {
  await world?.stop();
});

function countingPorts(calls: Counter) {
  const batches = decorate<BatchStore>(world.batches, {
    getPayments: (keys) => (calls.hit('getPayments'), world.batches.getPayments(keys)),
    getPayment: (key) => (calls.hit('getPayment'), world.batches.getPayment(key)),
    getBatch: (batchId) => (calls.hit('getBatch'), world.batches.getBatch(batchId)),
    transitionPayment: (key, from, to, change) => (calls.hit(`transitionPayment ${to}`), world.batches.transitionPayment(key, from, to, change)),
    addToCounters: (batchId, deltas, now, rejections) => (calls.hit('addToCounters'), world.batches.addToCounters(batchId, deltas, now, rejections)),
    tallyPayments: (batch) => (calls.hit('tallyPayments'), world.batches.tallyPayments(batch)),
    claimHandOff: (key, now) => (calls.hit('claimHandOff'), world.batches.claimHandOff(key, now)),
  });
  const deaths = {
    deathOf: (personHash: string) => (calls.hit('deathOf'), world.deaths.deathOf(personHash)),
    deathsOf: (personHashes: readonly string[]) => (calls.hit('deathsOf'), world.deaths.deathsOf(personHashes)),
  };
  const accounts = decorate<AccountStore>(world.accounts, {
    getCurrent: (personHash) => (calls.hit('getCurrent'), world.accounts.getCurrent(personHash)),
    getCurrentMany: (personHashes) => (calls.hit('getCurrentMany'), world.accounts.getCurrentMany(personHashes)),
  });
  return { batches, accounts, deaths };
}

describe('disbursement request budget', () => {
  it('a full group: two batched reads, two status writes per payment (QUEUED claims the hand-off), one batched read of death markers, one counter update, no other read', async () => {
    // Prepare: one shard of exactly one group, every payment paid at once.
    const profiles: Profile[] = Array.from({ length: PAYMENT_GROUP_SIZE }, () => 'paid');
    const seeded = await seedVerifiedBatch(world, profiles, 1);
    const queue = new RecordingQueue<DisbursementMessage>();
    const app = useCases(world, queue);
    await app.approve(approver('checker'), seeded.batch.batchId);
    await app.handle(queue.take()[0]!); // the shard's fan-out
    const groups = queue.take();
    expect(groups).toEqual([{ kind: 'payments', payments: expect.any(Array) }]);
    const calls = new Counter();
    const counted = useCases(world, queue, countingPorts(calls));

    // Act
    await counted.handle(groups[0]!);

    // Assess
    expect(Object.fromEntries(['getPayments', 'getCurrentMany', 'transitionPayment QUEUED', 'claimHandOff', 'deathOf', 'deathsOf', 'transitionPayment PAID', 'addToCounters', 'getPayment', 'getBatch', 'getCurrent'].map((name) => [name, calls.get(name)]))).toEqual({
      getPayments: 1,
      // The hand-off (docs/decisions.md 131): claimed by the QUEUED write itself; the death markers read once for the group, after every claim.
      claimHandOff: 0,
      deathOf: 0,
      deathsOf: 1,
      getCurrentMany: 1,
      'transitionPayment QUEUED': PAYMENT_GROUP_SIZE,
      'transitionPayment PAID': PAYMENT_GROUP_SIZE,
      addToCounters: 1,
      getPayment: 0,
      getBatch: 0,
      getCurrent: 0,
    });
    // The last group settles the batch: one tally decides COMPLETED.
    expect(calls.get('tallyPayments')).toBe(1);
    expect((await world.batches.getBatch(seeded.batch.batchId))?.status).toBe('COMPLETED');
    expect([...(await paymentsOf(world, seeded)).values()].every((payment) => payment.status === 'PAID')).toBe(true);
  });

  it('people without an account are held, and their accounts looked up again in one batched read', async () => {
    // Prepare
    const seeded = await seedVerifiedBatch(world, ['no-account', 'paid', 'no-account'], 1);
    const queue = new RecordingQueue<DisbursementMessage>();
    const app = useCases(world, queue);
    await app.approve(approver('checker'), seeded.batch.batchId);
    await app.handle(queue.take()[0]!);
    const calls = new Counter();
    const counted = useCases(world, queue, countingPorts(calls));

    // Act
    await counted.handle(queue.take()[0]!);

    // Assess
    expect(calls.get('getCurrentMany')).toBe(2); // the group's accounts, then the held people's again
    expect(calls.get('getCurrent')).toBe(0);
    expect(calls.get('transitionPayment ON_HOLD')).toBe(2);
    expect(queue.take()).toEqual([]); // nobody linked meanwhile: nothing requeued
    const statuses = [...(await paymentsOf(world, seeded)).values()].map((payment) => payment.status).sort();
    expect(statuses).toEqual(['ON_HOLD', 'ON_HOLD', 'PAID']);
  });
});
