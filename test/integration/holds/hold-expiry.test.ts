import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DisbursementMessage } from '../../../shared/app/disbursement.js';
import { createNotices } from '../../../shared/app/notices.js';
import { createRepairUseCases } from '../../../shared/app/repair.js';
import type { VerificationMessage } from '../../../shared/app/verification.js';
import type { Clock } from '../../../shared/domain/dates.js';
import type { Notice } from '../../../shared/ports/notifier.js';
import { approver, drain, entitlementHolder, paymentsOf, RecordingQueue, seedVerifiedBatch, startWorld, useCases, type World } from '../../support/disbursement-harness.js';

/**
 * Held-payment expiry (issue 13) through dynalite: past half its program's
 * holdDays a held payment's beneficiary is reminded once, however often the
 * reconciler runs; past holdDays it is CANCELLED HOLD_EXPIRED, its entitlement
 * released, and the batch's counters still are a recount of its payments.
 */

let world: World;
beforeEach(async () => {
  world = await startWorld();
});
afterEach(async () => {
  await world?.stop();
});

const DAY = 86_400_000;

describe('held-payment expiry', () => {
  it('reminds once halfway, then cancels HOLD_EXPIRED and releases the entitlement (SOCIAL_ALLOWANCE: 90 days)', async () => {
    const queue = new RecordingQueue<DisbursementMessage>();
    const seeded = await seedVerifiedBatch(world, ['no-account', 'paid']);
    const app = useCases(world, queue);
    await app.approve(approver('hcm-checker'), seeded.batch.batchId);
    await drain(app, queue);
    const held = [...(await paymentsOf(world, seeded)).values()].find((payment) => payment.status === 'ON_HOLD')!;
    expect(held).toBeDefined();

    const sent: Notice[] = [];
    let offset = 0;
    const clock: Clock = { now: () => new Date(world.clock.now().getTime() + offset) };
    const reconciler = createRepairUseCases({
      batches: world.batches,
      entitlements: world.entitlements,
      accounts: world.accounts,
      verificationQueue: new RecordingQueue<VerificationMessage>(),
      disbursementQueue: queue,
      clock,
      settings: { quietMs: 1_000, redriveAfterMs: 300_000, recheckMs: 1_000 },
      notices: createNotices({ batches: world.batches, notifier: { send: async (notice) => void sent.push(notice) }, clock }),
    });

    offset = 30 * DAY;
    expect((await reconciler.run()).holdRemindersSent).toBe(0);
    offset = 46 * DAY;
    expect((await reconciler.run()).holdRemindersSent).toBe(1);
    expect((await reconciler.run()).holdRemindersSent).toBe(0); // once
    expect(sent.map((notice) => notice.event)).toEqual(['HOLD_EXPIRING']);
    expect(sent[0]!.text).toMatch(/sẽ bị hủy sau ngày \d{4}-\d{2}-\d{2}/);
    expect((await paymentsOf(world, seeded)).get(held.paymentId)!.status).toBe('ON_HOLD');

    offset = 91 * DAY;
    const report = await reconciler.run();
    expect(report.holdsExpired).toBe(1);
    const after = (await paymentsOf(world, seeded)).get(held.paymentId)!;
    expect(after).toMatchObject({ status: 'CANCELLED', reasonCode: 'HOLD_EXPIRED' });
    expect(await entitlementHolder(world, after)).toBeUndefined();
    expect((await reconciler.run()).holdsExpired).toBe(0);
    const batch = (await world.batches.getBatch(seeded.batch.batchId))!;
    const tally = await world.batches.tallyPayments(seeded.batch);
    expect(batch.counts).toEqual(tally.counts);
    expect(batch.amounts).toEqual(tally.amounts);
    expect(batch.counts.CANCELLED).toBe(1);
  });
});
