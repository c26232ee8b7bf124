/**
 * Every reason code of domain.md, the status it explains, and a short message in
 * Vietnamese and English (shown to provinces in reports and to beneficiaries in
 * their app). Codes are contract; messages may be reworded.
 */

export interface ReasonCodeInfo {
  readonly status: 'REJECTED' | 'ON_HOLD' | 'FAILED';
  readonly vi: string;
  readonly en: string;
}

export const reasonCodes = {
  INVALID_ID: {
    status: 'REJECTED',
    vi: 'Số định danh cá nhân không hợp lệ hoặc không khớp với ngày sinh, giới tính.',
    en: 'The personal ID number is invalid or does not agree with the date of birth or gender.',
  },
  ID_NOT_FOUND: {
    status: 'REJECTED',
    vi: 'Không tìm thấy số định danh cá nhân trong Cơ sở dữ liệu quốc gia về dân cư.',
    en: 'The personal ID number was not found in the national population database.',
  },
  DECEASED: {
    status: 'REJECTED',
    vi: 'Người hưởng đã mất trước kỳ chi trả.',
    en: 'The beneficiary died before the payment period.',
  },
  NAME_MISMATCH: {
    status: 'REJECTED',
    vi: 'Họ và tên không khớp với Cơ sở dữ liệu quốc gia về dân cư.',
    en: 'The name does not match the national population database.',
  },
  BIRTH_DATE_MISMATCH: {
    status: 'REJECTED',
    vi: 'Ngày sinh không khớp với Cơ sở dữ liệu quốc gia về dân cư.',
    en: 'The date of birth does not match the national population database.',
  },
  GENDER_MISMATCH: {
    status: 'REJECTED',
    vi: 'Giới tính không khớp với Cơ sở dữ liệu quốc gia về dân cư.',
    en: 'The gender does not match the national population database.',
  },
  DUPLICATE_ENTITLEMENT: {
    status: 'REJECTED',
    vi: 'Người hưởng đã có một khoản chi trả của chương trình này cho cùng kỳ.',
    en: 'This person already has a payment of this program for the same period.',
  },
  AMOUNT_OVER_PROGRAM_LIMIT: {
    status: 'REJECTED',
    vi: 'Số tiền vượt mức tối đa của chương trình cho một lần chi trả.',
    en: 'The amount is above the largest amount the program allows for one payment.',
  },
  NO_LINKED_ACCOUNT: {
    status: 'ON_HOLD',
    vi: 'Người hưởng chưa liên kết tài khoản an sinh xã hội; khoản chi sẽ được chuyển ngay khi có tài khoản.',
    en: 'The beneficiary has no linked social security account; the payment is released as soon as one is linked.',
  },
  ACCOUNT_CLOSED: {
    status: 'FAILED',
    vi: 'Tài khoản nhận tiền đã bị đóng.',
    en: 'The receiving account is closed.',
  },
  ACCOUNT_NOT_FOUND: {
    status: 'FAILED',
    vi: 'Không tìm thấy tài khoản nhận tiền.',
    en: 'The receiving account does not exist.',
  },
  ACCOUNT_NAME_MISMATCH: {
    status: 'FAILED',
    vi: 'Tên chủ tài khoản không khớp với họ và tên người hưởng.',
    en: "The account holder's name does not match the beneficiary's name.",
  },
  PROVIDER_REJECTED: {
    status: 'FAILED',
    vi: 'Đơn vị cung ứng dịch vụ thanh toán từ chối giao dịch.',
    en: 'The payment provider refused the transfer.',
  },
  RETRIES_EXHAUSTED: {
    status: 'FAILED',
    vi: 'Không chuyển được tiền sau nhiều lần thử lại.',
    en: 'The transfer did not go through after repeated attempts.',
  },
} as const satisfies Record<string, ReasonCodeInfo>;

export type ReasonCode = keyof typeof reasonCodes;
type CodesFor<S extends ReasonCodeInfo['status']> = {
  [C in ReasonCode]: (typeof reasonCodes)[C]['status'] extends S ? C : never;
}[ReasonCode];
export type RejectionReasonCode = CodesFor<'REJECTED'>;
export type HoldReasonCode = CodesFor<'ON_HOLD'>;
export type FailureReasonCode = CodesFor<'FAILED'>;

export const allReasonCodes = Object.keys(reasonCodes) as ReasonCode[];

function codesFor<S extends ReasonCodeInfo['status']>(status: S): [CodesFor<S>, ...CodesFor<S>[]] {
  return allReasonCodes.filter((code) => reasonCodes[code].status === status) as [CodesFor<S>, ...CodesFor<S>[]];
}

export const rejectionReasonCodes = codesFor('REJECTED');
export const holdReasonCodes = codesFor('ON_HOLD');
export const failureReasonCodes = codesFor('FAILED');

export function isReasonCode(value: unknown): value is ReasonCode {
  return typeof value === 'string' && Object.hasOwn(reasonCodes, value);
}

export function reasonMessage(code: ReasonCode, language: 'vi' | 'en'): string {
  return reasonCodes[code][language];
}
