import { attemptOf, parseTransferRef, transferRef, type BatchRecord, type PaymentRecord } from '../domain/batch.js';
import { settlementWindowHours } from '../domain/catalogues.js';
import type { Clock } from '../domain/dates.js';
import { ConflictError, NotFoundError } from '../domain/errors.js';

/** The reasons a RETURNED line may carry onto the payment (as a RETURNED callback's reasonCode). */
const returnReasons = ['RETURNED_BY_PROVIDER', 'ACCOUNT_CLOSED', 'ACCOUNT_NOT_FOUND', 'ACCOUNT_NAME_MISMATCH', 'PROVIDER_REJECTED'] as const;
import { paidAt, statementFingerprint, statementKey, type Statement, type StatementResult } from '../domain/statement.js';
import type { BatchStore, PagePosition } from '../ports/batch-store.js';
import type { createCallbackUseCases } from './callbacks.js';
import { inParallel } from './concurrency.js';

/**
 * Settlement statements (domain.md "After the money leaves"; docs/decisions.md
 * 100-104). The three-way match: the instruction we sent (the payment's current
 * attempt and amount), the callback we recorded (its status), and the
 * statement's line. A line settles a SENT transfer whose callback never came,
 * returns a PAID one as a RETURNED callback would, and otherwise records its
 * verdict on the payment (`statementStatus`). Importing the same statement
 * again changes nothing and gets the same answer: the statement is claimed by a
 * conditional write keyed by (provider, statementId) with the body's
 * fingerprint; another body under the same id is 409. Every line's effect is
 * itself idempotent, so a replay of an import that died half way finishes it.
 */

type Callbacks = Pick<ReturnType<typeof createCallbackUseCases>, 'apply'>;

