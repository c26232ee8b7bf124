import { attemptOf, type PaymentRecord } from '../domain/batch.js';
import type { Clock } from '../domain/dates.js';
import { noticeText } from '../domain/notices.js';
import { reasonCodes } from '../domain/reason-codes.js';
import type { BatchStore } from '../ports/batch-store.js';
import type { NoticeEvent, Notifier } from '../ports/notifier.js';

/**
 * Beneficiary notices (docs/decisions.md 106-108), once per (payment, attempt,
 * event). A notice of a status change is sent by the unit whose conditional
 * status write made the change: that write is its once-guard, as no other
 * write can make the same change of the same attempt. A notice that is not a
 * change (the hold-expiry reminder) is claimed with a conditional write of its
 * own before the notifier is called, so two reconciler runs send it once.
 * At most once: a death between the guard and the send loses that notice (a
 * notice is a courtesy; the payment's state is in the app).
 */
export interface Notices {
  /** Claims the notice of (payment, event, attempt), then sends it; false when it was claimed before. */
  notify(payment: PaymentRecord, event: NoticeEvent, options?: { expiresOn?: string }): Promise<boolean>;
  /**
   * The notice a status change calls for, if any: called only by the unit whose conditional
   * write made the change (the change is the once-guard; nothing else is written).
   */
  afterMove(payment: PaymentRecord): Promise<void>;
}

export const noNotices: Notices = { notify: () => Promise.resolve(false), afterMove: () => Promise.resolve() };

export function createNotices(deps: {
  batches: Pick<BatchStore, 'claimNotice'>;
  notifier: Notifier;
  clock: Clock;
  /** A notice the channel refused or never answered: lost (at most once), reported here; the payment's unit goes on. */
  onLost?: (error: unknown, notice: { paymentId: string; event: NoticeEvent }) => void;
}): Notices {
  async function send(payment: PaymentRecord, event: NoticeEvent, at: string, options: { expiresOn?: string } = {}): Promise<void> {
    try {
      await publish(payment, event, at, options);
    } catch (error) {
      // A notice is a courtesy: a channel that is down must not fail the unit that moved the money
      // (its counters and its batch's completion come after the notice).
      if (!deps.onLost) throw error;
      deps.onLost(error, { paymentId: payment.paymentId, event });
    }
  }
  async function publish(payment: PaymentRecord, event: NoticeEvent, at: string, options: { expiresOn?: string }): Promise<void> {
    await deps.notifier.send({
      personHash: payment.personHash,
      paymentId: payment.paymentId,
      paymentRef: payment.paymentRef,
      provinceCode: payment.provinceCode,
      attempt: attemptOf(payment),
      event,
      text: noticeText(event, payment, options),
      sentAt: at,
    });
  }
  return {
    async notify(payment, event, options = {}) {
      const at = deps.clock.now().toISOString();
      if (!(await deps.batches.claimNotice(payment.paymentId, event, attemptOf(payment), at))) return false;
      await send(payment, event, at, options);
      return true;
    },
    async afterMove(payment) {
      const event = moveNotice(payment);
      if (event) await send(payment, event, deps.clock.now().toISOString());
    },
  };
}

/** The notice a payment's new status calls for. */
function moveNotice(payment: PaymentRecord): NoticeEvent | undefined {
  if (payment.status === 'PAID') return 'PAID';
  if (payment.status === 'RETURNED') return 'RETURNED';
  if (payment.status === 'ON_HOLD') return 'ON_HOLD_LINK_ACCOUNT';
  if (payment.status === 'FAILED' && payment.reasonCode && reasonCodes[payment.reasonCode].actor === 'BENEFICIARY') return 'FAILED_ACTION_NEEDED';
  return undefined;
}
