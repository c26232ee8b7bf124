import { ulid } from 'ulid';
import { DynamoAccountStore } from '../adapters/dynamodb/account-store.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoWebhookStore } from '../adapters/dynamodb/webhook-store.js';
import { createAccountUseCases } from '../app/accounts.js';
import { createG2pUseCases } from '../app/g2p.js';
import { verificationMessagesFor, type VerificationMessage } from '../app/verification.js';
import { systemClock } from '../domain/dates.js';
import { createBatchContext } from './batches.js';
import { workQueue } from './queues.js';
import { createRegistry } from './registry.js';
import { createCore } from './core.js';

/** Composition root of the G2P Connect function: a disburse creates a batch as POST /v1/batches does; resolve reads links under the account routes' care rule. */
export async function createG2pContext() {
  const verificationQueue = workQueue<VerificationMessage>('verification');
  const context = await createBatchContext({ startVerification: (batch) => verificationQueue.send(verificationMessagesFor(batch)) });
  const core = await createCore();
  const registry = await createRegistry(Promise.resolve(core));
  const accounts = createAccountUseCases({
    accounts: new DynamoAccountStore(core.client, core.config.CORE_TABLE_NAME),
    registry,
    payments: new DynamoBatchStore(core.client, core.config.CORE_TABLE_NAME),
    clock: systemClock,
    hash: core.hash,
    newLinkId: ulid,
    onLinked: async () => 0,
  });
  const g2p = createG2pUseCases({
    batches: context.batches,
    store: context.store,
    webhooks: new DynamoWebhookStore(core.client, core.config.CORE_TABLE_NAME),
    readAccount: (principal, personalId) => accounts.read(principal, personalId),
    hash: core.hash,
    clock: systemClock,
    policy: process.env.WEBHOOK_RECEIVER_POLICY === 'loopback' ? 'loopback' : 'public-https',
    newMessageId: ulid,
  });
  return { g2p, audit: context.audit };
}
