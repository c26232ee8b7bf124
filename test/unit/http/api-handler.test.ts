import { describe, expect, it, vi } from 'vitest';
import { UnauthenticatedError, ValidationFailedError } from '../../../shared/domain/errors.js';
import { apiHandler, json, readJson } from '../../../shared/http/api-handler.js';
import { httpEvent, lambdaContext } from '../../support/events.js';

function bodyOf(result: { body?: string }) {
  return JSON.parse(result.body ?? 'null') as Record<string, unknown>;
}

describe('apiHandler', () => {
  it('answers with the handler result and the request id of the event', async () => {
    // Prepare
    const handler = apiHandler(async () => json(200, { fine: true }));

    // Act
    const result = await handler(httpEvent('get-health'), lambdaContext());

    // Assess
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual({ fine: true });
    expect(result.headers?.['x-request-id']).toBe('CqA3ZjFcSQ0EJ6w=');
  });

  it('passes the principal read from the JWT claims', async () => {
    const seen = vi.fn();
    const handler = apiHandler(async ({ principal }) => {
      seen(principal);
      return json(200, {});
    });

    const result = await handler(httpEvent('get-programs-province'), lambdaContext());

    expect(result.headers?.['x-request-id']).toBe('prov79-20261123-0001');
    expect(seen).toHaveBeenCalledWith(
      expect.objectContaining({ sub: 'province-79-system', provinceCode: '79', personalId: undefined }),
    );
    expect([...seen.mock.calls[0]![0].scopes]).toEqual(['batches:write', 'batches:read', 'accounts:write']);
  });

  it('refuses a jwt route whose event carries no claims with 401', async () => {
    const event = httpEvent('get-programs-province');
    delete (event.requestContext as { authorizer?: unknown }).authorizer;
    const handler = apiHandler(async () => json(200, {}));

    const result = await handler(event, lambdaContext());

    expect(result.statusCode).toBe(401);
    expect(result.headers?.['content-type']).toBe('application/problem+json');
    expect(bodyOf(result)).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
  });

  it('answers a route that is not in the route table with 404', async () => {
    const event = { ...httpEvent('get-health'), routeKey: 'GET /v1/unknown' };

    const result = await apiHandler(async () => json(200, {}))(event, lambdaContext());

    expect(result.statusCode).toBe(404);
    expect(bodyOf(result)).toMatchObject({ code: 'NOT_FOUND' });
  });

  it("answers an API Gateway ANY route (a path's other methods) with 405 and Allow, OPTIONS with 204, before the handler runs", async () => {
    // Prepare: what API Gateway sends to `ANY /v1/batches` for a PATCH and an OPTIONS
    const handlerRan = vi.fn();
    const handler = apiHandler(async () => {
      handlerRan();
      return json(200, {});
    });
    const asAny = (method: string) => {
      const event = httpEvent('get-health');
      return { ...event, routeKey: 'ANY /v1/batches', requestContext: { ...event.requestContext, http: { ...event.requestContext.http, method } } };
    };

    // Act
    const patched = await handler(asAny('PATCH'), lambdaContext());
    const options = await handler(asAny('OPTIONS'), lambdaContext());

    // Assess
    expect(patched.statusCode).toBe(405);
    expect(patched.headers).toMatchObject({ allow: 'POST, GET, OPTIONS', 'content-type': 'application/problem+json', 'cache-control': 'no-store' });
    expect(bodyOf(patched)).toMatchObject({ code: 'METHOD_NOT_ALLOWED', status: 405 });
    expect(options.statusCode).toBe(204);
    expect(options.headers).toMatchObject({ allow: 'POST, GET, OPTIONS', 'x-request-id': 'CqA3ZjFcSQ0EJ6w=', 'cache-control': 'no-store' });
    expect(handlerRan).not.toHaveBeenCalled();
  });

  it('sends WWW-Authenticate with a 401: Bearer on token routes, the signature scheme on signed routes', async () => {
    // Prepare
    const noClaims = httpEvent('get-programs-province');
    delete (noClaims.requestContext as { authorizer?: unknown }).authorizer;
    const callback = { ...httpEvent('get-health'), routeKey: 'POST /v1/provider-callbacks/{providerCode}' };
    const refuseSignature = apiHandler(async () => {
      throw new UnauthenticatedError('The signature does not match.');
    });

    // Act
    const bearer = await apiHandler(async () => json(200, {}))(noClaims, lambdaContext());
    const signature = await refuseSignature(callback, lambdaContext());

    // Assess
    expect(bearer.headers?.['www-authenticate']).toMatch(/^Bearer realm="social-payments"/);
    expect(signature.statusCode).toBe(401);
    expect(signature.headers?.['www-authenticate']).toMatch(/^Signature realm="payment-providers"/);
  });

  it('marks answers Cache-Control: no-store unless the handler chose a policy', async () => {
    const plain = await apiHandler(async () => json(200, {}))(httpEvent('get-health'), lambdaContext());
    const cacheable = await apiHandler(async () => json(200, {}, { 'cache-control': 'public, max-age=300' }))(httpEvent('get-health'), lambdaContext());

    expect(plain.headers?.['cache-control']).toBe('no-store');
    expect(cacheable.headers?.['cache-control']).toBe('public, max-age=300');
  });

  it('maps an application error to problem+json with its item errors', async () => {
    const handler = apiHandler(async () => {
      throw new ValidationFailedError('2 payments are invalid.', {
        errors: [{ index: 3, paymentRef: 'P-3', path: 'payments.3.amount', code: 'too_small', message: 'at least 1000' }],
        extensions: { errorCount: 2 },
      });
    });

    const result = await handler(httpEvent('get-health'), lambdaContext());

    expect(result.statusCode).toBe(422);
    expect(bodyOf(result)).toEqual({
      type: 'urn:social-payments:problem:validation-failed',
      title: 'Validation failed',
      status: 422,
      detail: '2 payments are invalid.',
      code: 'VALIDATION_FAILED',
      requestId: 'CqA3ZjFcSQ0EJ6w=',
      errorCount: 2,
      errors: [{ index: 3, paymentRef: 'P-3', path: 'payments.3.amount', code: 'too_small', message: 'at least 1000' }],
    });
  });

  it('hides an unexpected error behind a 500 that says nothing internal', async () => {
    const handler = apiHandler(async () => {
      throw new Error('connect ECONNREFUSED 10.0.0.1:443 while reading 079185012345');
    });

    const result = await handler(httpEvent('get-health'), lambdaContext());

    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('ECONNREFUSED');
    expect(result.body).not.toContain('079185012345');
    expect(bodyOf(result)).toMatchObject({ code: 'INTERNAL', requestId: 'CqA3ZjFcSQ0EJ6w=' });
  });
});

