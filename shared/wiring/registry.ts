import { SandboxPopulationRegistry } from '../adapters/population/sandbox-registry.js';
import type { PopulationRegistry } from '../ports/population-registry.js';
import type { Core } from './core.js';

/**
 * The population register: the sandbox register where its table exists (local,
 * sandbox stage), else the national data-sharing platform.
 */
export async function createRegistry(core: Core): Promise<PopulationRegistry> {
  const table = process.env.REGISTRY_TABLE_NAME;
  if (table) return new SandboxPopulationRegistry(core.client, table, core.hash);
  const { createNationalRegistry } = await import('../adapters/population/national-registry.js');
  return createNationalRegistry();
}
