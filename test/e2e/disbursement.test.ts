import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbackSignature } from '../../shared/app/callbacks.js';
import { apiClient, personalIdFor } from '../support/api-client.js';
import { startLocalServer, tokenFor, type RunningServer } from '../support/local-server.js';

/**
 * Approval and disbursement over HTTP: every behaviour of the sandbox provider,
 * maker-checker, holds and their release, signed callbacks, and completion with
 * totals that reconcile.
 */

let server: RunningServer;
let hcm: ReturnType<typeof apiClient>;
let approver: ReturnType<typeof apiClient>;
let local: ReturnType<typeof apiClient>;
let counter = 0;
const secret = 'local-provider-secret';

interface Person {
  personalId: string;
  fullName: string;
  dateOfBirth: string;
  gender: 'M' | 'F';
}

function person(fullName: string): Person {
  counter += 1;
  const dateOfBirth = `19${40 + (counter % 40)}-0${1 + (counter % 9)}-1${counter % 10}`;
  return { personalId: personalIdFor('079', dateOfBirth, 'F', 800000 + counter), fullName, dateOfBirth, gender: 'F' };
}

type Payment = { paymentId: string; paymentRef: string; status: string; reasonCode: string | null; account: { accountNumberMasked: string } | null };
type Batch = { batchId: string; status: string; counts: Record<string, number>; amounts: Record<string, number>; control: { itemCount: number; totalAmount: number } };

async function link(who: Person, accountNumber: string) {
  const client = apiClient(server.url, await tokenFor(server.url, { role: 'beneficiary', personalId: who.personalId }));
  const answer = await client.call('PUT', `/v1/accounts/${who.personalId}`, {
    json: { provider: { type: 'BANK', code: '970436' }, accountNumber, accountName: who.fullName },
  });
  expect(answer.status).toBe(200);
  return answer;
}

async function verifiedBatch(people: { who: Person; ref: string; amount?: number }[]) {
  const registered = await local.post('/local/population', { citizens: people.map(({ who }) => who) });
  expect(registered.status).toBe(200);
  const payments = people.map(({ who, ref, amount }) => ({
    paymentRef: ref,
    personalId: who.personalId,
    fullName: who.fullName,
    dateOfBirth: who.dateOfBirth,
    gender: who.gender,
    amount: amount ?? 500_000,
  }));
  const created = await hcm.post<Batch>('/v1/batches', {
    batchRef: `disburse-${Date.now()}-${counter++}`,
    provinceCode: '79',
    programCode: 'SOCIAL_ALLOWANCE',
    period: '2026-11',
    control: { itemCount: payments.length, totalAmount: payments.reduce((sum, p) => sum + p.amount, 0) },
    payments,
  });
  expect(created.status).toBe(201);
  await waitFor(created.body.batchId, (batch) => batch.status === 'AWAITING_APPROVAL');
  return created.body.batchId;
}

async function waitFor(batchId: string, done: (batch: Batch) => boolean, timeoutMs = 45_000): Promise<Batch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = (await hcm.get<Batch>(`/v1/batches/${batchId}`)).body;
    if (done(batch)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${batchId} not done: ${JSON.stringify(batch.counts)} ${batch.status}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

async function payments(batchId: string): Promise<Record<string, Payment>> {
  const listed = await hcm.get<{ items: Payment[] }>(`/v1/batches/${batchId}/payments?limit=1000`);
  return Object.fromEntries(listed.body.items.map((payment) => [payment.paymentRef, payment]));
}

function signedCallback(body: unknown, options: { timestamp?: number; key?: string } = {}) {
  const raw = JSON.stringify(body);
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  return fetch(`${server.url}/v1/provider-callbacks/970436`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-timestamp': timestamp, 'x-signature': callbackSignature(options.key ?? secret, timestamp, raw) },
    body: raw,
  });
}

beforeAll(async () => {
  server = await startLocalServer();
  hcm = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '79', sub: 'hcm-maker' }));
  approver = apiClient(server.url, await tokenFor(server.url, { role: 'approver', provinceCode: '79', sub: 'hcm-checker' }));
  local = apiClient(server.url);
});

afterAll(async () => {
  await server?.stop();
});

