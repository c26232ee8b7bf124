import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadSecrets } from '../../config/secrets.js';
import { keyedHasher } from '../../domain/keyed-hash.js';
import type { Citizen } from '../../ports/population-registry.js';
import { SandboxPopulationRegistry } from './sandbox-registry.js';
import { SANDBOX_REGISTER_SEED, sandboxPeople, syntheticPopulation } from './synthetic-population.js';

export { SANDBOX_REGISTER_SEED };

/**
 * What the sandbox population register holds from the start, locally (the
 * local server seeds it at start) and in a deployed sandbox (the
 * `sandbox-seed` function, a CloudFormation custom resource, seeds it at
 * deploy): the named `sandboxPeople` of the README walk-through and the
 * synthetic population of SANDBOX_REGISTER_SEED.
 */
export function sandboxRegisterPeople(): Citizen[] {
  return [...sandboxPeople, ...syntheticPopulation(SANDBOX_REGISTER_SEED)];
}

/** The register over a table, its keys hashed with the pepper (read from Secrets Manager deployed, HASH_PEPPER locally). */
export async function openSandboxRegister(client: DynamoDBDocumentClient, tableName: string): Promise<SandboxPopulationRegistry> {
  const { pepper } = await loadSecrets();
  return new SandboxPopulationRegistry(client, tableName, keyedHasher(pepper));
}

/** Writes the seed people (an idempotent upsert); resolves with how many. */
export async function seedSandboxRegister(register: SandboxPopulationRegistry): Promise<number> {
  return register.add(sandboxRegisterPeople());
}
