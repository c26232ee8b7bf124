import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoEntitlementStore } from '../adapters/dynamodb/entitlement-store.js';
import { createVerificationUseCases, type VerificationMessage } from '../app/verification.js';
import { systemClock } from '../domain/dates.js';
import { createCore } from './core.js';
import { workQueue } from './queues.js';
import { createRegistry } from './registry.js';

/** Composition root of the verification worker. */
export async function createVerificationContext() {
  const core = await createCore();
  const verification = createVerificationUseCases({
    batches: new DynamoBatchStore(core.client, core.config.CORE_TABLE_NAME),
    entitlements: new DynamoEntitlementStore(core.client, core.config.CORE_TABLE_NAME),
    registry: await createRegistry(core),
    queue: workQueue<VerificationMessage>('verification'),
    clock: systemClock,
  });
  return { verification };
}
