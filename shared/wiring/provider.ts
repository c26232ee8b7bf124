import { createHttpProvider } from '../adapters/provider/http-provider.js';
import { SandboxPaymentProvider } from '../adapters/provider/sandbox-provider.js';
import type { PaymentProvider } from '../ports/payment-provider.js';
import type { Core } from './core.js';

/**
 * The payment provider of the functions that send transfers (the disbursement
 * worker and its dead-letter handler): the sandbox provider where its ledger
 * table exists (local, sandbox stage), else the HTTP gateway. Only those two
 * functions import this module, so the others' bundles carry neither adapter.
 */
export async function createProvider(core: Core): Promise<PaymentProvider> {
  const ledger = process.env.SANDBOX_PROVIDER_TABLE_NAME;
  if (ledger) return new SandboxPaymentProvider(core.client, ledger);
  if (process.env.PAYMENT_PROVIDER_URL) return createHttpProvider();
  throw new Error('Invalid configuration: no payment provider configured (SANDBOX_PROVIDER_TABLE_NAME or PAYMENT_PROVIDER_URL)');
}
