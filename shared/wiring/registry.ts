import { createNationalRegistry } from '../adapters/population/national-registry.js';
import { SandboxPopulationRegistry } from '../adapters/population/sandbox-registry.js';
import type { PopulationRegistry } from '../ports/population-registry.js';
import type { Core } from './core.js';

/**
 * The population register: the sandbox register where its table exists (local,
 * sandbox stage), else the national data-sharing platform. Takes the core being
 * built rather than the core: the national register's credentials are read
 * while the core's secret is, not after it (one cold start, two secrets).
 */
export async function createRegistry(core: Promise<Core>): Promise<PopulationRegistry> {
  const table = process.env.REGISTRY_TABLE_NAME;
  if (table) {
    const { client, hash } = await core;
    return new SandboxPopulationRegistry(client, table, hash);
  }
  return createNationalRegistry();
}
