import * as z from 'zod';
import { DynamoAccountStore } from '../adapters/dynamodb/account-store.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { DynamoEntitlementStore } from '../adapters/dynamodb/entitlement-store.js';
import { auditedBatchStore } from '../app/audit.js';
import type { DisbursementMessage } from '../app/disbursement.js';
import { createRepairUseCases } from '../app/repair.js';
import type { VerificationMessage } from '../app/verification.js';
import { loadConfig } from '../config/env.js';
import { systemClock } from '../domain/dates.js';
import { createAudit } from './audit.js';
import { createCore } from './core.js';
import { createNoticesFor } from './notices.js';
import { workQueue } from './queues.js';
import { registerEventUseCasesOver } from './register-events.js';
import { createRegistry } from './registry.js';
import { announcing, createWebhooks } from './webhooks.js';

/** The reconciler's timing, in seconds (the stack derives them from the queues' and functions' timeouts; docs/decisions.md). */
const repairConfigSchema = z.object({
  REPAIR_QUIET_SECONDS: z.coerce.number().int().min(1),
  REPAIR_REDRIVE_AFTER_SECONDS: z.coerce.number().int().min(1),
  REPAIR_RECHECK_SECONDS: z.coerce.number().int().min(1),
});

/** Composition root of the reconciler (deployed: a scheduled function; locally: a timer of the local server). */
export async function createRepairContext() {
  const building = createCore();
  const [core, registry] = await Promise.all([building, createRegistry(building)]);
  const config = loadConfig(repairConfigSchema);
  const batches = announcing(core, auditedBatchStore(new DynamoBatchStore(core.client, core.config.CORE_TABLE_NAME)));
  const repair = createRepairUseCases({
    batches,
    notices: createNoticesFor(batches),
    entitlements: new DynamoEntitlementStore(core.client, core.config.CORE_TABLE_NAME),
    accounts: new DynamoAccountStore(core.client, core.config.CORE_TABLE_NAME),
    verificationQueue: workQueue<VerificationMessage>('verification'),
    disbursementQueue: workQueue<DisbursementMessage>('disbursement'),
    clock: systemClock,
    // Register events whose delivery died part way (issue 16): finished by the same use case.
    registerEvents: registerEventUseCasesOver(core, registry),
    settings: {
      quietMs: config.REPAIR_QUIET_SECONDS * 1000,
      redriveAfterMs: config.REPAIR_REDRIVE_AFTER_SECONDS * 1000,
      recheckMs: config.REPAIR_RECHECK_SECONDS * 1000,
    },
  });
  const webhooks = createWebhooks(core);
  const webhookConfig = loadConfig(z.object({ WEBHOOK_RETRY_MAX_SECONDS: z.coerce.number().int().min(1).default(3600) }));
  return {
    repair,
    audit: createAudit(core).trail,
    /** Deliveries whose message may be lost: longer than twice the longest wait between attempts, plus the queue's own redelivery horizon. */
    redriveWebhooks: (nothingInFlight: boolean) => webhooks.redrivePending({ nothingInFlight, lostAfterSeconds: 2 * webhookConfig.WEBHOOK_RETRY_MAX_SECONDS + 900 }),
  };
}
