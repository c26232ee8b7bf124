/** Events a beneficiary is told about (api.md 1.1 "Notifications"). */
export const noticeEvents = ['PAID', 'FAILED_ACTION_NEEDED', 'ON_HOLD_LINK_ACCOUNT', 'HOLD_EXPIRING', 'RETURNED'] as const;
export type NoticeEvent = (typeof noticeEvents)[number];

/** A message to one beneficiary: keys and text only (the text never holds a full personal ID or account number). */
export interface Notice {
  personHash: string;
  paymentId: string;
  /** The province's own reference of the payment and its province: how a province's channel finds the person to tell. */
  paymentRef: string;
  provinceCode: string;
  /** The payment's attempt: with paymentId and event, the notice's identity (a channel deduplicates by it). */
  attempt: number;
  event: NoticeEvent;
  text: string;
  sentAt: string;
}

/** A channel to beneficiaries (the sandbox notifier records; deployed, a real channel behind a stage switch). */
export interface Notifier {
  send(notice: Notice): Promise<void>;
}
