import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';
import { createTables } from '../../local/dynamodb.js';
import { createDefinedQueues, type LocalQueues } from '../../local/queues.js';
import type { TableKey } from '../../shared/adapters/dynamodb/tables.js';

/**
 * moto's server (Python, `pip install "moto[server]"`) as a second DynamoDB
 * backend for integration tests: it implements what dynalite lacks
 * (transactions, ReturnValuesOnConditionCheckFailure) and is installed here and
 * on CI. Tests that need it use `describe.runIf(motoAvailable)`, so that they run
 * wherever it is installed.
 */

export const MOTO_REGION = 'ap-southeast-1';
/** moto accepts any credentials; the SDK only needs some to sign with. */
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export interface Moto {
  endpoint: string;
  /** The tables of tables.ts, created on moto with createTables. */
  tableNames: Record<TableKey, string>;
  /** Forgets everything moto holds (POST /moto-api/reset), then creates the tables again. */
  reset(): Promise<void>;
  /** Stops the server process and waits for it to exit. */
  stop(): Promise<void>;
  /** Everything the process printed so far (for failure messages). */
  output(): string;
}

/** Where `command` is on the PATH (like `which`), or undefined. */
export function findOnPath(command: string): string | undefined {
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    if (!directory) continue;
    const candidate = join(directory, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export const motoServerPath = findOnPath('moto_server');
/** True where moto_server is installed (here and on CI): the rule for `describe.runIf`. */
export const motoAvailable = motoServerPath !== undefined;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntilAnswering(endpoint: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`moto_server exited (${child.exitCode ?? child.signalCode}) before answering:\n${output()}`);
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`moto_server did not answer within ${timeoutMs} ms:\n${output()}`);
    await sleep(50);
  }
}

/**
 * Starts moto_server on a free loopback port as a child process, waits until it
 * answers, and creates the tables. Undefined when moto_server is not installed.
 */
export async function startMoto(options: { prefix?: string; timeoutMs?: number } = {}): Promise<Moto | undefined> {
  if (!motoServerPath) return undefined;
  const prefix = options.prefix ?? 'moto';
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(motoServerPath, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let printed = '';
  const keep = (data: Buffer) => {
    // Werkzeug logs every request: keep the tail only.
    printed = (printed + data.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output = () => printed;

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(killer);
  };

  const client = new DynamoDBClient({ endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS });
  try {
    await waitUntilAnswering(endpoint, child, output, options.timeoutMs ?? 15_000);
    const tableNames = await createTables(client, prefix);
    return {
      endpoint,
      tableNames,
      output,
      stop: async () => {
        client.destroy();
        await stop();
      },
      reset: async () => {
        const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`moto reset failed: ${response.status}`);
        await createTables(client, prefix);
      },
    };
  } catch (error) {
    client.destroy();
    await stop();
    throw error;
  }
}

/**
 * Every queue of queues.ts with its DLQ and the definition's maxReceiveCount,
 * created on moto exactly as startLocalQueues creates them on fauxqs (names
 * `<prefix>-<id>` and `<prefix>-<id>-dlq`), so that startLocalConsumers runs
 * unchanged against moto. Only the visibility timeout is scaled down (seconds,
 * as locally). moto counts no requests: `stats()` is always empty, and
 * `stop()` leaves the queues to `reset()` or the server's end.
 */
export async function createMotoQueues(moto: Moto, options: { prefix: string; visibilityTimeoutSeconds: number }): Promise<LocalQueues> {
  const client = new SQSClient({ endpoint: moto.endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS });
  try {
    const queues = await createDefinedQueues(client, options.prefix, options.visibilityTimeoutSeconds);
    return {
      endpoint: moto.endpoint,
      region: MOTO_REGION,
      ...queues,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
      stats: () => ({}),
      resetStats: () => undefined,
      stop: async () => undefined,
    };
  } finally {
    client.destroy();
  }
}

/**
 * Lets one request of `client` at a time reach the server; the calls stay
 * concurrent and their requests interleave in any order.
 *
 * Why: moto_server handles requests in parallel threads with no lock between a
 * conditional write's check and its write (moto/dynamodb/models/table.py), so
 * two racing conditional writes can both pass. Measured on this machine under
 * load (the entitlement claim): 2 of 150 races of 50 parallel conditional
 * PutItems and 2 of 1,050 races of 20 had two winners; with this gate, 0 of 450
 * (dynalite, which serializes: 0 of 300).
 * DynamoDB applies each write to an item atomically, and our invariants rest on
 * exactly that; this gate gives moto the same guarantee, so that a race test
 * tests our conditions rather than moto's threads. It wraps each HTTP attempt
 * (inside the SDK's retries).
 */
export function oneRequestAtATime(client: Pick<DynamoDBDocumentClient, 'middlewareStack'>): void {
  let tail: Promise<unknown> = Promise.resolve();
  client.middlewareStack.add(
    (next) => (args) => {
      const turn = tail.then(() => next(args));
      tail = turn.catch(() => undefined);
      return turn;
    },
    { step: 'deserialize', priority: 'low', name: 'motoOneRequestAtATime' },
  );
}
