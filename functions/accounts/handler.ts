import { accountLinkRequestSchema, unlinkAccountQuerySchema } from '../../shared/domain/schemas.js';
import { parseOrThrow } from '../../shared/domain/validation.js';
import { apiHandler, json, readJson, requirePrincipal } from '../../shared/http/api-handler.js';
import { parseQuery, pathParameter } from '../../shared/http/query.js';
import { createAccountContext } from '../../shared/wiring/accounts.js';

const { accounts, audit } = await createAccountContext();

/** Social security accounts: link, read, unlink (by the person, or a province for a person in its care, with consent). */
export const handler = apiHandler(async (request) => {
  const principal = requirePrincipal(request);
  const { event, route } = request;
  const personalId = pathParameter(event, 'personalId');
  switch (route.operationId) {
    case 'linkAccount': {
      const body = parseOrThrow(accountLinkRequestSchema, readJson(event));
      return json(200, await accounts.link(principal, personalId, body));
    }
    case 'getAccount':
      return json(200, await accounts.read(principal, personalId));
    case 'unlinkAccount':
      await accounts.unlink(principal, personalId, parseQuery(unlinkAccountQuerySchema, event));
      return { statusCode: 204, headers: {} };
    default:
      throw new Error(`accounts does not serve ${route.operationId}`);
  }
}, { audit });
