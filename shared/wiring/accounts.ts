import { ulid } from 'ulid';
import { DynamoAccountStore } from '../adapters/dynamodb/account-store.js';
import { createAccountUseCases } from '../app/accounts.js';
import type { AccountLinkRecord } from '../ports/account-store.js';
import { systemClock } from '../domain/dates.js';
import { createCore } from './core.js';
import { createRegistry } from './registry.js';

/**
 * Composition root of the `accounts` function. `onLinked` releases the person's
 * held payments; it is supplied by the disbursement wiring where that exists.
 */
export async function createAccountContext(options: { onLinked?: (personHash: string, link: AccountLinkRecord) => Promise<number> } = {}) {
  const core = await createCore();
  const accounts = createAccountUseCases({
    accounts: new DynamoAccountStore(core.client, core.config.CORE_TABLE_NAME),
    registry: await createRegistry(core),
    clock: systemClock,
    hash: core.hash,
    newLinkId: ulid,
    onLinked: options.onLinked ?? (async () => 0),
  });
  return { accounts, core };
}
