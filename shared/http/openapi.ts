import { OpenApiGeneratorV31, OpenAPIRegistry, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import * as z from 'zod';
import type { ProblemCode } from '../domain/errors.js';
import {
  providerCallbackSchema,
  accountLinkRequestSchema,
  accountLinkSchema,
  auditListSchema,
  listQuerySchema,
  appendPaymentsRequestSchema,
  batchListSchema,
  batchReportSchema,
  batchSchema,
  createBatchRequestSchema,
  listBatchesQuerySchema,
  listBatchPaymentsQuerySchema,
  ownPaymentListSchema,
  ownPaymentSchema,
  paymentListSchema,
  paymentSchema,
  healthSchema,
  personalIdSchema,
  problemSchema,
  programListSchema,
  providerListSchema,
  reasonCodeListSchema,
  createRetryRequestSchema,
  retrySchema,
  statementSchema,
  statementResultSchema,
  reconciliationSchema,
  resourceIdSchema,
  unlinkAccountQuerySchema,
  putWebhookRequestSchema,
  webhookDeliveryListSchema,
  webhookDeliverySchema,
  webhookSchema,
  webhookSecretSchema,
} from '../domain/schemas.js';
import { deathRegisteredEventSchema } from '../domain/register-events.js';
import { corsPolicy } from './cors.js';
import {
  ackSchema,
  disburseRequestSchema,
  disburseResponseSchema,
  mapperChangeRequestSchema,
  mapperChangeResponseSchema,
  resolveRequestSchema,
  resolveResponseSchema,
  txnStatusRequestSchema,
  txnStatusResponseSchema,
} from '../domain/g2p.js';
import { BEARER_REALM, PROBLEM_CONTENT_TYPE } from './problem.js';
import { routes, type OperationId, type RouteDefinition } from './routes.js';

/**
 * The OpenAPI 3.1 document of the API, generated from the route table (every
 * route, its method, auth and scopes) and from the zod schemas the handlers
 * validate with. What the route table cannot say (bodies, queries, answers) is
 * in `operationDocs`, whose type requires one entry per operationId: a route
 * added without its documentation does not compile.
 */

const JSON_TYPE = 'application/json';

const callbackResultSchema = z
  .object({
    changed: z.boolean(),
    transfer: z.object({ transferRef: z.string(), status: z.string(), reasonCode: z.string().nullable(), updatedAt: z.iso.datetime() }),
  })
  .meta({ id: 'ProviderCallbackResult', description: 'The transfer as the system records it after the callback; nothing about the person.' });

const registerEventAnswerSchema = z
  .object({
    eventId: z.string(),
    cancelledPayments: z.int().min(0).meta({ description: "The deceased's payments for periods after the month of death that are CANCELLED DECEASED (nothing of them had been handed to a provider)." }),
    funeralAllowance: z
      .object({ batchId: z.string() })
      .nullable()
      .meta({ description: 'The batch of the province holding the funeral allowance to the arranger, waiting for approval; null without `funeral`.' }),
    paidAfterDeath: z
      .array(z.object({ paymentId: z.string(), batchId: z.string(), provinceCode: z.string(), status: z.string() }))
      .meta({ description: 'Payments for periods after the death that had already been handed to a provider (QUEUED and handed off, SENT, PAID): left as they are and flagged for their province.' }),
  })
  .meta({ id: 'RegisterEventAnswer', description: 'What the event did; the same answer for the same eventId. Keys only: no personal data.' });

const appendResultSchema = z
  .object({ accepted: z.int().min(0), alreadyStored: z.int().min(0), batch: batchSchema })
  .meta({ id: 'AppendPaymentsResult', description: 'How many payments of the chunk were new and how many were already stored, and the batch after it.' });

/** Statuses beyond those every route of its kind can answer (see `problemCodes`), with the problem codes each may carry. */
type Problems = Partial<Record<number, readonly ProblemCode[]>>;

export interface OperationDocs {
  /** Longer text than the route's summary. */
  description?: string;
  /** Request body by media type (`application/json`, `text/csv`, ...). */
  body?: Record<string, z.ZodType>;
  /** Query parameters. */
  query?: z.ZodObject;
  /** Path parameters, when the defaults (see pathParameter) do not fit. */
  params?: z.ZodObject;
  /** Successful answers by status; a schema per media type, or none for an empty body. */
  responses: Record<number, { description: string; content?: Record<string, z.ZodType>; headers?: Record<string, HeaderObject> }>;
  /** Problems beyond those every route of its kind answers (for example 409 and its codes). */
  problems?: Problems;
}

interface HeaderObject {
  description: string;
  required?: boolean;
  schema: Record<string, unknown>;
}

const locationHeader: Record<string, HeaderObject> = {
  location: { description: 'The new batch: `/v1/batches/{batchId}`.', required: true, schema: { type: 'string', pattern: '^/v1/batches/[A-Za-z0-9_-]{1,64}$' } },
};

/** Account routes: what anyone but the person and the provinces caring for them gets, whether or not a link exists. */
const accountAccess =
  'Who may act: the person (scope beneficiary, the token\'s pid equal to personalId), or a province (scope accounts:write) for a person in its care: the person has a payment in one of that province\'s batches, or the population register gives their permanent residence in that province. For anyone else the link does not exist: 404 NOT_FOUND, the same answer as for a person without a link, so that a province cannot learn whether a person elsewhere has an account.';

export const operationDocs: Record<OperationId, OperationDocs> = {
  getHealth: {
    description: 'Needs no token. Answers 200 while the service can serve requests.',
    responses: { 200: { description: 'The service is up.', content: { [JSON_TYPE]: healthSchema } } },
  },
  getOpenApi: {
    description: 'Needs no token. Generated from the same schemas the handlers validate with. Cacheable for 5 minutes.',
    responses: {
      200: {
        description: 'The OpenAPI 3.1 document.',
        content: { [JSON_TYPE]: z.record(z.string(), z.unknown()).meta({ description: 'An OpenAPI 3.1.0 document.' }) },
        headers: { 'cache-control': { description: 'The document may be cached for 5 minutes: `public, max-age=300`.', required: true, schema: { type: 'string', const: 'public, max-age=300' } } },
      },
    },
  },
  listPrograms: {
    description: 'Any valid token. Each program with the largest amount one payment may carry.',
    responses: { 200: { description: 'Every program.', content: { [JSON_TYPE]: programListSchema } } },
  },
  listProviders: {
    description: 'Any valid token. Banks by their six-digit BIN, and mobile-money operators.',
    responses: { 200: { description: 'Every provider.', content: { [JSON_TYPE]: providerListSchema } } },
  },
  listReasonCodes: {
    description:
      'Any valid token. Every reason code with its Vietnamese and English message, who must act (BENEFICIARY, PROVINCE, PROVIDER or OPERATIONS), whether a new attempt of the payment can succeed once they have (recoverable), and the next step in both languages.',
    responses: { 200: { description: 'Every reason code.', content: { [JSON_TYPE]: reasonCodeListSchema } } },
  },
  createBatch: {
    description:
      "Scope batches:write; provinceCode must be the caller's (else 403). Same batchRef and same body again answers 200 with the existing batch; same batchRef with another body is 409 BATCH_REF_CONFLICT; an identical create still in flight may be answered 409 CONFLICT with Retry-After. With `scheduledFor`, the approved batch sends nothing before that time (its payments stay VERIFIED) and can be cancelled until then. With `payments` holding control.itemCount items the batch is sealed at once, and payments whose totals do not match control are 422 CONTROL_TOTALS_MISMATCH (nothing stored). Rules the schema cannot say: `payments` holds at most control.itemCount items, paymentRefs are unique in the request, and no dateOfBirth is after today (422 VALIDATION_FAILED naming each).",
    body: { [JSON_TYPE]: createBatchRequestSchema },
    responses: {
      201: { description: 'Created.', content: { [JSON_TYPE]: batchSchema }, headers: locationHeader },
      200: { description: 'The batch this batchRef already created (a retry).', content: { [JSON_TYPE]: batchSchema } },
    },
    problems: { 409: ['BATCH_REF_CONFLICT', 'CONFLICT'], 422: ['CONTROL_TOTALS_MISMATCH'] },
  },
  listBatches: {
    description: "Scope batches:read. The caller's province only (a caller without a province: 403).",
    query: listBatchesQuerySchema,
    responses: { 200: { description: 'One page.', content: { [JSON_TYPE]: batchListSchema } } },
  },
  getBatch: {
    description: "Scope batches:read. Another province's batch is 404.",
    responses: { 200: { description: 'The batch.', content: { [JSON_TYPE]: batchSchema } } },
  },
  appendPayments: {
    description:
      'Scope batches:write; the batch must be OPEN (else 409 INVALID_STATE). Validated whole: any bad item is 422 listing every error, and nothing is stored. A chunk already stored identically is a no-op; a paymentRef stored with other content is 409 CONFLICT. While another chunk of the batch is being stored: 429 with Retry-After. Rules the schema cannot say: paymentRefs are unique in the chunk, and no dateOfBirth is after today.',
    body: {
      [JSON_TYPE]: appendPaymentsRequestSchema,
      'text/csv': z.string().meta({ description: 'Header paymentRef,personalId,fullName,dateOfBirth,gender,amount; UTF-8, BOM allowed, CRLF or LF.' }),
    },
    responses: { 200: { description: 'How many payments were new and how many were already stored.', content: { [JSON_TYPE]: appendResultSchema } } },
    problems: { 409: ['CONFLICT', 'INVALID_STATE'] },
  },
  listBatchPayments: {
    description: 'Scope batches:read. With status, reason code, name-match kind, masked account and history.',
    query: listBatchPaymentsQuerySchema,
    responses: { 200: { description: 'One page.', content: { [JSON_TYPE]: paymentListSchema } } },
  },
  sealBatch: {
    description:
      'Scope batches:write. Stored payments must match control exactly, else 422 CONTROL_TOTALS_MISMATCH with expected and actual. Then SUBMITTED. Sealing again is a no-op; a CANCELLED batch is 409 INVALID_STATE, a chunk arriving meanwhile 409 CONFLICT, a chunk being stored 429 with Retry-After.',
    responses: { 200: { description: 'The sealed batch.', content: { [JSON_TYPE]: batchSchema } } },
    problems: { 409: ['CONFLICT', 'INVALID_STATE'], 422: ['CONTROL_TOTALS_MISMATCH'] },
  },
  getBatchReport: {
    description:
      "Scope batches:read. One row per payment plus totals per status. `Accept: text/csv` gives CSV (UTF-8 with BOM; the next page's cursor in the x-next-cursor header).",
    query: listBatchPaymentsQuerySchema,
    responses: {
      200: {
        description: 'One page of the report.',
        content: { [JSON_TYPE]: batchReportSchema, 'text/csv': z.string().meta({ description: 'The rows, and on the last page the totals, as CSV.' }) },
        headers: {
          'x-next-cursor': { description: 'CSV only: the cursor of the next page (absent on the last page).', schema: { type: 'string' } },
          'content-disposition': { description: 'CSV only: a file name for the download.', schema: { type: 'string' } },
        },
      },
    },
  },
  listBatchAudit: {
    description:
      "Scope batches:read; another province's batch is 404. Append-only records, one per unit of work (a request or a queue message) and scope: the batch's own records first (created, chunks received, sealed, approved, completed, ...), then each payment shard's (every payment transition), each in time order.",
    query: listQuerySchema,
    responses: { 200: { description: 'One page.', content: { [JSON_TYPE]: auditListSchema } } },
  },
  cancelBatch: {
    description:
      'Scope batches:write. Only before APPROVED, or APPROVED with a scheduledFor that has not come yet (else 409 INVALID_STATE); every payment not yet terminal becomes CANCELLED and releases its entitlement. While a chunk is being stored: 429 with Retry-After.',
    responses: { 200: { description: 'The cancelled batch.', content: { [JSON_TYPE]: batchSchema } } },
    problems: { 409: ['INVALID_STATE'] },
  },
  linkAccount: {
    description: `Scope beneficiary or accounts:write. ${accountAccess} A province names the person's consent (consentRef, else 422); it is kept with the link's history and in the audit trail. The register must know the person alive and accountName must match the register name, else 422 with ID_NOT_FOUND, DECEASED or ACCOUNT_NAME_MISMATCH in errors. Releases the person's ON_HOLD payments of approved batches.`,
    body: { [JSON_TYPE]: accountLinkRequestSchema },
    params: z.object({ personalId: personalIdSchema }),
    responses: { 200: { description: 'The new link (masked) with the history.', content: { [JSON_TYPE]: accountLinkSchema } } },
  },
  getAccount: {
    description: `Scope beneficiary or accounts:write. ${accountAccess} 404 as well when no account is linked.`,
    params: z.object({ personalId: personalIdSchema }),
    responses: { 200: { description: 'The current link (masked) with the history.', content: { [JSON_TYPE]: accountLinkSchema } } },
  },
  unlinkAccount: {
    description: `Scope beneficiary or accounts:write. ${accountAccess} A province names the person's consent (?consentRef=, else 422); it is kept with the link's history and in the audit trail. 404 as well when no account is linked. Payments already QUEUED keep the account they were queued with.`,
    params: z.object({ personalId: personalIdSchema }),
    query: unlinkAccountQuerySchema,
    responses: { 204: { description: 'Unlinked.' } },
    problems: { 422: ['VALIDATION_FAILED'] },
  },
  listMyPayments: {
    description: "Scope beneficiary. The payments of the token's pid, newest first, with reason messages in Vietnamese and English.",
    query: listQuerySchema,
    responses: { 200: { description: 'One page.', content: { [JSON_TYPE]: ownPaymentListSchema } } },
  },
  getMyPayment: {
    description: "Scope beneficiary. Another person's payment is 404.",
    responses: { 200: { description: 'The payment with its history.', content: { [JSON_TYPE]: ownPaymentSchema } } },
  },
  getMyAccount: {
    description: 'Scope beneficiary. 404 when no account is linked.',
    responses: { 200: { description: 'The linked account, masked, with its history.', content: { [JSON_TYPE]: accountLinkSchema } } },
    problems: { 404: ['NOT_FOUND'] },
  },
  approveBatch: {
    description:
      'Scope batches:approve, same province. Only in AWAITING_APPROVAL (else 409 INVALID_STATE), and only by a sub other than the creator (else 403). VERIFIED payments are queued for disbursement, or held ON_HOLD without a linked account.',
    responses: { 200: { description: 'The approved batch.', content: { [JSON_TYPE]: batchSchema } } },
    problems: { 409: ['INVALID_STATE'] },
  },
  createRetry: {
    description:
      "Scope batches:write; another province's batch is 404. A new attempt of payments of an APPROVED or COMPLETED batch (else 409 INVALID_STATE): `paymentIds`, or left out, every FAILED payment with a recoverable reason (GET /v1/reason-codes) and every RETURNED payment. A named payment that is not FAILED-recoverable or RETURNED (one in flight: QUEUED, SENT or ON_HOLD; PAID; REJECTED; CANCELLED) is 422 naming it; nothing eligible is 422. A payment already waiting in another retry: 409 CONFLICT naming it (of two retries racing for a payment, one gets it). The retry waits for a second official's approval.",
    body: { [JSON_TYPE]: createRetryRequestSchema },
    responses: {
      201: {
        description: 'The retry, AWAITING_APPROVAL.',
        content: { [JSON_TYPE]: retrySchema },
        headers: { location: { description: 'The new retry: `/v1/batches/{batchId}/retries/{retryId}`.', required: true, schema: { type: 'string' } } },
      },
    },
    problems: { 409: ['CONFLICT', 'INVALID_STATE'] },
  },
  getRetry: {
    description: "Scope batches:read; another province's batch, or a retry of another batch, is 404. COMPLETED once none of its payments is QUEUED or SENT.",
    responses: { 200: { description: "The retry with its payments' current statuses and attempts.", content: { [JSON_TYPE]: retrySchema } } },
  },
  approveRetry: {
    description:
      'Scope batches:approve, same province. Maker-checker: only by a sub other than the one who requested it (else 403), only AWAITING_APPROVAL (else 409 INVALID_STATE; the same official approving again finishes the first approval). Each payment starts attempt n + 1 (transfer reference `<paymentId>-<n+1>`): QUEUED with the account linked now, or ON_HOLD without one; a FAILED payment takes its entitlement again first, and one whose entitlement another payment holds now is skipped. The batch is APPROVED until they settle.',
    responses: { 200: { description: 'The approved retry.', content: { [JSON_TYPE]: retrySchema } } },
    problems: { 409: ['INVALID_STATE'] },
  },
  cancelRetry: {
    description:
      "Scope batches:write; another province's batch, or a retry of another batch, is 404. Only a retry AWAITING_APPROVAL (else 409 INVALID_STATE): it becomes CANCELLED, nothing of it is sent, and its payments can be named by another retry. Of a cancel and an approval racing, exactly one succeeds. Cancelling a CANCELLED retry again: 200, nothing changed.",
    responses: { 200: { description: 'The cancelled retry.', content: { [JSON_TYPE]: retrySchema } } },
    problems: { 409: ['INVALID_STATE'] },
  },
  getBatchReconciliation: {
    description:
      "Scope batches:read; another province's batch is 404. Payments confirmed by a statement, returned, with amount or status mismatches, PAID but in no statement yet (how long, and whether past the provider's settlement window), and statement lines naming a reference of the batch that no payment has.",
    responses: { 200: { description: 'The reconciliation of the batch.', content: { [JSON_TYPE]: reconciliationSchema } } },
  },
  importStatement: {
    description:
      'No token: signed as provider callbacks are (x-timestamp, x-signature over timestamp + "." + raw body; 401 otherwise). At most 10,000 lines. Each line is matched to the transfer it names: SETTLED confirms a PAID transfer (and settles a SENT one whose callback never came), RETURNED returns a PAID one as a RETURNED callback would (its entitlement kept). The same statementId again with the same body: the same answer, nothing changed; with another body: 409 CONFLICT, nothing changed.',
    body: { [JSON_TYPE]: statementSchema },
    responses: { 200: { description: 'What the statement matched, returned and could not match.', content: { [JSON_TYPE]: statementResultSchema } } },
    problems: { 409: ['CONFLICT'] },
  },
  providerCallback: {
    description:
      'No token: signed with x-timestamp (unix seconds) and x-signature (hex HMAC-SHA256 of timestamp + "." + raw body, with the provider\'s shared secret). Bad signature or a timestamp more than 300 s away: 401. Repeated: 200, no change. Backwards from a terminal state: 409 CONFLICT. A transfer this provider was not sent: 404. transferRef names an attempt: the paymentId for attempt 1, `<paymentId>-<n>` for attempt n; a callback naming an earlier attempt than the current one is 409 CONFLICT and changes nothing. RETURNED on a PAID payment makes it RETURNED (RETURNED_BY_PROVIDER, or the reasonCode given), keeping its entitlement: a retry pays it again.',
    body: { [JSON_TYPE]: providerCallbackSchema },
    responses: { 200: { description: 'Applied (or already applied): the transfer as the system now records it, nothing about the person.', content: { [JSON_TYPE]: callbackResultSchema } } },
    problems: { 409: ['CONFLICT'] },
  },
  receiveRegisterEvent: {
    description:
      "No token: signed by the population register as provider callbacks are (x-timestamp, x-signature = hex HMAC-SHA256 of timestamp + \".\" + raw body) with the register's secret (locally LOCAL_REGISTER_SECRET, default local-register-secret). Bad signature or a timestamp more than 300 s away: 401, nothing changed. A DEATH_REGISTERED event: the deceased's payments not yet sent (RECEIVED, VERIFIED, ON_HOLD, QUEUED not yet handed to the provider) for periods after the month of death become CANCELLED DECEASED, the account link is closed (history kept), payments already handed over are listed in paidAfterDeath; with `funeral`, a FUNERAL_ALLOWANCE payment to the arranger is prepared in a batch of the province that waits for approval. The same eventId again: 202 with the same answer, nothing changed; the same eventId with another content: 409 CONFLICT (no Retry-After). While an earlier delivery of the same event is still applying it (creating its funeral allowance batch): 409 CONFLICT with Retry-After; ask again after it for the event's answer. A date of death in the future: 422.",
    body: { [JSON_TYPE]: deathRegisteredEventSchema },
    responses: { 202: { description: 'Applied (or applied before, for the same eventId).', content: { [JSON_TYPE]: registerEventAnswerSchema } } },
    problems: { 409: ['CONFLICT'] },
  },
  getPayment: {
    description: "Scope batches:read (the payment's province) or beneficiary (its owner). Anyone else: 404.",
    responses: { 200: { description: 'The payment with its history.', content: { [JSON_TYPE]: paymentSchema } } },
  },
  putWebhook: {
    description:
      "Scope batches:write, a provincial system (else 403). Sets the province's one endpoint and answers a new secret, shown on this answer only; PUT again rotates it (events are signed with the secret current when they are sent). Events are POSTed as JSON `{ eventId, type, occurredAt, batch }` with x-event-id, x-timestamp (unix seconds) and x-signature (hex HMAC-SHA256 of x-timestamp + \".\" + raw body, with the secret). Any 2xx is delivered; anything else (a redirect included: none is followed) is retried with backoff for 24 hours, then FAILED. A url that is not https, names a private, loopback or link-local address, or a non-public host: 422 VALIDATION_FAILED (the local server takes http://127.0.0.1 and http://localhost only).",
    body: { [JSON_TYPE]: putWebhookRequestSchema },
    responses: { 200: { description: 'The endpoint with its new secret.', content: { [JSON_TYPE]: webhookSecretSchema } } },
  },
  getWebhook: {
    description: "Scope batches:read, a provincial system. The province's endpoint without its secret; 404 when it has none.",
    responses: { 200: { description: 'The endpoint.', content: { [JSON_TYPE]: webhookSchema } } },
    problems: { 404: ['NOT_FOUND'] },
  },
  deleteWebhook: {
    description: 'Scope batches:write, a provincial system. Events not yet delivered end FAILED. 404 when there is none.',
    responses: { 204: { description: 'Removed.' } },
    problems: { 404: ['NOT_FOUND'] },
  },
  listWebhookDeliveries: {
    description: "Scope batches:read, a provincial system. The events of the province's batches and how their delivery went, newest batch first.",
    query: listQuerySchema,
    responses: { 200: { description: 'One page.', content: { [JSON_TYPE]: webhookDeliveryListSchema } } },
  },
  g2pDisburse: {
    description:
      "G2P Connect `disburse` (src/disburse v1.0.0; departures: docs/decisions.md 120-127). Scope batches:write. The disbursements become a batch of the caller's province, exactly as POST /v1/batches with its payments: batchRef = message.transaction_id, program and month from payer_fa `program:<PROGRAM>.<YYYY-MM>@...`, each payee `pid:<12-digit ID>` with payee_name and payee_dob, control totals from header.total_count and the sum of the amounts (a mismatch: 422 CONTROL_TOTALS_MISMATCH, nothing stored), then verification and maker-checker approval (POST /v1/batches/{batchId}/approve). header.sender_uri is required (the webhook policy's receivers only), and the province needs a webhook secret (PUT /v1/webhook): on-disburse callbacks are POSTed there signed as webhook events (x-timestamp, x-signature), once verified and once complete or cancelled. The same transaction_id with the same content again: ACK, nothing new.",
    body: { [JSON_TYPE]: disburseRequestSchema },
    responses: { 200: { description: 'ACK; correlation_id is the batchId.', content: { [JSON_TYPE]: ackSchema } } },
    problems: { 409: ['BATCH_REF_CONFLICT', 'CONFLICT'], 422: ['CONTROL_TOTALS_MISMATCH'] },
  },
  g2pDisburseSync: {
    description: 'The synchronous variant of g2pDisburse: answers on-disburse with the statuses of the disbursements as stored (RCVD: received, to be verified). No sender_uri needed, no callbacks.',
    body: { [JSON_TYPE]: disburseRequestSchema },
    responses: { 200: { description: 'The disbursements as stored.', content: { [JSON_TYPE]: disburseResponseSchema } } },
    problems: { 409: ['BATCH_REF_CONFLICT', 'CONFLICT'], 422: ['CONTROL_TOTALS_MISMATCH'] },
  },
  g2pTxnStatus: {
    description:
      "G2P Connect `txn/status`, scope batches:read: attribute_type `transaction_id` (the disburse's) gives every disbursement; `reference_id_list` takes paymentIds (each status's instruction `paymentId=...`); another province's or an unknown one is RJCT rjct.reference_id.invalid. Answered at once (on-status in the answer, no callback).",
    body: { [JSON_TYPE]: txnStatusRequestSchema },
    responses: { 200: { description: 'on-status.', content: { [JSON_TYPE]: txnStatusResponseSchema } } },
    problems: { 404: ['NOT_FOUND'] },
  },
  g2pTxnStatusSync: {
    description: 'The synchronous variant of g2pTxnStatus (the same answer).',
    body: { [JSON_TYPE]: txnStatusRequestSchema },
    responses: { 200: { description: 'on-status.', content: { [JSON_TYPE]: txnStatusResponseSchema } } },
    problems: { 404: ['NOT_FOUND'] },
  },
  g2pMapperResolve: {
    description:
      "G2P Connect mapper `resolve`, scope accounts:write: for each `pid:<12-digit ID>` (in id or fa), succ.fa.active with the provider and the masked account number, or succ.fa.not_found; a person outside the caller's care (the account routes' rule) is answered exactly as one without a link. Anything but a pid: RJCT rjct.id.invalid.",
    body: { [JSON_TYPE]: resolveRequestSchema },
    responses: { 200: { description: 'on-resolve.', content: { [JSON_TYPE]: resolveResponseSchema } } },
  },
  g2pMapperLink: {
    description: 'G2P Connect mapper `link`: RJCT rjct.action.not_supported. Links belong to the beneficiary (PUT /v1/accounts/{personalId}, with consent).',
    body: { [JSON_TYPE]: mapperChangeRequestSchema },
    responses: { 200: { description: 'RJCT rjct.action.not_supported.', content: { [JSON_TYPE]: mapperChangeResponseSchema } } },
  },
  g2pMapperUnlink: {
    description: 'G2P Connect mapper `unlink`: RJCT rjct.action.not_supported.',
    body: { [JSON_TYPE]: mapperChangeRequestSchema },
    responses: { 200: { description: 'RJCT rjct.action.not_supported.', content: { [JSON_TYPE]: mapperChangeResponseSchema } } },
  },
  g2pMapperUpdate: {
    description: 'G2P Connect mapper `update`: RJCT rjct.action.not_supported.',
    body: { [JSON_TYPE]: mapperChangeRequestSchema },
    responses: { 200: { description: 'RJCT rjct.action.not_supported.', content: { [JSON_TYPE]: mapperChangeResponseSchema } } },
  },
  redeliverWebhookEvent: {
    description: 'Scope batches:write, a provincial system. Sends the event again, whatever its status (the same eventId and body, signed anew), with a new 24-hour retry window. Another province\'s event or an unknown eventId: 404.',
    responses: { 202: { description: 'Queued: the delivery as it now stands (RETRYING).', content: { [JSON_TYPE]: webhookDeliverySchema } } },
  },
};

const problemDescriptions: Record<number, string> = {
  400: 'Malformed request: the HTTP message (request line, headers, framing, percent-encoding of the path), a query parameter, a cursor, or a body that is not JSON or not UTF-8.',
  401: 'No valid credentials. Carries WWW-Authenticate.',
  403: 'The token lacks a needed scope, or the caller may not do this.',
  404: 'No such resource, or one that belongs to someone else.',
  409: 'Conflicts with the current state.',
  413: 'The body is larger than 6 MB (on any route).',
  415: 'The body is not in a supported media type.',
  422: 'The content breaks the rules, listing every error (at most 1,000, with errorCount).',
  429: 'Too many requests. Carries Retry-After when the handler answers it; retrying after it succeeds.',
  500: 'Unexpected error, with no internals. Quote the request id.',
};

/** The problem code of each status when the operation names no other. */
const defaultCodes: Record<number, readonly ProblemCode[]> = {
  400: ['VALIDATION_FAILED'],
  401: ['UNAUTHENTICATED'],
  403: ['FORBIDDEN'],
  404: ['NOT_FOUND'],
  413: ['PAYLOAD_TOO_LARGE'],
  415: ['UNSUPPORTED_MEDIA_TYPE'],
  422: ['VALIDATION_FAILED'],
  429: ['RATE_LIMITED'],
  500: ['INTERNAL'],
};

const standardHeaders: Record<string, HeaderObject> = {
  'x-request-id': {
    description: 'The request id: the one the client sent (when safe), else generated. Quote it when reporting a problem.',
    required: true,
    schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
  },
  'cache-control': {
    description: 'Never stored by caches: answers can carry personal data (payments, accounts, reports).',
    required: true,
    schema: { type: 'string', const: 'no-store' },
  },
};

const errorHeaders: Partial<Record<number, Record<string, HeaderObject>>> = {
  401: {
    'www-authenticate': {
      description: `How to authenticate (RFC 9110): \`Bearer realm="${BEARER_REALM}"\` on token routes (RFC 6750; with \`error="invalid_token"\` when a token was refused), the signature scheme on provider callbacks.`,
      required: true,
      schema: { type: 'string', pattern: '^(Bearer|Signature) ' },
    },
  },
  429: {
    'retry-after': {
      description: 'Seconds to wait before retrying (sent with every RATE_LIMITED problem; API Gateway throttling answers without it).',
      schema: { type: 'string', pattern: '^[0-9]+$' },
    },
  },
};

/**
 * What API Gateway itself answers deployed, before any function runs: a refused
 * token (401, with WWW-Authenticate) and throttling (429). HTTP APIs cannot
 * shape these as problem+json (docs/decisions.md 4).
 */
const gatewayMessageSchema = z
  .object({ message: z.string() })
  .meta({ id: 'GatewayMessage', description: 'API Gateway\'s own answer (deployed only): `{"message":"Unauthorized"}` or `{"message":"Too Many Requests"}`.' });

function pathParameterNames(path: string): string[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1] ?? '');
}

