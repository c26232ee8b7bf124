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
 * named in shared/adapters/sqs/queues.ts) and add an entry to consumerWiring
 * (and, for a `deadLetterConsumer`, to deadLetterConsumerWiring).
 *
 * Table access levels (constructs/data-tables.ts `accessLevels`) are named
 * after what they allow: read; append (PutItem only: the audit trail's writers); readWrite (puts, updates, BatchWriteItem: the
 * upload); readUpdate; readPutUpdate; readUpdateDelete; readPutUpdateDelete.
 * Pick the one that matches the operations the function's adapters issue.
 *
 * Population register: functions that look people up are wired with
 * `populationRegistry: true`: the sandbox register table in the sandbox, the
 * national register (URL from stages.ts, credentials secret) elsewhere.
 * Payment provider: functions that send transfers are wired with
 * `paymentProvider: true`: the sandbox provider's ledger table in the
 * sandbox, the HTTP gateway (URL from stages.ts, signing secret) elsewhere.
 */
import type { TableKey } from '../shared/adapters/dynamodb/tables.js';
import type { QueueKey } from '../shared/adapters/sqs/queues.js';
import type { OperationId, RouteDefinition } from '../shared/http/routes.js';
import type { SecretKey } from './constructs/app-secrets.js';
import type { TableAccess } from './constructs/data-tables.js';
import type { StageName } from './stages.js';

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
  /**
   * Looks people up in the population register (shared/wiring/registry.ts). In
   * the sandbox: read on the sandbox register table (REGISTRY_TABLE_NAME).
   * Elsewhere: the national register, its URL from the stage
   * (NATIONAL_REGISTRY_URL) and read on its credentials secret
   * (NATIONAL_REGISTRY_CREDENTIALS_SECRET_ARN).
   */
  populationRegistry?: boolean;
  /**
   * Sends transfers to the payment provider (shared/wiring/provider.ts). In
   * the sandbox: read, put and update on the sandbox provider's ledger table
   * (SANDBOX_PROVIDER_TABLE_NAME). Elsewhere: the HTTP gateway, its URL from
   * the stage (PAYMENT_PROVIDER_URL) and read on its signing secret
   * (PAYMENT_PROVIDER_SECRET_ARN).
   */
  paymentProvider?: boolean;
  /**
   * Reserved concurrency, by stage (none where unset). Use sparingly: a
   * reservation is taken out of the account's unreserved pool (1,000 by
   * default, shared by every function of the account and region) even when
   * idle, Lambda refuses one that leaves fewer than 100 unreserved, and behind
   * API Gateway a function at its reservation is throttled, which clients see
   * as a 5xx from API Gateway (not the contract's problem+json). So: queue
   * consumers are bounded by their event source's maximum concurrency
   * (shared/adapters/sqs/queues.ts), HTTP functions by the API's route
   * throttling (stages.ts `routeThrottling`), and a reservation is only for a
   * function whose concurrency must be capped to protect a downstream that
   * route throttling cannot protect (a rate limit bounds calls started per
   * second, not calls in flight when the downstream slows down).
   */
  reservedConcurrency?: Partial<Record<StageName, number>>;
  /**
   * Tells beneficiaries of their payments (shared/wiring/notices.ts): where the stage has a notice
   * channel (stages.ts `beneficiaryNotices`), NOTIFIER=sns, NOTICES_TOPIC_ARN and sns:Publish on
   * the notices topic (with its key's data-key use); elsewhere nothing (no notices).
   */
  notifies?: true;
  /**
   * Gets the webhook settings (`webhookSettings`) without sending to the webhook queue: G2P Connect,
   * which checks a disburse's sender_uri by the receiver policy. Functions that send to the webhook
   * queue get them anyway.
   */
  webhookPolicy?: true;
}

/**
 * Webhook delivery deployed (docs/decisions.md 112-113): public https receivers only, the first
 * retry after 30 s, doubling to at most an hour, for 24 hours; 5 s per attempt. The local server
 * sets its own (local/environment.ts).
 */
