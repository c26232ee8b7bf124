/**
 * `npm run -s token -- --role <role> [...]`: prints a bearer token for a role,
 * from the local server (`POST /local/token`) or, with `--stage sandbox`, from
 * the deployed sandbox's user pool. `--help` for the options; README.md and
 * docs/deploy.md for examples.
 *
 * Exit codes: 0 printed; 1 no token (the server or the pool refused, or is not
 * reachable; the reason on stderr); 2 usage.
 */
import { fileURLToPath } from 'node:url';
import { parseTokenArgs, TOKEN_USAGE, UsageError } from './token/args.js';
import { awsSandboxAccess, localToken, sandboxToken, type IssuedToken, type SandboxAccess } from './token/flows.js';

export interface TokenCliDeps {
  fetch: typeof fetch;
  sandboxAccess: (region: string) => Promise<SandboxAccess>;
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

export async function runTokenCli(argv: readonly string[], deps: TokenCliDeps): Promise<number> {
  let args;
  try {
    args = parseTokenArgs(argv, deps.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    deps.err(`${error.message}\n\n${TOKEN_USAGE}\n`);
    return 2;
  }
  if (args.mode === 'help') {
    deps.out(`${TOKEN_USAGE}\n`);
    return 0;
  }
  let token: IssuedToken;
  try {
    token =
      args.mode === 'local'
        ? await localToken(args.url, args.request, deps.fetch)
        : await sandboxToken(args.stackName, args.request, await deps.sandboxAccess(args.region));
  } catch (error) {
    deps.err(`token: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  deps.out(args.json ? `${JSON.stringify(token)}\n` : `${token.accessToken}\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await runTokenCli(process.argv.slice(2), {
    fetch,
    sandboxAccess: awsSandboxAccess,
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
  });
}
