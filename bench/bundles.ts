/**
 * Bundle size and module initialisation time of every Lambda function
 * (functions/<name>/handler.ts), next to a hello-world handler built and
 * measured the same way. Part of `npm run bench`; alone: `npm run bench:bundles`
 * (`-- --runs N`, `--json FILE`).
 *
 * Build: `esbuildOptions()` of infra/bundling.ts, the options `cdk synth` gives
 * NodejsFunction (minified ESM index.mjs with a linked source map). The size is
 * the bytes of index.mjs (the map is not counted: Lambda never executes it).
 * Bundles are written under node_modules/.cache/bench-bundles/, so that any
 * package marked external (e.g. `@aws-sdk/*`, which the Lambda runtime
 * provides) resolves from this project's node_modules, as the runtime resolves
 * its own copy: the import is loaded and timed, never skipped.
 *
 * Initialisation: each run is a fresh `node` process running a small runner
 * that takes `performance.now()` just before and just after
 * `await import('<bundle>/index.mjs')`. `initMs` is that difference: loading,
 * parsing and evaluating the module graph, top-level await included (config
 * parsed with zod, clients created, secrets fetched). `processStartToEvaluatedMs`
 * is the second reading (performance.now() counts from the process's time
 * origin), which adds Node's own bootstrap: reported, not compared. Medians of
 * `runs` (default 10) runs, run one after another.
 *
 * Environment: the deployed shape. Each function gets exactly the variables
 * the stack sets on it in the synthesized prod template (no variable of
 * another function: bench/deployed-environment.ts), stand-in values for the
 * references (table names, queue URLs, secret ARNs), prod's register and
 * payment gateway URLs as stand-ins (unset today), and what the Lambda
 * runtime sets (region, credentials, function name). Secrets are fetched at
 * module scope, so a stub Secrets Manager on loopback answers GetSecretValue
 * (AWS_ENDPOINT_URL_SECRETS_MANAGER): the SDK client, its signing and one HTTP
 * round trip per secret are inside the measured time; the network latency to
 * the regional endpoint (a few ms per secret deployed) and Lambda's own
 * bootstrap are not. No NODE_OPTIONS: prod does not parse source maps at
 * cold start.
 *
 * Deployed-shape check: every function of each stage's template (prod and
 * sandbox, whose functions parse source maps at cold start and use the
 * sandbox register and provider) is also loaded once with its own variables
 * only; a bundle that fails to initialise (a variable its code needs that the
 * stack does not set, a secret it cannot read) is a miss of the targets.
 * test/infra/cold-start.test.ts asserts the same, without timings.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { bundleFileName, esbuildOptions, esbuildSettings } from '../infra/bundling.js';
import type { StageName } from '../infra/stages.js';
import { deployedShape, runtimeVariables, type DeployedFunction, type DeployedShape } from './deployed-environment.js';

/**
 * issue 6: every bundle under 500 KB, in the KB esbuild (and so `cdk synth`) prints sizes in: 1,024
 * bytes (the issue's "about 570 KB" batch functions were 567-577 KiB) ...
 */
export const MAX_BUNDLE_BYTES = 500 * 1024;
/** ... and its module initialisation within 100 ms of the hello-world bundle's. */
export const MAX_INIT_OVER_HELLO_MS = 100;

export const HELLO_WORLD = 'hello-world';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

export interface InitTiming {
  /** Median of the runs: dynamic import of index.mjs, from just before to evaluated. */
  initMs: number;
  /**
   * Median of the runs: CPU time (user + system, every thread of the process) over the same span. Less
   * sensitive than initMs to other work on a shared machine; it leaves out waiting (the secrets' round trips).
   */
  initCpuMs: number;
  /** Median of the runs: process start (performance time origin) to module evaluated. */
  processStartToEvaluatedMs: number;
  runsMs: number[];
}

export interface BundleFigures extends InitTiming {
  bytes: number;
  /** initMs minus the hello-world bundle's initMs. */
  initOverHelloMs: number;
  /** Output bytes by npm package (or project directory), the largest first (esbuild metafile). */
  largestInputs: Record<string, number>;
}