export const webhookSettings = {
  WEBHOOK_RECEIVER_POLICY: 'public-https',
  WEBHOOK_RETRY_BASE_SECONDS: '30',
  WEBHOOK_RETRY_MAX_SECONDS: '3600',
  WEBHOOK_RETRY_WINDOW_SECONDS: '86400',
  WEBHOOK_TIMEOUT_MS: '5000',
} as const;

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
  // writes (idempotent retries, the upload lease, the recount at seal). The pepper hashes personal IDs and batch references into keys.
  // 1024 MB and 29 s (API Gateway gives up at 30 s): a 5,000-payment chunk is
  // about 1 MB of JSON or CSV, validated, hashed, checked with BatchGetItem and
  // written with BatchWriteItem. Cancelling releases the cancelled payments'
  // entitlements (a conditional DeleteItem on each entitlement item).
  'batches-write': {
    tables: { core: 'readWriteDelete', audit: 'append' },
    secrets: ['pepper'],
    // Sealing a batch queues its first verification page per shard; a finished cancel is announced (webhook).
    sendsTo: ['verification', 'webhook'],
    memorySize: 1024,
    timeoutSeconds: 29,
  },
  // Provincial reads: batches, payment pages and the reconciliation report (pages
  // of up to 500 payments). Read only. The pepper finds payments by hashed keys
  // and opens the sealed pagination cursors.
  // The batch's audit trail too (Query per partition of the audit table).
  'batches-read': { tables: { core: 'read', audit: 'read' }, secrets: ['pepper'], memorySize: 512, timeoutSeconds: 29 },
  // Maker-checker approval: reads the batch, moves it AWAITING_APPROVAL -> APPROVED
  // (UpdateItem only: no put, no delete), queues one fan-out message per shard.
  // An approved batch with nothing to pay is completed at once after a tally that
  // queries every payment of the batch (up to 500,000): 1024 MB and 29 s.
  'batches-approve': {
    tables: { core: 'readUpdate', audit: 'append' },
    secrets: ['pepper'],
    // The approval (and an immediate completion) is announced to the province's webhook.
    sendsTo: ['disbursement', 'webhook'],
    // A retry's payment held for want of an account asks its beneficiary to link one.
    notifies: true,
    memorySize: 1024,
    timeoutSeconds: 29,
  },
  // Account links: link (PutItem of the link and its history item, UpdateItem
  // closing the previous one), read (GetItem, Query of the history), unlink
  // (conditional DeleteItem of the current link). Linking checks the person in
  // the population register and releases their held payments (gsi1 Query,
  // BatchGetItem) to the disbursement queue.
  // 29 s: the national register's adapter retries a slow or throttled platform
  // (3 s per attempt, up to 4 attempts) before giving up.
  // Reserved concurrency 25 in prod: the national population register is a
  // shared platform with its own limits, and the adapter retries a slow one
  // (up to 4 attempts of 3 s): at the route's 20 requests/s a slow register
  // would otherwise see up to 20 x 12 s = 240 calls in flight from this
  // function alone, and take that much of the account's pool. With the cap,
  // at most 25 (plus verify-worker's event-source maximum of 20) reach the
  // register at once; beyond it link requests fail fast (throttled, a 5xx from
  // API Gateway) instead of piling up. Not in the sandbox (its register is a
  // table, and a sandbox account's quota may be too low to reserve anything).
  accounts: {
    tables: { core: 'readPutUpdateDelete', audit: 'append' },
    populationRegistry: true,
    secrets: ['pepper'],
    sendsTo: ['disbursement'],
    timeoutSeconds: 29,
    reservedConcurrency: { prod: 25 },
  },
  // A beneficiary's own payments (gsi1 Query + BatchGetItem) and account: read only.
  me: { tables: { core: 'read' }, secrets: ['pepper'] },
  // Signed settlement callbacks (no JWT: HMAC with the provider's secret). Moves
  // a payment (UpdateItem), releases the entitlement of a FAILED one
  // (conditional DeleteItem), updates the batch counters and completes the
  // batch after a tally of its payments when nothing is left to settle: 1024 MB
  // and 29 s, like approval. No PutItem.
  'provider-callbacks': {
    tables: { core: 'readUpdateDelete', audit: 'append' },
    secrets: ['pepper', 'providerCallbacks'],
    // Progress (25, 50, 75 %) and completion are announced to the province's webhook.
    sendsTo: ['webhook'],
    // PAID, FAILED (when the beneficiary can act) and RETURNED are told to the beneficiary.
    notifies: true,
    memorySize: 1024,
    timeoutSeconds: 29,
  },
  // The province's webhook (shared/app/webhooks.ts): the endpoint item (PutItem, GetItem, DeleteItem),
  // the delivery log (Query), a redelivery (UpdateItem, a message to the webhook queue). The pepper
  // opens the delivery log's cursors.
  webhooks: { tables: { core: 'readPutUpdateDelete' }, secrets: ['pepper'], sendsTo: ['webhook'] },
  // G2P Connect (shared/app/g2p.ts): a disburse creates a batch exactly as batches-write does (same
  // table access, the verification queue at the seal); resolve reads links under the account routes'
  // care rule (the person's payments, the population register); reads the webhook endpoint (GetItem).
  g2p: {
    tables: { core: 'readWriteDelete', audit: 'append' },
    populationRegistry: true,
    secrets: ['pepper'],
    sendsTo: ['verification'],
    webhookPolicy: true,
    memorySize: 1024,
    timeoutSeconds: 29,
  },
  // Signed events of the population register (no JWT: HMAC with the register's
  // secret). Claims the eventId and writes the death marker (conditional
  // PutItem), cancels the deceased's unsent payments (UpdateItem), gives their
  // entitlements back (DeleteItem), closes the account link (DeleteItem,
  // UpdateItem of its history), and creates the funeral batch as a province's
  // create does (PutItem, BatchWriteItem of its one payment), whose seal queues its verification.
  // Looks the funeral's arranger up in the register.
  'register-events': {
    tables: { core: 'readWriteDelete', audit: 'append' },
    populationRegistry: true,
    secrets: ['pepper', 'registerEvents'],
    sendsTo: ['verification'],
    memorySize: 1024,
    timeoutSeconds: 29,
  },
};

