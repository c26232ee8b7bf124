import type { PaymentRecord } from './batch.js';
import { findProgram } from './catalogues.js';
import { nextStep, reasonMessage } from './reason-codes.js';

/**
 * The Vietnamese text of a beneficiary notice (domain.md "After the money
 * leaves"): it names the program, the period and the amount, and never a full
 * personal ID or account number (only the masked account, last four characters).
 */

/** 500000 -> "500.000" (Vietnamese groups thousands with dots). */
export function formatVnd(amount: number): string {
  return String(amount).replace(/\B(?=(\d{3})+(?!\d))/g, '.');
}

/** "2026-11" -> "kỳ 11/2026" (the payment period). */
function periodVi(period: string): string {
  const [year, month] = period.split('-');
  return `kỳ ${month}/${year}`;
}

export type NoticeKind = 'PAID' | 'FAILED_ACTION_NEEDED' | 'ON_HOLD_LINK_ACCOUNT' | 'HOLD_EXPIRING' | 'RETURNED';

export function noticeText(kind: NoticeKind, payment: Pick<PaymentRecord, 'programCode' | 'period' | 'amount' | 'reasonCode' | 'account'>, options: { expiresOn?: string } = {}): string {
  const program = findProgram(payment.programCode)?.nameVi ?? payment.programCode;
  const what = `Khoản chi ${program} ${periodVi(payment.period)}, số tiền ${formatVnd(payment.amount)} đồng`;
  const step = nextStep(payment.reasonCode)?.vi ?? '';
  switch (kind) {
    case 'PAID':
      return `${what} đã được chuyển vào tài khoản ${payment.account?.accountNumberMasked ?? ''}.`.replace(' .', '.');
    case 'FAILED_ACTION_NEEDED':
      return `${what} chưa chuyển được: ${payment.reasonCode ? reasonMessage(payment.reasonCode, 'vi') : ''} ${step}`.trim();
    case 'ON_HOLD_LINK_ACCOUNT':
      return `${what} đang chờ: vui lòng liên kết tài khoản an sinh xã hội để nhận tiền.`;
    case 'HOLD_EXPIRING':
      return `${what} đang chờ bạn liên kết tài khoản an sinh xã hội; nếu chưa liên kết, khoản chi sẽ bị hủy sau ngày ${options.expiresOn ?? ''}.`;
    case 'RETURNED':
      return `${what} đã bị ngân hàng hoàn trả. ${step}`.trim();
  }
}
