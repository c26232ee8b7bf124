/**
 * Cold start of the deployed shape: every function's bundle, built as `cdk
 * synth` builds it, initialises in a fresh Node process given only the
 * variables the stack sets on that function in the synthesized template (and
 * what the Lambda runtime sets), for both stages. No timing is asserted here
 * (`npm run bench:bundles` measures it): only that each loads with its own
 * variables, so that a variable read at cold start and never set by the stack
 * (or set only on another function) fails here instead of in the cloud.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOne, checkShapes, environmentOf, functionNames, loadShapes, runOnce, RUNNER, startSecretsStub } from '../../bench/bundles.js';
import type { DeployedShape } from '../../bench/deployed-environment.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Under node_modules, as the bench: external SDK modules resolve as the runtime's would.
const workDir = join(root, 'node_modules', '.cache', `cold-start-test-${process.pid}`);

let shapes: Record<'prod' | 'sandbox', DeployedShape>;
let secrets: Awaited<ReturnType<typeof startSecretsStub>>;
const bundles = new Map<string, string>();
const runner = join(workDir, 'runner.mjs');

beforeAll(async () => {
  await mkdir(workDir, { recursive: true });
  await writeFile(runner, RUNNER);
  shapes = await loadShapes(['prod', 'sandbox'] as const);
  secrets = await startSecretsStub(new Map([...shapes.prod.secretValues, ...shapes.sandbox.secretValues]));
  for (const name of await functionNames()) bundles.set(name, (await buildOne(name, join(workDir, name), root, [])).file);
}, 240_000);

afterAll(async () => {
  await secrets?.stop();
  await rm(workDir, { recursive: true, force: true });
});

describe.each(['prod', 'sandbox'] as const)('%s', (stage) => {
  it('initialises every function of the template with only its own variables', async () => {
    const checks = (await checkShapes(runner, bundles, { [stage]: shapes[stage] }, secrets.endpoint))[stage] ?? {};
    const failed = Object.entries(checks).flatMap(([name, check]) => (check.ok ? [] : [`${name}: ${check.error}`]));
    expect(failed).toEqual([]);
    expect(Object.keys(checks).sort()).toEqual(shapes[stage].functions.map((fn) => fn.name).sort());
    expect(Object.keys(checks).length).toBe(stage === 'sandbox' ? 21 : 19);
  });
});

it('fails a function whose variable is taken away (the check is not vacuous)', async () => {
  const me = shapes.prod.functions.find((fn) => fn.name === 'me');
  if (!me) throw new Error('no me function in prod');
  const { HASH_PEPPER_SECRET_ARN: _taken, ...env } = environmentOf(me, secrets.endpoint);
  await expect(runOnce(runner, bundles.get('me') ?? '', env)).rejects.toThrow(/HASH_PEPPER_SECRET_ARN/);
  // And with it, it loads.
  await expect(runOnce(runner, bundles.get('me') ?? '', environmentOf(me, secrets.endpoint))).resolves.toMatchObject({ initMs: expect.any(Number) });
});
