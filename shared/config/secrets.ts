import { createHmac } from 'node:crypto';
import { readSecretString } from './secret-store.js';

export interface Secrets {
  /** Pepper of the keyed hash of personal ID numbers and client references in keys. */
  pepper: string;
  /** Key that seals pagination cursors (derived, so that one secret is kept). */
  cursorKey: string;
}

/**
 * Read once per cold start. Deployed, `HASH_PEPPER_SECRET_ARN` names a Secrets
 * Manager secret (set by the CDK stack with the grant to read it); locally and
 * in tests `HASH_PEPPER` carries a development value.
 */
export async function loadSecrets(env: NodeJS.ProcessEnv = process.env): Promise<Secrets> {
  let pepper = env.HASH_PEPPER;
  if (!pepper && env.HASH_PEPPER_SECRET_ARN) {
    pepper = await readSecretString(env.HASH_PEPPER_SECRET_ARN);
  }
  if (!pepper || pepper.length < 16) {
    throw new Error('Invalid configuration: HASH_PEPPER_SECRET_ARN (or HASH_PEPPER locally) must give a pepper of at least 16 characters');
  }
  return { pepper, cursorKey: createHmac('sha256', pepper).update('pagination-cursor').digest('base64url') };
}
