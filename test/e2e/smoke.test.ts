/** `npm run smoke -- --url <local server>` passes every step and exits 0 (as CI runs it against npm start). */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLocalServer, type RunningServer } from '../support/local-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let server: RunningServer;

beforeAll(async () => {
  server = await startLocalServer();
});

afterAll(async () => {
  await server.stop();
});

it('walks the README through against the local server, twice (a rerun picks a free period)', () => {
  for (let run = 0; run < 2; run++) {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'bin/smoke.ts', '--url', server.url], { cwd: root, encoding: 'utf8', timeout: 55_000 });
    const lines = result.stdout.trim().split('\n');
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(lines.filter((line) => line.startsWith('PASS'))).toHaveLength(10);
    expect(lines.at(-1)).toMatch(/^smoke: 10 passed, 0 failed, 0 skipped/);
  }
});
