import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../shared/adapters/dynamodb/client.js';
import type { SandboxPopulationRegistry } from '../shared/adapters/population/sandbox-registry.js';
import { openSandboxRegister, SANDBOX_REGISTER_SEED, seedSandboxRegister } from '../shared/adapters/population/sandbox-seed.js';
import { localPopulationRequestSchema } from '../shared/domain/schemas.js';
import { parseOrThrow } from '../shared/domain/validation.js';
import { readJson, type ApiEvent } from '../shared/http/api-handler.js';
import type { Citizen } from '../shared/ports/population-registry.js';
import { runAsFunction } from './function-context.js';
import type { LocalRoute } from './http-server.js';

/**
 * The local server's sandbox population register: seeded at start, and grown
 * through `POST /local/population` (api.md, "Local server only").
 *
 * The seed is the deployed sandbox's (shared/adapters/population/sandbox-seed.ts):
 * the named `sandboxPeople` (8 people with documented IDs) plus 2,000
 * synthetic people (seed 1), written in a fraction of a second. Tests add the
 * people they need themselves.
 */
export const LOCAL_POPULATION_SEED = SANDBOX_REGISTER_SEED;

/**
 * `POST /local/population`: validates the whole body (422 listing every error,
 * nothing stored), then upserts. A citizen may name `provinceCode`, the province
 * of permanent residence (api.md), which puts them in that province's care.
 */
export async function addToPopulation(registry: SandboxPopulationRegistry, event: ApiEvent): Promise<{ statusCode: number; body: { added: number } }> {
  const request = parseOrThrow(localPopulationRequestSchema, readJson(event));
  const citizens: Citizen[] = request.citizens.map((citizen) => ({ ...citizen, dateOfDeath: citizen.dateOfDeath ?? null, provinceCode: citizen.provinceCode ?? null }));
  return { statusCode: 200, body: { added: await registry.add(citizens) } };
}

export interface LocalPopulation {
  /** `POST /local/population` (answers once the register is ready). */
  route: LocalRoute;
  /** Resolves with the number of people seeded; await it before serving. */
  ready: Promise<number>;
  /** The register, once ready. */
  registry(): Promise<SandboxPopulationRegistry>;
  stop(): void;
}

/**
 * Starts seeding the register table (it must exist) at once, without waiting:
 * the caller starts other services meanwhile and awaits `ready` before serving.
 */
export function startLocalPopulation(endpoint: string, tableName: string): LocalPopulation {
  const client = createDocumentClient(endpoint);
  // Seeding is the code the deployed `sandbox-seed` function runs: recorded as its calls (local/function-context.ts).
  const registry = runAsFunction('sandbox-seed', () => openSandboxRegister(client, tableName));
  // Seeded once per store: a register kept in the data folder keeps what was added or changed since.
  const marker = { TableName: tableName, Key: { pk: `SEEDED#${SANDBOX_REGISTER_SEED.size}#${SANDBOX_REGISTER_SEED.seed}` } };
  const ready = (async () => {
    if ((await client.send(new GetCommand({ ...marker, ConsistentRead: true }))).Item) return 0;
    const seeded = await runAsFunction('sandbox-seed', () => registry.then((register) => seedSandboxRegister(register)));
    await client.send(new PutCommand({ TableName: tableName, Item: { ...marker.Key, seededAt: new Date().toISOString() } }));
    return seeded;
  })();
  // Awaited by the caller; this only keeps a failure that happens before then from being reported twice.
  ready.catch(() => undefined);
  return {
    route: { method: 'POST', path: '/local/population', handle: async (event) => addToPopulation(await registry, event) },
    ready,
    registry: () => registry,
    stop: () => client.destroy(),
  };
}