/**
 * Queue consumers, by queue: each entry creates
 * functions/<queueDefinitions[key].consumer>/handler.ts as a function and
 * attaches it to the queue (WorkQueues.addConsumer). Timeout, batch size and
 * maximum concurrency come from the queue definition.
 */
export const consumerWiring: Partial<Record<QueueKey, FunctionWiring>> = {
  // Verification pages: entitlement claim (conditional UpdateItem, which keeps
  // whom it took over from), status transitions and counters (UpdateItem), release of a claim it must not keep
  // (conditional DeleteItem), the register lookup (batched), and
  // the next page of the shard sent to its own queue.
  verification: {
    tables: { core: 'readUpdateDelete', audit: 'append' },
    populationRegistry: true,
    secrets: ['pepper'],
    // AWAITING_APPROVAL is announced to the province's webhook.
    sendsTo: ['verification', 'webhook'],
  },
  // Disbursement: fan-out pages (re-queued to this queue) and single payments:
  // transitions and counters (UpdateItem), entitlement release of a FAILED
  // payment (DeleteItem), no PutItem on the core table. The payment provider:
  // the sandbox provider's ledger in the sandbox, the HTTP gateway elsewhere.
  disbursement: {
    tables: { core: 'readUpdateDelete', audit: 'append' },
    paymentProvider: true,
    secrets: ['pepper'],
    // Progress and completion are announced to the province's webhook.
    sendsTo: ['disbursement', 'webhook'],
    // PAID, FAILED (when the beneficiary can act), ON_HOLD (link an account) are told to the beneficiary.
    notifies: true,
  },
  // The population register's events pushed to a queue (SQS or EventBridge):
  // the same use case and permissions as the signed route, without its secret
  // (the queue's policy authenticates the sender).
  registerEvents: {
    tables: { core: 'readWriteDelete', audit: 'append' },
    populationRegistry: true,
    secrets: ['pepper'],
    sendsTo: ['verification'],
  },
  // Webhook deliveries: reads the delivery and the endpoint (GetItem), records the attempt (UpdateItem),
  // queues the next attempt (its own queue, delayed). Calls the province's receiver over the internet
  // (https only, public addresses only, 5 s: shared/adapters/webhook/http-sender.ts).
  webhook: { tables: { core: 'readUpdate' }, secrets: ['pepper'], sendsTo: ['webhook'], memorySize: 512 },
};

