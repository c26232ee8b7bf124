import * as z from 'zod';
import { readSecretString } from './secret-store.js';

/**
 * The population register's signing secret (its events: api.md 1.1). Deployed:
 * `REGISTER_SECRET_ARN` names a Secrets Manager secret holding it. Locally:
 * `LOCAL_REGISTER_SECRET` (default `local-register-secret`, local/environment.ts).
 */
export async function loadRegisterSecret(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.REGISTER_SECRET_ARN) return z.string().min(16).parse(await readSecretString(env.REGISTER_SECRET_ARN));
  const local = env.LOCAL_REGISTER_SECRET;
  if (!local) throw new Error('Invalid configuration: REGISTER_SECRET_ARN (or LOCAL_REGISTER_SECRET locally) is required');
  return local;
}
