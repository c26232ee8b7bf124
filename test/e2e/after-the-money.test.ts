import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbackSignature } from '../../shared/app/callbacks.js';
import { apiClient, personalIdFor } from '../support/api-client.js';
import { startLocalServer, tokenFor, type RunningServer } from '../support/local-server.js';

/**
 * Issue 13, "After the money leaves", over HTTP against the local server: reason
 * codes that say who acts, new attempts of failed and returned payments, returns.
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
  return { personalId: personalIdFor('079', dateOfBirth, 'F', 870000 + counter), fullName, dateOfBirth, gender: 'F' };
}

type NextStep = { actor: string; vi: string; en: string } | null;
type Payment = {
  paymentId: string;
  paymentRef: string;
  status: string;
  reasonCode: string | null;
  attempt?: number;
  transferRef?: string;
  nextStep?: NextStep;
  history?: { status: string; reasonCode: string | null; at: string; attempt?: number }[];
};
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
    batchRef: `after-${Date.now()}-${counter++}`,
    provinceCode: '79',
    programCode: 'SOCIAL_ALLOWANCE',
    period: '2026-10',
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

function signedCallback(body: unknown) {
  const raw = JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  return fetch(`${server.url}/v1/provider-callbacks/970436`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-timestamp': timestamp, 'x-signature': callbackSignature(secret, timestamp, raw) },
    body: raw,
  });
}

/** Money conservation: the amounts per status add up to the control total, the counts to the item count. */
function expectTotals(batch: Batch) {
  expect(Object.values(batch.amounts).reduce((sum, amount) => sum + amount, 0)).toBe(batch.control.totalAmount);
  expect(Object.values(batch.counts).reduce((sum, count) => sum + count, 0)).toBe(batch.control.itemCount);
}

beforeAll(async () => {
  server = await startLocalServer();
  hcm = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '79', sub: 'after-maker' }));
  approver = apiClient(server.url, await tokenFor(server.url, { role: 'approver', provinceCode: '79', sub: 'after-checker' }));
  local = apiClient(server.url);
});

afterAll(async () => {
  await server?.stop();
});

describe('reason codes as data', () => {
  it('lists every code with its messages, who must act and whether a new attempt can succeed', async () => {
    const listed = await hcm.get<{ items: { code: string; actor: string; recoverable: boolean; messageVi: string; messageEn: string }[] }>('/v1/reason-codes');
    expect(listed.status).toBe(200);
    const byCode = Object.fromEntries(listed.body.items.map((item) => [item.code, item]));
    for (const code of ['ACCOUNT_CLOSED', 'ACCOUNT_NOT_FOUND', 'ACCOUNT_NAME_MISMATCH', 'RETRIES_EXHAUSTED', 'HOLD_EXPIRED']) expect(byCode[code]?.recoverable, code).toBe(true);
    expect(byCode.PROVIDER_REJECTED).toMatchObject({ recoverable: false, actor: 'PROVIDER' });
    expect(byCode.ACCOUNT_CLOSED).toMatchObject({ actor: 'BENEFICIARY' });
    expect(byCode.NAME_MISMATCH).toMatchObject({ actor: 'PROVINCE', recoverable: false });
    expect(byCode.RETURNED_BY_PROVIDER).toBeDefined();
    for (const item of listed.body.items) expect(['BENEFICIARY', 'PROVINCE', 'PROVIDER', 'OPERATIONS']).toContain(item.actor);
    const anonymous = await apiClient(server.url).get('/v1/reason-codes');
    expect(anonymous.status).toBe(401);
  });
});

describe('next steps and returns', () => {
  it('tells the beneficiary and the report who acts next, and a return keeps the entitlement with RETURNED_BY_PROVIDER', async () => {
    const people = { paid: person('Nguyễn Thị Lan'), closed: person('Trần Thị Mai') };
    const batchId = await verifiedBatch([
      { who: people.paid, ref: 'paid', amount: 500_000 },
      { who: people.closed, ref: 'closed', amount: 501_000 },
    ]);
    await link(people.paid, '1234567890');
    await link(people.closed, '1234560000');
    expect((await approver.post(`/v1/batches/${batchId}/approve`)).status).toBe(200);
    const completed = await waitFor(batchId, (batch) => batch.status === 'COMPLETED');
    expectTotals(completed);
    let byRef = await payments(batchId);
    expect(byRef.closed).toMatchObject({ status: 'FAILED', reasonCode: 'ACCOUNT_CLOSED', nextStep: { actor: 'BENEFICIARY' } });
    expect(byRef.paid).toMatchObject({ status: 'PAID', nextStep: null });

    const beneficiary = apiClient(server.url, await tokenFor(server.url, { role: 'beneficiary', personalId: people.closed.personalId }));
    const own = await beneficiary.get<{ items: (Payment & { reason: { vi: string } })[] }>('/v1/me/payments');
    expect(own.status).toBe(200);
    expect(own.body.items[0]).toMatchObject({ reasonCode: 'ACCOUNT_CLOSED', nextStep: { actor: 'BENEFICIARY', en: expect.stringMatching(/link a new/i) } });

    const report = await hcm.get<{ items: Payment[] }>(`/v1/batches/${batchId}/report`);
    expect(report.body.items.find((row) => row.paymentRef === 'closed')).toMatchObject({ nextStep: { actor: 'BENEFICIARY' } });
    const csv = await hcm.call('GET', `/v1/batches/${batchId}/report`, { headers: { accept: 'text/csv' } });
    const header = csv.text.replace(/^\uFEFF/, '').split('\r\n')[0]!;
    expect(header.split(',')).toEqual(expect.arrayContaining(['actor', 'nextStep']));
    expect(csv.text).toContain('BENEFICIARY');

    const returned = await signedCallback({ transferRef: byRef.paid!.paymentId, outcome: 'RETURNED', settledAt: new Date().toISOString() });
    expect(returned.status).toBe(200);
    byRef = await payments(batchId);
    expect(byRef.paid).toMatchObject({ status: 'RETURNED', reasonCode: 'RETURNED_BY_PROVIDER', nextStep: { actor: 'BENEFICIARY' } });
    const after = await waitFor(batchId, (batch) => batch.counts.RETURNED === 1);
    expectTotals(after);
  });
});
