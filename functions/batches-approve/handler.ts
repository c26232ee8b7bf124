import { batchView } from '../../shared/app/views.js';
import { apiHandler, json, requirePrincipal } from '../../shared/http/api-handler.js';
import { pathParameter } from '../../shared/http/query.js';
import { createDisbursementContext } from '../../shared/wiring/disbursement.js';
import { workQueue } from '../../shared/wiring/queues.js';
import { createNoticesFor } from '../../shared/wiring/notices.js';
import { createRetries } from '../../shared/wiring/retries.js';
import type { DisbursementMessage } from '../../shared/app/disbursement.js';

const { disbursement, audit, batches, core } = await createDisbursementContext();
const retries = createRetries({
  store: batches,
  client: core.client,
  tableName: core.config.CORE_TABLE_NAME,
  queue: workQueue<DisbursementMessage>('disbursement'),
  notices: createNoticesFor(batches),
});

/**
 * Maker-checker approval of a verified batch (its payments are then fanned out to the disbursement
 * queue), and of a retry (its payments start a new attempt).
 */
export const handler = apiHandler(async (request) => {
  const principal = requirePrincipal(request);
  const batchId = pathParameter(request.event, 'batchId');
  if (request.route.operationId === 'approveRetry') return json(200, await retries.approve(principal, batchId, pathParameter(request.event, 'retryId')));
  return json(200, batchView(await disbursement.approve(principal, batchId)));
}, { audit });
