import { OpenApiGeneratorV31, OpenAPIRegistry, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import * as z from 'zod';
import {
  providerCallbackSchema,
  accountLinkRequestSchema,
  accountLinkSchema,
  auditListSchema,
  listQuerySchema,
  appendPaymentsRequestSchema,
  batchListSchema,
  batchSchema,
  createBatchRequestSchema,
  listBatchesQuerySchema,
  listBatchPaymentsQuerySchema,
  paymentListSchema,
  paymentSchema,
  healthSchema,
  personalIdSchema,
  problemSchema,
  programListSchema,
  providerListSchema,
  resourceIdSchema,
} from '../domain/schemas.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';
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
  .meta({ id: 'ProviderCallbackResult' });

const appendResultSchema = z
  .object({ accepted: z.int().min(0), alreadyStored: z.int().min(0), batch: batchSchema })
  .meta({ id: 'AppendPaymentsResult' });

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
  responses: Record<number, { description: string; content?: Record<string, z.ZodType> }>;
  /** Error statuses beyond those every route of its kind has (for example 409). */
  errors?: readonly number[];
}

export const operationDocs: Record<OperationId, OperationDocs> = {
  getHealth: {
    description: 'Needs no token. Answers 200 while the service can serve requests.',
    responses: { 200: { description: 'The service is up.', content: { [JSON_TYPE]: healthSchema } } },
  },
  getOpenApi: {
    description: 'Needs no token. Generated from the same schemas the handlers validate with.',
    responses: {
      200: {
        description: 'The OpenAPI 3.1 document.',
        content: { [JSON_TYPE]: z.record(z.string(), z.unknown()).meta({ description: 'An OpenAPI 3.1.0 document.' }) },
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
  createBatch: {
    description:
      'Scope batches:write; provinceCode must be the caller\'s. Same batchRef and same body again answers 200 with the existing batch; same batchRef with another body is 409 BATCH_REF_CONFLICT. With `payments` holding control.itemCount items the batch is sealed at once.',
    body: { [JSON_TYPE]: createBatchRequestSchema },
    responses: {
      201: { description: 'Created.', content: { [JSON_TYPE]: batchSchema } },
      200: { description: 'The batch this batchRef already created (a retry).', content: { [JSON_TYPE]: batchSchema } },
    },
    errors: [409, 422],
  },
  listBatches: {
    description: 'Scope batches:read. The caller\'s province only.',
    query: listBatchesQuerySchema,
    responses: { 200: { description: 'One page.', content: { [JSON_TYPE]: batchListSchema } } },
  },
  getBatch: {
    description: 'Scope batches:read. Another province\'s batch is 404.',
    responses: { 200: { description: 'The batch.', content: { [JSON_TYPE]: batchSchema } } },
  },
  appendPayments: {
    description:
      'Scope batches:write; the batch must be OPEN. Validated whole: any bad item is 422 listing every error, and nothing is stored. A chunk already stored identically is a no-op; a paymentRef stored with other content is 409.',
    body: {
      [JSON_TYPE]: appendPaymentsRequestSchema,
      'text/csv': z.string().meta({ description: 'Header paymentRef,personalId,fullName,dateOfBirth,gender,amount; UTF-8, BOM allowed, CRLF or LF.' }),
    },
    responses: { 200: { description: 'How many payments were new and how many were already stored.', content: { [JSON_TYPE]: appendResultSchema } } },
    errors: [409, 422],
  },
  listBatchPayments: {
    description: 'Scope batches:read. With status, reason code, name-match kind, masked account and history.',
    query: listBatchPaymentsQuerySchema,
    responses: { 200: { description: 'One page.', content: { [JSON_TYPE]: paymentListSchema } } },
  },
  sealBatch: {
    description:
      'Scope batches:write. Stored payments must match control exactly, else 422 CONTROL_TOTALS_MISMATCH with expected and actual. Then SUBMITTED. Sealing again is a no-op.',
    responses: { 200: { description: 'The sealed batch.', content: { [JSON_TYPE]: batchSchema } } },
    errors: [409, 422],
  },
  getBatchReport: {
    description:
      'Scope batches:read. One row per payment plus totals per status. `Accept: text/csv` gives CSV (UTF-8 with BOM; the next page\'s cursor in the x-next-cursor header).',
    query: listBatchPaymentsQuerySchema,
    responses: {
      200: {
        description: 'One page of the report.',
        content: { [JSON_TYPE]: z.record(z.string(), z.unknown()), 'text/csv': z.string() },
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
    description: 'Scope batches:write. Only before APPROVED; every payment not yet terminal becomes CANCELLED and releases its entitlement.',
    responses: { 200: { description: 'The cancelled batch.', content: { [JSON_TYPE]: batchSchema } } },
    errors: [409],
  },
  linkAccount: {
    description:
      "Scope beneficiary (own personalId only) or accounts:write (with consentRef). The register must know the person alive and accountName must match the register name, else 422 with ID_NOT_FOUND, DECEASED or ACCOUNT_NAME_MISMATCH in errors. Releases the person's ON_HOLD payments of approved batches.",
    body: { [JSON_TYPE]: accountLinkRequestSchema },
    params: z.object({ personalId: personalIdSchema }),
    responses: { 200: { description: 'The new link (masked) with the history.', content: { [JSON_TYPE]: accountLinkSchema } } },
    errors: [422],
  },
  getAccount: {
    description: 'Scope beneficiary (own personalId only) or accounts:write. 404 when no account is linked.',
    params: z.object({ personalId: personalIdSchema }),
    responses: { 200: { description: 'The current link (masked) with the history.', content: { [JSON_TYPE]: accountLinkSchema } } },
  },
  unlinkAccount: {
    description: 'Scope beneficiary (own personalId only) or accounts:write. Payments already QUEUED keep the account they were queued with.',
    params: z.object({ personalId: personalIdSchema }),
    responses: { 204: { description: 'Unlinked.' } },
  },
  listMyPayments: {
    description: "Scope beneficiary. The payments of the token's pid, newest first, with reason messages in Vietnamese and English.",
    query: listQuerySchema,
    responses: {
      200: {
        description: 'One page.',
        content: { [JSON_TYPE]: z.object({ items: z.array(z.record(z.string(), z.unknown())), nextCursor: z.string().nullable() }) },
      },
    },
  },
  getMyPayment: {
    description: "Scope beneficiary. Another person's payment is 404.",
    responses: { 200: { description: 'The payment with its history.', content: { [JSON_TYPE]: z.record(z.string(), z.unknown()) } } },
  },
  getMyAccount: {
    description: 'Scope beneficiary. 404 when no account is linked.',
    responses: { 200: { description: 'The linked account, masked.', content: { [JSON_TYPE]: accountLinkSchema } } },
  },
  approveBatch: {
    description:
      'Scope batches:approve, same province. Only in AWAITING_APPROVAL (else 409 INVALID_STATE), and only by a sub other than the creator (else 403). VERIFIED payments are queued for disbursement, or held ON_HOLD without a linked account.',
    responses: { 200: { description: 'The approved batch.', content: { [JSON_TYPE]: batchSchema } } },
    errors: [409],
  },
  providerCallback: {
    description:
      'No token: signed with x-timestamp (unix seconds) and x-signature (hex HMAC-SHA256 of timestamp + "." + raw body, with the provider\'s shared secret). Bad signature or a timestamp more than 300 s away: 401. Repeated: 200, no change. Backwards from a terminal state: 409.',
    body: { [JSON_TYPE]: providerCallbackSchema },
    responses: { 200: { description: 'Applied (or already applied): the transfer as the system now records it, nothing about the person.', content: { [JSON_TYPE]: callbackResultSchema } } },
    errors: [409, 422],
  },
  getPayment: {
    description: 'Scope batches:read (the payment\'s province) or beneficiary (its owner). Anyone else: 404.',
    responses: { 200: { description: 'The payment with its history.', content: { [JSON_TYPE]: paymentSchema } } },
  },
};

const problemDescriptions: Record<number, string> = {
  400: 'Malformed request (not JSON, not UTF-8, bad query parameter or cursor): VALIDATION_FAILED.',
  401: 'No valid credentials: UNAUTHENTICATED.',
  403: 'The token lacks a needed scope, or the caller may not do this: FORBIDDEN.',
  404: 'No such resource, or one that belongs to someone else: NOT_FOUND.',
  409: 'Conflicts with the current state: CONFLICT, BATCH_REF_CONFLICT or INVALID_STATE.',
  413: 'The body is larger than 6 MB: PAYLOAD_TOO_LARGE.',
  415: 'The body is not in a supported media type: UNSUPPORTED_MEDIA_TYPE.',
  422: 'The content breaks the rules: VALIDATION_FAILED, listing every error (at most 1,000, with errorCount).',
  429: 'Too many requests: RATE_LIMITED.',
  500: 'Unexpected error, with no internals: INTERNAL. Quote the request id.',
};

const requestIdHeader = {
  'x-request-id': {
    description: 'The request id: the one the client sent (when safe), else generated. Quote it when reporting a problem.',
    schema: { type: 'string' as const },
  },
};

function pathParameterNames(path: string): string[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1] ?? '');
}

/** The schema of a path parameter by its name: personal IDs are 12 digits, every other id is opaque. */
function pathParameter(name: string): z.ZodType {
  if (name === 'personalId') return personalIdSchema;
  return resourceIdSchema;
}

function problemStatuses(route: RouteDefinition, docs: OperationDocs): number[] {
  const statuses = new Set<number>(docs.errors ?? []);
  if (route.auth === 'jwt') {
    statuses.add(401);
    statuses.add(403);
  }
  if (route.auth === 'signature') statuses.add(401);
  if (pathParameterNames(route.path).length > 0) statuses.add(404);
  if (docs.body) [400, 413, 415, 422].forEach((status) => statuses.add(status));
  if (docs.query) statuses.add(400);
  statuses.add(500);
  return [...statuses].sort((a, b) => a - b);
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

function routeConfig(route: RouteDefinition, docs: OperationDocs): RouteConfig {
  const responses: Record<string, ResponseConfig> = {};
  for (const [status, response] of Object.entries(docs.responses)) {
    responses[status] = {
      description: response.description,
      headers: requestIdHeader,
      ...(response.content ? { content: content(response.content) } : {}),
    };
  }
  for (const status of problemStatuses(route, docs)) {
    responses[String(status)] = {
      description: problemDescriptions[status] ?? 'Error.',
      headers: requestIdHeader,
      content: { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema } },
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
      'A JWT from the identity provider (locally: POST /local/token). Claims: sub, scope (space separated), province (provincial clients), pid (beneficiaries).',
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
      description:
        'Non-cash social security payments: provincial batches, verification against the national population database, maker-checker approval, disbursement to banks and mobile-money providers. Errors are RFC 9457 problem details.',
    },
    tags: [...new Set(routes.map((route) => route.tag))].map((name) => ({ name })),
  });
}
