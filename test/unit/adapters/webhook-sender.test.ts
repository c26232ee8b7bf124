import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpWebhookSender } from '../../../shared/adapters/webhook/http-sender.js';

/** The delivery adapter's network policy, with a resolver standing in for DNS. */
let receiver: Server;
let port: number;
let hits = 0;

beforeAll(async () => {
  receiver = createServer((request, response) => {
    hits++;
    if (request.url === '/slow') return; // never answers
    if (request.url === '/redirect') return void response.writeHead(301, { location: '/ok' }).end();
    response.writeHead(200).end('ok');
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  port = (receiver.address() as AddressInfo).port;
});

afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

describe('HttpWebhookSender', () => {
  it('deployed policy: refuses a public-looking name that resolves to a private, loopback or link-local address, before connecting', async () => {
    for (const address of ['127.0.0.1', '10.0.0.7', '169.254.169.254', '::1', 'fd12::1']) {
      const sender = new HttpWebhookSender({ policy: 'public-https', resolve: async () => [{ address, family: address.includes(':') ? 6 : 4 }] });
      const before = hits;
      const answer = await sender.post('https://hooks.province.example/in', {}, '{}');
      expect(answer, address).toEqual({ kind: 'unreachable', reason: 'refused: the receiver resolves to a private, loopback or link-local address' });
      expect(hits).toBe(before);
    }
  });

  it('deployed policy: refuses when any of the addresses is private (no picking the good one of a mixed answer)', async () => {
    const sender = new HttpWebhookSender({ policy: 'public-https', resolve: async () => [{ address: '8.8.8.8', family: 4 }, { address: '10.0.0.1', family: 4 }] });
    expect((await sender.post('https://hooks.province.example/in', {}, '{}')).kind).toBe('unreachable');
  });

  it('deployed policy: refuses plain http and private literals outright', async () => {
    const sender = new HttpWebhookSender({ policy: 'public-https', resolve: async () => [{ address: '8.8.8.8', family: 4 }] });
    expect(await sender.post(`http://127.0.0.1:${port}/ok`, {}, '{}')).toEqual({ kind: 'unreachable', reason: 'refused: url must be https' });
    expect((await sender.post('https://169.254.169.254/latest', {}, '{}')).kind).toBe('unreachable');
  });

  it('loopback policy: calls a loopback receiver, answers its status, follows no redirect, and gives up on one that hangs', async () => {
    const sender = new HttpWebhookSender({ policy: 'loopback', timeoutMs: 300 });
    expect(await sender.post(`http://127.0.0.1:${port}/ok`, { 'content-type': 'application/json' }, '{}')).toEqual({ kind: 'answered', statusCode: 200 });
    const before = hits;
    expect(await sender.post(`http://127.0.0.1:${port}/redirect`, {}, '{}')).toEqual({ kind: 'answered', statusCode: 301 });
    expect(hits).toBe(before + 1);
    const started = Date.now();
    expect(await sender.post(`http://127.0.0.1:${port}/slow`, {}, '{}')).toEqual({ kind: 'unreachable', reason: 'no answer within 300 ms' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('loopback policy: a name resolving elsewhere is refused', async () => {
    const sender = new HttpWebhookSender({ policy: 'loopback', resolve: async () => [{ address: '93.184.216.34', family: 4 }] });
    expect(await sender.post(`http://localhost:${port}/ok`, {}, '{}')).toEqual({ kind: 'unreachable', reason: 'refused: the receiver does not resolve to a loopback address' });
  });
});