export function createStatementUseCases(deps: { batches: BatchStore; callbacks: Callbacks; clock: Clock }) {
  const { batches, callbacks, clock } = deps;

  async function importLines(providerCode: string, key: string, statement: Statement): Promise<StatementResult> {
    const result: StatementResult = {
      statementId: statement.statementId,
      lineCount: statement.lines.length,
      matched: 0,
      returned: 0,
      amountMismatches: [],
      unknownReferences: [],
      statusMismatches: [],
    };
    const settledAt = `${statement.valueDate}T00:00:00.000Z`;
    await inParallel(
      statement.lines.map((line, index) => ({ line, index })),
      10,
      async ({ line, index }) => {
        const named = parseTransferRef(line.transferRef);
        const payment = named ? await batches.getPayment(named.key) : undefined;
        if (named && payment && payment.payout?.provider.code === providerCode && named.attempt < attemptOf(payment)) {
          // An earlier attempt of a payment now on a newer one: that attempt settled (then came back) or was
          // returned; its line is history, matched as such, and changes nothing.
          if (line.status === 'SETTLED') result.matched += 1;
          else result.returned += 1;
          return;
        }
        if (!named || !payment || payment.payout?.provider.code !== providerCode || named.attempt !== attemptOf(payment)) {
          result.unknownReferences.push(line.transferRef);
          // A reference that names a batch is kept for that batch's reconciliation.
          if (named && (await batches.getBatch(named.key.batchId))) {
            await batches.putUnknownReference(named.key.batchId, key, index, { ...line, statementId: statement.statementId, valueDate: statement.valueDate });
          }
          return;
        }
        const mark = (statementStatus: 'CONFIRMED' | 'RETURNED' | 'AMOUNT_MISMATCH' | 'STATUS_MISMATCH') =>
          batches.markStatement(payment, attemptOf(payment), { statementId: statement.statementId, statementStatus });
        if (line.amount !== payment.amount) {
          result.amountMismatches.push({ transferRef: line.transferRef, expected: payment.amount, actual: line.amount });
          await mark('AMOUNT_MISMATCH');
          return;
        }
        const outcome = line.status === 'SETTLED' ? 'PAID' : 'RETURNED';
        let status: string = payment.status;
        try {
          // SETTLED on a SENT transfer: the callback never came, the statement settles it. RETURNED on a PAID one:
          // returned, entitlement kept. Repeated (already so): a no-op. Anything else contradicts what we recorded.
          const reasonCode = line.status === 'RETURNED' ? returnReasons.find((code) => code === line.reasonCode) : undefined;
          const applied = await callbacks.apply(providerCode, { transferRef: line.transferRef, outcome, settledAt, ...(reasonCode ? { reasonCode } : {}) });
          status = applied.payment.status;
        } catch (error) {
          if (!(error instanceof ConflictError || error instanceof NotFoundError)) throw error;
          status = (await batches.getPayment(payment))?.status ?? payment.status;
        }
        if (line.status === 'SETTLED' && status === 'PAID') {
          result.matched += 1;
          await mark('CONFIRMED');
        } else if (line.status === 'RETURNED' && status === 'RETURNED') {
          result.returned += 1;
          await mark('RETURNED');
        } else {
          result.statusMismatches.push({ transferRef: line.transferRef, recorded: status, stated: line.status });
          await mark('STATUS_MISMATCH');
        }
      },
    );
    // Lines were handled in parallel: list them in the statement's order.
    const order = new Map(statement.lines.map((line, index) => [line.transferRef, index]));
    const byLine = (a: string, b: string) => (order.get(a) ?? 0) - (order.get(b) ?? 0);
    result.unknownReferences.sort(byLine);
    result.amountMismatches.sort((a, b) => byLine(a.transferRef, b.transferRef));
    result.statusMismatches.sort((a, b) => byLine(a.transferRef, b.transferRef));
    return result;
  }

  return {
    async importStatement(providerCode: string, statement: Statement): Promise<StatementResult> {
      const key = statementKey(providerCode, statement.statementId);
      const fingerprint = statementFingerprint(statement);
      const claim = await batches.claimStatement(providerCode, key, fingerprint, clock.now().toISOString());
      if (!claim.claimed) {
        if (claim.fingerprint !== fingerprint) throw new StatementConflictError('A statement with this statementId was imported with other content.');
        if (claim.result) return claim.result;
        // The first import died before it finished: every line's effect is idempotent, so finish it.
      }
      const result = await importLines(providerCode, key, statement);
      await batches.finishStatement(key, result, clock.now().toISOString());
      return result;
    },

    /** GET /v1/batches/{batchId}/reconciliation, for the batch's province (others: 404 from `loadOwnBatch`). */
    async reconciliation(batch: BatchRecord) {
      const now = clock.now();
      const confirmed = { count: 0, amount: 0 };
      const returned = { count: 0, amount: 0 };
      const amountMismatches: { paymentId: string; transferRef: string; expected: number }[] = [];
      const statusMismatches: { paymentId: string; transferRef: string; status: string }[] = [];
      const unconfirmedPaid: { paymentId: string; transferRef: string; amount: number; paidAt: string; hoursSincePaid: number; overdue: boolean }[] = [];
      let after: PagePosition | undefined;
      do {
        const page = await batches.listPayments(batch, { limit: 1000, after });
        for (const payment of page.items) classify(payment);
        after = page.next;
      } while (after);

      function classify(payment: PaymentRecord) {
        const ref = transferRef(payment.paymentId, attemptOf(payment));
        switch (payment.statementStatus) {
          case 'CONFIRMED':
            if (payment.status === 'PAID') {
              confirmed.count += 1;
              confirmed.amount += payment.amount;
              return;
            }
            break;
          case 'RETURNED':
            returned.count += 1;
            returned.amount += payment.amount;
            return;
          case 'AMOUNT_MISMATCH':
            amountMismatches.push({ paymentId: payment.paymentId, transferRef: ref, expected: payment.amount });
            return;
          case 'STATUS_MISMATCH':
            statusMismatches.push({ paymentId: payment.paymentId, transferRef: ref, status: payment.status });
            return;
          default:
            break;
        }
        const at = paidAt(payment);
        if (!at || payment.statementStatus === 'CONFIRMED') return;
        const hours = Math.max(0, Math.floor((now.getTime() - Date.parse(at)) / 3_600_000));
        const window = payment.payout ? settlementWindowHours(payment.payout.provider.code) : settlementWindowHours('');
        unconfirmedPaid.push({ paymentId: payment.paymentId, transferRef: ref, amount: payment.amount, paidAt: at, hoursSincePaid: hours, overdue: hours >= window });
      }

      const unknown = await batches.listUnknownReferences(batch.batchId);
      return {
        batchId: batch.batchId,
        at: now.toISOString(),
        confirmed,
        returned,
        amountMismatches,
        statusMismatches,
        unconfirmedPaid,
        unknownReferences: unknown.map((line) => ({ transferRef: line.transferRef, amount: line.amount, status: line.status, statementId: line.statementId, valueDate: line.valueDate })),
      };
    },
  };
}

/** Same statementId, other content: 409 CONFLICT, nothing changed. */
export class StatementConflictError extends ConflictError {}

export type StatementUseCases = ReturnType<typeof createStatementUseCases>;
