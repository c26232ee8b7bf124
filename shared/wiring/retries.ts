import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { DynamoAccountStore } from '../adapters/dynamodb/account-store.js';
import { DynamoEntitlementStore } from '../adapters/dynamodb/entitlement-store.js';
import type { DisbursementMessage } from '../app/disbursement.js';
import type { Notices } from '../app/notices.js';
import { createRetryUseCases } from '../app/retries.js';
import { systemClock } from '../domain/dates.js';
import type { BatchStore } from '../ports/batch-store.js';
import type { WorkQueue } from '../ports/work-queue.js';

/**
 * The retry use cases over the functions' own store (audited). Only approval and
 * the reconciler start attempts and pass the disbursement queue and the notices
 * (shared/wiring/notices.ts); requests and reads never send (the stack gives
 * them no queue, and their bundles no notice channel).
 */
export function createRetries(options: { store: BatchStore; client: DynamoDBDocumentClient; tableName: string; queue?: WorkQueue<DisbursementMessage>; notices?: Notices }) {
  return createRetryUseCases({
    batches: options.store,
    accounts: new DynamoAccountStore(options.client, options.tableName),
    entitlements: new DynamoEntitlementStore(options.client, options.tableName),
    queue: options.queue ?? { send: () => Promise.reject(new Error('This function does not send to the disbursement queue')) },
    clock: systemClock,
    newRetryId: ulid,
    notices: options.notices,
  });
}
