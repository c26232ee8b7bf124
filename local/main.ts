/**
 * `npm start`: the whole API on this machine, no cloud account needed.
 * PORT (default 3000), HOST (default 127.0.0.1), LOG_LEVEL (default WARN).
 */
import './environment.js';
import { localDataSettings } from './data.js';
import { formatAccessLine } from './http-server.js';
import { startSandbox, type Sandbox } from './sandbox.js';

const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, got "${process.env.PORT}".`);
  process.exit(1);
}
const quiet = process.env.LOCAL_QUIET === '1';
let data: ReturnType<typeof localDataSettings>;
try {
  data = localDataSettings();
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}

let sandbox: Sandbox | undefined;
// Handlers first: a Ctrl-C that arrives while starting still stops cleanly.
let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping...`);
  await sandbox?.stop();
  console.log('Stopped.');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

try {
  sandbox = await startSandbox({
    port,
    dataDir: data.dir,
    resetData: data.reset,
    ...(process.env.HOST ? { host: process.env.HOST } : {}),
    onRequest: quiet
      ? undefined
      : (line) => console.log(formatAccessLine(line)),
  });
} catch (error) {
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    console.error(`Port ${port} is already in use. Stop the other process or start with PORT=3001 npm start.`);
  } else if (data.dir && /lock/i.test(String((error as Error).message))) {
    console.error(`The data folder ${data.dir} is in use by another local server. Stop it, or start with --in-memory (or LOCAL_DATA_DIR=<another folder>).`);
  } else {
    console.error('The local server could not start:', error);
  }
  process.exit(1);
}

const { url } = sandbox;

console.log(`
Social payments API (local) listening on ${url}

  Health:        curl ${url}/v1/health
  API document:  curl ${url}/v1/openapi.json
  Get a token:   curl -s -X POST ${url}/local/token -H 'content-type: application/json' \\
                   -d '{"role":"province","provinceCode":"79"}'
  Use it:        curl ${url}/v1/programs -H "authorization: Bearer <accessToken>"

  Store:         ${
    sandbox.dataDir
      ? `DynamoDB (dynalite) kept in ${sandbox.dataDir} (batches, accounts, register, provider ledger, signing key);
                 it survives a restart, even kill -9. npm start -- --reset empties it, --in-memory keeps nothing.`
      : 'in-memory DynamoDB (dynalite): data is lost on exit (npm start without --in-memory keeps it in .data/)'
  }
  Self-repair:   the reconciler ran at start (${sandbox.startupRepair.watched} batch(es) watched, ${sandbox.startupRepair.repairs} repair(s)) and runs every few seconds
  Provider callback secret (every provider): ${sandbox.providerSecret}
  Docs:          README.md (walk-through), docs/ (data model, decisions, deploy)

Press Ctrl-C to stop.
`);

