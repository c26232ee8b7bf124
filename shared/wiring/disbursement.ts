import { DynamoAccountStore } from '../adapters/dynamodb/account-store.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoEntitlementStore } from '../adapters/dynamodb/entitlement-store.js';
import { SandboxPaymentProvider } from '../adapters/provider/sandbox-provider.js';
import { auditedBatchStore } from '../app/audit.js';
import { createDisbursementUseCases, type DisbursementMessage } from '../app/disbursement.js';
import { systemClock } from '../domain/dates.js';
import type { PaymentProvider } from '../ports/payment-provider.js';
import { createAudit } from './audit.js';
import { createCore, type Core } from './core.js';
import { workQueue } from './queues.js';

/** The sandbox provider where its ledger table exists (local, sandbox stage); else the HTTP gateway. */
async function createProvider(core: Core): Promise<PaymentProvider> {
  const ledger = process.env.SANDBOX_PROVIDER_TABLE_NAME;
  if (ledger) return new SandboxPaymentProvider(core.client, ledger);
  if (process.env.PAYMENT_PROVIDER_URL) {
    const { createHttpProvider } = await import('../adapters/provider/http-provider.js');
    return createHttpProvider();
  }
  throw new Error('Invalid configuration: no payment provider configured (SANDBOX_PROVIDER_TABLE_NAME or PAYMENT_PROVIDER_URL)');
}

/** Composition root of approval, the disbursement worker, its dead-letter handler and callbacks. */
export async function createDisbursementContext(options: { withProvider: boolean }) {
  const core = await createCore();
  const batches = auditedBatchStore(new DynamoBatchStore(core.client, core.config.CORE_TABLE_NAME));
  const provider: PaymentProvider = options.withProvider
    ? await createProvider(core)
    : {
        send: () => Promise.reject(new Error('This function does not call providers')),
        lookup: () => Promise.reject(new Error('This function does not call providers')),
      };
  const disbursement = createDisbursementUseCases({
    batches,
    accounts: new DynamoAccountStore(core.client, core.config.CORE_TABLE_NAME),
    entitlements: new DynamoEntitlementStore(core.client, core.config.CORE_TABLE_NAME),
    provider,
    queue: workQueue<DisbursementMessage>('disbursement'),
    clock: systemClock,
  });
  return { disbursement, batches, audit: createAudit(core).trail, core };
}
