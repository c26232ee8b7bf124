import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContractProxy, type ContractProxy } from '../support/contract-proxy.js';
import { startLocalServer, type RunningServer } from '../support/local-server.js';

/**
 * `npm run demo` as a person runs it (a child process, `node --import tsx
 * bin/demo.ts`), twice against one local server: both runs complete and
 * reconcile, and no personal ID number is printed. The demo talks through a
 * proxy that checks every answer against openapi.json.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
let server: RunningServer;
let proxy: ContractProxy;

beforeAll(async () => {
  server = await startLocalServer({ LOCAL_QUIET: '1' });
  proxy = await startContractProxy(server.url);
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

function runDemo(url: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/demo.ts', '--url', url], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr.on('data', (data: Buffer) => (output += data.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

describe('npm run demo', () => {
  it('drives a batch to COMPLETED, twice in a row, without printing a personal ID number', async () => {
    for (let run = 1; run <= 2; run += 1) {
      const { code, output } = await runDemo(proxy.url);

      expect(code, output).toBe(0);
      expect(proxy.violations, 'answers to the demo off openapi.json').toEqual([]);
      expect(output).toContain('COMPLETED');
      expect(output).toContain('✓ amounts per status add up to the control total');
      expect(output).toMatch(/✓ the held payment for \d{4}-\d{2} is now CANCELLED DECEASED/);
      expect(output).toContain('10,000,000 VND PAID');
      expect(output).not.toMatch(/(?<!\d)\d{12}(?!\d)/);
    }
  }, 150_000);

  it('exits 1 with start instructions when no server answers', async () => {
    const { code, output } = await runDemo('http://127.0.0.1:9');

    expect(code).toBe(1);
    expect(output).toContain('npm start');
  });
});
