import { disburseRequestSchema, mapperChangeRequestSchema, resolveRequestSchema, txnStatusRequestSchema } from '../../shared/domain/g2p.js';
import { parseOrThrow } from '../../shared/domain/validation.js';
import { apiHandler, json, readJson, requirePrincipal } from '../../shared/http/api-handler.js';
import { createG2pContext } from '../../shared/wiring/g2p.js';

const { g2p, audit } = await createG2pContext();

/** G2P Connect under /g2p/v1/: disburse (async and sync), txn/status, mapper resolve; link, unlink and update answered "not supported". */
export const handler = apiHandler(async (request) => {
  const principal = requirePrincipal(request);
  const { event, route } = request;
  switch (route.operationId) {
    case 'g2pDisburse':
      return json(200, await g2p.disburse(principal, parseOrThrow(disburseRequestSchema, readJson(event)), { sync: false }));
    case 'g2pDisburseSync':
      return json(200, await g2p.disburse(principal, parseOrThrow(disburseRequestSchema, readJson(event)), { sync: true }));
    case 'g2pTxnStatus':
    case 'g2pTxnStatusSync':
      return json(200, await g2p.txnStatus(principal, parseOrThrow(txnStatusRequestSchema, readJson(event))));
    case 'g2pMapperResolve':
      return json(200, await g2p.resolve(principal, parseOrThrow(resolveRequestSchema, readJson(event))));
    case 'g2pMapperLink':
    case 'g2pMapperUnlink':
    case 'g2pMapperUpdate':
      parseOrThrow(mapperChangeRequestSchema, readJson(event));
      return json(200, g2p.notSupported(route.operationId.slice('g2pMapper'.length).toLowerCase()));
    default:
      throw new Error(`g2p has no operation ${route.operationId}`);
  }
}, { audit });
