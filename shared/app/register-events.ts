import { personHash as hashPerson, type BatchRecord, type PaymentRecord } from '../domain/batch.js';
import { findProgram } from '../domain/catalogues.js';
import { vietnamDate, type Clock } from '../domain/dates.js';
import { ConflictError, ValidationFailedError } from '../domain/errors.js';
import type { KeyedHash } from '../domain/keyed-hash.js';
import { allowedFrom, type PaymentStatus } from '../domain/lifecycle.js';
import { parsePersonalId } from '../domain/personal-id.js';
import { eventFingerprint, FUNERAL_PROGRAM, isAfterDeath, type DeathEventAnswer, type DeathRegisteredEvent } from '../domain/register-events.js';
import type { CreateBatchRequest } from '../domain/schemas.js';
import type { AccountStore } from '../ports/account-store.js';
import type { BatchStore, CounterDelta, PagePosition } from '../ports/batch-store.js';
import type { EntitlementStore } from '../ports/entitlement-store.js';
import type { PopulationRegistry } from '../ports/population-registry.js';
import type { RegisterEventRecord, RegisterEventStore } from '../ports/register-events.js';
import type { Moved } from './disbursement.js';

/**
 * Events from the population register (api.md 1.1, "Events from the population
 * register"): a death stops what must not be paid and prepares the funeral
 * allowance. One use case, whatever feeds it: the signed HTTP route, a queue
 * the register pushes to (SQS directly, or EventBridge targeting it), or the
 * reconciler finishing an event whose delivery died.
 *
 * The steps, each idempotent, so that any delivery (or the reconciler) can run
 * them again from the start:
 * 1. claim the eventId (a conditional put, PENDING, in the reconciler's index);
 *    same eventId, other content: 409; DONE already: the stored answer;
 * 2. the death marker (first one holds): from here on the disbursement worker
 *    hands nothing over for a period after the death (disbursement.ts);
 * 3. every payment of the person for a period after the month of death:
 *    RECEIVED, VERIFIED, ON_HOLD, and QUEUED not yet handed off become
 *    CANCELLED DECEASED (status-guarded writes; the batch is put in the
 *    reconciler's watch first so that its counters are repaired if this dies
 *    before counting); SENT and PAID are flagged and listed for the province;
 * 4. the account link is closed (history kept);
 * 5. with `funeral`: a one-payment batch of FUNERAL_ALLOWANCE in the province,
 *    created as a province's create is (idempotent by its batchRef), sealed, so
 *    that it is verified against the register and waits for approval;
 * 6. DONE, with the answer.
 */

/** Who acts in the audit trail and creates the funeral batch (never an approver: approval is the province's). */
export const REGISTER_ACTOR = 'system:register-events';

/** 409 CONFLICT with Retry-After: another delivery of the same event is at work; asking again gets the event's answer. */
export class EventInFlightError extends ConflictError {}

export interface RegisterEventDependencies {
  events: RegisterEventStore;
  batches: BatchStore;
  accounts: AccountStore;
  entitlements: EntitlementStore;
  registry: PopulationRegistry;
  hash: KeyedHash;
  clock: Clock;
  /** Creates (or finds, for the same request) a province's batch, sealed at once: the batch use case's createBatch. */
  createFuneralBatch: (request: CreateBatchRequest) => Promise<BatchRecord>;
}

/** Statuses a death cancels outright (nothing was handed to a provider). QUEUED is cancelled only without a hand-off. */
const UNSENT: readonly PaymentStatus[] = ['RECEIVED', 'VERIFIED', 'ON_HOLD'];
const REACHED_PROVIDER: readonly PaymentStatus[] = ['SENT', 'PAID', 'RETURNED'];

