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

type Retry = { retryId: string; status: string; itemCount: number; totalAmount: number; paymentIds: string[]; payments: { paymentId: string; status: string; attempt: number }[] };

describe('new attempts', () => {
  it('pays a failed and a returned payment again in a second attempt, approved by a second official, never twice', async () => {
    const people = { closed: person('Lê Thị Nga'), ret: person('Phạm Thị Oanh'), pending: person('Võ Thị Phương') };
    const batchId = await verifiedBatch([
      { who: people.closed, ref: 'closed', amount: 510_000 },
      { who: people.ret, ref: 'ret', amount: 520_000 },
      { who: people.pending, ref: 'pending', amount: 530_000 },
    ]);
    await link(people.closed, '1234560000');
    await link(people.ret, '1234567891');
    await link(people.pending, '1234565555');
    expect((await approver.post(`/v1/batches/${batchId}/approve`)).status).toBe(200);
    await waitFor(batchId, (batch) => batch.counts.FAILED === 1 && batch.counts.PAID === 1 && batch.counts.SENT === 1);
    let byRef = await payments(batchId);
    const ids = { closed: byRef.closed!.paymentId, ret: byRef.ret!.paymentId, pending: byRef.pending!.paymentId };
    expect(byRef.closed).toMatchObject({ attempt: 1, transferRef: ids.closed });

    // Nothing eligible yet but the failed one; a payment whose attempt is in flight (SENT) is refused, naming it.
    const inFlight = await hcm.post<{ code: string; errors: { path: string; code: string }[] }>(`/v1/batches/${batchId}/retries`, { paymentIds: [ids.pending] });
    expect(inFlight.status).toBe(422);
    expect(inFlight.body.errors).toEqual([expect.objectContaining({ path: 'paymentIds[0]', code: 'attempt_in_flight' })]);

    // The bank sends the paid one back: RETURNED, entitlement kept.
    const returned = await signedCallback({ transferRef: ids.ret, outcome: 'RETURNED', settledAt: new Date().toISOString() });
    expect(returned.status).toBe(200);

    // The beneficiary links a new account (this one leaves the transfer SENT until the bank calls back).
    await link(people.closed, '9876545555');

    // Two retries racing for the same payments: one holds them, the other is refused and changes nothing.
    const racing = await Promise.all([0, 1].map(() => hcm.post<Retry & { code?: string }>(`/v1/batches/${batchId}/retries`, { paymentIds: [ids.closed, ids.ret] })));
    expect(racing.map((answer) => answer.status).sort()).toEqual([201, 409]);
    const retry = racing.find((answer) => answer.status === 201)!.body;
    expect(retry).toMatchObject({ status: 'AWAITING_APPROVAL', itemCount: 2, totalAmount: 1_030_000 });
    expect([...retry.paymentIds].sort()).toEqual([ids.closed, ids.ret].sort());
    const defaultRetry = await hcm.post<{ code: string }>(`/v1/batches/${batchId}/retries`, {});
    expect(defaultRetry.status).toBe(422); // both eligible payments wait in the first retry

    // Maker-checker: not the requester; two approvers racing: one approves, the other finds it approved.
    const self = await hcm.post<{ code: string }>(`/v1/batches/${batchId}/retries/${retry.retryId}/approve`);
    expect(self.status).toBe(403);
    const approver2 = apiClient(server.url, await tokenFor(server.url, { role: 'approver', provinceCode: '79', sub: 'after-checker-2' }));
    const approvals = await Promise.all([approver, approver2].map((client) => client.post<Retry>(`/v1/batches/${batchId}/retries/${retry.retryId}/approve`)));
    expect(approvals.map((answer) => answer.status).sort()).toEqual([200, 409]);

    await waitFor(batchId, (batch) => batch.counts.PAID === 1 && batch.counts.SENT === 2 && batch.counts.FAILED === 0 && batch.counts.RETURNED === 0);
    byRef = await payments(batchId);
    expect(byRef.ret).toMatchObject({ status: 'PAID', attempt: 2, transferRef: `${ids.ret}-2` });
    expect(byRef.closed).toMatchObject({ status: 'SENT', attempt: 2, transferRef: `${ids.closed}-2`, account: { accountNumberMasked: '****5555' } });
    const history = (await hcm.get<Payment>(`/v1/payments/${ids.ret}`)).body.history!;
    expect(history.map((entry) => `${entry.status}@${entry.attempt}`)).toEqual(['RECEIVED@1', 'VERIFIED@1', 'QUEUED@1', 'PAID@1', 'RETURNED@1', 'QUEUED@2', 'PAID@2']);

    // Attempt 2 of the closed one is in flight: a late callback naming attempt 1 changes nothing, and no new retry of it.
    const late = await signedCallback({ transferRef: ids.closed, outcome: 'PAID', settledAt: new Date().toISOString() });
    expect(late.status).toBe(409);
    const again = await hcm.post<{ errors: { code: string }[] }>(`/v1/batches/${batchId}/retries`, { paymentIds: [ids.closed] });
    expect(again.status).toBe(422);
    expect(again.body.errors[0]!.code).toBe('attempt_in_flight');
    const paidAgain = await hcm.post<{ errors: { code: string }[] }>(`/v1/batches/${batchId}/retries`, { paymentIds: [ids.ret] });
    expect(paidAgain.status).toBe(422);

    // The bank settles attempt 2 and the pending first attempt: the batch completes, totals reconcile.
    expect((await signedCallback({ transferRef: `${ids.closed}-2`, outcome: 'PAID', settledAt: new Date().toISOString() })).status).toBe(200);
    expect((await signedCallback({ transferRef: ids.pending, outcome: 'PAID', settledAt: new Date().toISOString() })).status).toBe(200);
    const completed = await waitFor(batchId, (batch) => batch.status === 'COMPLETED' && batch.counts.PAID === 3);
    expectTotals(completed);
    const read = await hcm.get<Retry>(`/v1/batches/${batchId}/retries/${retry.retryId}`);
    expect(read.body).toMatchObject({ status: 'COMPLETED' });
    expect(read.body.payments.map((payment) => payment.attempt)).toEqual([2, 2]);

    // The report and the audit trail show every attempt.
    const report = await hcm.get<{ items: Payment[]; totals: { byStatus: Record<string, { count: number; amount: number }> } }>(`/v1/batches/${batchId}/report`);
    expect(report.body.items.find((row) => row.paymentRef === 'closed')).toMatchObject({ attempt: 2, transferRef: `${ids.closed}-2` });
    expect(report.body.totals.byStatus.PAID).toEqual({ count: 3, amount: 1_560_000 });
    const audit = await hcm.get<{ items: { action: string; changes: { subject: string; from: string | null; to: string }[] }[] }>(`/v1/batches/${batchId}/audit?limit=1000`);
    const actions = audit.body.items.map((record) => record.action);
    expect(actions).toEqual(expect.arrayContaining(['createRetry', 'approveRetry']));
    const moves = audit.body.items.flatMap((record) => record.changes).filter((change) => change.subject === 'payment').map((change) => `${change.from}->${change.to}`);
    expect(moves).toEqual(expect.arrayContaining(['FAILED->QUEUED', 'RETURNED->QUEUED']));
  }, 90_000);

  it('withdraws a retry before approval: nothing is sent, its payment is free for another retry, and a cancel racing an approval loses or wins whole', async () => {
    const who = person('Hồ Thị Xuân');
    const batchId = await verifiedBatch([{ who, ref: 'closed', amount: 505_000 }]);
    await link(who, '1234560000');
    expect((await approver.post(`/v1/batches/${batchId}/approve`)).status).toBe(200);
    await waitFor(batchId, (batch) => batch.status === 'COMPLETED' && batch.counts.FAILED === 1);
    const paymentId = (await payments(batchId)).closed!.paymentId;
    await link(who, '9876541234');
    const path = (retryId: string, action = '') => `/v1/batches/${batchId}/retries/${retryId}${action}`;

    const first = (await hcm.post<Retry>(`/v1/batches/${batchId}/retries`, {})).body;
    expect(first).toMatchObject({ status: 'AWAITING_APPROVAL', paymentIds: [paymentId] });
    // Only the province of the batch, with batches:write, withdraws it.
    const hanoi = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '01', sub: 'hn-maker' }));
    expect((await hanoi.post(path(first.retryId, '/cancel'))).status).toBe(404);
    expect((await approver.post(path(first.retryId, '/cancel'))).status).toBe(403);
    expect((await hcm.post(path('01JAAAAAAAAAAAAAAAAAAAAAAA', '/cancel'))).status).toBe(404);
    const cancelled = await hcm.post<Retry>(path(first.retryId, '/cancel'));
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ retryId: first.retryId, status: 'CANCELLED', payments: [{ paymentId, status: 'FAILED', attempt: 1 }] });
    const again = await hcm.post<Retry>(path(first.retryId, '/cancel'));
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('CANCELLED');
    const late = await approver.post<{ code: string }>(path(first.retryId, '/approve'));
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('INVALID_STATE');
    expect((await payments(batchId)).closed).toMatchObject({ status: 'FAILED', attempt: 1 });

    // Its payment is free: the default retry takes it again. A cancel and an approval racing: one of them, whole.
    const second = await hcm.post<Retry>(`/v1/batches/${batchId}/retries`, {});
    expect(second.status).toBe(201);
    expect(second.body.paymentIds).toEqual([paymentId]);
    const [cancel, approval] = await Promise.all([hcm.post<Retry & { code?: string }>(path(second.body.retryId, '/cancel')), approver.post<Retry & { code?: string }>(path(second.body.retryId, '/approve'))]);
    expect([cancel.status, approval.status].sort()).toEqual([200, 409]);
    const winner = cancel.status === 200 ? cancel : approval;
    expect((cancel.status === 200 ? approval : cancel).body.code).toBe('INVALID_STATE');
    expect(winner.body.status).toBe(cancel.status === 200 ? 'CANCELLED' : 'APPROVED');
    if (cancel.status === 200) {
      expect((await payments(batchId)).closed).toMatchObject({ status: 'FAILED', attempt: 1 });
      // An approved retry cannot be withdrawn: the third is approved, then its cancel is refused.
      const third = (await hcm.post<Retry>(`/v1/batches/${batchId}/retries`, {})).body;
      expect((await approver.post(path(third.retryId, '/approve'))).status).toBe(200);
      expect((await hcm.post(path(third.retryId, '/cancel'))).status).toBe(409);
    } else {
      expect((await hcm.post(path(second.body.retryId, '/cancel'))).status).toBe(409);
    }
    const paid = await waitFor(batchId, (batch) => batch.status === 'COMPLETED' && batch.counts.PAID === 1);
    expectTotals(paid);
    expect((await payments(batchId)).closed).toMatchObject({ status: 'PAID', attempt: 2, transferRef: `${paymentId}-2` });
    const audit = await hcm.get<{ items: { action: string; changes: { subject: string; to: string }[] }[] }>(`/v1/batches/${batchId}/audit?limit=1000`);
    expect(audit.body.items.filter((record) => record.action === 'cancelRetry').flatMap((record) => record.changes.map((change) => change.to))).toContain('RETRY_CANCELLED');
  }, 90_000);

  it('refuses a retry of another province, a payment of another batch, and bad input, changing nothing', async () => {
    const who = person('Đỗ Thị Quyên');
    const batchId = await verifiedBatch([{ who, ref: 'only' }]);
    const early = await hcm.post<{ code: string }>(`/v1/batches/${batchId}/retries`, {});
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('INVALID_STATE');
    const hanoi = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '01', sub: 'hn-maker' }));
    expect((await hanoi.post(`/v1/batches/${batchId}/retries`, {})).status).toBe(404);
    const bad = await hcm.post<{ code: string; errors: { path: string }[] }>(`/v1/batches/${batchId}/retries`, { paymentIds: ['not-a-payment'], extra: 1 });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    const empty = await hcm.post<{ code: string }>(`/v1/batches/${batchId}/retries`, { paymentIds: [] });
    expect(empty.status).toBe(422);
    expect((await hcm.get(`/v1/batches/${batchId}/retries/01JAAAAAAAAAAAAAAAAAAAAAAA`)).status).toBe(404);
  });
});