const pathParameterDescriptions: Record<string, string> = {
  batchId: 'The batch: the batchId its create answered.',
  paymentId: "A payment's paymentId (from a batch's payments, the report, or the beneficiary's list).",
  eventId: 'The eventId of a webhook event (GET /v1/webhook/deliveries, or x-event-id).',
  retryId: 'The retry: the retryId its request answered.',
  providerCode: "The provider's code (GET /v1/providers): a bank's six-digit BIN or an operator's code.",
};

/** The schema of a path parameter by its name: personal IDs are 12 digits, every other id is opaque. */
function pathParameter(name: string): z.ZodType {
  if (name === 'personalId') return personalIdSchema;
  return resourceIdSchema.meta({ description: pathParameterDescriptions[name] ?? `The ${name}.` });
}

/**
 * Every problem an operation can answer, by status, with its codes:
 * - every route: 400 (a malformed request), 413 (a body over 6 MB), 429 (throttling), 500;
 * - token routes: 401 and 403; signed routes: 401;
 * - routes with a path parameter: 404; routes with a body: 415 and 422;
 * - and what the operation's docs add.
 */
export function problemCodes(route: RouteDefinition, docs: OperationDocs): Map<number, ProblemCode[]> {
  const statuses = new Set<number>([400, 413, 429, 500]);
  if (route.auth === 'jwt') [401, 403].forEach((status) => statuses.add(status));
  if (route.auth === 'signature') statuses.add(401);
  if (pathParameterNames(route.path).length > 0) statuses.add(404);
  if (docs.body) [415, 422].forEach((status) => statuses.add(status));
  const codes = new Map<number, ProblemCode[]>();
  for (const status of statuses) codes.set(status, [...(defaultCodes[status] ?? [])]);
  for (const [status, extra] of Object.entries(docs.problems ?? {})) {
    const known = codes.get(Number(status)) ?? [];
    codes.set(Number(status), [...new Set([...known, ...(extra ?? [])])]);
  }
  return new Map([...codes].sort(([a], [b]) => a - b));
}

