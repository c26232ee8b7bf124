import { createHmac, timingSafeEqual } from 'node:crypto';
import type { PaymentRecord } from '../domain/batch.js';
import { attemptOf, parseTransferRef } from '../domain/batch.js';
import type { Clock } from '../domain/dates.js';
import { ConflictError, NotFoundError, UnauthenticatedError } from '../domain/errors.js';
import { allowedFrom } from '../domain/lifecycle.js';
import type { ProviderCallback } from '../domain/schemas.js';
import type { BatchStore } from '../ports/batch-store.js';
import type { TransferOutcome } from '../ports/payment-provider.js';
import type { DisbursementUseCases } from './disbursement.js';

/** A callback more than this far from now (either way) is refused: replayed or badly clocked. */
export const REPLAY_WINDOW_SECONDS = 300;

/** hex HMAC-SHA256 of `timestamp + "." + raw body` (api.md, "Payment providers"). */
export function callbackSignature(secret: string, timestamp: string, rawBody: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex');
}

export function verifyCallbackSignature(options: { secret: string | undefined; timestamp: string | undefined; signature: string | undefined; rawBody: string; now: Date }): void {
  const { secret, timestamp, signature, rawBody, now } = options;
  const refused = (why: string) => new UnauthenticatedError(`The callback is not authentic: ${why}.`);
  if (!secret) throw refused('unknown provider');
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) throw refused('x-timestamp must be unix seconds');
  if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > REPLAY_WINDOW_SECONDS) throw refused(`x-timestamp is more than ${REPLAY_WINDOW_SECONDS} s away from now`);
  if (!signature || !/^[0-9a-f]{64}$/i.test(signature)) throw refused('x-signature must be a hex HMAC-SHA256');
  const expected = Buffer.from(callbackSignature(secret, timestamp, rawBody), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) throw refused('the signature does not match');
}

export function createCallbackUseCases(deps: {
  batches: BatchStore;
  disbursement: Pick<DisbursementUseCases, 'recordOutcome' | 'settleCounters' | 'redoAfterEffects'> & Partial<Pick<DisbursementUseCases, 'notifyAfterMove'>>;
  clock: Clock;
}) {
  return {
    /** Applies a verified callback. Returns the payment as it is after it. */
    async apply(providerCode: string, callback: ProviderCallback): Promise<{ payment: PaymentRecord; changed: boolean }> {
      const named = parseTransferRef(callback.transferRef);
      const key = named?.key;
      const payment = key ? await deps.batches.getPayment(key) : undefined;
      if (!payment || !named || payment.payout?.provider.code !== providerCode || named.attempt > attemptOf(payment)) {
        throw new NotFoundError('No transfer with this reference for this provider.');
      }
      if (named.attempt < attemptOf(payment)) {
        // An earlier attempt's reference: that attempt is over (it failed or came back), and a newer one is the
        // payment's now. Its outcome cannot be recorded on the newer attempt: refused, nothing changes.
        throw new ConflictError(`The transfer names attempt ${named.attempt}; the payment is on attempt ${attemptOf(payment)}.`);
      }
      if (payment.status === callback.outcome) {
        // Repeated (the provider did not get our first answer): nothing changes, but what the first
        // delivery did after its status write may not have happened if it died there.
        await deps.disbursement.redoAfterEffects(payment);
        return { payment, changed: false };
      }
      // The lifecycle says where each outcome may come from; the same outcome again was handled above.
      if (!allowedFrom('payment', callback.outcome).includes(payment.status)) {
        throw new ConflictError(`The payment is ${payment.status}; a ${callback.outcome} callback cannot move it there.`);
      }
      if (callback.outcome === 'RETURNED') {
        // A return usually comes after the batch completed, when nothing watches it: put it in the
        // reconciler's watch first, so that a death between the status write and the counters is repaired.
        await deps.batches.watchBatch(payment.batchId);
        // The entitlement stays with a returned payment (lifecycle.ts entitlementHoldingStatuses): it is paid again by a new attempt.
        const reasonCode = callback.reasonCode ?? 'RETURNED_BY_PROVIDER';
        const moved = await deps.batches.transitionPayment(payment, allowedFrom('payment', 'RETURNED', ['PAID']), 'RETURNED', { reasonCode, at: deps.clock.now().toISOString() });
        if (!moved) return this.apply(providerCode, callback);
        await deps.disbursement.settleCounters([{ batchId: payment.batchId, from: 'PAID', to: 'RETURNED', amount: payment.amount }]);
        await deps.disbursement.notifyAfterMove?.(moved);
        return { payment: moved, changed: true };
      }
      const outcome: TransferOutcome =
        callback.outcome === 'PAID'
          ? { status: 'PAID', settledAt: callback.settledAt }
          : {
              status: 'FAILED',
              reasonCode: callback.reasonCode && callback.reasonCode !== 'RETRIES_EXHAUSTED' && callback.reasonCode !== 'RETURNED_BY_PROVIDER' ? callback.reasonCode : 'PROVIDER_REJECTED',
            };
      const moved = await deps.disbursement.recordOutcome(payment, outcome);
      if (!moved) return this.apply(providerCode, callback); // changed meanwhile: judge again
      const after = key ? await deps.batches.getPayment(key) : undefined;
      return { payment: after ?? payment, changed: true };
    },
  };
}
