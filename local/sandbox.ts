import './environment.js';
import type { AddressInfo } from 'node:net';
import { readJson } from '../shared/http/api-handler.js';
import { localTokenRequestSchema } from '../shared/domain/schemas.js';
import { parseOrThrow } from '../shared/domain/validation.js';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, LocalAuthority } from './auth.js';
import { prepareDataFolder } from './data.js';
import { startLocalReconciler, type ReconcilerHandler } from './reconciler.js';
import { startLocalDynamo } from './dynamodb.js';
import { asFunction, runAsFunction } from './function-context.js';
import { importHandler } from './function-modules.js';
import { createLocalHttpServer, type LambdaHttpHandler, type LocalRoute } from './http-server.js';
import type { TableKey } from '../shared/adapters/dynamodb/tables.js';
import { tableDefinitions } from '../shared/adapters/dynamodb/tables.js';
// --- local SQS: imports
import { createSqsClient } from '../shared/adapters/sqs/client.js';
import { queueDefinitions, type QueueKey } from '../shared/adapters/sqs/queues.js';
import { startLocalConsumers, type QueuePollerStats, type SqsConsumerHandler } from './queue-poller.js';
import { startLocalQueues, type LocalQueues, type QueueRequestStats } from './queues.js';
// --- end local SQS
// --- sandbox population register: import
import { startLocalPopulation } from './population.js';
import { localDeathsRoute } from './deaths.js';
import { sandboxStatementRoute } from './statements.js';
import { notificationsRoute } from './notifications.js';
// --- end sandbox population register

export interface SandboxOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  onRequest?: Parameters<typeof createLocalHttpServer>[0]['onRequest'];
  /** Count invocations and handler time per function (bench/pipeline.ts), see Sandbox.functionStats. */
  timeFunctions?: boolean;
  /** Where the store and the signing key are kept (local/data.ts); in memory when undefined. */
  dataDir?: string | undefined;
  /** Empty the data folder first. */
  resetData?: boolean;
  /**
   * A store and queues that live outside this process (the chaos suite's parent
   * keeps them while it kills and restarts this one): used instead of starting
   * dynalite and fauxqs. Its queues outlive this process as SQS outlives a Lambda
   * environment, so the reconciler's first run does not treat their messages as lost.
   */
  external?: {
    dynamo: { endpoint: string; tableNames: Record<TableKey, string> };
    queues: Pick<LocalQueues, 'endpoint' | 'region' | 'queueNames' | 'queueUrls' | 'queueArns' | 'dlqNames' | 'dlqUrls' | 'dlqArns' | 'visibilityTimeoutSeconds'>;
  };
  /**
   * How often the reconciler runs (ms; default LOCAL_REPAIR_INTERVAL_MS or 5,000). Its first run
   * is at start, before the server listens: the queues are new, so nothing is in flight.
   */
  repairIntervalMs?: number;
}

/** Invocations of a function's handler and their total duration (from the call until its promise settled). */
export interface FunctionStats {
  invocations: number;
  totalMs: number;
}

export interface Sandbox {
  url: string;
  port: number;
  issuer: string;
  audience: string;
  dynamoEndpoint: string;
  tableNames: Record<TableKey, string>;
  /** The data folder, or undefined when everything is in memory. */
  dataDir: string | undefined;
  providerSecret: string;
  /** What the reconciler's first run (at start) found and repaired. */
  startupRepair: { watched: number; repairs: number };
  // --- local SQS: what the sandbox exposes
  sqsEndpoint: string;
  queueUrls: Record<QueueKey, string>;
  dlqUrls: Record<QueueKey, string>;
  /** SQS requests by queue name (counted by the server) and the consumers' pollers' counters. */
  queueStats(): { requests: Record<string, QueueRequestStats>; consumers: Record<string, QueuePollerStats> };
  // --- end local SQS
  /** By function name, when started with timeFunctions (else empty). */
  functionStats(): Record<string, FunctionStats>;
  /** Stops in the reverse order of start. */
  stop(): Promise<void>;
}

/** The store's endpoint and table names, in the variables the stack gives the functions. */
export function setStoreEnvironment(dynamo: { endpoint: string; tableNames: Record<TableKey, string> }): void {
  process.env.DYNAMODB_ENDPOINT = dynamo.endpoint;
  for (const [key, definition] of Object.entries(tableDefinitions)) {
    process.env[definition.envVar] = dynamo.tableNames[key as TableKey];
  }
}

/** The queues' endpoint and URLs, in the variables the stack gives the functions. */
export function setQueueEnvironment(queues: { endpoint: string; queueUrls: Record<QueueKey, string> }): void {
  process.env.SQS_ENDPOINT = queues.endpoint;
  for (const [key, definition] of Object.entries(queueDefinitions)) {
    process.env[definition.envVar] = queues.queueUrls[key as QueueKey];
  }
}

