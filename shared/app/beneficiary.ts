import type { PaymentRecord } from '../domain/batch.js';
import { attemptOf, historyWithAttempts, parsePaymentId, personHash } from '../domain/batch.js';
import { findProgram } from '../domain/catalogues.js';
import { NotFoundError } from '../domain/errors.js';
import type { KeyedHash } from '../domain/keyed-hash.js';
import { nextStep, reasonMessage } from '../domain/reason-codes.js';
import type { Principal } from './principal.js';
import type { BatchStore } from '../ports/batch-store.js';
import type { CursorCodec } from './cursor.js';

/** What a beneficiary sees of one of their payments (api.md "Beneficiaries"). */
export function ownPaymentView(payment: PaymentRecord, withHistory: boolean) {
  const program = findProgram(payment.programCode);
  return {
    paymentId: payment.paymentId,
    program: { code: payment.programCode, nameVi: program?.nameVi ?? payment.programCode, nameEn: program?.nameEn ?? payment.programCode },
    period: payment.period,
    amount: payment.amount,
    status: payment.status,
    reasonCode: payment.reasonCode,
    reason: payment.reasonCode ? { vi: reasonMessage(payment.reasonCode, 'vi'), en: reasonMessage(payment.reasonCode, 'en') } : null,
    nextStep: nextStep(payment.reasonCode),
    attempt: attemptOf(payment),
    account: payment.account,
    updatedAt: payment.updatedAt,
    ...(withHistory ? { history: historyWithAttempts(payment.history) } : {}),
  };
}

export function createBeneficiaryUseCases(deps: { batches: BatchStore; hash: KeyedHash; cursors: CursorCodec }) {
  const { batches, hash } = deps;

  /** One of the caller's own payments, or 404 (another person's payment does not exist for them). */
  async function ownPayment(principal: Principal, paymentId: string): Promise<PaymentRecord> {
    const key = parsePaymentId(paymentId);
    const payment = key && principal.personalId ? await batches.getPayment(key) : undefined;
    if (!payment || !principal.personalId || payment.personHash !== personHash(hash, principal.personalId)) {
      throw new NotFoundError('No payment with this id.');
    }
    return payment;
  }

  return {
    ownPayment,
    async listOwnPayments(principal: Principal, query: { limit: number; cursor?: string | undefined }) {
      if (!principal.personalId) return { items: [], nextCursor: null };
      const binding = JSON.stringify([principal.sub, principal.personalId, 'listMyPayments']);
      const page = await batches.listPaymentsByPerson(personHash(hash, principal.personalId), {
        limit: query.limit,
        after: deps.cursors.decode(query.cursor, binding),
      });
      return { items: page.items, nextCursor: deps.cursors.encode(page.next, binding) };
    },
  };
}

export type BeneficiaryUseCases = ReturnType<typeof createBeneficiaryUseCases>;
