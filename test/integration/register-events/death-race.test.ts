import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRegisterEventUseCases, EventInFlightError, type RegisterEventDependencies } from '../../../shared/app/register-events.js';
import { createRepairUseCases } from '../../../shared/app/repair.js';
import type { DisbursementMessage } from '../../../shared/app/disbursement.js';
import type { VerificationMessage } from '../../../shared/app/verification.js';
import type { Clock } from '../../../shared/domain/dates.js';
import { ConflictError } from '../../../shared/domain/errors.js';
import type { DeathEventAnswer, DeathRegisteredEvent } from '../../../shared/domain/register-events.js';
import type { AccountStore } from '../../../shared/ports/account-store.js';
import type { BatchStore } from '../../../shared/ports/batch-store.js';
import type { PaymentProvider } from '../../../shared/ports/payment-provider.js';
import type { DeathMarkers } from '../../../shared/ports/register-events.js';
import {
  approver,
  decorate,
  drain,
  hash,
  InjectedCrash,
  ledger,
  paymentsOf,
  PROVINCE,
  RecordingQueue,
  seedVerifiedBatch,
  startWorld,
  type World,
} from '../../support/disbursement-harness.js';
import { createDisbursementUseCases } from '../../../shared/app/disbursement.js';

/**
 * A death racing a disbursement (issue 16), through the real DynamoDB wire
 * protocol (dynalite) and the sandbox provider: the register's event arrives
 * at each point of the worker's hand-off, and whichever conditional write wins,
 * nothing for a period after the death reaches the provider once the event's
 * marker is recorded; what was handed over before is left alone and listed.
 * Then an event whose delivery dies part way is finished by the reconciler.
 */

let world: World;
beforeEach(async () => {
  world = await startWorld();
});
afterEach(async () => {
  await world?.stop();
});

function deathOf(personalId: string, eventId = `ev-${personalId}`): DeathRegisteredEvent {
  return { eventId, type: 'DEATH_REGISTERED', personalId, dateOfDeath: '2026-10-20', registeredAt: '2026-10-21T02:00:00.000Z' };
}

/** The disbursement use cases and the register-event use case over the world, with some ports decorated. */
function apps(
  ports: {
    batches?: BatchStore;
    deaths?: DeathMarkers;
    provider?: PaymentProvider;
    accounts?: AccountStore;
    clock?: Clock;
    createFuneralBatch?: RegisterEventDependencies['createFuneralBatch'];
  } = {},
) {
  const queue = new RecordingQueue<DisbursementMessage>();
  const disbursement = createDisbursementUseCases({
    batches: ports.batches ?? world.batches,
    accounts: world.accounts,
    entitlements: world.entitlements,
    provider: ports.provider ?? world.provider,
    queue,
    clock: world.clock,
    deaths: ports.deaths ?? world.deaths,
  });
  const registerEvents = createRegisterEventUseCases({
    events: world.deaths,
    batches: world.batches,
    accounts: ports.accounts ?? world.accounts,
    entitlements: world.entitlements,
    registry: { lookup: async () => new Map() },
    hash,
    clock: ports.clock ?? world.clock,
    createFuneralBatch: ports.createFuneralBatch ?? (() => Promise.reject(new Error('no funeral in these tests'))),
  });
  return { queue, disbursement, registerEvents };
}

/** The batch store, with the register's death event of `personalId` received once, just before or just after the worker's first QUEUED write. */
function eventAtQueuedWrite(when: 'before' | 'after', personalId: string, received: (answer: DeathEventAnswer) => void): BatchStore {
  const late = apps();
  let sent = false;
  const event = async () => {
    if (sent) return;
    sent = true;
    received(await late.registerEvents.receive(deathOf(personalId)));
  };
  return decorate<BatchStore>(world.batches, {
    transitionPayment: async (key, from, to, change) => {
      if (to === 'QUEUED' && when === 'before') await event();
      const moved = await world.batches.transitionPayment(key, from, to, change);
      if (to === 'QUEUED' && when === 'after') await event();
      return moved;
    },
  });
}

