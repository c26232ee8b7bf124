import { OpenApiGeneratorV31, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Validator } from '@seriousme/openapi-schema-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import * as schemas from '../../../shared/domain/schemas.js';
import { buildOpenApiDocument, operationDocs } from '../../../shared/http/openapi.js';
import { PROBLEM_CONTENT_TYPE } from '../../../shared/http/problem.js';
import { routes } from '../../../shared/http/routes.js';

interface Operation {
  operationId: string;
  summary: string;
  tags: string[];
  security: Record<string, string[]>[];
  requestBody?: unknown;
  responses: Record<string, { content?: Record<string, { schema: unknown }>; headers?: Record<string, unknown> }>;
}

interface Document {
  openapi: string;
  info: { version: string; title: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, Record<string, unknown>> };
}

let document: Document;

beforeAll(() => {
  document = buildOpenApiDocument({ version: '1.2.3' }) as unknown as Document;
});

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document (checked against the official schema, offline)', async () => {
    // Prepare
    const validator = new Validator();

    // Act
    const result = await validator.validate(structuredClone(document) as unknown as Record<string, unknown>);

    // Assess
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(document.openapi).toBe('3.1.0');
    expect(document.info.version).toBe('1.2.3');
  });

  it('would be caught if it were not valid (the validator is not a rubber stamp)', async () => {
    // Prepare: a security requirement naming a scheme type that does not exist, and a response without description
    const broken = structuredClone(document) as unknown as Record<string, unknown> & Document;
    broken.components.securitySchemes.bearerAuth = { type: 'password' };
    const health = broken.paths['/v1/health']?.get;
    if (health) health.responses['200'] = {};

    // Act
    const result = await new Validator().validate(broken as unknown as Record<string, unknown>);

    // Assess
    expect(result.valid).toBe(false);
  });

  it('is plain JSON (what the handler serves is what was generated)', () => {
    expect(JSON.parse(JSON.stringify(document))).toEqual(document);
  });

  it('lists every route of the route table with its method, operationId, summary and tag, and nothing else', () => {
    // Prepare
    const documented = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
    );

    // Assess
    expect(documented).toHaveLength(routes.length);
    for (const route of routes) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operation?.operationId).toBe(route.operationId);
      expect(operation?.summary).toBe(route.summary);
      expect(operation?.tags).toEqual([route.tag]);
    }
  });

  it('documents every operationId, and only those', () => {
    expect(Object.keys(operationDocs).sort()).toEqual(routes.map((route) => route.operationId).sort());
  });

  it('asks for a bearer JWT on jwt routes and for nothing on public ones', () => {
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    for (const route of routes) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()];
      if (route.auth === 'jwt') expect(operation?.security).toEqual([{ bearerAuth: [] }]);
      if (route.auth === 'none') expect(operation?.security).toEqual([]);
    }
  });

  it('answers errors as problem+json narrowing the Problem component to the status and its codes, with 401 and 403 on jwt routes and 500 everywhere', () => {
    for (const route of routes) {
      const responses = document.paths[route.path]?.[route.method.toLowerCase()]?.responses ?? {};
      const expectedErrors = route.auth === 'jwt' ? ['400', '401', '403', '413', '429', '500'] : ['400', '413', '429', '500'];
      for (const status of expectedErrors) {
        const schema = responses[status]?.content?.[PROBLEM_CONTENT_TYPE]?.schema as { allOf?: [unknown, { properties: Record<string, { enum: unknown[] }> }] } | undefined;
        expect(schema?.allOf?.[0], `${route.operationId} ${status}`).toEqual({ $ref: '#/components/schemas/Problem' });
        expect(schema?.allOf?.[1].properties.status?.enum, `${route.operationId} ${status}`).toEqual([Number(status)]);
      }
      expect(responses['500']?.content?.[PROBLEM_CONTENT_TYPE]?.schema).toMatchObject({ allOf: [{}, { properties: { code: { enum: ['INTERNAL'] } } }] });
      for (const response of Object.values(responses)) {
        expect(response.headers).toHaveProperty('x-request-id');
        expect(response.headers).toHaveProperty('cache-control');
      }
    }
    expect(document.components.schemas.Problem).toMatchObject({ type: 'object', required: expect.arrayContaining(['type', 'title', 'status', 'detail', 'code', 'requestId']) });
  });

  it('lists the problem codes of each operation where api.md names them (the issue-12 findings)', () => {
    // Prepare
    const codes = (path: string, method: string, status: string) =>
      (document.paths[path]?.[method]?.responses[status]?.content?.[PROBLEM_CONTENT_TYPE]?.schema as { allOf: [unknown, { properties: { code: { enum: string[] } } }] } | undefined)
        ?.allOf[1].properties.code.enum;

    // Assess
    expect(codes('/v1/me/account', 'get', '404')).toEqual(['NOT_FOUND']);
    expect(codes('/v1/batches/{batchId}/payments', 'post', '429')).toEqual(['RATE_LIMITED']);
    expect(codes('/v1/batches', 'post', '422')).toEqual(['VALIDATION_FAILED', 'CONTROL_TOTALS_MISMATCH']);
    expect(codes('/v1/batches', 'post', '409')).toEqual(['BATCH_REF_CONFLICT', 'CONFLICT']);
    expect(codes('/v1/accounts/{personalId}', 'delete', '422')).toEqual(['VALIDATION_FAILED']);
    expect(codes('/v1/health', 'get', '404')).toBeUndefined();
  });

  it('documents the headers clients rely on: Location on 201, WWW-Authenticate on 401, Retry-After on 429', () => {
    const responses = (path: string, method: string) => document.paths[path]?.[method]?.responses ?? {};

    expect(responses('/v1/batches', 'post')['201']?.headers).toMatchObject({ location: { required: true } });
    expect(responses('/v1/programs', 'get')['401']?.headers).toMatchObject({ 'www-authenticate': { required: true } });
    expect(responses('/v1/batches/{batchId}/seal', 'post')['429']?.headers).toHaveProperty('retry-after');
  });

  it('is as strict as the handlers on the values issue 12 found loose: limit, accountNumber, provider.code', () => {
    // Prepare
    const limit = (document.paths['/v1/batches']?.get as unknown as { parameters: { name: string; schema: { pattern: string } }[] }).parameters.find((parameter) => parameter.name === 'limit');
    const pattern = new RegExp(limit?.schema.pattern ?? '', 'u');
    const request = document.components.schemas.AccountLinkRequest as { properties: Record<string, { pattern?: string }>; anyOf: unknown[] };
    const providerRef = document.components.schemas.ProviderRef as { properties: { code: { enum: string[] } } };

    // Assess
    expect(['1', '01', '100', '0100', '1000'].every((value) => pattern.test(value))).toBe(true);
    expect(['0', '00', '1001', '9999', '10000', '-1', '1e2', ''].some((value) => pattern.test(value))).toBe(false);
    expect(request.properties.accountNumber?.pattern).toBe('^[0-9]{6,19}$');
    expect(request.anyOf).toHaveLength(2);
    expect(providerRef.properties.code.enum).toEqual(expect.arrayContaining(['970436', 'VIETTELMONEY']));
  });

  it('names its servers, licence, and describes every tag and parameter', () => {
    const full = document as unknown as { servers: unknown[]; info: { license: { name: string } }; tags: { name: string; description?: string }[] };
    expect(full.servers.length).toBeGreaterThan(0);
    expect(full.info.license.name).toBeTruthy();
    for (const tag of full.tags) expect(tag.description, tag.name).toBeTruthy();
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        for (const parameter of (operation as unknown as { parameters?: { name: string; description?: string }[] }).parameters ?? []) {
          expect(parameter.description, `${method} ${path} ${parameter.name}`).toBeTruthy();
        }
      }
    }
  });

  it('describes the successful answers with the schemas the handlers use', () => {
    expect(document.paths['/v1/health']?.get?.responses['200']?.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/Health' });
    expect(document.paths['/v1/programs']?.get?.responses['200']?.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/ProgramList' });
    expect(document.components.schemas.Program).toMatchObject({ required: ['code', 'nameVi', 'nameEn', 'maxAmount', 'holdDays'] });
  });
});

