import { DynamoAccountStore } from '../adapters/dynamodb/account-store.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { readOwnAccount } from '../app/accounts.js';
import { createBeneficiaryUseCases } from '../app/beneficiary.js';
import type { Principal } from '../app/principal.js';
import { createCore } from './core.js';

/** Composition root of the `me` function: read-only access to the caller's payments and account. */
export async function createBeneficiaryContext() {
  const { config, client, hash, cursors } = await createCore();
  const batches = new DynamoBatchStore(client, config.CORE_TABLE_NAME);
  const accountStore = new DynamoAccountStore(client, config.CORE_TABLE_NAME);
  return {
    beneficiary: createBeneficiaryUseCases({ batches, hash, cursors }),
    accounts: { readOwn: (principal: Principal) => readOwnAccount({ accounts: accountStore, hash }, principal) },
  };
}
