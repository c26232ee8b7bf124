import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoEntitlementStore } from '../adapters/dynamodb/entitlement-store.js';
import { auditedBatchStore } from '../app/audit.js';
import { createVerificationUseCases, type VerificationMessage } from '../app/verification.js';
import { systemClock } from '../domain/dates.js';
import { createAudit } from './audit.js';
import { createCore } from './core.js';
import { workQueue } from './queues.js';
import { createRegistry } from './registry.js';
import { announcing } from './webhooks.js';

/** Composition root of the verification worker. */
export async function createVerificationContext() {
  const building = createCore();
  const [core, registry] = await Promise.all([building, createRegistry(building)]);
  const verification = createVerificationUseCases({
    batches: announcing(core, auditedBatchStore(new DynamoBatchStore(core.client, core.config.CORE_TABLE_NAME))),
    entitlements: new DynamoEntitlementStore(core.client, core.config.CORE_TABLE_NAME),
    registry,
    queue: workQueue<VerificationMessage>('verification'),
    clock: systemClock,
  });
  return { verification, audit: createAudit(core).trail };
}