/**
 * Starts the whole system on this machine, in order: store, queues, identity,
 * HTTP, queue consumers.
 * The process environment is set here exactly as the CDK stack sets each
 * function's, before any handler module is loaded.
 */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  const data = prepareDataFolder({ dir: options.dataDir, reset: options.resetData === true });
  const external = options.external;
  const dynamo = external ? { ...external.dynamo, stop: async () => undefined } : await startLocalDynamo('local', data ? { path: data.dynamodb } : {});
  const providerSecret = process.env.LOCAL_PROVIDER_SECRET ?? 'local-provider-secret';
  setStoreEnvironment(dynamo);
  // --- sandbox population register: seeded (sandboxPeople + 2,000 synthetic people, local/population.ts)
  // while the queues start; awaited before HTTP listens. POST /local/population is added to localRoutes.
  const population = startLocalPopulation(dynamo.endpoint, dynamo.tableNames.registry);
  // --- end sandbox population register
  // --- local SQS: queues (fauxqs) before any handler loads; URLs set as the stack sets them
  const queues: LocalQueues = external ? { ...external.queues, stats: () => ({}), resetStats: () => undefined, stop: async () => undefined } : await startLocalQueues();
  setQueueEnvironment(queues);
  // --- end local SQS

  // --- function timings (opt-in): each handler wrapped where it is loaded, HTTP and queue consumers alike.
  // Durations are wall time in this one process: they include waiting for the event loop behind other work.
  const functionStats = new Map<string, FunctionStats>();
  const timed = <A extends unknown[], R>(functionName: string, handler: (...args: A) => Promise<R>) => {
    if (!options.timeFunctions) return handler;
    const stats: FunctionStats = functionStats.get(functionName) ?? { invocations: 0, totalMs: 0 };
    functionStats.set(functionName, stats);
    return async (...args: A): Promise<R> => {
      const started = performance.now();
      stats.invocations++;
      try {
        return await handler(...args);
      } finally {
        stats.totalMs += performance.now() - started;
      }
    };
  };
  // --- end function timings

  const handlers = new Map<string, Promise<LambdaHttpHandler>>();
  const loadHandler = (functionName: string) => {
    let loaded = handlers.get(functionName);
    if (!loaded) {
      // The module's cold start and every invocation run as this function's code (local/function-context.ts).
      loaded = runAsFunction(functionName, () => importHandler<LambdaHttpHandler>(functionName)).then((handler) => timed(functionName, asFunction(functionName, handler)));
      handlers.set(functionName, loaded);
    }
    return loaded;
  };

  let selfUrl = '';
  let localUrl = '';
  const authority = await LocalAuthority.create(LOCAL_ISSUER, data ? { keyFile: data.signingKey } : {});
  const localRoutes: LocalRoute[] = [
    {
      method: 'POST',
      path: '/local/token',
      handle: async (event) => {
        const request = parseOrThrow(localTokenRequestSchema, readJson(event));
        return { statusCode: 200, body: await authority.issue(request) };
      },
    },
    population.route, // --- sandbox population register: POST /local/population
    // --- death registration: POST /local/population/deaths (records it, then emits the register's signed event to this server)
    localDeathsRoute({ registry: population.registry, authority, serverUrl: () => selfUrl }),
    // --- sandbox provider's statement of a day: POST /local/statements
    notificationsRoute(authority), // --- sandbox notifier: GET /local/notifications?personalId=
    sandboxStatementRoute({ endpoint: dynamo.endpoint, tableName: dynamo.tableNames.sandboxProvider, providerSecret, baseUrl: () => localUrl }),
  ];

  const server = createLocalHttpServer({
    authority,
    loadHandler,
    localRoutes,
    ...(options.onRequest ? { onRequest: options.onRequest } : {}),
  });
  await population.ready; // --- sandbox population register: seeded before the first request
  // --- self-repair: the reconciler's first run, before anything else can move; then on a timer
  const reconciler = await startLocalReconciler(() => loadHandler('reconciler') as unknown as Promise<ReconcilerHandler>, {
    intervalMs: options.repairIntervalMs ?? Number(process.env.LOCAL_REPAIR_INTERVAL_MS ?? 5_000),
    queuesAreNew: !external,
  });
  // --- end self-repair
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://localhost:${port}`;
  selfUrl = `http://127.0.0.1:${port}`;
  localUrl = url;
  // --- local SQS: one poller per queue whose consumer handler exists (checked now; handlers load in the background)
  const consumerClient = createSqsClient(queues.endpoint);
  const consumers = startLocalConsumers(
    consumerClient,
    queues,
    // Only when timing: a loader given here skips the poller's check that the handler file exists.
    options.timeFunctions ? { loadHandler: async (functionName) => timed(functionName, await importHandler<SqsConsumerHandler>(functionName)) } : {},
  );
  // --- end local SQS

  return {
    url,
    port,
    issuer: authority.issuer,
    audience: LOCAL_AUDIENCE,
    dynamoEndpoint: dynamo.endpoint,
    tableNames: dynamo.tableNames,
    dataDir: options.dataDir,
    providerSecret,
    startupRepair: reconciler.startup,
    sqsEndpoint: queues.endpoint,
    queueUrls: queues.queueUrls,
    dlqUrls: queues.dlqUrls,
    queueStats: () => ({ requests: queues.stats(), consumers: consumers.stats() }),
    functionStats: () => Object.fromEntries([...functionStats].map(([name, stats]) => [name, { ...stats }])),
    stop: async () => {
      await reconciler.stop(); // --- self-repair
      // --- local SQS: pollers first (they finish their batches), then HTTP, queues, store
      await consumers.stop();
      consumerClient.destroy();
      // --- end local SQS
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queues.stop();
      population.stop(); // --- sandbox population register
      await dynamo.stop();
    },
  };
}