function security(route: RouteDefinition): RouteConfig['security'] {
  switch (route.auth) {
    case 'jwt':
      return [{ bearerAuth: [] }];
    case 'signature':
      return [{ providerSignature: [], providerTimestamp: [] }];
    case 'none':
      return [];
  }
}

function describeRoute(route: RouteDefinition, docs: OperationDocs): string {
  const parts = [docs.description ?? route.summary];
  if (route.auth === 'jwt' && route.scopes.length > 0) parts.push(`Requires one of the scopes: ${route.scopes.join(', ')}.`);
  return parts.join('\n\n');
}

function content(byType: Record<string, z.ZodType>) {
  return Object.fromEntries(Object.entries(byType).map(([type, schema]) => [type, { schema }]));
}

/** The Problem component, narrowed to one status and the codes the operation may send with it. */
function problemFor(status: number, codes: readonly ProblemCode[]): z.ZodType {
  // Rendered as allOf [Problem, { status, code }].
  return z.intersection(problemSchema, z.object({ status: z.literal(status), code: z.enum(codes as [ProblemCode, ...ProblemCode[]]) }));
}

function routeConfig(route: RouteDefinition, docs: OperationDocs): RouteConfig {
  const responses: Record<string, ResponseConfig> = {};
  for (const [status, response] of Object.entries(docs.responses)) {
    responses[status] = {
      description: response.description,
      headers: { ...standardHeaders, ...response.headers } as ResponseConfig['headers'],
      ...(response.content ? { content: content(response.content) } : {}),
    };
  }
  for (const [status, codes] of problemCodes(route, docs)) {
    const gateway = (status === 401 && route.auth === 'jwt') || status === 429;
    responses[String(status)] = {
      description: `${problemDescriptions[status] ?? 'Error.'} Codes: ${codes.join(', ')}.${gateway ? ' Deployed, API Gateway answers this status itself in some cases (a token its authorizer refuses, throttling), as application/json.' : ''}`,
      headers: { ...standardHeaders, ...errorHeaders[status] } as ResponseConfig['headers'],
      content: {
        [PROBLEM_CONTENT_TYPE]: { schema: problemFor(status, codes) },
        ...(gateway ? { [JSON_TYPE]: { schema: gatewayMessageSchema } } : {}),
      },
    };
  }

  const names = pathParameterNames(route.path);
  const params = docs.params ?? (names.length > 0 ? z.object(Object.fromEntries(names.map((name) => [name, pathParameter(name)]))) : undefined);
  const request: RouteConfig['request'] = {
    ...(params ? { params } : {}),
    ...(docs.query ? { query: docs.query } : {}),
    ...(docs.body ? { body: { required: true, content: content(docs.body) } } : {}),
  };

  return {
    method: route.method.toLowerCase() as RouteConfig['method'],
    path: route.path,
    operationId: route.operationId,
    summary: route.summary,
    description: describeRoute(route, docs),
    tags: [route.tag],
    security: security(route),
    ...(route.scopes.length > 0 ? { 'x-scopes': [...route.scopes] } : {}),
    ...(Object.keys(request).length > 0 ? { request } : {}),
    responses,
  };
}

