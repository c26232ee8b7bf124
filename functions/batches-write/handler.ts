import { appendPaymentsRequestSchema, createBatchRequestSchema, createRetryRequestSchema } from '../../shared/domain/schemas.js';
import { UnsupportedMediaTypeError } from '../../shared/domain/errors.js';
import { parseOrThrow, paymentsFromCsv } from '../../shared/domain/validation.js';
import { apiHandler, json, mediaType, readJson, readText, requirePrincipal } from '../../shared/http/api-handler.js';
import { pathParameter } from '../../shared/http/query.js';
import { batchView } from '../../shared/app/views.js';
import { createBatchContext } from '../../shared/wiring/batches.js';
import { workQueue } from '../../shared/wiring/queues.js';
import { verificationMessagesFor, type VerificationMessage } from '../../shared/app/verification.js';
import { createRetries } from '../../shared/wiring/retries.js';

const verificationQueue = workQueue<VerificationMessage>('verification');
const { batches, audit, store, client, tableName } = await createBatchContext({ startVerification: (batch) => verificationQueue.send(verificationMessagesFor(batch)), announces: true });
const retries = createRetries({ store, client, tableName });

/** Provincial writes: create, append a chunk (JSON or CSV), seal, cancel, ask for a retry or withdraw one. */
export const handler = apiHandler(async (request) => {
  const principal = requirePrincipal(request);
  const { event, route } = request;
  const batchId = pathParameter(event, 'batchId');
  switch (route.operationId) {
    case 'createBatch': {
      const body = parseOrThrow(createBatchRequestSchema, readJson(event));
      const { created, batch } = await batches.createBatch(principal, body);
      return json(created ? 201 : 200, batchView(batch), created ? { location: `/v1/batches/${batch.batchId}` } : {});
    }
    case 'appendPayments': {
      const type = mediaType(event);
      const payments =
        type === 'text/csv'
          ? paymentsFromCsv(readText(event))
          : type === 'application/json'
            ? parseOrThrow(appendPaymentsRequestSchema, readJson(event)).payments
            : (() => {
                throw new UnsupportedMediaTypeError('Send the chunk as application/json or text/csv.');
              })();
      const result = await batches.appendPayments(principal, batchId, payments);
      return json(200, { accepted: result.accepted, alreadyStored: result.alreadyStored, batch: batchView(result.batch) });
    }
    case 'sealBatch':
      return json(200, batchView(await batches.sealBatch(principal, batchId)));
    case 'cancelBatch':
      return json(200, batchView(await batches.cancelBatch(principal, batchId)));
    case 'createRetry': {
      const body = parseOrThrow(createRetryRequestSchema, readJson(event));
      const retry = await retries.request(principal, batchId, body);
      return json(201, retry, { location: `/v1/batches/${batchId}/retries/${retry.retryId}` });
    }
    case 'cancelRetry':
      return json(200, await retries.cancel(principal, batchId, pathParameter(event, 'retryId')));
    default:
      throw new Error(`batches-write does not serve ${route.operationId}`);
  }
}, { audit });
