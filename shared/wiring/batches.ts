import { ulid } from 'ulid';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoEntitlementStore } from '../adapters/dynamodb/entitlement-store.js';
import { createBatchUseCases } from '../app/batches.js';
import { createBeneficiaryUseCases } from '../app/beneficiary.js';
import type { BatchRecord } from '../domain/batch.js';
import { systemClock } from '../domain/dates.js';
import { createCore } from './core.js';

/**
 * Composition root of the batch functions. `startVerification` is given by the
 * write function (it sends to the verification queue); reads never need it.
 */
export async function createBatchContext(options: { startVerification?: (batch: BatchRecord) => Promise<void> } = {}) {
  const { config, client, hash, cursors } = await createCore();
  const store = new DynamoBatchStore(client, config.CORE_TABLE_NAME);
  const batches = createBatchUseCases({
    store,
    entitlements: new DynamoEntitlementStore(client, config.CORE_TABLE_NAME),
    clock: systemClock,
    newBatchId: ulid,
    newLeaseOwner: ulid,
    hash,
    cursors,
    onSubmitted: options.startVerification ?? (async () => undefined),
  });
  return { batches, beneficiary: createBeneficiaryUseCases({ batches: store, hash, cursors }), store, client, hash };
}
