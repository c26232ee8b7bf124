import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where `npm start` keeps its data: by default the folder `.data/` of the
 * checkout (ignored by git), so that a restart, even after `kill -9`, keeps
 * batches, payments, accounts, the sandbox register and the sandbox provider's
 * ledger, and tokens issued before it stay valid (the signing key is kept
 * there too). In memory instead with `--in-memory` or LOCAL_DATA=memory (the
 * test suites do that); `--reset` (or LOCAL_DATA_RESET=1) empties the folder
 * first. LOCAL_DATA_DIR chooses another folder.
 */
export interface LocalDataSettings {
  /** The folder, or undefined to keep everything in memory. */
  dir: string | undefined;
  reset: boolean;
}

const root = fileURLToPath(new URL('..', import.meta.url));

export function localDataSettings(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): LocalDataSettings {
  const unknown = argv.filter((arg) => arg !== '--in-memory' && arg !== '--reset');
  if (unknown.length > 0) throw new Error(`Unknown option ${unknown.join(' ')}: npm start takes --in-memory or --reset.`);
  const inMemory = argv.includes('--in-memory') || env.LOCAL_DATA === 'memory';
  if (env.LOCAL_DATA !== undefined && env.LOCAL_DATA !== 'memory' && env.LOCAL_DATA !== 'disk') {
    throw new Error(`LOCAL_DATA must be "memory" or "disk", got "${env.LOCAL_DATA}".`);
  }
  const folder = env.LOCAL_DATA_DIR ? (isAbsolute(env.LOCAL_DATA_DIR) ? env.LOCAL_DATA_DIR : resolve(env.LOCAL_DATA_DIR)) : join(root, '.data');
  return { dir: inMemory ? undefined : folder, reset: argv.includes('--reset') || env.LOCAL_DATA_RESET === '1' };
}

/** Makes the folder (emptied first when `reset`); returns the paths of what lives in it. */
export function prepareDataFolder(settings: LocalDataSettings): { dynamodb: string; signingKey: string } | undefined {
  if (!settings.dir) return undefined;
  if (settings.reset) rmSync(settings.dir, { recursive: true, force: true });
  mkdirSync(join(settings.dir, 'dynamodb'), { recursive: true });
  return { dynamodb: join(settings.dir, 'dynamodb'), signingKey: join(settings.dir, 'signing-key.json') };
}

/** A JSON file of the folder, or undefined when it does not exist yet. */
export function readJsonFile<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Written readable by this user only (it holds the local signing key). */
export function writeJsonFile(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value), { mode: 0o600 });
}
