import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { observed } from '../adapters/aws-call-observers.js';

let client: SecretsManagerClient | undefined;

/**
 * One Secrets Manager client per process: a cold start that reads several
 * secrets (the pepper, the register's or the provider's credentials) builds
 * the client, resolves its configuration and opens its connection once.
 */
export function secretsManager(): SecretsManagerClient {
  client ??= observed(new SecretsManagerClient({}));
  return client;
}

/** A secret's string value, by ARN. */
export async function readSecretString(secretArn: string): Promise<string | undefined> {
  return (await secretsManager().send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
}
