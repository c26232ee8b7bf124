import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { findProviderByCode } from '../domain/catalogues.js';

/**
 * Shared secrets of providers' callback signatures. Deployed:
 * `PROVIDER_SECRETS_ARN` names a Secrets Manager secret holding a JSON object
 * `{ "<providerCode>": "<secret>" }`. Locally: every provider signs with
 * `LOCAL_PROVIDER_SECRET` (api.md).
 */
export async function loadProviderSecrets(env: NodeJS.ProcessEnv = process.env): Promise<{ secretFor(providerCode: string): string | undefined }> {
  if (env.PROVIDER_SECRETS_ARN) {
    const client = new SecretsManagerClient({});
    const result = await client.send(new GetSecretValueCommand({ SecretId: env.PROVIDER_SECRETS_ARN }));
    client.destroy();
    const secrets = z.record(z.string(), z.string().min(16)).parse(JSON.parse(result.SecretString ?? '{}'));
    return { secretFor: (code) => (Object.hasOwn(secrets, code) ? secrets[code] : undefined) };
  }
  const local = env.LOCAL_PROVIDER_SECRET;
  if (!local) throw new Error('Invalid configuration: PROVIDER_SECRETS_ARN (or LOCAL_PROVIDER_SECRET locally) is required');
  return { secretFor: (code) => (findProviderByCode(code) ? local : undefined) };
}