describe('a death racing the disbursement worker', () => {
  it('the event first (before the QUEUED write that claims the hand-off): the payment is cancelled and never sent', async () => {
    const seeded = await seedVerifiedBatch(world, ['paid'], 1);
    const target = seeded.payments[0]!;
    let answer: DeathEventAnswer | undefined;
    const batches = eventAtQueuedWrite('before', target.personalId, (received) => (answer ??= received));
    const { queue, disbursement } = apps({ batches });
    await disbursement.approve(approver('hcm-checker'), seeded.batch.batchId);
    await drain(disbursement, queue);

    expect(answer).toMatchObject({ cancelledPayments: 1, paidAfterDeath: [] });
    expect((await paymentsOf(world, seeded)).get(target.paymentId)).toMatchObject({ status: 'CANCELLED', reasonCode: 'DECEASED' });
    expect(await ledger(world)).toEqual([]);
    const batch = await world.batches.getBatch(seeded.batch.batchId);
    expect(batch).toMatchObject({ status: 'COMPLETED', counts: expect.objectContaining({ CANCELLED: 1, QUEUED: 0, PAID: 0 }) });
  });

  it('the claim first, the event before the worker reads the marker: the event leaves it, the worker cancels it, nothing is sent', async () => {
    const seeded = await seedVerifiedBatch(world, ['paid'], 1);
    const target = seeded.payments[0]!;
    let answer: DeathEventAnswer | undefined;
    // Right after the QUEUED write (which claims the hand-off), before the worker reads the markers.
    const batches = eventAtQueuedWrite('after', target.personalId, (received) => (answer ??= received));
    const { queue, disbursement } = apps({ batches });
    await disbursement.approve(approver('hcm-checker'), seeded.batch.batchId);
    await drain(disbursement, queue);

    expect(await ledger(world), 'transfers the provider received').toEqual([]);
    expect((await paymentsOf(world, seeded)).get(target.paymentId)).toMatchObject({ status: 'CANCELLED', reasonCode: 'DECEASED' });
    // Handed off (claimed) when the event came: not the event's to cancel, listed for the province.
    expect(answer).toMatchObject({ cancelledPayments: 0, paidAfterDeath: [{ paymentId: target.paymentId, status: 'QUEUED' }] });
  });

  it('the worker read no marker before the event was recorded: the transfer goes, is left as it is, and is flagged', async () => {
    const seeded = await seedVerifiedBatch(world, ['paid'], 1);
    const target = seeded.payments[0]!;
    let answer: DeathEventAnswer | undefined;
    const late = apps();
    const provider = decorate<PaymentProvider>(world.provider, {
      send: async (instruction) => {
        answer ??= await late.registerEvents.receive(deathOf(target.personalId));
        return world.provider.send(instruction);
      },
    });
    const { queue, disbursement } = apps({ provider });
    await disbursement.approve(approver('hcm-checker'), seeded.batch.batchId);
    await drain(disbursement, queue);

    expect(answer).toMatchObject({ cancelledPayments: 0, paidAfterDeath: [{ paymentId: target.paymentId, status: 'QUEUED' }] });
    const after = (await paymentsOf(world, seeded)).get(target.paymentId);
    expect(after).toMatchObject({ status: 'PAID', paidAfterDeath: '2026-10-20' });
    expect((await ledger(world)).map((entry) => entry.reference)).toEqual([target.paymentId]);
  });

  it('an event reading a stale copy (before the claim) while the worker sends: the conditional cancel refuses, nothing at the provider is touched', async () => {
    const seeded = await seedVerifiedBatch(world, ['paid'], 1);
    const target = seeded.payments[0]!;
    let answer: DeathEventAnswer | undefined;
    // The event's read of the person's payments is as it was before the worker's claim (an index lagging behind).
    const stale = decorate<BatchStore>(world.batches, {
      listPaymentsByPerson: async (personHash, query) => {
        const page = await world.batches.listPaymentsByPerson(personHash, query);
        return { ...page, items: page.items.map((payment) => ({ ...payment, handOffs: undefined })) };
      },
    });
    const late = createRegisterEventUseCases({
      events: world.deaths,
      batches: stale,
      accounts: world.accounts,
      entitlements: world.entitlements,
      registry: { lookup: async () => new Map() },
      hash,
      clock: world.clock,
      createFuneralBatch: () => Promise.reject(new Error('no funeral in these tests')),
    });
    const provider = decorate<PaymentProvider>(world.provider, {
      send: async (instruction) => {
        answer ??= await late.receive(deathOf(target.personalId));
        return world.provider.send(instruction);
      },
    });
    const { queue, disbursement } = apps({ provider });
    await disbursement.approve(approver('hcm-checker'), seeded.batch.batchId);
    await drain(disbursement, queue);

    // The provider took it: the payment records that (not CANCELLED over a transfer that went), and the event lists it.
    expect((await ledger(world)).map((entry) => entry.reference)).toEqual([target.paymentId]);
    expect((await paymentsOf(world, seeded)).get(target.paymentId), 'the payment the provider took').toMatchObject({ status: 'PAID' });
    expect(answer).toMatchObject({ cancelledPayments: 0, paidAfterDeath: [{ paymentId: target.paymentId }] });
  });

  it('a later delivery of a payment the event found handed off: the provider never took it, so it is cancelled, not failed', async () => {
    const seeded = await seedVerifiedBatch(world, ['down'], 1); // the sandbox provider fails transiently every time
    const target = seeded.payments[0]!;
    const { queue, disbursement, registerEvents } = apps();
    await disbursement.approve(approver('hcm-checker'), seeded.batch.batchId);
    // First deliveries: fan-out, then one failing hand-off (the message would be redelivered).
    for (let round = 0; round < 2; round++) {
      for (const message of queue.take()) await disbursement.handle(message).catch(() => queue.send([message]));
    }
    expect((await paymentsOf(world, seeded)).get(target.paymentId)).toMatchObject({ status: 'QUEUED', handOffs: 1 });
    const answer = await registerEvents.receive(deathOf(target.personalId));
    expect(answer).toMatchObject({ cancelledPayments: 0, paidAfterDeath: [{ paymentId: target.paymentId, status: 'QUEUED' }] });
    await drain(disbursement, queue);
    expect((await paymentsOf(world, seeded)).get(target.paymentId)).toMatchObject({ status: 'CANCELLED', reasonCode: 'DECEASED' });
    expect(await ledger(world)).toEqual([]);
  });
});