describe('approval and disbursement', () => {
  it('pays, fails, retries and holds exactly as the sandbox provider decides, then completes with totals that reconcile', async () => {
    const people = {
      paid: person('Nguyễn Thị Ánh'),
      closed: person('Trần Thị Bình'),
      missing: person('Lê Thị Cúc'),
      flaky: person('Phạm Thị Dung'),
      down: person('Hoàng Thị Én'),
      pending: person('Vũ Thị Giang'),
      held: person('Đặng Thị Hà'),
    };
    const batchId = await verifiedBatch(Object.entries(people).map(([ref, who], index) => ({ who, ref, amount: 500_000 + index * 1_000 })));
    await link(people.paid, '1234567890');
    await link(people.closed, '1234560000');
    await link(people.missing, '1234560001');
    await link(people.flaky, '1234569990');
    await link(people.down, '1234569999');
    await link(people.pending, '1234565555');

    const sameOfficial = await hcm.post<{ code: string }>(`/v1/batches/${batchId}/approve`);
    const approved = await approver.post<Batch>(`/v1/batches/${batchId}/approve`);
    const again = await approver.post<Batch>(`/v1/batches/${batchId}/approve`);
    const otherApprover = apiClient(server.url, await tokenFor(server.url, { role: 'approver', provinceCode: '79', sub: 'hcm-checker-2' }));
    const wrongState = await otherApprover.post<{ code: string }>(`/v1/batches/${batchId}/approve`);

    expect(sameOfficial.status).toBe(403);
    expect(approved.status).toBe(200);
    expect(approved.body.status).toBe('APPROVED');
    expect(again.status).toBe(200);
    expect(wrongState.status).toBe(409);
    expect(wrongState.body.code).toBe('INVALID_STATE');

    // Everything but the SENT (5555) and the held payment settles; 9999 needs its retries to run out.
    await waitFor(batchId, (batch) => batch.counts.QUEUED === 0 && batch.counts.VERIFIED === 0 && batch.counts.FAILED === 3 && batch.counts.PAID === 2);
    let byRef = await payments(batchId);
    expect(byRef.paid).toMatchObject({ status: 'PAID', account: { accountNumberMasked: '****7890' } });
    expect(byRef.closed).toMatchObject({ status: 'FAILED', reasonCode: 'ACCOUNT_CLOSED' });
    expect(byRef.missing).toMatchObject({ status: 'FAILED', reasonCode: 'ACCOUNT_NOT_FOUND' });
    expect(byRef.flaky).toMatchObject({ status: 'PAID' });
    expect(byRef.down).toMatchObject({ status: 'FAILED', reasonCode: 'RETRIES_EXHAUSTED' });
    expect(byRef.pending).toMatchObject({ status: 'SENT' });
    expect(byRef.held).toMatchObject({ status: 'ON_HOLD', reasonCode: 'NO_LINKED_ACCOUNT' });

    // The provider settles the SENT one by a signed callback: the batch completes (ON_HOLD may remain).
    const transferRef = byRef.pending!.paymentId;
    const good = await signedCallback({ transferRef, outcome: 'PAID', settledAt: new Date().toISOString() });
    const repeated = await signedCallback({ transferRef, outcome: 'PAID', settledAt: new Date().toISOString() });
    const backwards = await signedCallback({ transferRef, outcome: 'FAILED', reasonCode: 'ACCOUNT_CLOSED', settledAt: new Date().toISOString() });
    const badSignature = await signedCallback({ transferRef, outcome: 'RETURNED', settledAt: new Date().toISOString() }, { key: 'not-the-secret' });
    const stale = await signedCallback({ transferRef, outcome: 'RETURNED', settledAt: new Date().toISOString() }, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(good.status).toBe(200);
    const applied = (await good.json()) as { changed: boolean; transfer: Record<string, unknown> };
    expect(applied.changed).toBe(true);
    // The provider is told about the transfer only, never about the person.
    expect(Object.keys(applied.transfer).sort()).toEqual(['reasonCode', 'status', 'transferRef', 'updatedAt']);
    expect(applied.transfer.status).toBe('PAID');
    expect(repeated.status).toBe(200);
    expect(((await repeated.json()) as { changed: boolean }).changed).toBe(false);
    expect(backwards.status).toBe(409);
    expect(badSignature.status).toBe(401);
    expect(stale.status).toBe(401);

    const completed = await waitFor(batchId, (batch) => batch.status === 'COMPLETED');
    expect(completed.counts).toMatchObject({ PAID: 3, FAILED: 3, ON_HOLD: 1, QUEUED: 0, SENT: 0, VERIFIED: 0 });

    // Linking the held person's account releases the payment: APPROVED again, then COMPLETED, all settled.
    await link(people.held, '9876543210');
    const settled = await waitFor(batchId, (batch) => batch.status === 'COMPLETED' && batch.counts.ON_HOLD === 0);
    byRef = await payments(batchId);
    expect(byRef.held).toMatchObject({ status: 'PAID', account: { accountNumberMasked: '****3210' } });
    const statusTotal = Object.values(settled.amounts).reduce((sum, amount) => sum + amount, 0);
    expect(statusTotal).toBe(settled.control.totalAmount);
    expect(settled.counts.PAID! + settled.counts.FAILED!).toBe(settled.control.itemCount);

    // A paid payment can still come back.
    const returned = await signedCallback({ transferRef, outcome: 'RETURNED', settledAt: new Date().toISOString() });
    expect(returned.status).toBe(200);
    const report = await hcm.get<{ totals: { byStatus: Record<string, { count: number; amount: number }> } }>(`/v1/batches/${batchId}/report`);
    expect(report.body.totals.byStatus.RETURNED!.count).toBe(1);
  }, 90_000);
});
