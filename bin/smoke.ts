/**
 * `npm run smoke -- --url <base>`: the README walk-through (batch with
 * payments, verification, account link, approval, payment, beneficiary view,
 * report, audit) against a running API, one PASS / FAIL / SKIP line per step.
 *
 *   npm run smoke -- --url http://localhost:3000            the local server (tokens from /local/token)
 *   npm run smoke -- --stage sandbox [--url <ApiUrl>]       a deployed sandbox (tokens from its user pool;
 *                                                          the URL from the stack outputs when not given)
 *
 * Exit codes: 0 every step passed; 1 a step failed; 2 usage.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { defaultRegion, stackNameOf, stackOutputs } from '../infra/outputs.js';
import { maskPersonalId } from '../shared/domain/personal-id.js';
import { runWalkthrough, type StepResult, type TokenSource } from './smoke/walkthrough.js';
import { awsSandboxAccess, localToken, sandboxToken, type SandboxAccess } from './token/flows.js';

export const SMOKE_USAGE = `Usage: npm run smoke -- --url <base URL> | --stage sandbox [--url <base URL>] [--region REGION] [--wait SECONDS]`;

export interface SmokeCliDeps {
  fetch: typeof fetch;
  sandboxAccess: (region: string) => Promise<SandboxAccess>;
  out: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** Personal ID numbers in a line (a server message) show their last digits only. */
const masked = (text: string) => text.replace(/(?<!\d)\d{12}(?!\d)/g, (id) => maskPersonalId(id));

export function formatStep(result: StepResult, index: number, total: number): string {
  const time = result.status === 'SKIP' ? '' : ` (${result.ms} ms)`;
  return masked(`${result.status.padEnd(4)}  ${String(index + 1).padStart(2)}/${total} ${result.name}${time}${result.detail ? `: ${result.detail}` : ''}`);
}

export async function runSmokeCli(argv: readonly string[], deps: SmokeCliDeps): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { url: { type: 'string' }, stage: { type: 'string' }, region: { type: 'string' }, wait: { type: 'string' }, help: { type: 'boolean', default: false } },
      strict: true,
    }));
  } catch (error) {
    deps.out(`${error instanceof Error ? error.message : String(error)}\n${SMOKE_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    deps.out(`${SMOKE_USAGE}\n`);
    return 0;
  }
  const waitSeconds = values.wait === undefined ? 90 : Number(values.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds <= 0) {
    deps.out(`--wait must be a number of seconds, got "${values.wait}".\n${SMOKE_USAGE}\n`);
    return 2;
  }
  if (values.stage !== undefined && values.stage !== 'sandbox') {
    deps.out(`--stage ${values.stage}: only a sandbox (its user pool issues the walk-through's tokens).\n${SMOKE_USAGE}\n`);
    return 2;
  }
  if (values.stage === undefined && values.url === undefined) {
    deps.out(`--url is required (or --stage sandbox).\n${SMOKE_USAGE}\n`);
    return 2;
  }

  let url = values.url;
  let tokens: TokenSource;
  if (values.stage === 'sandbox') {
    const stackName = stackNameOf('sandbox');
    let access: SandboxAccess;
    try {
      access = await deps.sandboxAccess(values.region ?? deps.env.AWS_REGION ?? defaultRegion);
      url ??= (await access.stackOutputs(stackName))[stackOutputs.apiUrl];
    } catch (error) {
      deps.out(`FAIL  the stack ${stackName} could not be read: ${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    }
    if (!url) {
      deps.out(`FAIL  the stack ${stackName} has no ${stackOutputs.apiUrl} output\n`);
      return 1;
    }
    tokens = async (request) => (await sandboxToken(stackName, request, access)).accessToken;
  } else {
    const base = (url ?? '').replace(/\/+$/, '');
    tokens = async (request) => (await localToken(base, request, deps.fetch)).accessToken;
  }
  const base = (url ?? '').replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/]+/.test(base)) {
    deps.out(`--url must be an http(s) URL, got "${url}".\n${SMOKE_USAGE}\n`);
    return 2;
  }
  deps.out(`smoke: the README walk-through against ${base}\n`);
  const result = await runWalkthrough({
    baseUrl: base,
    tokens,
    waitMs: waitSeconds * 1000,
    fetch: deps.fetch,
    onStep: (step, index, total) => deps.out(`${formatStep(step, index, total)}\n`),
  });
  const count = (status: StepResult['status']) => result.steps.filter((step) => step.status === status).length;
  deps.out(`smoke: ${count('PASS')} passed, ${count('FAIL')} failed, ${count('SKIP')} skipped${result.batchId ? ` (batch ${result.batchId})` : ''}\n`);
  return result.ok ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await runSmokeCli(process.argv.slice(2), {
    fetch,
    sandboxAccess: awsSandboxAccess,
    out: (text) => process.stdout.write(text),
    env: process.env,
  });
}