function signedStatement(body: unknown, providerCode = '970436') {
  const raw = JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  return fetch(`${server.url}/v1/providers/${providerCode}/statements`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-timestamp': timestamp, 'x-signature': callbackSignature(secret, timestamp, raw) },
    body: raw,
  });
}

type Reconciliation = {
  confirmed: { count: number; amount: number };
  returned: { count: number; amount: number };
  amountMismatches: { transferRef: string }[];
  unconfirmedPaid: { paymentId: string; overdue: boolean }[];
  unknownReferences: { transferRef: string }[];
};

describe('settlement statements', () => {
  it('matches a statement three ways, returns a paid transfer, lists mismatches and unknown references, and a replay changes nothing', async () => {
    const people = { a: person('Bùi Thị Rạng'), b: person('Cao Thị Sen'), c: person('Đinh Thị Tâm'), d: person('Giang Thị Uyên') };
    const batchId = await verifiedBatch([
      { who: people.a, ref: 'a', amount: 540_000 },
      { who: people.b, ref: 'b', amount: 550_000 },
      { who: people.c, ref: 'c', amount: 560_000 },
      { who: people.d, ref: 'd', amount: 570_000 },
    ]);
    await link(people.a, '1234567001');
    await link(people.b, '1234567002');
    await link(people.c, '1234567003');
    await link(people.d, '1234565555'); // SENT: its callback never comes, the statement settles it
    expect((await approver.post(`/v1/batches/${batchId}/approve`)).status).toBe(200);
    await waitFor(batchId, (batch) => batch.counts.PAID === 3 && batch.counts.SENT === 1);
    const ids = Object.fromEntries(Object.entries(await payments(batchId)).map(([ref, payment]) => [ref, payment.paymentId]));

    let reconciliation = (await hcm.get<Reconciliation>(`/v1/batches/${batchId}/reconciliation`)).body;
    expect(reconciliation.unconfirmedPaid).toHaveLength(3);
    expect(reconciliation.unconfirmedPaid.every((entry) => !entry.overdue)).toBe(true);

    const unknownOfBatch = `${batchId}-00zzzzzzzzzzzzzzzzzzzz`;
    const statement = {
      statementId: `STMT-${batchId}`,
      valueDate: new Date().toISOString().slice(0, 10),
      lines: [
        { transferRef: ids.a, amount: 540_000, status: 'SETTLED' },
        { transferRef: ids.b, amount: 550_000, status: 'RETURNED', reasonCode: 'ACCOUNT_CLOSED' },
        { transferRef: ids.c, amount: 999_000, status: 'SETTLED' },
        { transferRef: ids.d, amount: 570_000, status: 'SETTLED' },
        { transferRef: unknownOfBatch, amount: 1_000, status: 'SETTLED' },
      ],
    };
    const first = await signedStatement(statement);
    expect(first.status).toBe(200);
    const result = (await first.json()) as Record<string, unknown>;
    expect(result).toMatchObject({
      lineCount: 5,
      matched: 2,
      returned: 1,
      amountMismatches: [{ transferRef: ids.c, expected: 560_000, actual: 999_000 }],
      unknownReferences: [unknownOfBatch],
    });
    const afterFirst = await waitFor(batchId, (batch) => batch.status === 'COMPLETED');
    expectTotals(afterFirst);
    const byRef = await payments(batchId);
    expect(byRef.b).toMatchObject({ status: 'RETURNED', reasonCode: 'ACCOUNT_CLOSED' });
    expect(byRef.d).toMatchObject({ status: 'PAID' });

    // The same statement again: the same answer, nothing changed. The same id with other content: 409.
    const replay = await signedStatement(statement);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual(result);
    const afterReplay = (await hcm.get<Batch & { updatedAt: string }>(`/v1/batches/${batchId}`)).body;
    expect(afterReplay.counts).toEqual(afterFirst.counts);
    expect(afterReplay.amounts).toEqual(afterFirst.amounts);
    const altered = await signedStatement({ ...statement, lines: statement.lines.slice(1) });
    expect(altered.status).toBe(409);
    expect(((await altered.json()) as { code: string }).code).toBe('CONFLICT');

    reconciliation = (await hcm.get<Reconciliation>(`/v1/batches/${batchId}/reconciliation`)).body;
    expect(reconciliation.confirmed).toEqual({ count: 2, amount: 1_110_000 });
    expect(reconciliation.returned).toEqual({ count: 1, amount: 550_000 });
    expect(reconciliation.amountMismatches.map((entry) => entry.transferRef)).toEqual([ids.c]);
    expect(reconciliation.unconfirmedPaid).toEqual([]);
    expect(reconciliation.unknownReferences.map((entry) => entry.transferRef)).toEqual([unknownOfBatch]);

    const csv = await hcm.call('GET', `/v1/batches/${batchId}/report`, { headers: { accept: 'text/csv' } });
    const [header, ...rows] = csv.text.replace(/^\uFEFF/, '').split('\r\n');
    const column = header!.split(',').indexOf('statementStatus');
    expect(column).toBeGreaterThan(0);
    const statuses = rows.filter((row) => row.startsWith(batchId)).map((row) => row.split(',')[column]).sort();
    expect(statuses).toEqual(['AMOUNT_MISMATCH', 'CONFIRMED', 'CONFIRMED', 'RETURNED']);

    // A bad signature changes nothing; a malformed statement is 422 naming what is wrong.
    const forged = await fetch(`${server.url}/v1/providers/970436/statements`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-timestamp': String(Math.floor(Date.now() / 1000)), 'x-signature': '0'.repeat(64) },
      body: JSON.stringify(statement),
    });
    expect(forged.status).toBe(401);
    const malformed = await signedStatement({ statementId: 'X', valueDate: '2026-13-40', lines: [{ transferRef: ids.a, amount: -1, status: 'LOST' }] });
    expect(malformed.status).toBe(422);
  }, 90_000);
});