const tagDescriptions: Record<string, string> = {
  Operations: 'Liveness and this document; no token.',
  Catalogues: 'Reference data for any signed-in caller: programs, payment providers and reason codes.',
  'Provincial systems': "A province's batches: create, upload, seal, read, report, audit, approve (a second official), cancel; and one payment.",
  Beneficiaries: "A person's own payments and social security account, and the account routes a province uses for the people in its care.",
  'Payment providers': 'Settlement callbacks from banks and mobile-money operators, signed with HMAC.',
  'Population register': "Events of the national population register (a death registered), signed with HMAC with the register's secret.",
};

export interface OpenApiOptions {
  /** The deployed version (info.version). */
  version: string;
}

export function buildOpenApiDocument({ version }: OpenApiOptions) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A JWT from the identity provider (locally: POST /local/token). Claims: sub, scope (space separated), province (provincial clients), pid (beneficiaries). Scopes: batches:write, batches:read, batches:approve (provincial systems and their officials), accounts:write (a province acting on the account of a person in its care, with consent), beneficiary (own payments and account), ops (operators: the local server\'s operator routes). Payment providers hold no token: they sign.',
  });
  registry.registerComponent('securitySchemes', 'providerSignature', {
    type: 'apiKey',
    in: 'header',
    name: 'x-signature',
    description: 'Payment providers: hex HMAC-SHA256 of `x-timestamp + "." + raw body` with the shared secret.',
  });
  registry.registerComponent('securitySchemes', 'providerTimestamp', {
    type: 'apiKey',
    in: 'header',
    name: 'x-timestamp',
    description: 'Payment providers: unix seconds; refused when more than 300 s from now.',
  });

  for (const route of routes) {
    registry.registerPath(routeConfig(route, operationDocs[route.operationId]));
  }

  const generator = new OpenApiGeneratorV31(registry.definitions, { sortComponents: 'alphabetically' });
  return generator.generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Social payments API',
      version,
      description: [
        'Non-cash social security payments: provincial batches, verification against the national population database, maker-checker approval, disbursement to banks and mobile-money providers.',
        'Every answer carries `x-request-id` and `Cache-Control: no-store` (the OpenAPI document excepted). Errors are RFC 9457 problem details (`application/problem+json`) whose `code` is listed for each operation and status; a 401 carries `WWW-Authenticate`, a RATE_LIMITED 429 `Retry-After`.',
        `A known path called with a method it does not serve answers 405 METHOD_NOT_ALLOWED (problem+json) with an \`Allow\` header; \`OPTIONS\` on a known path answers 204 with \`Allow\`, and CORS preflights from the deployment's allowed origins (locally \`http://localhost:*\` and \`http://127.0.0.1:*\`) get \`Access-Control-Allow-Methods: ${corsPolicy.allowMethods.join(', ')}\` and \`Access-Control-Allow-Headers: ${corsPolicy.allowHeaders.join(', ')}\`. An unknown path answers 404 NOT_FOUND.`,
      ].join('\n\n'),
      // Not open source: an SPDX reference to the program owner's own terms, which the project does not hold.
      license: { name: "Proprietary: the program owner's terms of use", identifier: 'LicenseRef-Proprietary' },
    },
    servers: [
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
        description: 'A deployed stage (the ApiUrl output of `cdk deploy`).',
        variables: { apiId: { default: 'abcdef1234', description: 'The HTTP API id.' }, region: { default: 'ap-southeast-1', description: 'The AWS region of the stage.' } },
      },
      { url: 'http://localhost:3000', description: 'The local server (`npm start`).' },
    ],
    tags: [...new Set(routes.map((route) => route.tag))].map((name) => ({ name, description: tagDescriptions[name] ?? name })),
  });
}
