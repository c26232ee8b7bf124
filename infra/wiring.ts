/**
 * What each function may touch, and its size. Routes, tables and queues are
 * defined once in shared/ (the local server uses the same lists); this file says
 * which function gets which permission. The stack turns each entry into grants
 * that also set the matching environment variables, so a function's permissions
 * and its configuration cannot drift apart.
 *
 * Adding a route's function: add the route to shared/http/routes.ts, write
 * functions/<name>/handler.ts, and add an entry here, e.g.
 *   batches: { tables: { core: 'readWrite', audit: 'readWrite' }, secrets: ['pepper'], sendsTo: ['verification'], memorySize: 1024, timeoutSeconds: 29 },
 *
 * Adding a queue consumer: write functions/<consumer>/handler.ts (the consumer
 * named in shared/adapters/sqs/queues.ts) and add an entry to consumerWiring, e.g.
 *   verification: { tables: { core: 'readWrite', audit: 'readWrite', registry: 'read' } },
 */
import type { TableKey } from '../shared/adapters/dynamodb/tables.js';
import type { QueueKey } from '../shared/adapters/sqs/queues.js';
import type { OperationId } from '../shared/http/routes.js';
import type { SecretKey } from './constructs/app-secrets.js';
import type { TableAccess } from './constructs/data-tables.js';

export interface FunctionWiring {
  /** MB; default 512 for HTTP functions, 1024 for consumers. */
  memorySize?: number;
  /** Default 10 s for HTTP functions (API Gateway gives up at 30 s); consumers use the queue's consumerTimeoutSeconds. */
  timeoutSeconds?: number;
  /** Tables and access level. Sandbox-only tables are granted only where they exist (the sandbox). */
  tables?: Partial<Record<TableKey, TableAccess>>;
  /**
   * Secrets the function reads at cold start (constructs/app-secrets.ts): it gets
   * GetSecretValue on each and the variable holding each one's ARN.
   */
  secrets?: SecretKey[];
  /** Queues the function sends to. */
  sendsTo?: QueueKey[];
}

export const httpDefaults = { memorySize: 512, timeoutSeconds: 10 } as const;
export const consumerDefaults = { memorySize: 1024 } as const;

/** Every function of httpFunctionNames must appear here (the synth fails otherwise). */
export const httpFunctionWiring: Record<string, FunctionWiring> = {
  // Liveness and version: no data access.
  health: { memorySize: 256 },
  // Serves the OpenAPI document generated from the zod schemas: no data access.
  openapi: {},
  // Programs and providers are static reference data bundled with the code.
  catalogues: { memorySize: 256 },
  // Provincial writes: create, append a chunk, seal, cancel. Reads back what it
  // writes (idempotent retries, the upload lease, the recount at seal), never
  // deletes. The pepper hashes personal IDs and batch references into keys.
  // 1024 MB and 29 s (API Gateway gives up at 30 s): a 5,000-payment chunk is
  // about 1 MB of JSON or CSV, validated, hashed, checked with BatchGetItem and
  // written with BatchWriteItem.
  'batches-write': { tables: { core: 'readWrite' }, secrets: ['pepper'], memorySize: 1024, timeoutSeconds: 29 },
  // Provincial reads: batches, payment pages and the reconciliation report (pages
  // of up to 500 payments). Read only. The pepper finds payments by hashed keys
  // and opens the sealed pagination cursors.
  'batches-read': { tables: { core: 'read' }, secrets: ['pepper'], memorySize: 512, timeoutSeconds: 29 },
};

/**
 * Queue consumers, by queue. Empty until the consumer handlers exist: each entry
 * creates functions/<queueDefinitions[key].consumer>/handler.ts as a function
 * and attaches it to the queue (WorkQueues.addConsumer).
 */
export const consumerWiring: Partial<Record<QueueKey, FunctionWiring>> = {};

/**
 * Why each route without a JWT is safe (acknowledges cdk-nag AwsSolutions-APIG4
 * on that route). A route with `auth: 'none' | 'signature'` and no reason here
 * fails the synth.
 */
export const unauthenticatedRouteReasons: Partial<Record<OperationId, string>> = {
  getHealth:
    'GET /v1/health is public by the API contract (api.md): a liveness probe for load balancers and monitors, returns only status and version, no data.',
  getOpenApi:
    'GET /v1/openapi.json is public by the API contract (api.md): the published OpenAPI document of the API, no data.',
};
