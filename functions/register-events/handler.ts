import { verifyCallbackSignature } from '../../shared/app/callbacks.js';
import { loadRegisterSecret } from '../../shared/config/register-secret.js';
import { systemClock } from '../../shared/domain/dates.js';
import { deathRegisteredEventSchema } from '../../shared/domain/register-events.js';
import { parseOrThrow } from '../../shared/domain/validation.js';
import { apiHandler, json, readJson, readText } from '../../shared/http/api-handler.js';
import { createRegisterEventContext } from '../../shared/wiring/register-events.js';

const { registerEvents, audit } = await createRegisterEventContext();
const secret = await loadRegisterSecret();

/**
 * `POST /v1/register-events`: events of the population register, signed as
 * provider callbacks are (x-timestamp, x-signature over the raw body) with the
 * register's secret. No JWT. The same use case runs for events the register
 * pushes to the queue (functions/register-events-consumer).
 */
export const handler = apiHandler(async ({ event }) => {
  // The signature covers the raw bytes: check it before parsing anything.
  verifyCallbackSignature({
    secret,
    timestamp: event.headers?.['x-timestamp'],
    signature: event.headers?.['x-signature'],
    rawBody: readText(event),
    now: systemClock.now(),
  });
  const registerEvent = parseOrThrow(deathRegisteredEventSchema, readJson(event));
  return json(202, await registerEvents.receive(registerEvent));
}, { audit });
