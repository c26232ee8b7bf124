import { ulid } from 'ulid';
import * as z from 'zod';
import { createDocumentClient } from '../adapters/dynamodb/client.js';
import { DynamoBatchStore } from '../adapters/dynamodb/batch-store.js';
import { createBatchUseCases, type BatchUseCases } from '../app/batches.js';
import { CursorCodec } from '../app/cursor.js';
import { baseConfigSchema, loadConfig } from '../config/env.js';
import { loadSecrets } from '../config/secrets.js';
import { systemClock } from '../domain/dates.js';
import { keyedHasher, type KeyedHash } from '../domain/keyed-hash.js';

const configSchema = baseConfigSchema.extend({ CORE_TABLE_NAME: z.string().min(1) });

export interface BatchContext {
  batches: BatchUseCases;
  hash: KeyedHash;
}

/** Composition root of the batch functions: adapters behind the ports, created once per cold start. */
export async function createBatchContext(): Promise<BatchContext> {
  const config = loadConfig(configSchema);
  const secrets = await loadSecrets();
  const hash = keyedHasher(secrets.pepper);
  const store = new DynamoBatchStore(createDocumentClient(), config.CORE_TABLE_NAME);
  const batches = createBatchUseCases({
    store,
    clock: systemClock,
    newBatchId: ulid,
    newLeaseOwner: ulid,
    hash,
    cursors: new CursorCodec(secrets.cursorKey),
    // Verification is started by the verification issue's queue; until then a sealed batch waits.
    onSubmitted: async () => undefined,
  });
  return { batches, hash };
}
