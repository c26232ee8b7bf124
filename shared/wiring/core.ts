import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { createDocumentClient } from '../adapters/dynamodb/client.js';
import { CursorCodec } from '../app/cursor.js';
import { baseConfigSchema, loadConfig } from '../config/env.js';
import { loadSecrets } from '../config/secrets.js';
import { keyedHasher, type KeyedHash } from '../domain/keyed-hash.js';

const coreConfigSchema = baseConfigSchema.extend({ CORE_TABLE_NAME: z.string().min(1) });

export interface Core {
  config: z.infer<typeof coreConfigSchema>;
  client: DynamoDBDocumentClient;
  hash: KeyedHash;
  cursors: CursorCodec;
}

/** What every function that touches the core table needs, created once per cold start. */
export async function createCore(): Promise<Core> {
  const config = loadConfig(coreConfigSchema);
  const secrets = await loadSecrets();
  return { config, client: createDocumentClient(), hash: keyedHasher(secrets.pepper), cursors: new CursorCodec(secrets.cursorKey) };
}

/**
 * The lease of a batch's create and upload (shared/app/batches.ts): unset deployed and in `npm start` (35 s).
 * The chaos suite's child, whose requests take milliseconds, shortens it with BATCH_LEASE_SECONDS. Every
 * composition root that creates batches (the province's functions, the register's funeral allowance) reads it here.
 */
export function batchLeaseSetting(): { leaseMs?: number } {
  return process.env.BATCH_LEASE_SECONDS ? { leaseMs: Number(process.env.BATCH_LEASE_SECONDS) * 1000 } : {};
}
