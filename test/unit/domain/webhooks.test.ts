import { describe, expect, it } from 'vitest';
import {
  EVENT_ID_PATTERN,
  crossedThresholds,
  isPublicAddress,
  nextAttemptDelaySeconds,
  receiverUrlProblem,
  retryWindowOver,
  webhookEventId,
} from '../../../shared/domain/webhooks.js';

describe('receiver policy (SSRF)', () => {
  it.each([
    ['127.0.0.1'],
    ['127.8.9.10'],
    ['10.1.2.3'],
    ['172.16.0.1'],
    ['172.31.255.255'],
    ['192.168.1.1'],
    ['169.254.169.254'],
    ['100.64.0.1'],
    ['0.0.0.0'],
    ['224.0.0.1'],
    ['255.255.255.255'],
    ['::1'],
    ['::'],
    ['fe80::1'],
    ['fd00::1'],
    ['fc00::abcd'],
    ['::ffff:127.0.0.1'],
    ['::ffff:169.254.169.254'],
    ['::ffff:7f00:1'],
    ['ff02::1'],
    ['not-an-ip'],
  ])('%s is not public', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([['8.8.8.8'], ['203.113.0.1'], ['172.32.0.1'], ['2001:4860:4860::8888'], ['::ffff:8.8.8.8']])('%s is public', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it('deployed: https to a public host on 443 only', () => {
    expect(receiverUrlProblem('https://hooks.province.gov.vn/payments', 'public-https')).toBeUndefined();
    expect(receiverUrlProblem('http://hooks.province.gov.vn/payments', 'public-https')).toBe('url must be https');
    expect(receiverUrlProblem('https://10.0.0.1/x', 'public-https')).toMatch(/private, loopback or link-local/);
    expect(receiverUrlProblem('https://[::1]/x', 'public-https')).toMatch(/private, loopback or link-local/);
    expect(receiverUrlProblem('https://169.254.169.254/latest', 'public-https')).toMatch(/private, loopback or link-local/);
    expect(receiverUrlProblem('https://localhost/x', 'public-https')).toBe('url must name a public host');
    expect(receiverUrlProblem('https://metadata.google.internal/x', 'public-https')).toBe('url must name a public host');
    expect(receiverUrlProblem('https://intranet/x', 'public-https')).toBe('url must name a public host');
    expect(receiverUrlProblem('https://hooks.example.com:8443/x', 'public-https')).toMatch(/port 443/);
    expect(receiverUrlProblem('https://u:p@hooks.example.com/x', 'public-https')).toMatch(/credentials/);
  });

  it('locally: loopback only, http allowed', () => {
    expect(receiverUrlProblem('http://127.0.0.1:8080/hook', 'loopback')).toBeUndefined();
    expect(receiverUrlProblem('http://localhost:8080/hook', 'loopback')).toBeUndefined();
    expect(receiverUrlProblem('https://example.com/hook', 'loopback')).toMatch(/loopback receivers only/);
    expect(receiverUrlProblem('http://192.168.1.10/hook', 'loopback')).toMatch(/loopback receivers only/);
  });
});

describe('events', () => {
  it('names an event from what happened, in the documented shape', () => {
    const batchId = '01KBZ0000000000000000000AB';
    expect(webhookEventId(batchId, 'batch.awaiting_approval')).toBe(`${batchId}-awaiting-approval`);
    expect(webhookEventId(batchId, 'batch.progress', '25')).toBe(`${batchId}-progress-25`);
    for (const id of [webhookEventId(batchId, 'batch.awaiting_approval'), webhookEventId(batchId, 'batch.completed', String(Date.now())), webhookEventId(batchId, 'batch.cancelled')]) {
      expect(id).toMatch(EVENT_ID_PATTERN);
    }
  });

  it('announces each progress threshold once, when the paid share crosses it', () => {
    expect(crossedThresholds(1000, 0, 240)).toEqual([]);
    expect(crossedThresholds(1000, 0, 250)).toEqual([25]);
    expect(crossedThresholds(1000, 250, 500)).toEqual([50]);
    expect(crossedThresholds(1000, 0, 1000)).toEqual([25, 50, 75]);
    expect(crossedThresholds(1000, 800, 1000)).toEqual([]);
    expect(crossedThresholds(0, 0, 0)).toEqual([]);
  });

  it('backs off exponentially, capped, for the window', () => {
    const settings = { baseSeconds: 30, maxSeconds: 3600 };
    expect([1, 2, 3, 4, 8, 20].map((attempts) => nextAttemptDelaySeconds(attempts, settings))).toEqual([30, 60, 120, 240, 3600, 3600]);
    expect(retryWindowOver('2026-12-01T00:00:00.000Z', new Date('2026-12-01T23:59:59.000Z'), 86_400)).toBe(false);
    expect(retryWindowOver('2026-12-01T00:00:00.000Z', new Date('2026-12-02T00:00:00.000Z'), 86_400)).toBe(true);
  });
});
