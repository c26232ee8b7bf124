import * as z from 'zod';
import { DynamoAuditLog } from '../adapters/dynamodb/audit-log.js';
import { AuditTrail } from '../app/audit.js';
import { loadConfig } from '../config/env.js';
import { systemClock } from '../domain/dates.js';
import type { Core } from './core.js';

const auditConfigSchema = z.object({ AUDIT_TABLE_NAME: z.string().min(1) });

/** The audit table's log and the unit-of-work recorder over it, for functions that change state or read the trail. */
export function createAudit(core: Core) {
  const { AUDIT_TABLE_NAME } = loadConfig(auditConfigSchema);
  const log = new DynamoAuditLog(core.client, AUDIT_TABLE_NAME);
  return { log, trail: new AuditTrail(log, systemClock) };
}
