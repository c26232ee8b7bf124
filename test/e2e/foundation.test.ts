import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../shared/http/openapi.js';
import { contractStats } from '../support/contract.js';
import { startLocalServer, tokenFor, type RunningServer } from '../support/local-server.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startLocalServer();
});

afterAll(async () => {
  await server?.stop();
});

async function expectProblem(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const problem = (await response.json()) as Record<string, unknown>;
  expect(problem).toMatchObject({ status, code });
  expect(typeof problem.title).toBe('string');
  expect(typeof problem.detail).toBe('string');
  expect(problem.type).toMatch(/^urn:social-payments:problem:/);
  expect(problem.requestId).toBe(response.headers.get('x-request-id'));
  return problem;
}

describe('local server, over HTTP as a client would call it', () => {
  it('answers health with the version and a request id', async () => {
    const response = await fetch(`${server.url}/v1/health`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(response.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]+$/);
  });

  it('echoes a request id the client sends, and replaces one that is unsafe', async () => {
    const echoed = await fetch(`${server.url}/v1/health`, { headers: { 'x-request-id': 'prov-79-run-42' } });
    const replaced = await fetch(`${server.url}/v1/health`, { headers: { 'x-request-id': 'bad id\twith spaces' } });

    expect(echoed.headers.get('x-request-id')).toBe('prov-79-run-42');
    expect(replaced.headers.get('x-request-id')).not.toContain(' ');
  });

  it('serves an OpenAPI 3.1 document that lists the health route', async () => {
    const response = await fetch(`${server.url}/v1/openapi.json`);
    const document = (await response.json()) as { openapi: string; paths: Record<string, unknown> };

    expect(response.status).toBe(200);
    expect(document.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/health', '/v1/programs']));
  });

  it('issues a token that the server accepts', async () => {
    const token = await tokenFor(server.url, { role: 'province', provinceCode: '79' });

    const response = await fetch(`${server.url}/v1/programs`, { headers: { authorization: `Bearer ${token}` } });

    expect(response.status).toBe(200);
    const body = (await response.json()) as { items: { code: string; maxAmount: number }[] };
    expect(body.items.length).toBeGreaterThan(0);
    expect(Number.isInteger(body.items[0]!.maxAmount)).toBe(true);
  });

  it('refuses a request without a token with 401 problem+json', async () => {
    await expectProblem(await fetch(`${server.url}/v1/programs`), 401, 'UNAUTHENTICATED');
  });

  it('refuses a tampered token and an unsigned one', async () => {
    const token = await tokenFor(server.url, { role: 'ops' });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const forgedPayload = Buffer.from(JSON.stringify({ sub: 'x', scope: 'ops batches:write', aud: 'social-payments', iss: 'urn:social-payments:local', exp: 9999999999 })).toString('base64url');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;

    for (const bad of [`${header}.${forgedPayload}.${signature}`, unsigned, 'not-a-jwt']) {
      await expectProblem(await fetch(`${server.url}/v1/providers`, { headers: { authorization: `Bearer ${bad}` } }), 401, 'UNAUTHENTICATED');
    }
  });

  it('answers an unknown path with 404 problem+json', async () => {
    await expectProblem(await fetch(`${server.url}/v1/nothing-here`), 404, 'NOT_FOUND');
  });

  it('answers a known path called with a method it does not serve with 405 METHOD_NOT_ALLOWED and Allow', async () => {
    // Act (Node's fetch refuses TRACE: PATCH and DELETE stand in for any unserved method)
    const deleted = await fetch(`${server.url}/v1/health`, { method: 'DELETE' });
    const patched = await fetch(`${server.url}/v1/batches`, { method: 'PATCH', headers: { authorization: 'Bearer whatever' } });

    // Assess: 405 before any authentication, with the path's methods
    await expectProblem(deleted, 405, 'METHOD_NOT_ALLOWED');
    expect(deleted.headers.get('allow')).toBe('GET, OPTIONS');
    await expectProblem(patched, 405, 'METHOD_NOT_ALLOWED');
    expect(patched.headers.get('allow')).toBe('POST, GET, OPTIONS');
  });

  it('answers a CORS preflight from a loopback origin, and gives another origin no CORS header', async () => {
    // Prepare
    const preflight = (origin: string) =>
      fetch(`${server.url}/v1/batches`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });

    // Act
    const local = await preflight('http://localhost:5173');
    const loopback = await preflight('http://127.0.0.1:8080');
    const foreign = await preflight('https://evil.example');
    const actual = await fetch(`${server.url}/v1/health`, { headers: { origin: 'http://localhost:5173' } });

    // Assess
    expect(local.status).toBe(204);
    expect(local.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(local.headers.get('access-control-allow-methods')).toContain('POST');
    expect(local.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(local.headers.get('allow')).toBe('POST, GET, OPTIONS');
    expect(loopback.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8080');
    expect(foreign.status).toBe(204);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    expect(actual.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(actual.headers.get('access-control-expose-headers')).toContain('x-request-id');
  });

  it('sends WWW-Authenticate: Bearer with every 401, naming invalid_token when a token was refused', async () => {
    const none = await fetch(`${server.url}/v1/programs`);
    const bad = await fetch(`${server.url}/v1/programs`, { headers: { authorization: 'Bearer not-a-jwt' } });

    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="social-payments"');
    expect(bad.headers.get('www-authenticate')).toBe('Bearer realm="social-payments", error="invalid_token"');
  });

  it('marks every answer Cache-Control: no-store, except the OpenAPI document', async () => {
    const token = await tokenFor(server.url, { role: 'province', provinceCode: '79' });

    const answers = await Promise.all([
      fetch(`${server.url}/v1/programs`, { headers: { authorization: `Bearer ${token}` } }),
      fetch(`${server.url}/v1/programs`),
      fetch(`${server.url}/v1/nothing-here`),
      fetch(`${server.url}/local/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"role":"ops"}' }),
    ]);
    const document = await fetch(`${server.url}/v1/openapi.json`);

    expect(answers.map((answer) => answer.headers.get('cache-control'))).toEqual(['no-store', 'no-store', 'no-store', 'no-store']);
    expect(document.headers.get('cache-control')).toBe('public, max-age=300');
  });

  it('serves the very document the suites check answers against', async () => {
    const served = (await (await fetch(`${server.url}/v1/openapi.json`)).json()) as { info: { version: string } };

    expect(served).toEqual({ ...buildOpenApiDocument({ version: served.info.version }) });
    expect(contractStats().validated).toBeGreaterThan(0);
  });

  it('answers bad JSON with 400, a wrong content type with 415, and a bad token request with 422', async () => {
    const post = (body: string, contentType = 'application/json') =>
      fetch(`${server.url}/local/token`, { method: 'POST', headers: { 'content-type': contentType }, body });

    await expectProblem(await post('{"role": "province",'), 400, 'VALIDATION_FAILED');
    await expectProblem(await post('role=province', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const problem = await expectProblem(await post(JSON.stringify({ role: 'mayor' })), 422, 'VALIDATION_FAILED');
    expect(problem.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: expect.stringContaining('role') })]));
  });

  it('answers a path with broken percent-encoding with 400, not 500', async () => {
    const token = await tokenFor(server.url, { role: 'province', provinceCode: '79' });

    const response = await fetch(`${server.url}/v1/batches/%E0%A4%A/payments`, { headers: { authorization: `Bearer ${token}` } });

    await expectProblem(response, 400, 'VALIDATION_FAILED');
  });

  it('answers an oversized body with 413', async () => {
    const huge = JSON.stringify({ role: 'ops', padding: 'x'.repeat(7 * 1024 * 1024) });

    const response = await fetch(`${server.url}/local/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: huge });

    await expectProblem(response, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('tells a newcomer where it listens, how to get a token and where the docs are', () => {
    const banner = server.output();

    expect(banner).toContain(`${server.url}/v1/health`);
    expect(banner).toContain('/local/token');
    expect(banner).toContain('README.md');
  });

  it('stops cleanly on Ctrl-C', async () => {
    const second = await startLocalServer();

    const code = await second.stop('SIGINT');

    expect(code).toBe(0);
    expect(second.output()).toContain('Stopped.');
  });
});
