import * as z from 'zod';
import { findProviderByCode } from '../domain/catalogues.js';
import { readSecretString } from './secret-store.js';

/**
 * Shared secrets of providers' callback signatures. Deployed:
 * `PROVIDER_SECRETS_ARN` names a Secrets Manager secret holding a JSON object
 * `{ "<providerCode>": "<secret>" }`. Locally: every provider signs with
 * `LOCAL_PROVIDER_SECRET` (api.md).
 */
export async function loadProviderSecrets(env: NodeJS.ProcessEnv = process.env): Promise<{ secretFor(providerCode: string): string | undefined }> {
  if (env.PROVIDER_SECRETS_ARN) {
    const secrets = z.record(z.string(), z.string().min(16)).parse(JSON.parse((await readSecretString(env.PROVIDER_SECRETS_ARN)) ?? '{}'));
    return { secretFor: (code) => (Object.hasOwn(secrets, code) ? secrets[code] : undefined) };
  }
  const local = env.LOCAL_PROVIDER_SECRET;
  if (!local) throw new Error('Invalid configuration: PROVIDER_SECRETS_ARN (or LOCAL_PROVIDER_SECRET locally) is required');
  return { secretFor: (code) => (findProviderByCode(code) ? local : undefined) };
}