describe('the sandbox provider closes the loop', () => {
  it("produces the statement of a day from what it booked, and submitting it confirms the day's PAID transfers", async () => {
    const who = person('Hồ Thị Vân');
    const batchId = await verifiedBatch([{ who, ref: 'v', amount: 580_000 }]);
    await link(who, '1234567777');
    expect((await approver.post(`/v1/batches/${batchId}/approve`)).status).toBe(200);
    await waitFor(batchId, (batch) => batch.status === 'COMPLETED');
    const paymentId = (await payments(batchId)).v!.paymentId;
    const valueDate = new Date().toISOString().slice(0, 10);
    const produced = await local.post<{ statement: { statementId: string; lines: { transferRef: string; amount: number; status: string }[] } }>('/local/statements', { providerCode: '970436', valueDate });
    expect(produced.status).toBe(200);
    expect(produced.body.statement.lines).toContainEqual({ transferRef: paymentId, amount: 580_000, status: 'SETTLED' });
    const submitted = await local.post<{ imported: { status: number; body: { matched: number; unknownReferences: string[] } } }>('/local/statements', { providerCode: '970436', valueDate, submit: true });
    expect(submitted.body.imported.status).toBe(200);
    expect(submitted.body.imported.body.matched).toBeGreaterThanOrEqual(1);
    const reconciliation = (await hcm.get<Reconciliation>(`/v1/batches/${batchId}/reconciliation`)).body;
    expect(reconciliation.confirmed).toEqual({ count: 1, amount: 580_000 });
    expect(reconciliation.unconfirmedPaid).toEqual([]);
  });
});

