import { DynamoAccountStore } from '../adapters/dynamodb/account-store.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoEntitlementStore } from '../adapters/dynamodb/entitlement-store.js';
import { DynamoRegisterEventStore } from '../adapters/dynamodb/register-event-store.js';
import { auditedBatchStore } from '../app/audit.js';
import { createDisbursementUseCases, type DisbursementMessage } from '../app/disbursement.js';
import { systemClock } from '../domain/dates.js';
import type { PaymentProvider } from '../ports/payment-provider.js';
import { createAudit } from './audit.js';
import { createCore, type Core } from './core.js';
import { createNoticesFor } from './notices.js';
import { workQueue } from './queues.js';
import { announcing } from './webhooks.js';

/**
 * Composition root of approval, the disbursement worker, its dead-letter handler
 * and callbacks. Only the functions that send transfers pass `provider`
 * (shared/wiring/provider.ts), so the others do not bundle the provider adapters.
 * Provider callbacks pass `sendsToQueue: false`: settling a payment never
 * queues anything, and the stack neither lets them send to the disbursement
 * queue nor gives them its URL (reading it at cold start would fail deployed).
 */
export async function createDisbursementContext(options: { provider?: (core: Core) => Promise<PaymentProvider>; sendsToQueue?: boolean; handOffWindowMs?: number } = {}) {
  const core = await createCore();
  const batches = announcing(core, auditedBatchStore(new DynamoBatchStore(core.client, core.config.CORE_TABLE_NAME)));
  const provider: PaymentProvider = options.provider
    ? await options.provider(core)
    : {
        send: () => Promise.reject(new Error('This function does not call providers')),
        lookup: () => Promise.reject(new Error('This function does not call providers')),
      };
  const disbursement = createDisbursementUseCases({
    batches,
    accounts: new DynamoAccountStore(core.client, core.config.CORE_TABLE_NAME),
    entitlements: new DynamoEntitlementStore(core.client, core.config.CORE_TABLE_NAME),
    provider,
    queue:
      options.sendsToQueue === false
        ? { send: () => Promise.reject(new Error('This function does not send to the disbursement queue')) }
        : workQueue<DisbursementMessage>('disbursement'),
    clock: systemClock,
    deaths: new DynamoRegisterEventStore(core.client, core.config.CORE_TABLE_NAME),
    ...(options.handOffWindowMs === undefined ? {} : { handOffWindowMs: options.handOffWindowMs }),
    notices: createNoticesFor(batches),
  });
  return { disbursement, batches, audit: createAudit(core).trail, core };
}