/**
 * Dead-letter consumers, by queue (queueDefinitions[key].deadLetterConsumer):
 * attached to the queue's dead-letter queue (WorkQueues.addDeadLetterConsumer).
 * A definition naming one without an entry here fails the synth.
 */
export const deadLetterConsumerWiring: Partial<Record<QueueKey, FunctionWiring>> = {
  // disburse-exhausted: ends a payment FAILED RETRIES_EXHAUSTED unless the
  // provider took it (ledger lookup), retries a fan-out page (sends to the
  // disbursement queue): the same permissions as disburse-worker, and its size
  // (settling the last payment of a batch tallies the whole batch).
  disbursement: {
    tables: { core: 'readUpdateDelete', audit: 'append' },
    paymentProvider: true,
    secrets: ['pepper'],
    // Progress and completion are announced to the province's webhook.
    sendsTo: ['disbursement', 'webhook'],
    // PAID, FAILED (when the beneficiary can act), ON_HOLD (link an account) are told to the beneficiary.
    notifies: true,
  },
  // webhook-exhausted: a delivery whose message kept failing ends FAILED (GetItem, UpdateItem). Builds the
  // same webhook use cases as the worker, so it gets the queue's URL too.
  webhook: { tables: { core: 'readUpdate' }, secrets: ['pepper'], sendsTo: ['webhook'], memorySize: 256 },
};

/**
 * The reconciler (functions/reconciler, shared/app/repair.ts), run by an
 * EventBridge Scheduler schedule every few minutes: reads the watch index (gsi3)
 * and the watched batches (Query, BatchGetItem, GetItem), resumes work by
 * queueing verification pages and disbursement messages, moves payments of an
 * unfinished cancel (UpdateItem) and gives entitlements back (conditional
 * DeleteItem), recounts and completes batches (UpdateItem); its audit records
 * (PutItem). The pepper: the core's keys. A run over many watched batches can
 * take a census of a 500,000-payment batch: 1024 MB and 5 minutes (the
 * schedule's interval; a run that overlaps the next is harmless, every repair
 * being conditional).
 */
export const reconcilerFunction = 'reconciler';
// It also finishes register events whose delivery died (shared/app/register-events.ts): the death
// marker and the funeral batch (PutItem, BatchWriteItem), the account link (DeleteItem), and the
// arranger's register lookup.
export const reconcilerWiring: FunctionWiring = {
  tables: { core: 'readWriteDelete', audit: 'append' },
  populationRegistry: true,
  secrets: ['pepper'],
  // Completions and finished cancels it repairs are announced to the province's webhook.
  sendsTo: ['verification', 'disbursement', 'webhook'],
  // The halfway reminder of a held payment, and what a resumed retry holds.
  notifies: true,
  memorySize: 1024,
  timeoutSeconds: 300,
};

/** How often the reconciler runs deployed (EventBridge Scheduler rate, minutes). */
export const reconcilerIntervalMinutes = 5;

/**
 * The reconciler's timing deployed (docs/decisions.md, "Self-repair"), from the
 * queues' own settings: a batch is quiet once nothing of it changed for longer
 * than any function runs (twice the longest consumer timeout, and at least 5
 * minutes); a QUEUED payment has lost its message once the queue's whole retry
 * horizon has passed (visibility timeout x receives, then the dead-letter
 * queue's handler one visibility timeout later) plus a quiet period; a batch
 * only waiting (callbacks, held payments) is looked at again hourly.
 */
export function reconcilerTiming(queues: readonly { consumerTimeoutSeconds: number; visibilityTimeoutSeconds: number; maxReceiveCount: number }[]) {
  const quietSeconds = Math.max(300, 2 * Math.max(...queues.map((queue) => queue.consumerTimeoutSeconds)));
  const horizonSeconds = Math.max(...queues.map((queue) => queue.visibilityTimeoutSeconds * (queue.maxReceiveCount + 1)));
  return { REPAIR_QUIET_SECONDS: String(quietSeconds), REPAIR_REDRIVE_AFTER_SECONDS: String(horizonSeconds + quietSeconds), REPAIR_RECHECK_SECONDS: '3600' };
}

