/**
 * Every HTTP route of the public API, described once as data. The CDK stack
 * creates one API Gateway route per entry and wires it to the named function;
 * the local server dispatches the same entries to the same handlers; the
 * OpenAPI document is generated from it. A route missing here exists nowhere.
 */

import type { Scope } from '../app/principal.js';

export type { Scope };

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteDefinition {
  operationId: string;
  method: HttpMethod;
  /** API Gateway path syntax: `/v1/batches/{batchId}`. */
  path: string;
  /** Directory under functions/ holding `handler.ts`. */
  functionName: string;
  /**
   * `none`: public. `jwt`: a valid token (API Gateway's JWT authorizer when
   * deployed, the local server's verifier locally); handlers check scopes.
   * `signature`: provider callbacks and register events, authenticated by HMAC in the handler.
   */
  auth: 'none' | 'jwt' | 'signature';
  /** Any one of these scopes grants access; empty means any valid token. */
  scopes: readonly Scope[];
  summary: string;
  tag: string;
}

export const routes = [
  {
    operationId: 'getHealth',
    method: 'GET',
    path: '/v1/health',
    functionName: 'health',
    auth: 'none',
    scopes: [],
    summary: 'Liveness and version',
    tag: 'Operations',
  },
  {
    operationId: 'getOpenApi',
    method: 'GET',
    path: '/v1/openapi.json',
    functionName: 'openapi',
    auth: 'none',
    scopes: [],
    summary: 'This OpenAPI 3.1 document',
    tag: 'Operations',
  },
  {
    operationId: 'listPrograms',
    method: 'GET',
    path: '/v1/programs',
    functionName: 'catalogues',
    auth: 'jwt',
    scopes: [],
    summary: 'Payment programs and their per-payment limits',
    tag: 'Catalogues',
  },
  {
    operationId: 'listProviders',
    method: 'GET',
    path: '/v1/providers',
    functionName: 'catalogues',
    auth: 'jwt',
    scopes: [],
    summary: 'Payment providers (banks by BIN, mobile-money operators)',
    tag: 'Catalogues',
  },
  {
    operationId: 'listReasonCodes',
    method: 'GET',
    path: '/v1/reason-codes',
    functionName: 'catalogues',
    auth: 'jwt',
    scopes: [],
    summary: 'Every reason code: messages, who must act, whether a new attempt can succeed',
    tag: 'Catalogues',
  },
  {
    operationId: 'createBatch',
    method: 'POST',
    path: '/v1/batches',
    functionName: 'batches-write',
    auth: 'jwt',
    scopes: ['batches:write'],
    summary: "Create a batch (optionally with all its payments, sealed at once)",
    tag: 'Provincial systems',
  },
  {
    operationId: 'listBatches',
    method: 'GET',
    path: '/v1/batches',
    functionName: 'batches-read',
    auth: 'jwt',
    scopes: ['batches:read'],
    summary: "The caller's province's batches, newest first",
    tag: 'Provincial systems',
  },
  {
    operationId: 'getBatch',
    method: 'GET',
    path: '/v1/batches/{batchId}',
    functionName: 'batches-read',
    auth: 'jwt',
    scopes: ['batches:read'],
    summary: "A batch with counts and amounts per payment status",
    tag: 'Provincial systems',
  },
  {
    operationId: 'appendPayments',
    method: 'POST',
    path: '/v1/batches/{batchId}/payments',
    functionName: 'batches-write',
    auth: 'jwt',
    scopes: ['batches:write'],
    summary: "Append a chunk of up to 5,000 payments (JSON or CSV)",
    tag: 'Provincial systems',
  },
  {
    operationId: 'listBatchPayments',
    method: 'GET',
    path: '/v1/batches/{batchId}/payments',
    functionName: 'batches-read',
    auth: 'jwt',
    scopes: ['batches:read'],
    summary: "A batch's payments, filtered by status or reason code",
    tag: 'Provincial systems',
  },
  {
    operationId: 'sealBatch',
    method: 'POST',
    path: '/v1/batches/{batchId}/seal',
    functionName: 'batches-write',
    auth: 'jwt',
    scopes: ['batches:write'],
    summary: "Close the upload; control totals must match",
    tag: 'Provincial systems',
  },
  {
    operationId: 'getBatchReport',
    method: 'GET',
    path: '/v1/batches/{batchId}/report',
    functionName: 'batches-read',
    auth: 'jwt',
    scopes: ['batches:read'],
    summary: "Reconciliation report (JSON, or CSV with Accept: text/csv)",
    tag: 'Provincial systems',
  },
  {
    operationId: 'listBatchAudit',
    method: 'GET',
    path: '/v1/batches/{batchId}/audit',
    functionName: 'batches-read',
    auth: 'jwt',
    scopes: ['batches:read'],
    summary: "The batch's audit trail: who changed what, when, in which request",
    tag: 'Provincial systems',
  },
  {
    operationId: 'cancelBatch',
    method: 'POST',
    path: '/v1/batches/{batchId}/cancel',
    functionName: 'batches-write',
    auth: 'jwt',
    scopes: ['batches:write'],
    summary: "Cancel a batch that is not yet approved (or not yet at its scheduledFor)",
    tag: 'Provincial systems',
  },
  {
    operationId: 'getPayment',
    method: 'GET',
    path: '/v1/payments/{paymentId}',
    functionName: 'batches-read',
    auth: 'jwt',
    scopes: ['batches:read', 'beneficiary'],
    summary: "One payment, to its province or its beneficiary",
    tag: 'Provincial systems',
  },
  {
    operationId: 'linkAccount',
    method: 'PUT',
    path: '/v1/accounts/{personalId}',
    functionName: 'accounts',
    auth: 'jwt',
    scopes: ['beneficiary', 'accounts:write'],
    summary: "Link (or replace) the social security account of a person",
    tag: 'Beneficiaries',
  },
  {
    operationId: 'getAccount',
    method: 'GET',
    path: '/v1/accounts/{personalId}',
    functionName: 'accounts',
    auth: 'jwt',
    scopes: ['beneficiary', 'accounts:write'],
    summary: "The current link (masked) and the link history",
    tag: 'Beneficiaries',
  },
  {
    operationId: 'unlinkAccount',
    method: 'DELETE',
    path: '/v1/accounts/{personalId}',
    functionName: 'accounts',
    auth: 'jwt',
    scopes: ['beneficiary', 'accounts:write'],
    summary: "Unlink the social security account",
    tag: 'Beneficiaries',
  },
  {
    operationId: 'listMyPayments',
    method: 'GET',
    path: '/v1/me/payments',
    functionName: 'me',
    auth: 'jwt',
    scopes: ['beneficiary'],
    summary: "The caller's own payments, newest first",
    tag: 'Beneficiaries',
  },
  {
    operationId: 'getMyPayment',
    method: 'GET',
    path: '/v1/me/payments/{paymentId}',
    functionName: 'me',
    auth: 'jwt',
    scopes: ['beneficiary'],
    summary: "One of the caller's payments, with its history",
    tag: 'Beneficiaries',
  },
  {
    operationId: 'getMyAccount',
    method: 'GET',
    path: '/v1/me/account',
    functionName: 'me',
    auth: 'jwt',
    scopes: ['beneficiary'],
    summary: "The caller's linked account, masked",
    tag: 'Beneficiaries',
  },
  {
    operationId: 'approveBatch',
    method: 'POST',
    path: '/v1/batches/{batchId}/approve',
    functionName: 'batches-approve',
    auth: 'jwt',
    scopes: ['batches:approve'],
    summary: 'Approve a verified batch (a second official: maker-checker)',
    tag: 'Provincial systems',
  },
  {
    operationId: 'createRetry',
    method: 'POST',
    path: '/v1/batches/{batchId}/retries',
    functionName: 'batches-write',
    auth: 'jwt',
    scopes: ['batches:write'],
    summary: 'Ask for a new attempt of failed (recoverable) or returned payments',
    tag: 'Provincial systems',
  },
  {
    operationId: 'getRetry',
    method: 'GET',
    path: '/v1/batches/{batchId}/retries/{retryId}',
    functionName: 'batches-read',
    auth: 'jwt',
    scopes: ['batches:read'],
    summary: "A retry and its payments' current statuses",
    tag: 'Provincial systems',
  },
  {
    operationId: 'approveRetry',
    method: 'POST',
    path: '/v1/batches/{batchId}/retries/{retryId}/approve',
    functionName: 'batches-approve',
    auth: 'jwt',
    scopes: ['batches:approve'],
    summary: 'Approve a retry (a second official): its payments start a new attempt',
    tag: 'Provincial systems',
  },
  {
    operationId: 'cancelRetry',
    method: 'POST',
    path: '/v1/batches/{batchId}/retries/{retryId}/cancel',
    functionName: 'batches-write',
    auth: 'jwt',
    scopes: ['batches:write'],
    summary: 'Withdraw a retry that is not yet approved: its payments are free for another retry',
    tag: 'Provincial systems',
  },
  {
    operationId: 'getBatchReconciliation',
    method: 'GET',
    path: '/v1/batches/{batchId}/reconciliation',
    functionName: 'batches-read',
    auth: 'jwt',
    scopes: ['batches:read'],
    summary: 'Three-way match of instructions, callbacks and settlement statements',
    tag: 'Provincial systems',
  },
  {
    operationId: 'importStatement',
    method: 'POST',
    path: '/v1/providers/{providerCode}/statements',
    functionName: 'provider-callbacks',
    auth: 'signature',
    scopes: [],
    summary: "A provider's settlement statement of a value date (HMAC-signed)",
    tag: 'Payment providers',
  },
  {
    operationId: 'providerCallback',
    method: 'POST',
    path: '/v1/provider-callbacks/{providerCode}',
    functionName: 'provider-callbacks',
    auth: 'signature',
    scopes: [],
    summary: 'Settlement report from a payment provider (HMAC-signed)',
    tag: 'Payment providers',
  },
  {
    operationId: 'receiveRegisterEvent',
    method: 'POST',
    path: '/v1/register-events',
    functionName: 'register-events',
    auth: 'signature',
    scopes: [],
    summary: 'An event of the population register (HMAC-signed): a death registered',
    tag: 'Population register',
  },
  {
    operationId: 'putWebhook',
    method: 'PUT',
    path: '/v1/webhook',
    functionName: 'webhooks',
    auth: 'jwt',
    scopes: ['batches:write'],
    summary: "Set (or replace) the province's webhook endpoint; answers a new signing secret",
    tag: 'Provincial systems',
  },
  {
    operationId: 'getWebhook',
    method: 'GET',
    path: '/v1/webhook',
    functionName: 'webhooks',
    auth: 'jwt',
    scopes: ['batches:read'],
    summary: "The province's webhook endpoint (without its secret)",
    tag: 'Provincial systems',
  },
  {
    operationId: 'deleteWebhook',
    method: 'DELETE',
    path: '/v1/webhook',
    functionName: 'webhooks',
    auth: 'jwt',
    scopes: ['batches:write'],
    summary: "Remove the province's webhook endpoint",
    tag: 'Provincial systems',
  },
  {
    operationId: 'listWebhookDeliveries',
    method: 'GET',
    path: '/v1/webhook/deliveries',
    functionName: 'webhooks',
    auth: 'jwt',
    scopes: ['batches:read'],
    summary: 'The delivery log of the events sent to the province',
    tag: 'Provincial systems',
  },
  {
    operationId: 'redeliverWebhookEvent',
    method: 'POST',
    path: '/v1/webhook/deliveries/{eventId}/redeliver',
    functionName: 'webhooks',
    auth: 'jwt',
    scopes: ['batches:write'],
    summary: 'Send an event again',
    tag: 'Provincial systems',
  },
  {
    operationId: 'g2pDisburse',
    method: 'POST',
    path: '/g2p/v1/disburse',
    functionName: 'g2p',
    auth: 'jwt',
    scopes: ['batches:write'],
    summary: 'G2P Connect disburse (asynchronous: ACK, then on-disburse callbacks to sender_uri)',
    tag: 'G2P Connect',
  },
  {
    operationId: 'g2pDisburseSync',
    method: 'POST',
    path: '/g2p/v1/disburse/sync/disburse',
    functionName: 'g2p',
    auth: 'jwt',
    scopes: ['batches:write'],
    summary: 'G2P Connect disburse, answered synchronously with the disbursement statuses',
    tag: 'G2P Connect',
  },
  {
    operationId: 'g2pTxnStatus',
    method: 'POST',
    path: '/g2p/v1/disburse/txn/status',
    functionName: 'g2p',
    auth: 'jwt',
    scopes: ['batches:read'],
    summary: 'G2P Connect status of a disburse, by transaction_id or payment references',
    tag: 'G2P Connect',
  },
  {
    operationId: 'g2pTxnStatusSync',
    method: 'POST',
    path: '/g2p/v1/disburse/sync/txn/status',
    functionName: 'g2p',
    auth: 'jwt',
    scopes: ['batches:read'],
    summary: 'G2P Connect status of a disburse (synchronous variant)',
    tag: 'G2P Connect',
  },
  {
    operationId: 'g2pMapperResolve',
    method: 'POST',
    path: '/g2p/v1/mapper/sync/resolve',
    functionName: 'g2p',
    auth: 'jwt',
    scopes: ['accounts:write'],
    summary: 'G2P Connect mapper resolve of pid:<personal ID>: linked or not, the provider, masked',
    tag: 'G2P Connect',
  },
  {
    operationId: 'g2pMapperLink',
    method: 'POST',
    path: '/g2p/v1/mapper/sync/link',
    functionName: 'g2p',
    auth: 'jwt',
    scopes: ['accounts:write'],
    summary: 'G2P Connect mapper link: not supported (links belong to the beneficiary)',
    tag: 'G2P Connect',
  },
  {
    operationId: 'g2pMapperUnlink',
    method: 'POST',
    path: '/g2p/v1/mapper/sync/unlink',
    functionName: 'g2p',
    auth: 'jwt',
    scopes: ['accounts:write'],
    summary: 'G2P Connect mapper unlink: not supported (links belong to the beneficiary)',
    tag: 'G2P Connect',
  },
  {
    operationId: 'g2pMapperUpdate',
    method: 'POST',
    path: '/g2p/v1/mapper/sync/update',
    functionName: 'g2p',
    auth: 'jwt',
    scopes: ['accounts:write'],
    summary: 'G2P Connect mapper update: not supported (links belong to the beneficiary)',
    tag: 'G2P Connect',
  },
] as const satisfies readonly RouteDefinition[];

export type OperationId = (typeof routes)[number]['operationId'];

/** The functions behind the routes, each listed once. */
export const httpFunctionNames = [...new Set(routes.map((route) => route.functionName))];

/** The methods each path of the table serves (a path with several routes lists them all). */
export const methodsByPath: ReadonlyMap<string, readonly HttpMethod[]> = routes.reduce((byPath, route) => {
  byPath.set(route.path, [...(byPath.get(route.path) ?? []), route.method]);
  return byPath;
}, new Map<string, HttpMethod[]>());

/**
 * The `Allow` header of a path (RFC 9110): its methods, and OPTIONS, which every
 * known path answers (CORS preflight, shared/http/cors.ts). Answered with 405
 * METHOD_NOT_ALLOWED to any other method on that path.
 */
export function allowHeader(methods: readonly string[]): string {
  return [...methods, 'OPTIONS'].join(', ');
}
