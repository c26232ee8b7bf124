import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, personalIdFor } from '../support/api-client.js';
import { startLocalServer, tokenFor, type RunningServer } from '../support/local-server.js';
import { PersonalIdScanner } from '../support/personal-data-scan.js';

/**
 * Signed webhooks over HTTP (api.md "Version 1.1 additions"): a real receiver on
 * loopback, one that answers 200, one that fails every time, one that hangs,
 * and one that answers 500 then 200. Retries run at test speed (first after
 * 1 s, at most 2 s apart, given up after 8 s; 1 s per attempt).
 */

interface Received {
  path: string;
  headers: Record<string, string>;
  raw: string;
  body: { eventId: string; type: string; occurredAt: string; batch: { batchId: string; status: string; counts: Record<string, number> } };
}

let server: RunningServer;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
const answeredOnce = new Set<string>();
const hanging = new Set<ServerResponse>();

type Delivery = { eventId: string; type: string; batchId: string; attempts: number; status: string; lastStatusCode: number | null; lastAttemptAt: string | null };

function verify(secret: string, event: Received): boolean {
  const expected = createHmac('sha256', secret).update(`${event.headers['x-timestamp']}.${event.raw}`).digest();
  const given = Buffer.from(event.headers['x-signature'] ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

let counter = 0;
function person(fullName: string) {
  counter += 1;
  const dateOfBirth = `196${counter % 10}-0${1 + (counter % 9)}-2${counter % 8}`;
  return { personalId: personalIdFor('079', dateOfBirth, 'M', 770_000 + counter), fullName, dateOfBirth, gender: 'M' as const };
}

beforeAll(async () => {
  receiver = createServer((request: IncomingMessage, response: ServerResponse) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      const path = request.url ?? '/';
      const event: Received = { path, headers: request.headers as Record<string, string>, raw, body: JSON.parse(raw) as Received['body'] };
      received.push(event);
      if (path === '/hang') {
        hanging.add(response); // never answered
        return;
      }
      if (path === '/fail') return void response.writeHead(500).end('no');
      if (path === '/redirect') return void response.writeHead(302, { location: `${receiverUrl}/ok` }).end();
      if (path === '/flaky' && !answeredOnce.has(event.body.eventId)) {
        answeredOnce.add(event.body.eventId);
        return void response.writeHead(500).end('try again');
      }
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  server = await startLocalServer({
    WEBHOOK_RETRY_BASE_SECONDS: '1',
    WEBHOOK_RETRY_MAX_SECONDS: '2',
    WEBHOOK_RETRY_WINDOW_SECONDS: '8',
    WEBHOOK_TIMEOUT_MS: '1000',
  });
});

afterAll(async () => {
  await server?.stop();
  for (const response of hanging) response.destroy();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
});

describe('signed webhooks', () => {
  it('refuses receivers the local server may not call, shows the secret once and rotates it', async () => {
    const province = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '12', sub: 'wh-12' }));
    for (const url of ['https://example.com/hook', 'http://10.0.0.5/hook', 'http://169.254.169.254/latest/meta-data', 'ftp://127.0.0.1/x', 'http://user:pw@127.0.0.1/x', 'not a url']) {
      const refused = await province.call<{ code: string; errors: { path: string }[] }>('PUT', '/v1/webhook', { json: { url } });
      expect(refused.status, url).toBe(422);
      expect(refused.body.code).toBe('VALIDATION_FAILED');
      expect(refused.body.errors[0]?.path).toBe('url');
    }
    expect((await province.call('PUT', '/v1/webhook', { json: { url: 'http://127.0.0.1:9/x', extra: 1 } })).status).toBe(422);
    expect((await province.get('/v1/webhook')).status).toBe(404);

    const first = await province.call<{ url: string; secret: string; createdAt: string }>('PUT', '/v1/webhook', { json: { url: `${receiverUrl}/ok` } });
    expect(first.status).toBe(200);
    expect(first.body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const shown = await province.get<Record<string, unknown>>('/v1/webhook');
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual({ url: `${receiverUrl}/ok`, createdAt: first.body.createdAt });
    const rotated = await province.call<{ secret: string }>('PUT', '/v1/webhook', { json: { url: `${receiverUrl}/ok` } });
    expect(rotated.body.secret).not.toBe(first.body.secret);

    const removed = await province.call('DELETE', '/v1/webhook');
    expect(removed.status).toBe(204);
    expect((await province.call('DELETE', '/v1/webhook')).status).toBe(404);
    expect((await province.get('/v1/webhook')).status).toBe(404);
  });

  it('announces every batch change, signed, once per eventId, without personal data; logs deliveries and redelivers on request', async () => {
    const maker = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '79', sub: 'wh-maker' }));
    const checker = apiClient(server.url, await tokenFor(server.url, { role: 'approver', provinceCode: '79', sub: 'wh-checker' }));
    const local = apiClient(server.url);
    const put = await maker.call<{ secret: string }>('PUT', '/v1/webhook', { json: { url: `${receiverUrl}/ok` } });
    // Rotated before any event: every event is signed with the second secret, none with the first.
    const firstSecret = put.body.secret;
    const secret = (await maker.call<{ secret: string }>('PUT', '/v1/webhook', { json: { url: `${receiverUrl}/ok` } })).body.secret;

    const people = [person('Trần Văn Webhook'), person('Lê Văn Móc')];
    expect((await local.post('/local/population', { citizens: people })).status).toBe(200);
    for (const [index, who] of people.entries()) {
      const beneficiary = apiClient(server.url, await tokenFor(server.url, { role: 'beneficiary', personalId: who.personalId }));
      const linked = await beneficiary.call('PUT', `/v1/accounts/${who.personalId}`, {
        json: { provider: { type: 'BANK', code: '970436' }, accountNumber: `12345678${index}0`, accountName: who.fullName },
      });
      expect(linked.status).toBe(200);
    }
    const created = await maker.post<{ batchId: string }>('/v1/batches', {
      batchRef: `webhook-${Date.now()}`,
      provinceCode: '79',
      programCode: 'SOCIAL_ALLOWANCE',
      period: '2026-10',
      control: { itemCount: 2, totalAmount: 1_000_000 },
      payments: people.map((who, index) => ({ paymentRef: `WH-${index}`, personalId: who.personalId, fullName: who.fullName, dateOfBirth: who.dateOfBirth, gender: who.gender, amount: 500_000 })),
    });
    expect(created.status).toBe(201);
    const { batchId } = created.body;
    const ofBatch = () => received.filter((event) => event.path === '/ok' && event.body.batch?.batchId === batchId);
    await until('awaiting_approval event', () => ofBatch().find((event) => event.body.type === 'batch.awaiting_approval'));
    expect((await checker.post(`/v1/batches/${batchId}/approve`)).status).toBe(200);
    await until('completed event', () => ofBatch().find((event) => event.body.type === 'batch.completed'));
    await new Promise((resolve) => setTimeout(resolve, 500));

    const events = ofBatch();
    const types = events.map((event) => event.body.type);
    expect(new Set(types)).toEqual(new Set(['batch.awaiting_approval', 'batch.approved', 'batch.progress', 'batch.completed']));
    expect(types.filter((type) => type === 'batch.progress')).toHaveLength(3); // 25, 50 and 75 %
    for (const event of events) {
      expect(event.headers['content-type']).toBe('application/json');
      expect(event.headers['x-event-id']).toBe(event.body.eventId);
      expect(verify(secret, event), `signature of ${event.body.eventId}`).toBe(true);
      expect(verify(firstSecret, event)).toBe(false);
      expect(Math.abs(Number(event.headers['x-timestamp']) - Date.now() / 1000)).toBeLessThan(120);
      expect(Object.keys(event.body).sort()).toEqual(['batch', 'eventId', 'occurredAt', 'type']);
    }
    expect(new Set(events.map((event) => event.body.eventId)).size).toBe(events.length);
    expect(events.find((event) => event.body.type === 'batch.completed')?.body.batch.status).toBe('COMPLETED');
    // No personal data in any event: no ID number, no name, no account number.
    const scanner = new PersonalIdScanner(people.map((who) => who.personalId), ['1234567800', '1234567810']);
    expect(scanner.scanAll(events.map((event) => ({ source: event.body.eventId, text: event.raw })))).toEqual([]);
    for (const who of people) expect(events.some((event) => event.raw.includes(who.fullName))).toBe(false);

    // The delivery log: every event DELIVERED on its first attempt.
    const log = await maker.get<{ items: Delivery[]; nextCursor: string | null }>('/v1/webhook/deliveries?limit=100');
    expect(log.status).toBe(200);
    const ours = log.body.items.filter((delivery) => delivery.batchId === batchId);
    expect(ours.map((delivery) => delivery.eventId).sort()).toEqual(events.map((event) => event.body.eventId).sort());
    for (const delivery of ours) expect(delivery).toMatchObject({ status: 'DELIVERED', attempts: 1, lastStatusCode: 204 });
    const page = await maker.get<{ items: Delivery[]; nextCursor: string | null }>('/v1/webhook/deliveries?limit=2');
    expect(page.body.items).toHaveLength(2);
    const next = await maker.get<{ items: Delivery[] }>(`/v1/webhook/deliveries?limit=2&cursor=${page.body.nextCursor}`);
    expect(next.body.items[0]?.eventId).not.toBe(page.body.items[0]?.eventId);

    // Redelivery on request: the same event (same eventId and body), signed anew.
    const approvedEvent = events.find((event) => event.body.type === 'batch.approved') as Received;
    const again = await maker.post<Delivery>(`/v1/webhook/deliveries/${approvedEvent.body.eventId}/redeliver`);
    expect(again.status).toBe(202);
    expect(again.body.status).toBe('RETRYING');
    const copies = await until('the redelivered copy', () => {
      const found = received.filter((event) => event.body.eventId === approvedEvent.body.eventId);
      return found.length >= 2 ? found : undefined;
    });
    expect(copies[1]?.raw).toBe(approvedEvent.raw);
    expect(verify(secret, copies[1] as Received)).toBe(true);
    const after = await until('the redelivery logged', async () => {
      const items = (await maker.get<{ items: Delivery[] }>('/v1/webhook/deliveries?limit=100')).body.items;
      const delivery = items.find((item) => item.eventId === approvedEvent.body.eventId);
      return delivery?.status === 'DELIVERED' && delivery.attempts === 2 ? delivery : undefined;
    });
    expect(after.lastStatusCode).toBe(204);

    // Another province neither sees nor redelivers them.
    const other = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '01', sub: 'wh-other' }));
    expect((await other.post(`/v1/webhook/deliveries/${approvedEvent.body.eventId}/redeliver`)).status).toBe(404);
    const theirs = await other.get<{ items: Delivery[] }>('/v1/webhook/deliveries');
    expect(theirs.body.items.some((delivery) => delivery.batchId === batchId)).toBe(false);
  });

  it('retries a receiver that answers 500 then 200, and gives up on one that fails or hangs (FAILED after the retry window), following no redirect', async () => {
    const outcomes: Record<string, Delivery> = {};
    for (const [provinceCode, path] of [
      ['31', '/flaky'],
      ['48', '/fail'],
      ['51', '/hang'],
      ['52', '/redirect'],
    ] as const) {
      const province = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode, sub: `wh-${provinceCode}` }));
      expect((await province.call('PUT', '/v1/webhook', { json: { url: `${receiverUrl}${path}` } })).status).toBe(200);
      const created = await province.post<{ batchId: string }>('/v1/batches', {
        batchRef: `webhook-cancel-${path.slice(1)}-${Date.now()}`,
        provinceCode,
        programCode: 'SOCIAL_ALLOWANCE',
        period: '2026-10',
        control: { itemCount: 1, totalAmount: 500_000 },
      });
      expect(created.status).toBe(201);
      expect((await province.post(`/v1/batches/${created.body.batchId}/cancel`)).status).toBe(200);
      const expectedStatus = path === '/flaky' ? 'DELIVERED' : 'FAILED';
      outcomes[path] = await until(`${path} to end ${expectedStatus}`, async () => {
        const items = (await province.get<{ items: Delivery[] }>('/v1/webhook/deliveries')).body.items;
        const delivery = items.find((item) => item.batchId === created.body.batchId && item.type === 'batch.cancelled');
        return delivery?.status === expectedStatus ? delivery : undefined;
      });
    }
    expect(outcomes['/flaky']).toMatchObject({ status: 'DELIVERED', attempts: 2, lastStatusCode: 204 });
    expect(outcomes['/fail']).toMatchObject({ status: 'FAILED', lastStatusCode: 500 });
    expect(outcomes['/fail']?.attempts).toBeGreaterThanOrEqual(3);
    expect(outcomes['/hang']).toMatchObject({ status: 'FAILED', lastStatusCode: null });
    expect(outcomes['/hang']?.attempts).toBeGreaterThanOrEqual(2);
    // A redirect is an answer that is not 2xx: never followed (the receiver never sees the event at /ok).
    expect(outcomes['/redirect']).toMatchObject({ status: 'FAILED', lastStatusCode: 302 });
    const redirected = received.filter((event) => event.body.eventId === outcomes['/redirect']?.eventId);
    expect(redirected.every((event) => event.path === '/redirect')).toBe(true);
  });
});
