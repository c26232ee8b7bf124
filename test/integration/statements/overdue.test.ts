import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCallbackUseCases } from '../../../shared/app/callbacks.js';
import type { DisbursementMessage } from '../../../shared/app/disbursement.js';
import { createStatementUseCases } from '../../../shared/app/statements.js';
import { transferRef } from '../../../shared/domain/batch.js';
import { settlementWindowHours } from '../../../shared/domain/catalogues.js';
import type { Clock } from '../../../shared/domain/dates.js';
import { approver, drain, paymentsOf, RecordingQueue, seedVerifiedBatch, startWorld, useCases, type World } from '../../support/disbursement-harness.js';

/**
 * PAID transfers that no settlement statement confirmed within their provider's
 * settlement window (issue 13, deliverable 5: flagged, and alarmed when
 * deployed): the PAID write puts a transfer in a sparse index, a confirming or
 * returning statement line takes it out, and the reconciler counts what is past
 * its window (its metric, OverdueUnconfirmedTransfers, is what the stack alarms
 * on). Through the real DynamoDB wire protocol (dynalite).
 */

let world: World;
beforeEach(async () => {
  world = await startWorld();
});
afterEach(async () => {
  await world?.stop();
});

const hours = (clock: Clock, n: number) => new Date(clock.now().getTime() + n * 3_600_000).toISOString();

describe('PAID transfers no statement confirmed in time', () => {
  it('are counted once past their window; a confirming line and a returning line take them out; a mismatch keeps one in', async () => {
    // Prepare: four payments PAID
    const seeded = await seedVerifiedBatch(world, ['paid', 'paid', 'paid', 'paid'], 1);
    const queue = new RecordingQueue<DisbursementMessage>();
    const disbursement = useCases(world, queue);
    await disbursement.approve(approver('checker'), seeded.batch.batchId);
    await drain(disbursement, queue);
    const paid = [...(await paymentsOf(world, seeded)).values()];
    expect(paid.map((payment) => payment.status)).toEqual(['PAID', 'PAID', 'PAID', 'PAID']);
    const window = settlementWindowHours(paid[0]!.payout!.provider.code);

    // Within the window: none overdue. Past it: all four.
    expect(await world.batches.countOverdueUnconfirmed(hours(world.clock, window - 1))).toBe(0);
    expect(await world.batches.countOverdueUnconfirmed(hours(world.clock, window + 1))).toBe(4);

    // Act: a statement confirms one, returns one, and states a wrong amount for a third
    const callbacks = createCallbackUseCases({ batches: world.batches, disbursement, clock: world.clock });
    const statements = createStatementUseCases({ batches: world.batches, callbacks, clock: world.clock });
    const [confirmed, returned, mismatched] = paid as [(typeof paid)[0], (typeof paid)[0], (typeof paid)[0]];
    const valueDate = world.clock.now().toISOString().slice(0, 10);
    const result = await statements.importStatement(confirmed.payout!.provider.code, {
      statementId: 'ST-overdue-1',
      valueDate,
      lines: [
        { transferRef: transferRef(confirmed.paymentId, 1), amount: confirmed.amount, status: 'SETTLED' },
        { transferRef: transferRef(returned.paymentId, 1), amount: returned.amount, status: 'RETURNED', reasonCode: 'ACCOUNT_CLOSED' },
        { transferRef: transferRef(mismatched.paymentId, 1), amount: mismatched.amount + 1, status: 'SETTLED' },
      ],
    } as Parameters<typeof statements.importStatement>[1]);
    expect(result).toMatchObject({ matched: 1, returned: 1, amountMismatches: [{ transferRef: transferRef(mismatched.paymentId, 1) }] });

    // Assess: the unmentioned one and the mismatched one stay unconfirmed
    expect(await world.batches.countOverdueUnconfirmed(hours(world.clock, window + 1))).toBe(2);
    expect(await world.batches.countOverdueUnconfirmed(hours(world.clock, window - 1))).toBe(0);
  });
});
