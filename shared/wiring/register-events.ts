import { ulid } from 'ulid';
import { DynamoAccountStore } from '../adapters/dynamodb/account-store.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoEntitlementStore } from '../adapters/dynamodb/entitlement-store.js';
import { DynamoRegisterEventStore } from '../adapters/dynamodb/register-event-store.js';
import { auditedAccountStore, auditedBatchStore } from '../app/audit.js';
import { createBatchUseCases } from '../app/batches.js';
import type { Principal } from '../app/principal.js';
import { createRegisterEventUseCases, REGISTER_ACTOR } from '../app/register-events.js';
import { verificationMessagesFor, type VerificationMessage } from '../app/verification.js';
import { systemClock } from '../domain/dates.js';
import { createAudit } from './audit.js';
import { batchLeaseSetting, createCore, type Core } from './core.js';
import type { PopulationRegistry } from '../ports/population-registry.js';
import { workQueue } from './queues.js';
import { createRegistry } from './registry.js';

/**
 * Composition root of the population register's events: the signed HTTP
 * route, the queue consumer (the register pushing to SQS, directly or through
 * EventBridge) and the reconciler all run this one use case.
 */
export async function createRegisterEventContext() {
  const building = createCore();
  const [core, registry] = await Promise.all([building, createRegistry(building)]);
  return { registerEvents: registerEventUseCasesOver(core, registry), audit: createAudit(core).trail, core };
}

/** The use case over a core and a register (the reconciler builds it over its own). */
export function registerEventUseCasesOver(core: Core, registry: PopulationRegistry) {
  const { client, config, hash, cursors } = core;
  const batches = auditedBatchStore(new DynamoBatchStore(client, config.CORE_TABLE_NAME));
  const entitlements = new DynamoEntitlementStore(client, config.CORE_TABLE_NAME);
  const events = new DynamoRegisterEventStore(client, config.CORE_TABLE_NAME);
  const verification = workQueue<VerificationMessage>('verification');
  const batchUseCases = createBatchUseCases({
    store: batches,
    entitlements,
    clock: systemClock,
    newBatchId: ulid,
    newLeaseOwner: ulid,
    hash,
    cursors,
    onSubmitted: (batch) => verification.send(verificationMessagesFor(batch)),
    ...batchLeaseSetting(),
  });
  const registerEvents = createRegisterEventUseCases({
    events,
    batches,
    accounts: auditedAccountStore(new DynamoAccountStore(client, config.CORE_TABLE_NAME)),
    entitlements,
    registry,
    hash,
    clock: systemClock,
    createFuneralBatch: async (request) => {
      // The funeral batch is created as a province's own create is, by the register's system actor:
      // any official of the province with batches:approve can then be its checker (a different sub).
      const principal: Principal = { sub: REGISTER_ACTOR, scopes: new Set(['batches:write']), provinceCode: request.provinceCode, personalId: undefined };
      return (await batchUseCases.createBatch(principal, request)).batch;
    },
  });
  return registerEvents;
}