/** The reconciler a minute later (past its quiet period), with its own register-event use case on that clock. */
function reconcilerLater(ports: Parameters<typeof apps>[0] = {}) {
  const later: Clock = { now: () => new Date(world.clock.now().getTime() + 60_000) };
  const resumed = apps({ ...ports, clock: later });
  const reconciler = createRepairUseCases({
    batches: world.batches,
    entitlements: world.entitlements,
    accounts: world.accounts,
    verificationQueue: new RecordingQueue<VerificationMessage>(),
    disbursementQueue: resumed.queue,
    clock: later,
    settings: { quietMs: 1_000, redriveAfterMs: 300_000, recheckMs: 1_000 },
    registerEvents: resumed.registerEvents,
  });
  return { reconciler, resumed };
}

describe('an event whose delivery dies part way', () => {
  it('is finished by the reconciler: link closed, counters recounted, the same answer on a replay', async () => {
    const seeded = await seedVerifiedBatch(world, ['paid', 'paid'], 1);
    const target = seeded.payments[0]!;
    let crashed = false;
    const accounts = decorate<AccountStore>(world.accounts, {
      unlink: async (personHash, unlinking) => {
        if (!crashed) {
          crashed = true;
          throw new InjectedCrash('after the payments were cancelled, before the link was closed');
        }
        return world.accounts.unlink(personHash, unlinking);
      },
    });
    const dying = apps({ accounts });
    await expect(dying.registerEvents.receive(deathOf(target.personalId))).rejects.toThrow(InjectedCrash);
    expect(await world.accounts.getCurrent(target.personHash)).toBeDefined();

    const { reconciler, resumed } = reconcilerLater();
    const report = await reconciler.run();
    expect(report.repairs.map((repair) => repair.kind)).toContain('register-event-finished');
    expect(await world.accounts.getCurrent(target.personHash)).toBeUndefined();
    expect((await world.accounts.history(target.personHash))[0]?.unlinkedAt).not.toBeNull();
    expect((await paymentsOf(world, seeded)).get(target.paymentId)).toMatchObject({ status: 'CANCELLED', reasonCode: 'DECEASED' });
    const batch = await world.batches.getBatch(seeded.batch.batchId);
    expect(batch?.counts).toMatchObject({ VERIFIED: 1, CANCELLED: 1 });
    // Nothing left to finish; a replay answers as the finished event did.
    expect((await reconciler.run()).repairs.map((repair) => repair.kind)).not.toContain('register-event-finished');
    expect(await resumed.registerEvents.receive(deathOf(target.personalId))).toEqual({ eventId: `ev-${target.personalId}`, cancelledPayments: 1, funeralAllowance: null, paidAfterDeath: [] });
  });

  it('while an earlier delivery still creates its funeral batch: 409 with Retry-After for the event, skipped by the reconciler, finished later', async () => {
    const seeded = await seedVerifiedBatch(world, ['paid', 'paid'], 1);
    const target = seeded.payments[0]!;
    const arranger = seeded.payments[1]!;
    const event: DeathRegisteredEvent = { ...deathOf(target.personalId), funeral: { arrangerPersonalId: arranger.personalId, arrangerName: arranger.fullName, provinceCode: PROVINCE } };
    // The create's own answer while another request holds the batchRef's lease (shared/app/batches.ts).
    let leaseHeld = true;
    const created: string[] = [];
    const createFuneralBatch: RegisterEventDependencies['createFuneralBatch'] = async (request) => {
      if (leaseHeld) throw new ConflictError('An identical request is creating this batch right now.', { retryAfterSeconds: 7, extensions: { batchId: 'FUNERAL' } });
      created.push(request.batchRef);
      return { ...seeded.batch, batchId: 'FUNERAL-BATCH' };
    };
    const { registerEvents } = apps({ createFuneralBatch });
    const { reconciler } = reconcilerLater({ createFuneralBatch });

    const inFlight = await registerEvents.receive(event).catch((error: unknown) => error);
    expect(inFlight).toBeInstanceOf(EventInFlightError);
    expect(inFlight).toMatchObject({ status: 409, code: 'CONFLICT', retryAfterSeconds: 7, extensions: undefined });
    expect((inFlight as Error).message).toContain('this event');
    // Every step before the funeral is done; the reconciler's run goes on past the event, and leaves it pending.
    expect((await paymentsOf(world, seeded)).get(target.paymentId)).toMatchObject({ status: 'CANCELLED', reasonCode: 'DECEASED' });
    const skipped = await reconciler.run();
    expect(skipped.repairs.map((repair) => repair.kind)).not.toContain('register-event-finished');
    expect(created).toEqual([]);

    leaseHeld = false;
    const finished = await reconciler.run();
    expect(finished.repairs.filter((repair) => repair.kind === 'register-event-finished')).toEqual([{ batchId: '', kind: 'register-event-finished', count: 1 }]);
    expect(await registerEvents.receive(event)).toEqual({ eventId: event.eventId, cancelledPayments: 1, funeralAllowance: { batchId: 'FUNERAL-BATCH' }, paidAfterDeath: [] });
    expect(created).toHaveLength(1);
  });
});