describe('readJson', () => {
  const withBody = (body: string | undefined, contentType?: string, base64 = false) => ({
    ...httpEvent('get-health'),
    headers: contentType ? { 'content-type': contentType } : {},
    body: base64 && body !== undefined ? Buffer.from(body, 'latin1').toString('base64') : body,
    isBase64Encoded: base64,
  });

  it('parses JSON sent as application/json, with or without charset, plain or base64', () => {
    expect(readJson(withBody('{"a":1}', 'application/json'))).toEqual({ a: 1 });
    expect(readJson(withBody('{"a":1}', 'Application/JSON; charset=utf-8'))).toEqual({ a: 1 });
    expect(readJson(withBody('{"a":1}', 'application/json', true))).toEqual({ a: 1 });
  });

  it('refuses other media types, empty bodies, bad JSON and invalid UTF-8 with the right codes', () => {
    expect(() => readJson(withBody('a=1', 'application/x-www-form-urlencoded'))).toThrow(expect.objectContaining({ status: 415 }));
    expect(() => readJson(withBody(undefined))).toThrow(expect.objectContaining({ status: 415 }));
    expect(() => readJson(withBody('', 'application/json'))).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => readJson(withBody('{"a":', 'application/json'))).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => readJson(withBody('{"a":"\xff\xfe"}', 'application/json', true))).toThrow(
      expect.objectContaining({ status: 400, message: 'The body is not valid UTF-8.' }),
    );
  });
});