export function createRegisterEventUseCases(deps: RegisterEventDependencies) {
  const { events, batches, accounts, entitlements, clock } = deps;

  const releaseOf = (payment: PaymentRecord) =>
    entitlements.release({ personHash: payment.personHash, programCode: payment.programCode, period: payment.period, paymentId: payment.paymentId });

  /**
   * One payment after the death: cancelled when nothing was handed over, else
   * flagged. Returns what it is now ('cancelled' also for one an earlier run,
   * or the worker's hand-off check, cancelled).
   */
  async function applyDeath(payment: PaymentRecord, dateOfDeath: string, moves: Moved[]): Promise<'cancelled' | 'reached' | 'other'> {
    let current: PaymentRecord | undefined = payment;
    for (let attempt = 0; current && attempt < 4; attempt++) {
      const status: PaymentStatus = current.status;
      if (status === 'CANCELLED') {
        // Cancelled for the death earlier (a resumed event, or the worker at hand-off): give the entitlement back again (a no-op unless lost).
        if (current.reasonCode === 'DECEASED') {
          await releaseOf(current);
          return 'cancelled';
        }
        return 'other';
      }
      if (REACHED_PROVIDER.includes(status) || (status === 'QUEUED' && (current.handOffs ?? 0) > 0)) {
        if (current.paidAfterDeath !== dateOfDeath) await batches.flagPaidAfterDeath(current, dateOfDeath);
        return 'reached';
      }
      if (!UNSENT.includes(status) && status !== 'QUEUED') return 'other'; // REJECTED, FAILED: nothing to stop
      // Watched first: a death between the status write and the counters is repaired by the reconciler's recount.
      await batches.watchBatch(current.batchId);
      const moved = await batches.transitionPayment(current, allowedFrom('payment', 'CANCELLED', [status]), 'CANCELLED', {
        reasonCode: 'DECEASED',
        at: clock.now().toISOString(),
        ...(status === 'QUEUED' ? { unlessHandedOff: true } : {}),
      });
      if (moved) {
        await releaseOf(moved);
        moves.push({ batchId: moved.batchId, from: status, to: 'CANCELLED', amount: moved.amount });
        return 'cancelled';
      }
      // It moved meanwhile (verified, queued, handed off): judge it again as it is now.
      current = await batches.getPayment(current);
    }
    return 'other';
  }

  /**
   * Counts the cancellations on their batches (one update per batch). It does
   * not complete a batch from a tally: the disbursement worker may have moved
   * one of these payments (VERIFIED -> QUEUED) without counting it yet, and a
   * completion now would fix counters that its count then moves again. The
   * worker's own count completes the batch, or the reconciler does (the batch
   * is in its watch, put there before the cancel).
   */
  async function countMoves(moves: Moved[]): Promise<void> {
    const byBatch = new Map<string, CounterDelta[]>();
    for (const moved of moves) {
      const list = byBatch.get(moved.batchId) ?? [];
      list.push({ status: moved.from, count: -1, amount: -moved.amount }, { status: moved.to, count: 1, amount: moved.amount });
      byBatch.set(moved.batchId, list);
    }
    for (const [batchId, deltas] of byBatch) await batches.addToCounters(batchId, deltas, clock.now().toISOString());
  }

  /** Payment item of the funeral allowance: the arranger as the register knows them, the name as the event gives it (verification compares them). */
  async function funeralRequest(event: DeathRegisteredEvent, eventKey: string): Promise<CreateBatchRequest | undefined> {
    const funeral = event.funeral;
    if (!funeral) return undefined;
    const program = findProgram(FUNERAL_PROGRAM);
    if (!program) throw new Error('The programs catalogue has no FUNERAL_ALLOWANCE');
    const arranger = (await deps.registry.lookup([funeral.arrangerPersonalId])).get(funeral.arrangerPersonalId);
    const parsed = parsePersonalId(funeral.arrangerPersonalId);
    // Unknown to the register: the item still goes in, and verification rejects it (ID_NOT_FOUND, INVALID_ID) for the province to see.
    const dateOfBirth = arranger?.dateOfBirth ?? `${parsed.ok ? parsed.birthYear : 1900}-01-01`;
    const gender = arranger?.gender ?? (parsed.ok ? parsed.gender : undefined);
    const ref = `FUNERAL-${eventKey.slice(0, 32)}`;
    return {
      batchRef: ref,
      provinceCode: funeral.provinceCode,
      programCode: FUNERAL_PROGRAM,
      period: event.dateOfDeath.slice(0, 7),
      control: { itemCount: 1, totalAmount: program.maxAmount },
      payments: [
        {
          paymentRef: ref,
          personalId: funeral.arrangerPersonalId,
          fullName: funeral.arrangerName,
          dateOfBirth,
          ...(gender ? { gender } : {}),
          amount: program.maxAmount,
        },
      ],
    };
  }

  /**
   * The funeral batch's create. An earlier delivery of the event that is still creating it (or died doing so,
   * until its lease ends) holds the batchRef: this delivery then says the event is being applied, with the
   * create's Retry-After, not the create's own conflict (a register must not read it as "another content").
   */
  async function createFuneral(request: CreateBatchRequest): Promise<BatchRecord> {
    try {
      return await deps.createFuneralBatch(request);
    } catch (error) {
      if (error instanceof ConflictError && error.retryAfterSeconds !== undefined) {
        throw new EventInFlightError('An earlier delivery of this event is still being applied. Ask again after Retry-After: the answer will be the event\'s; nothing was changed twice.', {
          retryAfterSeconds: error.retryAfterSeconds,
        });
      }
      throw error;
    }
  }

  /** Every step after the claim; idempotent (see the module comment). */
  async function process(record: RegisterEventRecord): Promise<DeathEventAnswer> {
    const { event, personHash, eventKey } = record;
    await events.recordDeath({ personHash, dateOfDeath: event.dateOfDeath, eventKey, recordedAt: clock.now().toISOString() });

    const moves: Moved[] = [];
    let cancelledPayments = 0;
    const paidAfterDeath: DeathEventAnswer['paidAfterDeath'] = [];
    let after: PagePosition | undefined;
    do {
      const page = await batches.listPaymentsByPerson(personHash, { limit: 100, after });
      for (const payment of page.items) {
        if (!isAfterDeath(payment.period, event.dateOfDeath)) continue;
        const outcome = await applyDeath(payment, event.dateOfDeath, moves);
        if (outcome === 'cancelled') cancelledPayments++;
        if (outcome === 'reached') {
          const now = (await batches.getPayment(payment)) ?? payment;
          paidAfterDeath.push({ paymentId: now.paymentId, batchId: now.batchId, provinceCode: now.provinceCode, status: now.status });
        }
      }
      after = page.next;
    } while (after);
    await countMoves(moves);

    await accounts.unlink(personHash, { at: clock.now().toISOString(), by: REGISTER_ACTOR, consentRef: null });

    const request = await funeralRequest(event, eventKey);
    const funeralBatch = request ? await createFuneral(request) : undefined;

    const answer: DeathEventAnswer = {
      eventId: event.eventId,
      cancelledPayments,
      funeralAllowance: funeralBatch ? { batchId: funeralBatch.batchId } : null,
      paidAfterDeath: paidAfterDeath.sort((a, b) => a.paymentId.localeCompare(b.paymentId)),
    };
    await events.complete(eventKey, answer, clock.now().toISOString());
    return answer;
  }

  return {
    /** A death event from any feed. Returns the answer (202), the same one for the same eventId. */
    async receive(event: DeathRegisteredEvent): Promise<DeathEventAnswer> {
      if (event.dateOfDeath > vietnamDate(clock.now())) {
        throw new ValidationFailedError('The date of death is in the future.', { errors: [{ path: 'dateOfDeath', code: 'date_in_future', message: 'must not be in the future' }] });
      }
      const eventKey = deps.hash('register-event', event.eventId);
      const now = clock.now().toISOString();
      const { claimed, record } = await events.claim({
        eventKey,
        fingerprint: eventFingerprint(event),
        status: 'PENDING',
        event,
        personHash: hashPerson(deps.hash, event.personalId),
        answer: null,
        receivedAt: now,
        updatedAt: now,
      });
      if (!claimed && record.fingerprint !== eventFingerprint(event)) {
        throw new ConflictError('This eventId was already received with a different content; nothing was changed.');
      }
      if (record.status === 'DONE' && record.answer) return record.answer;
      // New, or PENDING: an earlier delivery may have died part way; every step is idempotent.
      return process(record);
    },

    /** The reconciler: finishes events left PENDING since before `quietBefore` (their delivery died). Returns how many. */
    async resumePending(quietBefore: string): Promise<number> {
      const pending = await events.listPending(quietBefore);
      let finished = 0;
      for (const record of pending) {
        try {
          await process(record);
          finished++;
        } catch (error) {
          // A delivery still at work on it (its funeral batch's create lease): a later run finishes it.
          if (!(error instanceof EventInFlightError)) throw error;
        }
      }
      return finished;
    },
  };
}

export type RegisterEventUseCases = ReturnType<typeof createRegisterEventUseCases>;
