import { ulid } from 'ulid';
import { DynamoAccountStore } from '../adapters/dynamodb/account-store.js';
import { createAccountUseCases } from '../app/accounts.js';
import { auditedAccountStore } from '../app/audit.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { releaseHeldPayments, type DisbursementMessage } from '../app/disbursement.js';
import { workQueue } from './queues.js';
import { systemClock } from '../domain/dates.js';
import { createAudit } from './audit.js';
import { createCore } from './core.js';
import { createRegistry } from './registry.js';

/** Composition root of the `accounts` function: a province's care is read from the person's payments and the register; linking releases the person's held payments. */
export async function createAccountContext() {
  const building = createCore();
  const [core, registry] = await Promise.all([building, createRegistry(building)]);
  const batches = new DynamoBatchStore(core.client, core.config.CORE_TABLE_NAME);
  const queue = workQueue<DisbursementMessage>('disbursement');
  const accounts = createAccountUseCases({
    accounts: auditedAccountStore(new DynamoAccountStore(core.client, core.config.CORE_TABLE_NAME)),
    registry,
    payments: batches,
    clock: systemClock,
    hash: core.hash,
    newLinkId: ulid,
    onLinked: (personHash) => releaseHeldPayments({ batches, queue }, personHash),
  });
  return { accounts, audit: createAudit(core).trail, core };
}
