import { attemptOf, type PaymentRecord } from '../domain/batch.js';
import type { Clock } from '../domain/dates.js';
import { noticeText } from '../domain/notices.js';
import { reasonCodes } from '../domain/reason-codes.js';
import type { BatchStore } from '../ports/batch-store.js';
import type { NoticeEvent, Notifier } from '../ports/notifier.js';

/**
 * Beneficiary notices (docs/decisions.md 106-108): once per (payment, attempt,
 * event), claimed with a conditional write before the notifier is called, so a
 * redelivered message, a repeated callback or two reconciler runs send it once.
 * At most once: a death between the claim and the send loses that notice
 * (a notice is a courtesy; the payment's state is in the app).
 */
export interface Notices {
  notify(payment: PaymentRecord, event: NoticeEvent, options?: { expiresOn?: string }): Promise<boolean>;
  /** The notice a status change calls for, if any. */
  afterMove(payment: PaymentRecord): Promise<void>;
}

export const noNotices: Notices = { notify: () => Promise.resolve(false), afterMove: () => Promise.resolve() };

export function createNotices(deps: { batches: Pick<BatchStore, 'claimNotice'>; notifier: Notifier; clock: Clock }): Notices {
  async function notify(payment: PaymentRecord, event: NoticeEvent, options: { expiresOn?: string } = {}): Promise<boolean> {
    const at = deps.clock.now().toISOString();
    if (!(await deps.batches.claimNotice(payment.paymentId, event, attemptOf(payment), at))) return false;
    await deps.notifier.send({ personHash: payment.personHash, paymentId: payment.paymentId, event, text: noticeText(event, payment, options), sentAt: at });
    return true;
  }
  return {
    notify,
    async afterMove(payment) {
      if (payment.status === 'PAID') await notify(payment, 'PAID');
      else if (payment.status === 'RETURNED') await notify(payment, 'RETURNED');
      else if (payment.status === 'ON_HOLD') await notify(payment, 'ON_HOLD_LINK_ACCOUNT');
      else if (payment.status === 'FAILED' && payment.reasonCode && reasonCodes[payment.reasonCode].actor === 'BENEFICIARY') await notify(payment, 'FAILED_ACTION_NEEDED');
    },
  };
}
