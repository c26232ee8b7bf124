/** `npm run smoke`: arguments, one line per step, the exit code, against fakes (the real run: test/e2e/smoke.test.ts). */
import { describe, expect, it } from 'vitest';
import { formatStep, runSmokeCli } from '../../../bin/smoke.js';
import type { SandboxAccess } from '../../../bin/token/flows.js';
import { stackOutputs } from '../../../infra/outputs.js';

async function run(argv: string[], fetchImpl: typeof fetch, access?: SandboxAccess) {
  let out = '';
  const code = await runSmokeCli(argv, {
    fetch: fetchImpl,
    sandboxAccess: async () => {
      if (!access) throw new Error('no AWS here');
      return access;
    },
    out: (text) => (out += text),
    env: {} as NodeJS.ProcessEnv,
  });
  return { code, lines: out.trim().split('\n') };
}

const requested: string[] = [];
/** An API whose health check fails. */
const unhealthy = (async (url: string | URL) => {
  requested.push(String(url));
  return new Response(JSON.stringify({ code: 'INTERNAL', detail: 'store down' }), { status: 503, headers: { 'content-type': 'application/problem+json' } });
}) as typeof fetch;

describe('runSmokeCli', () => {
  it('prints a FAIL line with the reason, SKIP for the steps after it, and exits 1', async () => {
    const { code, lines } = await run(['--url', 'http://localhost:3999/'], unhealthy);
    expect(code).toBe(1);
    expect(lines[0]).toBe('smoke: the README walk-through against http://localhost:3999');
    expect(lines[1]).toMatch(/^FAIL {3}1\/10 health and the API document \(\d+ ms\): GET \/v1\/health: expected 200, got 503 INTERNAL \(store down\)$/);
    expect(lines.slice(2, 11).every((line) => line.startsWith('SKIP'))).toBe(true);
    expect(lines.at(-1)).toBe('smoke: 0 passed, 1 failed, 9 skipped');
    expect(requested).toEqual(['http://localhost:3999/v1/health']);
  });

  it('exits 2 on usage errors', async () => {
    for (const argv of [[], ['--url'], ['--stage', 'prod'], ['--url', 'ftp://x'], ['--url', 'http://x', '--wait', 'soon'], ['--nope']]) {
      expect((await run(argv, unhealthy)).code, JSON.stringify(argv)).toBe(2);
    }
  });

  it('finds a deployed sandbox API from its stack outputs, and says so when it cannot', async () => {
    const seen: string[] = [];
    const fetchImpl = (async (url: string | URL) => {
      seen.push(String(url));
      return new Response('{}', { status: 503 });
    }) as typeof fetch;
    const access: SandboxAccess = {
      stackOutputs: async () => ({ [stackOutputs.apiUrl]: 'https://abc.execute-api.ap-southeast-1.amazonaws.com/' }),
      clientSecret: async () => 'secret',
      fetch: fetchImpl,
    };
    const { code, lines } = await run(['--stage', 'sandbox'], fetchImpl, access);
    expect(code).toBe(1);
    expect(lines[0]).toBe('smoke: the README walk-through against https://abc.execute-api.ap-southeast-1.amazonaws.com');
    expect(seen).toEqual(['https://abc.execute-api.ap-southeast-1.amazonaws.com/v1/health']);
    expect(await run(['--stage', 'sandbox'], fetchImpl)).toEqual({ code: 1, lines: ['FAIL  the stack SocialPayments-sandbox could not be read: no AWS here'] });
  });

  it('masks personal ID numbers in a step line', () => {
    expect(formatStep({ name: 'x', status: 'FAIL', ms: 1, detail: 'PUT /v1/accounts/079185000001: 422' }, 0, 1)).not.toContain('079185000001');
  });
});
