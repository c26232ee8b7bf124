/**
 * Every reason code of domain.md, as data: the status it explains, a short
 * message in Vietnamese and English (shown to provinces in reports and to
 * beneficiaries in their app), who must act (domain.md "After the money
 * leaves"), whether a new attempt of the payment can succeed once they have
 * (`recoverable`), and the next step in both languages. Codes, actors and
 * `recoverable` are contract; messages and next steps may be reworded.
 */

export const reasonActors = ['BENEFICIARY', 'PROVINCE', 'PROVIDER', 'OPERATIONS'] as const;
export type ReasonActor = (typeof reasonActors)[number];

export interface ReasonCodeInfo {
  readonly status: 'REJECTED' | 'ON_HOLD' | 'FAILED' | 'CANCELLED' | 'RETURNED';
  readonly vi: string;
  readonly en: string;
  readonly actor: ReasonActor;
  readonly recoverable: boolean;
  /** What to do next, written for the person who reads the payment (the beneficiary, or the province's report). */
  readonly nextVi: string;
  readonly nextEn: string;
}

const CONTACT_PROVINCE_VI = 'Liên hệ cơ quan lao động - thương binh và xã hội của tỉnh để điều chỉnh hồ sơ.';
const CONTACT_PROVINCE_EN = 'Contact the province so that it corrects the record.';
const LINK_ACCOUNT_VI = 'Liên kết một tài khoản an sinh xã hội mới đang hoạt động; tỉnh sẽ chi trả lại.';
const LINK_ACCOUNT_EN = 'Link a new, working social security account; the province then pays again.';

export const reasonCodes = {
  INVALID_ID: {
    status: 'REJECTED',
    vi: 'Số định danh cá nhân không hợp lệ hoặc không khớp với ngày sinh, giới tính.',
    en: 'The personal ID number is invalid or does not agree with the date of birth or gender.',
    actor: 'PROVINCE',
    recoverable: false,
    nextVi: CONTACT_PROVINCE_VI,
    nextEn: CONTACT_PROVINCE_EN,
  },
  ID_NOT_FOUND: {
    status: 'REJECTED',
    vi: 'Không tìm thấy số định danh cá nhân trong Cơ sở dữ liệu quốc gia về dân cư.',
    en: 'The personal ID number was not found in the national population database.',
    actor: 'PROVINCE',
    recoverable: false,
    nextVi: CONTACT_PROVINCE_VI,
    nextEn: CONTACT_PROVINCE_EN,
  },
  DECEASED: {
    status: 'REJECTED',
    vi: 'Người hưởng đã mất trước kỳ chi trả.',
    en: 'The beneficiary died before the payment period.',
    actor: 'PROVINCE',
    recoverable: false,
    nextVi: 'Nếu thông tin này sai, liên hệ cơ quan lao động - thương binh và xã hội của tỉnh.',
    nextEn: 'If this is wrong, contact the province.',
  },
  NAME_MISMATCH: {
    status: 'REJECTED',
    vi: 'Họ và tên không khớp với Cơ sở dữ liệu quốc gia về dân cư.',
    en: 'The name does not match the national population database.',
    actor: 'PROVINCE',
    recoverable: false,
    nextVi: CONTACT_PROVINCE_VI,
    nextEn: CONTACT_PROVINCE_EN,
  },
  BIRTH_DATE_MISMATCH: {
    status: 'REJECTED',
    vi: 'Ngày sinh không khớp với Cơ sở dữ liệu quốc gia về dân cư.',
    en: 'The date of birth does not match the national population database.',
    actor: 'PROVINCE',
    recoverable: false,
    nextVi: CONTACT_PROVINCE_VI,
    nextEn: CONTACT_PROVINCE_EN,
  },
  GENDER_MISMATCH: {
    status: 'REJECTED',
    vi: 'Giới tính không khớp với Cơ sở dữ liệu quốc gia về dân cư.',
    en: 'The gender does not match the national population database.',
    actor: 'PROVINCE',
    recoverable: false,
    nextVi: CONTACT_PROVINCE_VI,
    nextEn: CONTACT_PROVINCE_EN,
  },
  DUPLICATE_ENTITLEMENT: {
    status: 'REJECTED',
    vi: 'Người hưởng đã có một khoản chi trả của chương trình này cho cùng kỳ.',
    en: 'This person already has a payment of this program for the same period.',
    actor: 'PROVINCE',
    recoverable: false,
    nextVi: 'Không cần làm gì: khoản chi trả khác cho cùng kỳ vẫn được giữ.',
    nextEn: 'Nothing to do: the other payment for the same period stands.',
  },
  AMOUNT_OVER_PROGRAM_LIMIT: {
    status: 'REJECTED',
    vi: 'Số tiền vượt mức tối đa của chương trình cho một lần chi trả.',
    en: 'The amount is above the largest amount the program allows for one payment.',
    actor: 'PROVINCE',
    recoverable: false,
    nextVi: CONTACT_PROVINCE_VI,
    nextEn: CONTACT_PROVINCE_EN,
  },
  NO_LINKED_ACCOUNT: {
    status: 'ON_HOLD',
    vi: 'Người hưởng chưa liên kết tài khoản an sinh xã hội; khoản chi sẽ được chuyển ngay khi có tài khoản.',
    en: 'The beneficiary has no linked social security account; the payment is released as soon as one is linked.',
    actor: 'BENEFICIARY',
    recoverable: false,
    nextVi: 'Liên kết tài khoản an sinh xã hội để nhận tiền.',
    nextEn: 'Link a social security account to receive the payment.',
  },
  ACCOUNT_CLOSED: {
    status: 'FAILED',
    vi: 'Tài khoản nhận tiền đã bị đóng.',
    en: 'The receiving account is closed.',
    actor: 'BENEFICIARY',
    recoverable: true,
    nextVi: LINK_ACCOUNT_VI,
    nextEn: LINK_ACCOUNT_EN,
  },
  ACCOUNT_NOT_FOUND: {
    status: 'FAILED',
    vi: 'Không tìm thấy tài khoản nhận tiền.',
    en: 'The receiving account does not exist.',
    actor: 'BENEFICIARY',
    recoverable: true,
    nextVi: LINK_ACCOUNT_VI,
    nextEn: LINK_ACCOUNT_EN,
  },
  ACCOUNT_NAME_MISMATCH: {
    status: 'FAILED',
    vi: 'Tên chủ tài khoản không khớp với họ và tên người hưởng.',
    en: "The account holder's name does not match the beneficiary's name.",
    actor: 'BENEFICIARY',
    recoverable: true,
    nextVi: 'Liên kết tài khoản đứng tên chính người hưởng; tỉnh sẽ chi trả lại.',
    nextEn: 'Link an account in the beneficiary\'s own name; the province then pays again.',
  },
  PROVIDER_REJECTED: {
    status: 'FAILED',
    vi: 'Đơn vị cung ứng dịch vụ thanh toán từ chối giao dịch.',
    en: 'The payment provider refused the transfer.',
    actor: 'PROVIDER',
    recoverable: false,
    nextVi: 'Liên hệ cơ quan lao động - thương binh và xã hội của tỉnh.',
    nextEn: 'Contact the province.',
  },
  RETRIES_EXHAUSTED: {
    status: 'FAILED',
    vi: 'Không chuyển được tiền sau nhiều lần thử lại.',
    en: 'The transfer did not go through after repeated attempts.',
    actor: 'OPERATIONS',
    recoverable: true,
    nextVi: 'Không cần làm gì: tỉnh sẽ chi trả lại khi hệ thống hoạt động bình thường.',
    nextEn: 'Nothing to do: the province pays again once the service works again.',
  },
  HOLD_EXPIRED: {
    status: 'CANCELLED',
    vi: 'Khoản chi đã bị hủy vì người hưởng không liên kết tài khoản trong thời hạn giữ của chương trình.',
    en: "The payment was cancelled: no account was linked within the program's hold window.",
    actor: 'BENEFICIARY',
    recoverable: true,
    nextVi: 'Liên kết tài khoản an sinh xã hội, rồi liên hệ cơ quan lao động - thương binh và xã hội của tỉnh.',
    nextEn: 'Link a social security account, then contact the province.',
  },
  RETURNED_BY_PROVIDER: {
    status: 'RETURNED',
    vi: 'Ngân hàng hoặc đơn vị cung ứng dịch vụ đã hoàn trả khoản tiền đã chuyển.',
    en: 'The bank or payment provider sent the transferred money back.',
    actor: 'BENEFICIARY',
    recoverable: true,
    nextVi: LINK_ACCOUNT_VI,
    nextEn: LINK_ACCOUNT_EN,
  },
} as const satisfies Record<string, ReasonCodeInfo>;