/**
 * The sandbox identity's pre token generation trigger
 * (functions/sandbox-token-claims, infra/constructs/sandbox-identity.ts):
 * created only where the stack creates the user pool. No data access; Cognito
 * waits at most 5 s for a trigger.
 */
export const sandboxTokenClaimsFunction = 'sandbox-token-claims';
export const sandboxTokenClaimsWiring: FunctionWiring = { memorySize: 256, timeoutSeconds: 5 };

/**
 * The deployed sandbox register's seed (functions/sandbox-seed): a
 * CloudFormation custom resource that writes the sandbox people at deploy
 * (BatchWriteItem only, `load`), their keys hashed with the pepper. Created
 * only where the sandbox register table exists.
 */
export const sandboxSeedFunction = 'sandbox-seed';
export const sandboxSeedWiring: FunctionWiring = { tables: { registry: 'load' }, secrets: ['pepper'], memorySize: 512, timeoutSeconds: 60 };

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
  providerCallback:
    "POST /v1/provider-callbacks/{providerCode} is called by payment providers' servers, which hold no token of our identity provider: the handler authenticates every request by its HMAC-SHA256 signature (x-signature over x-timestamp and the raw body, with that provider's shared secret from Secrets Manager) before reading it, and answers 401 changing nothing when the signature is wrong or the timestamp is more than 300 s off (api.md).",
  receiveRegisterEvent:
    "POST /v1/register-events is called by the national population register's servers, which hold no token of our identity provider: the handler authenticates every request by its HMAC-SHA256 signature (x-signature over x-timestamp and the raw body, with the register's shared secret from Secrets Manager) before reading it, and answers 401 changing nothing when the signature is wrong or the timestamp is more than 300 s off (api.md 1.1).",
  importStatement:
    "POST /v1/providers/{providerCode}/statements is called by payment providers' servers, signed exactly as their callbacks are (api.md 1.1): the same handler checks the HMAC-SHA256 signature with that provider's shared secret and the 300 s timestamp window before reading the body, and answers 401 changing nothing otherwise.",
};

/**
 * Throttling classes of the API's routes. The stack gives every route of
 * shared/http/routes.ts the per-route throttling of its class (the stage's
 * `routeThrottling` in stages.ts), so a route added to the table is throttled
 * without anyone remembering to: `routeClassOf` is total.
 */
export const routeClasses = [
  'public',
  'catalogue',
  'read',
  'beneficiaryRead',
  'upload',
  'stateChange',
  'approval',
  'accountChange',
  'providerCallback',
] as const;
export type RouteClass = (typeof routeClasses)[number];

/** Routes whose class is not what the rules of `routeClassOf` would give. */
export const routeClassOverrides: Partial<Record<OperationId, RouteClass>> = {
  // Bodies of up to 5,000 payments: the upload class.
  createBatch: 'upload',
  appendPayments: 'upload',
  // Maker-checker approval moves money: its own, lowest class.
  approveBatch: 'approval',
  // Linking looks the person up in the national population register.
  linkAccount: 'accountChange',
  unlinkAccount: 'accountChange',
  // Static reference data for any signed-in caller.
  listPrograms: 'catalogue',
  listProviders: 'catalogue',
};

/**
 * The throttling class of a route: its override, else by authentication and
 * method: public routes `public`, HMAC-signed callbacks `providerCallback`,
 * any other non-GET route `stateChange` (the conservative class, until it is
 * given a better one), GET routes only beneficiaries may call
 * `beneficiaryRead`, other GET routes `read`.
 */
export function routeClassOf(route: RouteDefinition): RouteClass {
  const override = routeClassOverrides[route.operationId as OperationId];
  if (override) return override;
  if (route.auth === 'none') return 'public';
  if (route.auth === 'signature') return 'providerCallback';
  if (route.method !== 'GET') return 'stateChange';
  return route.scopes.length > 0 && route.scopes.every((scope) => scope === 'beneficiary') ? 'beneficiaryRead' : 'read';
}
