import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../shared/adapters/dynamodb/client.js';
import { SandboxPopulationRegistry } from '../shared/adapters/population/sandbox-registry.js';
import { sandboxPeople, syntheticPopulation } from '../shared/adapters/population/synthetic-population.js';
import { loadSecrets } from '../shared/config/secrets.js';
import { keyedHasher } from '../shared/domain/keyed-hash.js';
import { localPopulationRequestSchema } from '../shared/domain/schemas.js';
import { parseOrThrow } from '../shared/domain/validation.js';
import { readJson, type ApiEvent } from '../shared/http/api-handler.js';
import type { Citizen } from '../shared/ports/population-registry.js';
import type { LocalRoute } from './http-server.js';

/**
 * The local server's sandbox population register: seeded at start, and grown
 * through `POST /local/population` (api.md, "Local server only").
 *
 * The seed is the named `sandboxPeople` (8 people with documented IDs, see
 * shared/adapters/population/synthetic-population.ts) plus 2,000 synthetic
 * people (seed 1): enough for demos and sample batches of realistic names, and
 * small enough to write in a fraction of a second (about 80 BatchWriteItem
 * requests to the in-memory store). Tests add the people they need themselves.
 */
export const LOCAL_POPULATION_SEED = { size: 2_000, seed: 1 } as const;

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
  const registry = loadSecrets().then(({ pepper }) => new SandboxPopulationRegistry(client, tableName, keyedHasher(pepper)));
  // Seeded once per store: a register kept in the data folder keeps what was added or changed since.
  const marker = { TableName: tableName, Key: { pk: `SEEDED#${LOCAL_POPULATION_SEED.size}#${LOCAL_POPULATION_SEED.seed}` } };
  const ready = registry.then(async (register) => {
    if ((await client.send(new GetCommand({ ...marker, ConsistentRead: true }))).Item) return 0;
    const people = [...sandboxPeople, ...syntheticPopulation(LOCAL_POPULATION_SEED)];
    await register.add(people);
    await client.send(new PutCommand({ TableName: tableName, Item: { ...marker.Key, seededAt: new Date().toISOString() } }));
    return people.length;
  });
  // Awaited by the caller; this only keeps a failure that happens before then from being reported twice.
  ready.catch(() => undefined);
  return {
    route: { method: 'POST', path: '/local/population', handle: async (event) => addToPopulation(await registry, event) },
    ready,
    registry: () => registry,
    stop: () => client.destroy(),
  };
}
