import { sandboxNotices } from '../shared/adapters/notifier/sandbox-notifier.js';
import { personHash } from '../shared/domain/batch.js';
import { ForbiddenError, UnauthenticatedError, ValidationFailedError } from '../shared/domain/errors.js';
import { keyedHasher } from '../shared/domain/keyed-hash.js';
import { PERSONAL_ID_PATTERN } from '../shared/domain/personal-id.js';
import type { ApiEvent } from '../shared/http/api-handler.js';
import type { LocalAuthority } from './auth.js';
import type { LocalRoute } from './http-server.js';

/**
 * `GET /local/notifications?personalId=` (ops token; local server only): what
 * the sandbox notifier sent to that person, `{ items: [ { event, paymentId,
 * text, sentAt } ] }`. The notifier keeps notices by the person's keyed hash,
 * never by the number.
 */
export function notificationsRoute(authority: LocalAuthority): LocalRoute {
  // Made at the first request: a server started as the deployed shape (pepper from Secrets Manager, HASH_PEPPER
  // empty: test/infra/observed-calls.test.ts) serves everything else without it.
  let hasher: ReturnType<typeof keyedHasher> | undefined;
  const hash: ReturnType<typeof keyedHasher> = (purpose, value) => (hasher ??= keyedHasher(process.env.HASH_PEPPER ?? ''))(purpose, value);
  return {
    method: 'GET',
    path: '/local/notifications',
    handle: async (event: ApiEvent) => {
      const header = event.headers?.authorization ?? '';
      const claims = header.startsWith('Bearer ') ? await authority.verify(header.slice('Bearer '.length)) : undefined;
      if (!claims) throw new UnauthenticatedError('A valid bearer token is required.');
      if (!String(claims.scope ?? '').split(' ').includes('ops')) throw new ForbiddenError('The ops scope is required.');
      const personalId = new URLSearchParams(event.rawQueryString ?? '').get('personalId') ?? '';
      if (!PERSONAL_ID_PATTERN.test(personalId)) {
        throw new ValidationFailedError('personalId must be exactly 12 ASCII digits.', { errors: [{ path: 'personalId', code: 'invalid_personal_id_format', message: 'personalId must be exactly 12 ASCII digits (0-9)' }] });
      }
      const items = sandboxNotices(personHash(hash, personalId)).map(({ event: kind, paymentId, text, sentAt }) => ({ event: kind, paymentId, text, sentAt }));
      return { statusCode: 200, body: { items } };
    },
  };
}
