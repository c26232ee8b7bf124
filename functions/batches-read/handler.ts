import { listBatchesQuerySchema, listBatchPaymentsQuerySchema, listQuerySchema } from '../../shared/domain/schemas.js';
import { apiHandler, json, requirePrincipal } from '../../shared/http/api-handler.js';
import { parseQuery, pathParameter } from '../../shared/http/query.js';
import { reportCsv, reportRow, reportTotals } from '../../shared/app/report.js';
import { auditRecordView, batchView, paymentView } from '../../shared/app/views.js';
import { createBatchContext } from '../../shared/wiring/batches.js';
import { createRetries } from '../../shared/wiring/retries.js';
import { createStatementUseCases } from '../../shared/app/statements.js';
import { systemClock } from '../../shared/domain/dates.js';

const { batches, beneficiary, auditReads, store, client, tableName } = await createBatchContext();
const retries = createRetries({ store, client, tableName });
// Reads only: a reconciliation never applies a statement line.
const statements = createStatementUseCases({
  batches: store,
  callbacks: { apply: () => Promise.reject(new Error('batches-read applies no statement')) },
  clock: systemClock,
});

/** Provincial reads: a batch, the province's batches, a batch's payments, the reconciliation report, the audit trail, one payment. */
export const handler = apiHandler(async (request) => {
  const principal = requirePrincipal(request);
  const { event, route } = request;
  const batchId = pathParameter(event, 'batchId');
  switch (route.operationId) {
    case 'getBatch':
      return json(200, batchView(await batches.getBatch(principal, batchId)));
    case 'getBatchReconciliation':
      return json(200, await statements.reconciliation(await batches.getBatch(principal, batchId)));
    case 'getRetry':
      return json(200, await retries.get(principal, batchId, pathParameter(event, 'retryId')));
    case 'listBatches': {
      const query = parseQuery(listBatchesQuerySchema, event);
      const page = await batches.listBatches(principal, query);
      return json(200, { items: page.items.map(batchView), nextCursor: page.nextCursor });
    }
    case 'listBatchPayments': {
      const query = parseQuery(listBatchPaymentsQuerySchema, event);
      const page = await batches.listBatchPayments(principal, batchId, query);
      return json(200, {
        items: page.items.map((payment) => paymentView(payment, { withHistory: true, withPersonalId: true })),
        nextCursor: page.nextCursor,
      });
    }
    case 'getBatchReport': {
      const query = parseQuery(listBatchPaymentsQuerySchema, event);
      const page = await batches.listBatchPayments(principal, batchId, query, 'getBatchReport');
      if ((event.headers?.accept ?? '').includes('text/csv')) {
        return {
          statusCode: 200,
          headers: {
            'content-type': 'text/csv; charset=utf-8',
            'content-disposition': `attachment; filename="batch-${page.batch.batchId}-report.csv"`,
            ...(page.nextCursor ? { 'x-next-cursor': page.nextCursor } : {}),
          },
          body: reportCsv(page.batch, page.items, page.nextCursor === null, systemClock.now()),
        };
      }
      return json(200, {
        batch: batchView(page.batch),
        totals: reportTotals(page.batch),
        items: page.items.map((payment) => reportRow(payment, systemClock.now())),
        nextCursor: page.nextCursor,
      });
    }
    case 'listBatchAudit': {
      const page = await auditReads.listBatchAudit(principal, batchId, parseQuery(listQuerySchema, event));
      return json(200, { items: page.items.map(auditRecordView), nextCursor: page.nextCursor });
    }
    case 'getPayment': {
      // To its province (batches:read) or to its beneficiary; anyone else gets 404.
      const paymentId = pathParameter(event, 'paymentId');
      const payment = principal.scopes.has('batches:read')
        ? await batches.getPayment(principal, paymentId)
        : await beneficiary.ownPayment(principal, paymentId);
      return json(200, paymentView(payment, { withHistory: true, withPersonalId: true }));
    }
    default:
      throw new Error(`batches-read does not serve ${route.operationId}`);
  }
});