/** One function loaded once, in a fresh process, with only its template variables. */
export interface ShapeCheck {
  ok: boolean;
  /** Variables it was given: its template's (without the runtime's). */
  variables: number;
  initMs?: number;
  /** The first lines of what the process printed when it failed. */
  error?: string;
}

export interface BundlesResult {
  method: string;
  /** Per stage, per function of that stage's template: did the bundle initialise with only its own variables. */
  deployedShape: Record<string, Record<string, ShapeCheck>>;
  external: string[];
  /** Set when --also-external changed the build: these figures are not the deployed bundles'. */
  whatIf?: string;
  runs: number;
  helloWorld: Omit<BundleFigures, 'initOverHelloMs'>;
  functions: Record<string, BundleFigures>;
  targets: { maxBytes: number; maxInitOverHelloMs: number; met: boolean; misses: string[] };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
  return Math.round(value * 10) / 10;
};

/** Names of functions/<name>/handler.ts. */
export async function functionNames(root = projectRoot): Promise<string[]> {
  const entries = await readdir(join(root, 'functions'), { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && existsSync(join(root, 'functions', entry.name, 'handler.ts')))
    .map((entry) => entry.name)
    .sort();
}

/** Output bytes by owner: `@scope/name` or `name` for packages, the first two path segments for the project's files. */
export function bytesByOwner(metafile: Metafile, top = 8): Record<string, number> {
  const output = Object.entries(metafile.outputs).find(([path]) => path.endsWith('.mjs'))?.[1];
  const owners: Record<string, number> = {};
  for (const [path, input] of Object.entries(output?.inputs ?? {})) {
    const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    const owner = inPackage?.[1] ?? path.split('/').slice(0, 2).join('/');
    owners[owner] = (owners[owner] ?? 0) + input.bytesInOutput;
  }
  return Object.fromEntries(
    Object.entries(owners)
      .sort(([, a], [, b]) => b - a)
      .slice(0, top),
  );
}

export const RUNNER = `// Written by bench/bundles.ts: times the import of one bundle in a fresh process.
const cpu = process.cpuUsage();
const before = performance.now();
await import(process.argv[2]);
const after = performance.now();
const { user, system } = process.cpuUsage(cpu);
const result = { initMs: after - before, initCpuMs: (user + system) / 1000, processStartToEvaluatedMs: after };
process.stdout.write('BENCH_INIT ' + JSON.stringify(result) + '\\n', () => process.exit(0));
`;

const HELLO_HANDLER = `export const handler = async () => ({ statusCode: 200, body: 'hello' });\n`;

/** A Secrets Manager that answers GetSecretValue (JSON 1.1 protocol) for the given ARNs; counts requests. */
export async function startSecretsStub(values: ReadonlyMap<string, string>): Promise<{ endpoint: string; requests: () => number; stop: () => Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      requests++;
      const { SecretId = '' } = JSON.parse(body || '{}') as { SecretId?: string };
      const value = values.get(SecretId);
      response.setHeader('content-type', 'application/x-amz-json-1.1');
      if (value === undefined || request.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
        response.statusCode = 400;
        response.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: 'bench stub: unknown secret' }));
        return;
      }
      response.end(JSON.stringify({ ARN: SecretId, Name: SecretId, SecretString: value, VersionId: 'v1', VersionStages: ['AWSCURRENT'], CreatedDate: 1_700_000_000 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests: () => requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A function's deployed environment: its template variables and the runtime's, nothing else. */
export function environmentOf(fn: DeployedFunction, secretsEndpoint: string): Record<string, string> {
  return { ...runtimeVariables(fn, secretsEndpoint), ...fn.variables };
}

interface RunSample {
  initMs: number;
  initCpuMs: number;
  processStartToEvaluatedMs: number;
}

export function runOnce(runner: string, bundle: string, env: Record<string, string>): Promise<RunSample> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runner, pathToFileURL(bundle).href], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((text) => text.startsWith('BENCH_INIT '));
      if (code !== 0 || !line) {
        // Node prints the minified source line of a throw: keep the error and its first frames only.
        const lines = err.trim().split('\n').map((line) => line.trim()).filter((line) => line !== '' && line.length < 400 && !/^[|^\s]*$/.test(line));
        reject(new Error(`initialising ${bundle} failed (exit ${code}): ${lines.slice(0, 3).join(' | ')}`));
        return;
      }
      resolve(JSON.parse(line.slice('BENCH_INIT '.length)) as RunSample);
    });
  });
}

