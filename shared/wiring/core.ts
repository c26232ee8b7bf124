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
