import { ulid } from 'ulid';
import * as z from 'zod';
import { callbackSignature } from '../shared/app/callbacks.js';
import type { SandboxPopulationRegistry } from '../shared/adapters/population/sandbox-registry.js';
import { vietnamDate } from '../shared/domain/dates.js';
import { ForbiddenError, NotFoundError, UnauthenticatedError, ValidationFailedError } from '../shared/domain/errors.js';
import { deathRegisteredEventSchema, type DeathRegisteredEvent } from '../shared/domain/register-events.js';
import { parseOrThrow } from '../shared/domain/validation.js';
import { readJson } from '../shared/http/api-handler.js';
import type { LocalAuthority } from './auth.js';
import type { LocalRoute } from './http-server.js';

/** `POST /local/population/deaths`: the death, and optionally the funeral's arranger, as the register's clerk records it. */
const localDeathSchema = z.strictObject({
  personalId: deathRegisteredEventSchema.shape.personalId,
  dateOfDeath: deathRegisteredEventSchema.shape.dateOfDeath,
  eventId: deathRegisteredEventSchema.shape.eventId.optional(),
  funeral: deathRegisteredEventSchema.shape.funeral,
});

/**
 * The sandbox register's death registration (api.md 1.1, local server only,
 * ops token): records the death in the sandbox register, then emits the
 * register's event exactly as the register does, a signed POST to
 * /v1/register-events of this server (with LOCAL_REGISTER_SECRET). Answers
 * with the event's id and the event's answer; no personal data.
 */
export function localDeathsRoute(deps: { registry: () => Promise<SandboxPopulationRegistry>; authority: LocalAuthority; serverUrl: () => string }): LocalRoute {
  return {
    method: 'POST',
    path: '/local/population/deaths',
    handle: async (event, requestId) => {
      const token = /^Bearer (\S+)$/.exec(event.headers?.authorization ?? '')?.[1];
      const claims = token ? await deps.authority.verify(token) : undefined;
      if (!claims) throw new UnauthenticatedError('An ops token is required (POST /local/token with role ops).');
      if (!String(claims.scope ?? '').split(' ').includes('ops')) throw new ForbiddenError('Only an ops token records deaths in the sandbox register.');
      const request = parseOrThrow(localDeathSchema, readJson(event));
      if (request.dateOfDeath > vietnamDate(new Date())) {
        throw new ValidationFailedError('The date of death is in the future.', { errors: [{ path: 'dateOfDeath', code: 'date_in_future', message: 'must not be in the future' }] });
      }
      const registry = await deps.registry();
      const citizen = (await registry.lookup([request.personalId])).get(request.personalId);
      if (!citizen) throw new NotFoundError('The sandbox register does not know this person.');
      if (request.dateOfDeath < citizen.dateOfBirth) {
        throw new ValidationFailedError('The date of death is before the date of birth.', { errors: [{ path: 'dateOfDeath', code: 'before_birth', message: 'must not be before the date of birth' }] });
      }
      await registry.add([{ ...citizen, dateOfDeath: citizen.dateOfDeath ?? request.dateOfDeath }]);

      const registerEvent: DeathRegisteredEvent = {
        eventId: request.eventId ?? `local-death-${ulid()}`,
        type: 'DEATH_REGISTERED',
        personalId: request.personalId,
        dateOfDeath: request.dateOfDeath,
        registeredAt: new Date().toISOString(),
        ...(request.funeral ? { funeral: request.funeral } : {}),
      };
      const raw = JSON.stringify(registerEvent);
      const timestamp = String(Math.floor(Date.now() / 1000));
      const secret = process.env.LOCAL_REGISTER_SECRET ?? 'local-register-secret';
      const response = await fetch(`${deps.serverUrl()}/v1/register-events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-timestamp': timestamp, 'x-signature': callbackSignature(secret, timestamp, raw), 'x-request-id': requestId },
        body: raw,
      });
      const answer: unknown = await response.json();
      return { statusCode: response.status === 202 ? 200 : response.status, body: response.status === 202 ? { eventId: registerEvent.eventId, answer } : answer };
    },
  };
}