async function timeInit(runner: string, bundle: string, env: Record<string, string>, runs: number): Promise<InitTiming> {
  const samples: RunSample[] = [];
  for (let run = 0; run < runs; run++) samples.push(await runOnce(runner, bundle, env));
  return {
    initMs: median(samples.map((sample) => sample.initMs)),
    initCpuMs: median(samples.map((sample) => sample.initCpuMs)),
    processStartToEvaluatedMs: median(samples.map((sample) => sample.processStartToEvaluatedMs)),
    runsMs: samples.map((sample) => Math.round(sample.initMs * 10) / 10),
  };
}

export async function buildOne(
  name: string,
  outdir: string,
  root: string,
  extraExternal: string[],
): Promise<{ file: string; bytes: number; largestInputs: Record<string, number> }> {
  const options = esbuildOptions(name, outdir, root);
  const result = await build({ ...options, external: [...(options.external ?? []), ...extraExternal], metafile: true, logLevel: 'error' });
  const file = join(outdir, bundleFileName);
  return { file, bytes: (await stat(file)).size, largestInputs: bytesByOwner(result.metafile) };
}

export interface MeasureBundlesOptions {
  runs?: number;
  /** Default: every functions/<name>/handler.ts. */
  functions?: string[];
  /** What-if only (--also-external): packages marked external on top of what synth marks. */
  extraExternal?: string[];
  log?: (line: string) => void;
}

