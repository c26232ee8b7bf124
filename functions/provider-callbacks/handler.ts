import { createCallbackUseCases, verifyCallbackSignature } from '../../shared/app/callbacks.js';
import { loadProviderSecrets } from '../../shared/config/provider-secrets.js';
import { attemptOf, transferRef } from '../../shared/domain/batch.js';
import { systemClock } from '../../shared/domain/dates.js';
import { providerCallbackSchema, statementSchema } from '../../shared/domain/schemas.js';
import { createStatementUseCases } from '../../shared/app/statements.js';
import { parseOrThrow } from '../../shared/domain/validation.js';
import { apiHandler, json, readJson, readText } from '../../shared/http/api-handler.js';
import { pathParameter } from '../../shared/http/query.js';
import { createDisbursementContext } from '../../shared/wiring/disbursement.js';

// Settling never queues anything: no disbursement queue (the stack gives this function none).
const { disbursement, batches, audit } = await createDisbursementContext({ sendsToQueue: false });
const secrets = await loadProviderSecrets();
const callbacks = createCallbackUseCases({ batches, disbursement, clock: systemClock });
const statements = createStatementUseCases({ batches, callbacks, clock: systemClock });

/** Signed settlement reports from payment providers: callbacks and statements (no JWT: the HMAC signature authenticates). */
export const handler = apiHandler(async ({ event, route }) => {
  const providerCode = pathParameter(event, 'providerCode');
  // The signature covers the raw bytes: check it before parsing anything.
  verifyCallbackSignature({
    secret: secrets.secretFor(providerCode),
    timestamp: event.headers?.['x-timestamp'],
    signature: event.headers?.['x-signature'],
    rawBody: readText(event),
    now: systemClock.now(),
  });
  if (route.operationId === 'importStatement') {
    return json(200, await statements.importStatement(providerCode, parseOrThrow(statementSchema, readJson(event))));
  }
  const callback = parseOrThrow(providerCallbackSchema, readJson(event));
  const { payment, changed } = await callbacks.apply(providerCode, callback);
  // The provider learns what it reported on, nothing about the person (it knows the account, not the beneficiary).
  return json(200, { changed, transfer: { transferRef: transferRef(payment.paymentId, attemptOf(payment)), status: payment.status, reasonCode: payment.reasonCode, updatedAt: payment.updatedAt } });
}, { audit });
