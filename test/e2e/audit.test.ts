import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbackSignature } from '../../shared/app/callbacks.js';
import { apiClient, personalIdFor } from '../support/api-client.js';
import { startLocalServer, tokenFor, type RunningServer } from '../support/local-server.js';

/**
 * The audit trail over HTTP (issue 7, item 4): a province reads, for its own
 * batch, who changed what and when, in which request, from creation to
 * settlement by a provider's callback. Another province sees nothing.
 */

type AuditRecord = {
  at: string;
  actor: string;
  action: string;
  requestId: string;
  changes: { subject: 'batch' | 'payment'; batchId?: string; paymentId?: string; from: string | null; to: string; reasonCode?: string | null; details?: Record<string, unknown> }[];
};
type Page = { items: AuditRecord[]; nextCursor: string | null };

let server: RunningServer;

beforeAll(async () => {
  server = await startLocalServer();
});
afterAll(async () => {
  await server?.stop();
});

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

describe('audit trail', () => {
  it("records every state change of a batch and its payments with who, what, when and which request; only the owning province reads it", async () => {
    // Prepare: two people in the register, one with an account that settles by callback (5555), one paid at once.
    const local = apiClient(server.url);
    const people = [
      { personalId: personalIdFor('079', '1950-04-12', 'F', 910001), fullName: 'Lê Thị Hoa', dateOfBirth: '1950-04-12', gender: 'F' as const },
      { personalId: personalIdFor('079', '1948-09-30', 'M', 910002), fullName: 'Phạm Văn Nam', dateOfBirth: '1948-09-30', gender: 'M' as const },
    ];
    expect((await local.post('/local/population', { citizens: people })).status).toBe(200);
    for (const [index, who] of people.entries()) {
      const own = apiClient(server.url, await tokenFor(server.url, { role: 'beneficiary', personalId: who.personalId }));
      const linked = await own.call('PUT', `/v1/accounts/${who.personalId}`, {
        json: { provider: { type: 'BANK', code: '970436' }, accountNumber: index === 0 ? '0987655555' : '0987651234', accountName: who.fullName },
      });
      expect(linked.status).toBe(200);
    }
    const maker = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '79', sub: 'hcm-audit-maker' }));
    const checker = apiClient(server.url, await tokenFor(server.url, { role: 'approver', provinceCode: '79', sub: 'hcm-audit-checker' }));
    const otherProvince = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '01', sub: 'hanoi-system' }));

    // Act: the whole life of a batch, each request with its own x-request-id
    const created = await maker.call<{ batchId: string }>('POST', '/v1/batches', {
      headers: { 'x-request-id': 'audit-create-1' },
      json: {
        batchRef: `audit-${Date.now()}`,
        provinceCode: '79',
        programCode: 'SOCIAL_ALLOWANCE',
        period: '2026-11',
        control: { itemCount: 2, totalAmount: 1_000_000 },
        payments: people.map((who, index) => ({ paymentRef: `A${index}`, personalId: who.personalId, fullName: who.fullName, dateOfBirth: who.dateOfBirth, gender: who.gender, amount: 500_000 })),
      },
    });
    expect(created.status).toBe(201);
    const batchId = created.body.batchId;
    await until(async () => ((await maker.get<{ status: string }>(`/v1/batches/${batchId}`)).body.status === 'AWAITING_APPROVAL' ? true : undefined), 'verification');
    expect((await checker.call('POST', `/v1/batches/${batchId}/approve`, { headers: { 'x-request-id': 'audit-approve-1' } })).status).toBe(200);
    const payments = await until(async () => {
      const page = await maker.get<{ items: { paymentId: string; paymentRef: string; status: string }[] }>(`/v1/batches/${batchId}/payments`);
      return page.body.items.some((payment) => payment.status === 'SENT') && page.body.items.some((payment) => payment.status === 'PAID') ? page.body.items : undefined;
    }, 'disbursement');
    const pending = payments.find((payment) => payment.status === 'SENT')!;
    const body = JSON.stringify({ transferRef: pending.paymentId, outcome: 'PAID', settledAt: new Date().toISOString() });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const callback = await fetch(`${server.url}/v1/provider-callbacks/970436`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-timestamp': timestamp, 'x-signature': callbackSignature('local-provider-secret', timestamp, body), 'x-request-id': 'audit-callback-1' },
      body,
    });
    expect(callback.status).toBe(200);
    await until(async () => ((await maker.get<{ status: string }>(`/v1/batches/${batchId}`)).body.status === 'COMPLETED' ? true : undefined), 'completion');

    // Assess: read the whole trail, two records a page
    const records: AuditRecord[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: Page } = await maker.get<Page>(`/v1/batches/${batchId}/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      records.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);

    const byRequest = (requestId: string) => records.filter((record) => record.requestId === requestId);
    // Created and sealed in one request, by the province's system
    expect(byRequest('audit-create-1').map((record) => [record.actor, record.action])).toEqual([['hcm-audit-maker', 'createBatch']]);
    expect(byRequest('audit-create-1')[0]!.changes.map((change) => `${change.from ?? '-'}>${change.to}`)).toEqual(['->OPEN', 'OPEN>OPEN', 'OPEN>SUBMITTED']);
    // Approved by the second official
    expect(byRequest('audit-approve-1')).toEqual([
      expect.objectContaining({ actor: 'hcm-audit-checker', action: 'approveBatch', changes: [expect.objectContaining({ subject: 'batch', from: 'AWAITING_APPROVAL', to: 'APPROVED' })] }),
    ]);
    // Settled by the provider's signed callback, which, settling the last payment, also completed the batch
    expect(byRequest('audit-callback-1')).toEqual([
      expect.objectContaining({ actor: 'provider:970436', action: 'providerCallback', changes: [expect.objectContaining({ subject: 'batch', from: 'APPROVED', to: 'COMPLETED' })] }),
      expect.objectContaining({ actor: 'provider:970436', action: 'providerCallback', changes: [expect.objectContaining({ paymentId: pending.paymentId, from: 'SENT', to: 'PAID' })] }),
    ]);
    // Every payment's every transition is there, by the platform's workers where they made it
    for (const payment of payments) {
      const steps = records.flatMap((record) => record.changes.filter((change) => change.paymentId === payment.paymentId).map((change) => `${record.actor} ${change.from}>${change.to}`));
      const settled = payment.paymentId === pending.paymentId ? ['system:disburse-worker QUEUED>SENT', 'provider:970436 SENT>PAID'] : ['system:disburse-worker QUEUED>PAID'];
      expect(steps, payment.paymentRef).toEqual(['system:verify-worker RECEIVED>VERIFIED', 'system:disburse-worker VERIFIED>QUEUED', ...settled]);
    }
    // The batch's own transitions in order, the last one by whoever settled it
    const batchSteps = records.flatMap((record) => record.changes.filter((change) => change.subject === 'batch' && change.from !== change.to).map((change) => `${change.from ?? '-'}>${change.to}`));
    expect(batchSteps).toEqual(['->OPEN', 'OPEN>SUBMITTED', 'SUBMITTED>AWAITING_APPROVAL', 'AWAITING_APPROVAL>APPROVED', 'APPROVED>COMPLETED']);
    // Nothing personal in it
    const text = JSON.stringify(records);
    for (const who of people) {
      expect(text).not.toContain(who.personalId);
      expect(text).not.toContain(who.fullName);
    }
    // Another province: the batch does not exist for it
    expect((await otherProvince.get(`/v1/batches/${batchId}/audit`)).status).toBe(404);
  });
});