export async function measureBundles(options: MeasureBundlesOptions = {}): Promise<BundlesResult> {
  const runs = options.runs ?? 10;
  const log = options.log ?? (() => undefined);
  const names = options.functions ?? (await functionNames());
  const extraExternal = options.extraExternal ?? [];
  const workDir = join(projectRoot, 'node_modules', '.cache', 'bench-bundles');
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const runner = join(workDir, 'runner.mjs');
  await writeFile(runner, RUNNER);
  // The hello-world handler lives in a project of its own so that esbuildOptions() builds it unchanged.
  const helloRoot = join(workDir, 'hello-project');
  await mkdir(join(helloRoot, 'functions', HELLO_WORLD), { recursive: true });
  await writeFile(join(helloRoot, 'functions', HELLO_WORLD, 'handler.ts'), HELLO_HANDLER);

  const shapes = await loadShapes(['prod', 'sandbox']);
  const secrets = await startSecretsStub(new Map(Object.values(shapes).flatMap((shape) => [...shape.secretValues])));
  try {
    const hello = await buildOne(HELLO_WORLD, join(workDir, HELLO_WORLD), helloRoot, extraExternal);
    const helloTiming = await timeInit(runner, hello.file, runtimeVariables({ name: HELLO_WORLD, memorySize: 128 }, secrets.endpoint), runs);
    log(`bundles    ${HELLO_WORLD.padEnd(20)} ${String(hello.bytes).padStart(9)} bytes, init ${helloTiming.initMs} ms`);
    const functions: Record<string, BundleFigures> = {};
    const bundles = new Map<string, string>();
    for (const name of names) {
      const built = await buildOne(name, join(workDir, name), projectRoot, extraExternal);
      bundles.set(name, built.file);
      // Timed as deployed in prod; a sandbox-only function (the user pool's trigger) as in the sandbox.
      const deployed = shapes.prod.functions.find((fn) => fn.name === name) ?? shapes.sandbox.functions.find((fn) => fn.name === name);
      if (!deployed) throw new Error(`functions/${name} is in no stage's template: wire it in infra/ or remove it.`);
      let timing: InitTiming;
      try {
        timing = await timeInit(runner, built.file, environmentOf(deployed, secrets.endpoint), runs);
      } catch (error) {
        // Not timed; the deployed-shape check below reports why.
        log(`bundles    ${name.padEnd(20)} ${String(built.bytes).padStart(9)} bytes, does not initialise: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      functions[name] = {
        bytes: built.bytes,
        ...timing,
        initOverHelloMs: Math.round((timing.initMs - helloTiming.initMs) * 10) / 10,
        largestInputs: built.largestInputs,
      };
      log(`bundles    ${name.padEnd(20)} ${String(built.bytes).padStart(9)} bytes, init ${timing.initMs} ms`);
    }
    // With --function, the check covers the functions asked for only.
    const checked = options.functions
      ? Object.fromEntries(Object.entries(shapes).map(([stage, shape]) => [stage, { ...shape, functions: shape.functions.filter((fn) => bundles.has(fn.name)) }]))
      : shapes;
    const checks = await checkShapes(runner, bundles, checked, secrets.endpoint, log);
    const misses = [
      ...Object.entries(functions).flatMap(([name, figures]) => [
        ...(figures.bytes >= MAX_BUNDLE_BYTES ? [`${name}: ${figures.bytes} bytes`] : []),
        ...(figures.initOverHelloMs > MAX_INIT_OVER_HELLO_MS ? [`${name}: init +${figures.initOverHelloMs} ms over hello-world`] : []),
      ]),
      ...Object.entries(checks).flatMap(([stage, byName]) =>
        Object.entries(byName).flatMap(([name, check]) => (check.ok ? [] : [`${name} (${stage}): does not initialise with its own variables: ${check.error}`])),
      ),
    ];
    return {
      method:
        'esbuildOptions() of infra/bundling.ts (as cdk synth); bytes of the minified index.mjs; initMs = median over fresh node processes of ' +
        'the time around `await import(index.mjs)` (load + evaluation + top-level await: config, clients, secrets from a loopback Secrets Manager stub); ' +
        "external packages resolved from node_modules; env = the function's own variables in the synthesized prod template (stand-in values) plus the Lambda runtime's " +
        '(no NODE_OPTIONS: prod does not parse source maps at cold start, the sandbox stage does); deployedShape: each function of each stage loaded once with only its own variables',
      deployedShape: checks,
      external: [...esbuildSettings.external, ...extraExternal],
      ...(extraExternal.length > 0 ? { whatIf: `not as synth builds: also external ${extraExternal.join(', ')}` } : {}),
      runs,
      helloWorld: { bytes: hello.bytes, ...helloTiming, largestInputs: hello.largestInputs },
      functions,
      targets: { maxBytes: MAX_BUNDLE_BYTES, maxInitOverHelloMs: MAX_INIT_OVER_HELLO_MS, met: misses.length === 0, misses },
    };
  } finally {
    await secrets.stop();
  }
}

/** The deployed shape of each stage (one synthesis each). */
export async function loadShapes<S extends StageName>(stages: readonly S[]): Promise<Record<S, DeployedShape>> {
  const entries: [S, DeployedShape][] = [];
  for (const stage of stages) entries.push([stage, await deployedShape(stage)]);
  return Object.fromEntries(entries) as Record<S, DeployedShape>;
}

/**
 * Loads every function of each stage's template once, in a fresh process with
 * only its own variables (and the runtime's). `bundles` gives the built
 * index.mjs by function name; a template function without a bundle fails.
 */
export async function checkShapes(
  runner: string,
  bundles: ReadonlyMap<string, string>,
  shapes: Partial<Record<StageName, DeployedShape>>,
  secretsEndpoint: string,
  log: (line: string) => void = () => undefined,
): Promise<Record<string, Record<string, ShapeCheck>>> {
  const result: Record<string, Record<string, ShapeCheck>> = {};
  for (const [stage, shape] of Object.entries(shapes) as [StageName, DeployedShape][]) {
    const checks: Record<string, ShapeCheck> = {};
    for (const fn of shape.functions) {
      const bundle = bundles.get(fn.name);
      const variables = Object.keys(fn.variables).length;
      if (!bundle) {
        checks[fn.name] = { ok: false, variables, error: 'no bundle built (no functions/<name>/handler.ts?)' };
        continue;
      }
      let check: ShapeCheck;
      try {
        const sample = await runOnce(runner, bundle, environmentOf(fn, secretsEndpoint));
        check = { ok: true, variables, initMs: Math.round(sample.initMs * 10) / 10 };
      } catch (error) {
        check = { ok: false, variables, error: error instanceof Error ? error.message : String(error) };
      }
      checks[fn.name] = check;
      log(`shape      ${stage.padEnd(8)} ${fn.name.padEnd(20)} ${check.ok ? `initialised in ${check.initMs} ms with its ${variables} variables` : `FAILED: ${check.error}`}`);
    }
    result[stage] = checks;
  }
  return result;
}

export function printBundles(result: BundlesResult): void {
  console.log(`\nbundles (minified index.mjs; init = median of ${result.runs} fresh processes, import of the bundle; external: ${result.external.join(', ') || 'none'})`);
  console.log(`  ${'function'.padEnd(20)} ${'bytes'.padStart(9)} ${'KiB'.padStart(7)} ${'init ms'.padStart(8)} ${'vs hello'.padStart(9)} ${'cpu ms'.padStart(7)} ${'from start'.padStart(11)}`);
  const row = (name: string, figures: InitTiming & { bytes: number }, over: string) =>
    console.log(
      `  ${name.padEnd(20)} ${String(figures.bytes).padStart(9)} ${(figures.bytes / 1024).toFixed(1).padStart(7)} ${String(figures.initMs).padStart(8)} ${over.padStart(9)} ${String(figures.initCpuMs).padStart(7)} ${String(figures.processStartToEvaluatedMs).padStart(11)}`,
    );
  row(HELLO_WORLD, result.helloWorld, '');
  for (const [name, figures] of Object.entries(result.functions)) row(name, figures, `+${figures.initOverHelloMs}`);
  for (const [stage, checks] of Object.entries(result.deployedShape)) {
    const failed = Object.entries(checks).filter(([, check]) => !check.ok);
    const times = Object.values(checks).flatMap((check) => (check.initMs === undefined ? [] : [check.initMs]));
    console.log(
      `  deployed shape, ${stage}: ${Object.keys(checks).length - failed.length} of ${Object.keys(checks).length} functions initialise with only their own template variables` +
        (times.length > 0 ? ` (one run each, ${Math.min(...times)}-${Math.max(...times)} ms)` : '') +
        (failed.length > 0 ? `; failed: ${failed.map(([name]) => name).join(', ')}` : ''),
    );
  }
  console.log(
    `  targets (< ${result.targets.maxBytes} bytes = ${result.targets.maxBytes / 1024} KiB, init <= hello + ${result.targets.maxInitOverHelloMs} ms): ` +
      (result.targets.met ? 'met' : `missed: ${result.targets.misses.join('; ')}`),
  );
}

// `npm run bench:bundles`: this module run on its own.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { parseArgs } = await import('node:util');
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      json: { type: 'string' },
      function: { type: 'string', multiple: true },
      'also-external': { type: 'string', multiple: true },
    },
    strict: true,
  });
  const runs = values.runs === undefined ? 10 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    console.error('Usage: npx tsx bench/bundles.ts [--runs N] [--function NAME ...] [--also-external PATTERN ...] [--json FILE]');
    process.exit(2);
  }
  const result = await measureBundles({
    runs,
    ...(values.function ? { functions: values.function } : {}),
    ...(values['also-external'] ? { extraExternal: values['also-external'] } : {}),
    log: (line) => console.log(line),
  });
  printBundles(result);
  if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
}
