import * as z from 'zod';
import { readSecretString } from './secret-store.js';

/**
 * The population register's signing secret (its events: api.md 1.1). Deployed:
 * `REGISTER_SECRET_ARN` names a Secrets Manager secret holding
 * `{ "secret": "<at least 16 characters>" }`; created as `{}` until operators
 * fill it, during which every event is refused (401). Locally:
 * `LOCAL_REGISTER_SECRET` (default `local-register-secret`, local/environment.ts).
 */
export async function loadRegisterSecret(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (env.REGISTER_SECRET_ARN) {
    return z.object({ secret: z.string().min(16).optional() }).parse(JSON.parse((await readSecretString(env.REGISTER_SECRET_ARN)) ?? '{}')).secret;
  }
  const local = env.LOCAL_REGISTER_SECRET;
  if (!local) throw new Error('Invalid configuration: REGISTER_SECRET_ARN (or LOCAL_REGISTER_SECRET locally) is required');
  return local;
}
