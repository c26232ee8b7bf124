/**
 * Every HTTP route of the public API, described once as data. The CDK stack
 * creates one API Gateway route per entry and wires it to the named function;
 * the local server dispatches the same entries to the same handlers; the
 * OpenAPI document is generated from it. A route missing here exists nowhere.
 */

export type Scope =
  | 'batches:write'
  | 'batches:read'
  | 'batches:approve'
  | 'accounts:write'
  | 'beneficiary'
  | 'provider'
  | 'ops';

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
   * `signature`: provider callbacks, authenticated by HMAC in the handler.
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
] as const satisfies readonly RouteDefinition[];

export type OperationId = (typeof routes)[number]['operationId'];

/** The functions behind the routes, each listed once. */
export const httpFunctionNames = [...new Set(routes.map((route) => route.functionName))];
