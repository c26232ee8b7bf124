import { batchView } from '../../shared/app/views.js';
import { apiHandler, json, requirePrincipal } from '../../shared/http/api-handler.js';
import { pathParameter } from '../../shared/http/query.js';
import { createDisbursementContext } from '../../shared/wiring/disbursement.js';

const { disbursement, audit } = await createDisbursementContext();

/** Maker-checker approval of a verified batch; its payments are then fanned out to the disbursement queue. */
export const handler = apiHandler(async (request) => {
  const principal = requirePrincipal(request);
  return json(200, batchView(await disbursement.approve(principal, pathParameter(request.event, 'batchId'))));
}, { audit });
