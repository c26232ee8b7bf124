import { CreateTableCommand, DynamoDBClient, ListTablesCommand, type AttributeDefinition } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { AddressInfo } from 'node:net';
import { getHeapStatistics } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { tableDefinitions, type TableDefinition, type TableKey } from '../shared/adapters/dynamodb/tables.js';

export interface LocalDynamo {
  endpoint: string;
  tableNames: Record<TableKey, string>;
  stop(): Promise<void>;
}

function attributeDefinitions(table: TableDefinition): AttributeDefinition[] {
  const names = new Set<string>([table.partitionKey]);
  if (table.sortKey) names.add(table.sortKey);
  for (const index of table.indexes) {
    names.add(index.partitionKey);
    names.add(index.sortKey);
  }
  return [...names].map((AttributeName) => ({ AttributeName, AttributeType: 'S' }));
}

/**
 * Creates every table of tables.ts (or those of `only`), exactly as the CDK stack
 * defines them; a table that exists already (a store kept on disk) is kept as it is.
 */
export async function createTables(client: DynamoDBClient, prefix: string, only?: readonly TableKey[]): Promise<Record<TableKey, string>> {
  const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
  const entries = await Promise.all(
    (Object.entries(tableDefinitions) as [TableKey, TableDefinition][]).filter(([key]) => !only || only.includes(key)).map(async ([key, table]) => {
      const TableName = `${prefix}-${table.id}`;
      if (existing.has(TableName)) return [key, TableName] as const;
      await client.send(
        new CreateTableCommand({
          TableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: attributeDefinitions(table),
          KeySchema: [
            { AttributeName: table.partitionKey, KeyType: 'HASH' },
            ...(table.sortKey ? [{ AttributeName: table.sortKey, KeyType: 'RANGE' as const }] : []),
          ],
          ...(table.indexes.length > 0
            ? {
                GlobalSecondaryIndexes: table.indexes.map((index) => ({
                  IndexName: index.indexName,
                  KeySchema: [
                    { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
                    { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
                  ],
                  Projection: { ProjectionType: index.projection },
                })),
              }
            : {}),
        }),
      );
      return [key, TableName] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<TableKey, string>;
}

const dynaliteOptions = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };

export interface LocalDynamoOptions {
  /**
   * Where dynalite runs: 'worker' (default), a worker thread of its own, so that on a machine with
   * more than one core the store and the application code do not share one event loop; 'main', this
   * thread's event loop (LOCAL_DYNAMO_THREAD=main chooses it too, for comparisons).
   */
  thread?: 'worker' | 'main';
  /** A folder where the tables are kept (LevelDB files), so that they outlive the process; in memory when not given. */
  path?: string;
}

/** dynalite in this thread: the endpoint and how to close it. */
async function inThisThread(options: typeof dynaliteOptions & { path?: string }): Promise<{ port: number; close(): Promise<void> }> {
  const server = dynalite(options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

type WorkerMessage = { type: 'listening'; port: number } | { type: 'error'; message: string } | { type: 'stopped' };

/** dynalite in a worker thread (local/dynamodb-worker.mjs), with this thread's heap limit (the store lives in the worker's heap). */
async function inWorker(options: typeof dynaliteOptions & { path?: string }): Promise<{ port: number; close(): Promise<void> }> {
  const worker = new Worker(new URL('./dynamodb-worker.mjs', import.meta.url), {
    workerData: { options },
    resourceLimits: { maxOldGenerationSizeMb: Math.ceil(getHeapStatistics().heap_size_limit / 1_048_576) },
  });
  let listening = false;
  let exited = false;
  let onStopped: (() => void) | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'listening') {
        listening = true;
        resolve(message.port);
      } else if (message.type === 'error') reject(new Error(`dynalite worker: ${message.message}`));
      else onStopped?.();
    });
    worker.on('error', (error) => {
      // Later, a store that died leaves every request failing (ECONNREFUSED): say why.
      if (listening) console.error(`dynalite worker failed: ${error.message}`);
      else reject(error);
    });
    worker.on('exit', (code) => {
      exited = true;
      if (!listening) reject(new Error(`dynalite worker exited (${code}) before listening`));
      onStopped?.();
    });
  });
  return {
    port,
    close: async () => {
      if (!exited) {
        await new Promise<void>((resolve) => {
          onStopped = resolve;
          worker.postMessage({ type: 'stop' });
        });
      }
      await worker.terminate();
    },
  };
}

/**
 * dynalite on a free loopback port (in a worker thread by default), in memory or
 * kept in a folder (`path`), with the tables ready at once.
 */
export async function startLocalDynamo(prefix = 'local', options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  const thread = options.thread ?? (process.env.LOCAL_DYNAMO_THREAD === 'main' ? 'main' : 'worker');
  const settings = { ...dynaliteOptions, ...(options.path ? { path: options.path } : {}) };
  const store = thread === 'main' ? await inThisThread(settings) : await inWorker(settings);
  const endpoint = `http://127.0.0.1:${store.port}`;
  const client = new DynamoDBClient({ endpoint, region: 'ap-southeast-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const tableNames = await createTables(client, prefix);
  client.destroy();
  return {
    endpoint,
    tableNames,
    stop: () => store.close(),
  };
}
