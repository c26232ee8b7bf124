import type { ProviderType } from '../domain/catalogues.js';

/** The social security account a person has linked (the full number is kept for disbursement only). */
export interface AccountLinkRecord {
  linkId: string;
  personalId: string;
  provider: { type: ProviderType; code: string };
  accountNumber: string;
  accountNumberMasked: string;
  accountName: string;
  linkedAt: string;
  /** `sub` of whoever linked it (the beneficiary, or a province system). */
  linkedBy: string;
  consentRef: string | null;
}

export interface AccountHistoryEntry {
  linkId: string;
  provider: { type: ProviderType; code: string };
  accountNumberMasked: string;
  linkedAt: string;
  unlinkedAt: string | null;
  /** The consent a province named to make this link; null when the person linked it. */
  consentRef: string | null;
  /** The consent a province named to unlink it; null while linked, when the person unlinked it, or when a newer link replaced it. */
  unlinkConsentRef: string | null;
}

/** An unlink: when, by whom (the token's sub), and the consent a province named (null for the person themselves). */
export interface Unlinking {
  at: string;
  by: string;
  consentRef: string | null;
}

export interface AccountStore {
  getCurrent(personHash: string): Promise<AccountLinkRecord | undefined>;
  /** The current links of several people at once (one batched read), by personHash; people without one are absent. */
  getCurrentMany(personHashes: readonly string[]): Promise<Map<string, AccountLinkRecord>>;
  /** Makes `link` the current one; the previous link (if any) is closed in the history, which keeps both. */
  link(personHash: string, link: AccountLinkRecord): Promise<void>;
  /** Removes the current link (closing it in the history, with who and which consent); returns it, or undefined when there was none. */
  unlink(personHash: string, unlinking: Unlinking): Promise<AccountLinkRecord | undefined>;
  /** Every link the person ever had, newest first. */
  history(personHash: string): Promise<AccountHistoryEntry[]>;
}