describe('beneficiary notices', () => {
  it('tells each beneficiary once per event, in Vietnamese, naming program, period and amount, never a full ID or account number', async () => {
    const people = { paid: person('Kiều Thị Xuân'), closed: person('La Thị Yến'), held: person('Mai Thị Ánh') };
    const accounts = { paid: '1234568888', closed: '1234570000' };
    const batchId = await verifiedBatch([
      { who: people.paid, ref: 'paid', amount: 590_000 },
      { who: people.closed, ref: 'closed', amount: 600_000 },
      { who: people.held, ref: 'held', amount: 610_000 },
    ]);
    await link(people.paid, accounts.paid);
    await link(people.closed, accounts.closed);
    expect((await approver.post(`/v1/batches/${batchId}/approve`)).status).toBe(200);
    await waitFor(batchId, (batch) => batch.status === 'COMPLETED' && batch.counts.ON_HOLD === 1);
    const paidId = (await payments(batchId)).paid!.paymentId;
    // A return, reported twice: one notice.
    for (let i = 0; i < 2; i++) expect((await signedCallback({ transferRef: paidId, outcome: 'RETURNED', settledAt: new Date().toISOString() })).status).toBe(200);

    const ops = apiClient(server.url, await tokenFor(server.url, { role: 'ops' }));
    type Notices = { items: { event: string; paymentId: string; text: string; sentAt: string }[] };
    const of = async (who: Person) => (await ops.get<Notices>(`/local/notifications?personalId=${who.personalId}`)).body.items;
    const sent = { paid: await of(people.paid), closed: await of(people.closed), held: await of(people.held) };
    expect(sent.paid.map((notice) => notice.event)).toEqual(['PAID', 'RETURNED']);
    expect(sent.closed.map((notice) => notice.event)).toEqual(['FAILED_ACTION_NEEDED']);
    expect(sent.held.map((notice) => notice.event)).toEqual(['ON_HOLD_LINK_ACCOUNT']);
    expect(sent.paid[0]!.text).toContain('Trợ cấp xã hội hằng tháng');
    expect(sent.paid[0]!.text).toContain('kỳ 10/2026');
    expect(sent.paid[0]!.text).toContain('590.000 đồng');
    expect(sent.paid[0]!.text).toContain('****8888');
    expect(sent.closed[0]!.text).toMatch(/Liên kết một tài khoản/);
    for (const notice of [...sent.paid, ...sent.closed, ...sent.held]) {
      for (const who of Object.values(people)) expect(notice.text).not.toContain(who.personalId);
      for (const account of Object.values(accounts)) expect(notice.text).not.toContain(account);
      expect(notice.text, 'no run of 9 or more digits (an ID or an account number)').not.toMatch(/[0-9]{9,}/);
    }

    // Only an operator reads them; the personal ID must be one.
    expect((await hcm.get(`/local/notifications?personalId=${people.paid.personalId}`)).status).toBe(403);
    expect((await ops.get('/local/notifications?personalId=12345')).status).toBe(422);
  });
});
