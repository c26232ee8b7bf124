import { ulid } from 'ulid';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoEntitlementStore } from '../adapters/dynamodb/entitlement-store.js';
import { auditedBatchStore, createAuditReads } from '../app/audit.js';
import { createBatchUseCases } from '../app/batches.js';
import { createBeneficiaryUseCases } from '../app/beneficiary.js';
import type { BatchRecord } from '../domain/batch.js';
import { systemClock } from '../domain/dates.js';
import { createAudit } from './audit.js';
import { batchLeaseSetting, createCore } from './core.js';
import { announcing } from './webhooks.js';

/**
 * Composition root of the batch functions. `startVerification` is given by the
 * write function (it sends to the verification queue); reads never need it.
 */
export async function createBatchContext(options: { startVerification?: (batch: BatchRecord) => Promise<void>; announces?: boolean } = {}) {
  const core = await createCore();
  const { config, client, hash, cursors } = core;
  const audit = createAudit(core);
  const audited = auditedBatchStore(new DynamoBatchStore(client, config.CORE_TABLE_NAME));
  // The write function cancels batches (batch.cancelled); reads change nothing and have no webhook queue.
  const store = options.announces ? announcing(core, audited) : audited;
  const batches = createBatchUseCases({
    store,
    entitlements: new DynamoEntitlementStore(client, config.CORE_TABLE_NAME),
    clock: systemClock,
    newBatchId: ulid,
    newLeaseOwner: ulid,
    hash,
    cursors,
    onSubmitted: options.startVerification ?? (async () => undefined),
    ...batchLeaseSetting(),
  });
  return {
    batches,
    beneficiary: createBeneficiaryUseCases({ batches: store, hash, cursors }),
    auditReads: createAuditReads({ log: audit.log, cursors, loadOwnBatch: batches.getBatch }),
    audit: audit.trail,
    store,
    client,
    tableName: config.CORE_TABLE_NAME,
    hash,
  };
}