describe('schemas waiting for their routes', () => {
  /**
   * Every request and resource schema, rendered through the same generator
   * into a valid 3.1 document: a route added later can use any of them.
   */
  it('all render into a valid OpenAPI 3.1 document with named components', async () => {
    // Prepare
    const registry = new OpenAPIRegistry();
    const bodies = [
      schemas.createBatchRequestSchema,
      schemas.appendPaymentsRequestSchema,
      schemas.accountLinkRequestSchema,
      schemas.providerCallbackSchema,
      schemas.localTokenRequestSchema,
      schemas.localPopulationRequestSchema,
    ];
    const answers = [schemas.batchSchema, schemas.batchListSchema, schemas.paymentSchema, schemas.paymentListSchema, schemas.accountLinkSchema, schemas.localTokenResponseSchema];
    bodies.forEach((schema, index) =>
      registry.registerPath({ method: 'post', path: `/body/${index}`, request: { body: { content: { 'application/json': { schema } } } }, responses: { 204: { description: 'ok' } } }),
    );
    answers.forEach((schema, index) =>
      registry.registerPath({ method: 'get', path: `/answer/${index}`, responses: { 200: { description: 'ok', content: { 'application/json': { schema } } } } }),
    );
    registry.registerPath({ method: 'get', path: '/query', request: { query: schemas.listBatchPaymentsQuerySchema }, responses: { 204: { description: 'ok' } } });

    // Act
    const generated = new OpenApiGeneratorV31(registry.definitions).generateDocument({ openapi: '3.1.0', info: { title: 'schemas', version: '0' } });
    const result = await new Validator().validate(structuredClone(generated) as unknown as Record<string, unknown>);

    // Assess
    expect(result.errors).toBeUndefined();
    expect(Object.keys(generated.components?.schemas ?? {})).toEqual(
      expect.arrayContaining(['PaymentItem', 'CreateBatchRequest', 'AppendPaymentsRequest', 'AccountLinkRequest', 'ProviderCallback', 'Batch', 'Payment', 'AccountLink', 'BatchList', 'PaymentList']),
    );
    const paymentItem = generated.components?.schemas?.PaymentItem as { additionalProperties: boolean; properties: Record<string, Record<string, unknown>> };
    expect(paymentItem.additionalProperties).toBe(false);
    expect(paymentItem.properties.amount).toMatchObject({ type: 'integer', minimum: 1000, maximum: Number.MAX_SAFE_INTEGER });
    expect(paymentItem.properties.personalId).toMatchObject({ type: 'string', pattern: '^[0-9]{12}$' });
    expect(paymentItem.properties.dateOfBirth).toMatchObject({ type: 'string', format: 'date' });
  });
});
