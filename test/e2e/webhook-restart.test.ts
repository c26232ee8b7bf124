import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client.js';
import { startLocalServer, tokenFor, type RunningServer } from '../support/local-server.js';

/**
 * A death around webhook delivery (docs/decisions.md 129): the first attempt
 * fails, the next is an hour away, and `npm start` is killed (-9) meanwhile:
 * the local queues die with it. Restarted on the same data folder, the
 * reconciler's first run queues every pending delivery again, and the event is
 * delivered (at least once: the receiver saw it twice, the same eventId).
 */

const dataDir = mkdtempSync(join(tmpdir(), 'webhook-restart-e2e-'));
const serverEnv = { LOCAL_DATA: 'disk', LOCAL_DATA_DIR: dataDir, LOCAL_QUIET: '1', LOCAL_REPAIR_INTERVAL_MS: '1000' };
let running: RunningServer | undefined;
let receiver: Server;
let receiverUrl: string;
const seen: { eventId: string; type: string }[] = [];

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      const event = JSON.parse(raw) as { eventId: string; type: string };
      const first = !seen.some((earlier) => earlier.eventId === event.eventId);
      seen.push(event);
      response.writeHead(first ? 500 : 200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await running?.stop('SIGKILL');
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
  rmSync(dataDir, { recursive: true, force: true });
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

type Delivery = { eventId: string; type: string; batchId: string; attempts: number; status: string; lastStatusCode: number | null };

describe('a kill -9 between webhook attempts', () => {
  it('delivers the event after the restart: the pending delivery is queued again from the store', async () => {
    running = await startLocalServer({ ...serverEnv, WEBHOOK_RETRY_BASE_SECONDS: '3600', WEBHOOK_RETRY_MAX_SECONDS: '3600' });
    let province = apiClient(running.url, await tokenFor(running.url, { role: 'province', provinceCode: '79', sub: 'restart-hook' }));
    expect((await province.call('PUT', '/v1/webhook', { json: { url: `${receiverUrl}/hook` } })).status).toBe(200);
    const created = await province.post<{ batchId: string }>('/v1/batches', {
      batchRef: `hook-restart-${Date.now()}`,
      provinceCode: '79',
      programCode: 'SOCIAL_ALLOWANCE',
      period: '2026-07',
      control: { itemCount: 1, totalAmount: 500_000 },
    });
    expect(created.status).toBe(201);
    expect((await province.post(`/v1/batches/${created.body.batchId}/cancel`)).status).toBe(200);
    const failedOnce = await until('the first attempt', async () => {
      const items = (await province.get<{ items: Delivery[] }>('/v1/webhook/deliveries')).body.items;
      const delivery = items.find((item) => item.batchId === created.body.batchId);
      return delivery?.attempts === 1 ? delivery : undefined;
    });
    expect(failedOnce).toMatchObject({ type: 'batch.cancelled', status: 'RETRYING', lastStatusCode: 500 });

    await running.stop('SIGKILL'); // the next attempt (an hour away) dies with the local queue
    running = await startLocalServer({ ...serverEnv, WEBHOOK_RETRY_BASE_SECONDS: '1', WEBHOOK_RETRY_MAX_SECONDS: '2' });
    province = apiClient(running.url, await tokenFor(running.url, { role: 'province', provinceCode: '79', sub: 'restart-hook' }));
    const delivered = await until('delivery after the restart', async () => {
      const items = (await province.get<{ items: Delivery[] }>('/v1/webhook/deliveries')).body.items;
      const delivery = items.find((item) => item.eventId === failedOnce.eventId);
      return delivery?.status === 'DELIVERED' ? delivery : undefined;
    });
    expect(delivered).toMatchObject({ attempts: 2, lastStatusCode: 200 });
    expect(seen.filter((event) => event.eventId === failedOnce.eventId)).toHaveLength(2);
  });
});