export type ReasonCode = keyof typeof reasonCodes;
type CodesFor<S extends ReasonCodeInfo['status']> = {
  [C in ReasonCode]: (typeof reasonCodes)[C]['status'] extends S ? C : never;
}[ReasonCode];
export type RejectionReasonCode = CodesFor<'REJECTED'>;
export type HoldReasonCode = CodesFor<'ON_HOLD'>;
export type FailureReasonCode = CodesFor<'FAILED'>;
export type ReturnReasonCode = CodesFor<'RETURNED'>;

export const allReasonCodes = Object.keys(reasonCodes) as ReasonCode[];

function codesFor<S extends ReasonCodeInfo['status']>(status: S): [CodesFor<S>, ...CodesFor<S>[]] {
  return allReasonCodes.filter((code) => reasonCodes[code].status === status) as [CodesFor<S>, ...CodesFor<S>[]];
}

export const rejectionReasonCodes = codesFor('REJECTED');
export const holdReasonCodes = codesFor('ON_HOLD');
export const failureReasonCodes = codesFor('FAILED');
export const returnReasonCodes = codesFor('RETURNED');
export const cancellationReasonCodes = codesFor('CANCELLED');

/** A reason a new attempt of the payment can succeed once its actor has acted. */
export function isRecoverable(code: ReasonCode | null): boolean {
  return code !== null && reasonCodes[code].recoverable;
}

/** The catalogue as GET /v1/reason-codes answers it. */
export function reasonCodeCatalogue() {
  return allReasonCodes.map((code) => {
    const info: ReasonCodeInfo = reasonCodes[code];
    return { code, status: info.status, messageVi: info.vi, messageEn: info.en, actor: info.actor, recoverable: info.recoverable, nextStepVi: info.nextVi, nextStepEn: info.nextEn };
  });
}

/** Who acts and what to do next, for a payment's views and the report (null without a reason). */
export function nextStep(code: ReasonCode | null): { actor: ReasonActor; vi: string; en: string } | null {
  if (code === null) return null;
  const info: ReasonCodeInfo = reasonCodes[code];
  return { actor: info.actor, vi: info.nextVi, en: info.nextEn };
}

export function isReasonCode(value: unknown): value is ReasonCode {
  return typeof value === 'string' && Object.hasOwn(reasonCodes, value);
}

export function reasonMessage(code: ReasonCode, language: 'vi' | 'en'): string {
  return reasonCodes[code][language];
}
