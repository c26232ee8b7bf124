import type { ProviderType } from '../domain/catalogues.js';
import type { FailureReasonCode } from '../domain/reason-codes.js';

/** What a provider is told to pay. `reference` is the paymentId: the provider's idempotency key. */
export interface TransferInstruction {
  reference: string;
  amount: number;
  provider: { type: ProviderType; code: string };
  accountNumber: string;
  accountName: string;
}

export type TransferOutcome =
  /** Settled at once. */
  | { status: 'PAID'; settledAt: string }
  /** Accepted, settlement reported later by a signed callback. */
  | { status: 'SENT' }
  /** Refused for good. */
  | { status: 'FAILED'; reasonCode: Exclude<FailureReasonCode, 'RETRIES_EXHAUSTED'> };

/** Failures worth retrying (timeouts, 5xx, throttling): the message goes back to the queue. */
export class ProviderTransientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProviderTransientError';
  }
}

export interface PaymentProvider {
  /**
   * Sends a transfer. Idempotent by `reference`, like a real bank: sending the
   * same reference again returns the first outcome and never pays twice.
   */
  send(instruction: TransferInstruction): Promise<TransferOutcome>;
  /** What the provider knows of a reference (undefined when it never accepted it). */
  lookup(reference: string): Promise<TransferOutcome | undefined>;
}
