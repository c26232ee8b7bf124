import { listQuerySchema, putWebhookRequestSchema } from '../../shared/domain/schemas.js';
import { parseOrThrow } from '../../shared/domain/validation.js';
import { apiHandler, json, readJson, requirePrincipal } from '../../shared/http/api-handler.js';
import { parseQuery, pathParameter } from '../../shared/http/query.js';
import { createCore } from '../../shared/wiring/core.js';
import { createWebhooks } from '../../shared/wiring/webhooks.js';

const webhooks = createWebhooks(await createCore(), { configures: true });

/** The province's webhook: set (with a new secret), read, remove; its delivery log; redelivery. */
export const handler = apiHandler(async (request) => {
  const principal = requirePrincipal(request);
  const { event, route } = request;
  switch (route.operationId) {
    case 'putWebhook':
      return json(200, await webhooks.configure(principal, parseOrThrow(putWebhookRequestSchema, readJson(event)).url));
    case 'getWebhook':
      return json(200, await webhooks.get(principal));
    case 'deleteWebhook':
      await webhooks.remove(principal);
      return { statusCode: 204 };
    case 'listWebhookDeliveries':
      return json(200, await webhooks.listDeliveries(principal, parseQuery(listQuerySchema, event)));
    case 'redeliverWebhookEvent':
      return json(202, await webhooks.redeliver(principal, pathParameter(event, 'eventId')));
    default:
      throw new Error(`webhooks has no operation ${route.operationId}`);
  }
});
