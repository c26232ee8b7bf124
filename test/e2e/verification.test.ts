import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, personalIdFor } from '../support/api-client.js';
import { startLocalServer, tokenFor, type RunningServer } from '../support/local-server.js';

/**
 * Verification, accounts and beneficiary isolation, driven over HTTP as a
 * province, an approver and beneficiaries would. People are added to the
 * sandbox register by the test itself, so the test owns its data.
 */

let server: RunningServer;
let hcm: ReturnType<typeof apiClient>;
let hanoi: ReturnType<typeof apiClient>;
let local: ReturnType<typeof apiClient>;
const period = '2026-11';
let counter = 0;

interface Person {
  personalId: string;
  fullName: string;
  dateOfBirth: string;
  gender: 'M' | 'F';
  dateOfDeath?: string;
  /** Permanent residence by the register (a province cares for the people who live in it). */
  provinceCode?: string;
}

function person(prefix: string, fullName: string, dateOfBirth: string, gender: 'M' | 'F', extra: Partial<Person> = {}): Person {
  counter += 1;
  // A tail unique to this run keeps people apart across tests of the same server.
  return { personalId: personalIdFor(prefix, dateOfBirth, gender, 700000 + counter), fullName, dateOfBirth, gender, ...extra };
}

function item(ref: string, who: Person, overrides: Record<string, unknown> = {}) {
  return { paymentRef: ref, personalId: who.personalId, fullName: who.fullName, dateOfBirth: who.dateOfBirth, gender: who.gender, amount: 500_000, ...overrides };
}

async function register(people: Person[]) {
  const answer = await local.post('/local/population', { citizens: people });
  expect(answer.status).toBe(200);
}

async function submit(client: ReturnType<typeof apiClient>, provinceCode: string, payments: ReturnType<typeof item>[]) {
  const created = await client.post<{ batchId: string; status: string }>('/v1/batches', {
    batchRef: `verify-${Date.now()}-${counter++}`,
    provinceCode,
    programCode: 'SOCIAL_ALLOWANCE',
    period,
    control: { itemCount: payments.length, totalAmount: payments.reduce((sum, p) => sum + (p.amount as number), 0) },
    payments,
  });
  expect(created.status).toBe(201);
  expect(created.body.status).toBe('SUBMITTED');
  return created.body.batchId;
}

async function waitForStatus(client: ReturnType<typeof apiClient>, batchId: string, status: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.get<{ status: string; counts: Record<string, number>; rejections: Record<string, number> }>(`/v1/batches/${batchId}`);
    if (batch.body.status === status) return batch.body;
    if (Date.now() > deadline) throw new Error(`batch ${batchId} still ${batch.body.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

type PaymentOut = { paymentId: string; paymentRef: string; status: string; reasonCode: string | null; nameMatch: string | null; personalId: string };

async function paymentsByRef(client: ReturnType<typeof apiClient>, batchId: string) {
  const listed = await client.get<{ items: PaymentOut[] }>(`/v1/batches/${batchId}/payments?limit=1000`);
  return Object.fromEntries(listed.body.items.map((payment) => [payment.paymentRef, payment]));
}

beforeAll(async () => {
  server = await startLocalServer();
  hcm = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '79', sub: 'hcm-system' }));
  hanoi = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '01', sub: 'hanoi-system' }));
  local = apiClient(server.url);
});

afterAll(async () => {
  await server?.stop();
});

describe('verification against the population register', () => {
  it('ends every payment VERIFIED or REJECTED with the right reason, and the batch AWAITING_APPROVAL', async () => {
    const anh = person('079', 'Nguyễn Thị Ánh', '1985-03-02', 'F');
    const hong = person('001', 'Lê Thị Hồng', '1950-07-15', 'F');
    const binh = person('079', 'Trần Văn Bình', '1948-01-20', 'M');
    const duc = person('048', 'Đặng Văn Đức', '1960-12-31', 'M');
    const dead = person('038', 'Phạm Văn Lộc', '1940-05-05', 'M', { dateOfDeath: '2026-09-30' });
    const twice = person('092', 'Võ Thị Yến', '1955-02-14', 'F');
    const rich = person('056', 'Huỳnh Minh Quý', '1945-09-09', 'M');
    await register([anh, hong, binh, duc, dead, twice, rich]);
    const unknown = person('079', 'Ngô Thị Xuân', '1970-01-01', 'F');

    const batchId = await submit(hcm, '79', [
      item('OK', anh),
      item('BAD-ID', anh, { paymentRef: 'BAD-ID', personalId: `${anh.personalId.slice(0, 4)}99${anh.personalId.slice(6)}` }),
      item('UNKNOWN', unknown),
      item('DEAD', dead),
      item('FOLDED', hong, { fullName: 'LE  THI HONG' }),
      item('OTHER-NAME', binh, { fullName: 'Trần Văn Bảo' }),
      item('WRONG-DOB', duc, { dateOfBirth: '1960-12-30' }),
      item('OVER', rich, { amount: 3_000_001 }),
      item('TWICE-1', twice),
      item('TWICE-2', twice),
    ]);
    const batch = await waitForStatus(hcm, batchId, 'AWAITING_APPROVAL');
    const payments = await paymentsByRef(hcm, batchId);

    const outcome = (ref: string) => [payments[ref]?.status, payments[ref]?.reasonCode, payments[ref]?.nameMatch];
    expect(outcome('OK')).toEqual(['VERIFIED', null, 'EXACT']);
    expect(outcome('BAD-ID')).toEqual(['REJECTED', 'INVALID_ID', null]);
    expect(outcome('UNKNOWN')).toEqual(['REJECTED', 'ID_NOT_FOUND', null]);
    expect(outcome('DEAD')).toEqual(['REJECTED', 'DECEASED', null]);
    expect(outcome('FOLDED')).toEqual(['VERIFIED', null, 'ASCII_FOLDED']);
    expect(outcome('OTHER-NAME')).toEqual(['REJECTED', 'NAME_MISMATCH', null]);
    expect(outcome('WRONG-DOB')).toEqual(['REJECTED', 'BIRTH_DATE_MISMATCH', null]);
    expect(outcome('OVER')).toEqual(['REJECTED', 'AMOUNT_OVER_PROGRAM_LIMIT', null]);
    expect(outcome('TWICE-1')).toEqual(['VERIFIED', null, 'EXACT']);
    expect(outcome('TWICE-2')).toEqual(['REJECTED', 'DUPLICATE_ENTITLEMENT', null]);
    expect(batch.counts).toMatchObject({ RECEIVED: 0, VERIFIED: 3, REJECTED: 7 });
    expect(batch.rejections).toMatchObject({
      INVALID_ID: 1,
      ID_NOT_FOUND: 1,
      DECEASED: 1,
      NAME_MISMATCH: 1,
      BIRTH_DATE_MISMATCH: 1,
      AMOUNT_OVER_PROGRAM_LIMIT: 1,
      DUPLICATE_ENTITLEMENT: 1,
    });

    // The same person again, in another province's batch: the entitlement is taken.
    const hanoiBatch = await submit(hanoi, '01', [item('HN-TWICE', twice)]);
    await waitForStatus(hanoi, hanoiBatch, 'AWAITING_APPROVAL');
    const hanoiPayments = await paymentsByRef(hanoi, hanoiBatch);
    expect(hanoiPayments['HN-TWICE']).toMatchObject({ status: 'REJECTED', reasonCode: 'DUPLICATE_ENTITLEMENT' });
  });

  it('lets exactly one payment hold each entitlement when two batches are verified at the same time', async () => {
    const people = Array.from({ length: 40 }, (_, index) =>
      person(index % 2 === 0 ? '079' : '001', 'Bùi Thị Nhung', `19${50 + (index % 40)}-04-1${index % 10}`, 'F'),
    );
    await register(people);

    const [a, b] = await Promise.all([
      submit(hcm, '79', people.map((who, index) => item(`A-${index}`, who))),
      submit(hanoi, '01', people.map((who, index) => item(`B-${index}`, who))),
    ]);
    await Promise.all([waitForStatus(hcm, a, 'AWAITING_APPROVAL'), waitForStatus(hanoi, b, 'AWAITING_APPROVAL')]);
    const inA = await paymentsByRef(hcm, a);
    const inB = await paymentsByRef(hanoi, b);

    people.forEach((_, index) => {
      const statuses = [inA[`A-${index}`]?.status, inB[`B-${index}`]?.status].sort();
      expect(statuses).toEqual(['REJECTED', 'VERIFIED']);
    });
  });
});

describe('social security accounts and beneficiary isolation', () => {
  it('links, relinks with history, refuses what it must, and unlinks', async () => {
    const lan = person('079', 'Hoàng Thị Lan', '1952-08-08', 'F');
    // Both live in Ho Chi Minh City (79) by the register: in the care of the province acting for them below.
    const other = person('079', 'Dương Văn Sơn', '1949-03-03', 'M', { provinceCode: '79' });
    const dead = person('079', 'Đỗ Văn Phúc', '1938-10-10', 'M', { dateOfDeath: '2025-06-01', provinceCode: '79' });
    await register([lan, other, dead]);
    const lanClient = apiClient(server.url, await tokenFor(server.url, { role: 'beneficiary', personalId: lan.personalId }));
    const bank = (accountNumber: string, accountName = 'HOANG THI LAN') => ({ provider: { type: 'BANK', code: '970436' }, accountNumber, accountName });

    const linked = await lanClient.call<{ accountNumberMasked: string; status: string }>('PUT', `/v1/accounts/${lan.personalId}`, { json: bank('0123456789') });
    const relinked = await lanClient.call<{ history: unknown[] }>('PUT', `/v1/accounts/${lan.personalId}`, {
      json: { provider: { type: 'EWALLET', code: 'VIETTELMONEY' }, accountNumber: '0912345678', accountName: 'Hoàng Thị Lan' },
    });
    const mine = await lanClient.get<{ accountNumberMasked: string; history: { unlinkedAt: string | null }[] }>('/v1/me/account');
    const otherPerson = await lanClient.call('PUT', `/v1/accounts/${other.personalId}`, { json: bank('0123456789', 'Duong Van Son') });
    const readOther = await lanClient.get(`/v1/accounts/${other.personalId}`);
    const withoutConsent = await hcm.call<{ errors: { path: string }[] }>('PUT', `/v1/accounts/${other.personalId}`, { json: bank('0123456789', 'Duong Van Son') });
    const withConsent = await hcm.call('PUT', `/v1/accounts/${other.personalId}`, { json: { ...bank('5555000011112222', 'Dương Văn Sơn'), consentRef: 'CONSENT-79-0001' } });
    const wrongName = await hcm.call<{ errors: { code: string }[] }>('PUT', `/v1/accounts/${other.personalId}`, {
      json: { ...bank('0123456789', 'Nguyễn Văn Sơn'), consentRef: 'CONSENT-79-0002' },
    });
    const deceased = await hcm.call<{ errors: { code: string }[] }>('PUT', `/v1/accounts/${dead.personalId}`, {
      json: { ...bank('0123456789', 'Do Van Phuc'), consentRef: 'CONSENT-79-0003' },
    });
    const unlinked = await lanClient.call('DELETE', `/v1/accounts/${lan.personalId}`);
    const afterUnlink = await lanClient.get('/v1/me/account');

    expect(linked.status).toBe(200);
    expect(linked.body).toMatchObject({ accountNumberMasked: '****6789', status: 'LINKED' });
    expect(linked.text).not.toContain('0123456789');
    expect(relinked.status).toBe(200);
    expect(relinked.body.history).toHaveLength(2);
    expect(mine.body.accountNumberMasked).toBe('****5678');
    expect(mine.body.history.map((entry) => entry.unlinkedAt === null)).toEqual([true, false]);
    expect(otherPerson.status).toBe(404);
    expect(readOther.status).toBe(404);
    expect(withoutConsent.status).toBe(422);
    expect(withoutConsent.body.errors[0]!.path).toBe('consentRef');
    expect(withConsent.status).toBe(200);
    expect(wrongName.status).toBe(422);
    expect(wrongName.body.errors[0]!.code).toBe('ACCOUNT_NAME_MISMATCH');
    expect(deceased.status).toBe(422);
    expect(deceased.body.errors[0]!.code).toBe('DECEASED');
    expect(unlinked.status).toBe(204);
    expect(afterUnlink.status).toBe(404);
  });

  it('shows a beneficiary their own payments only', async () => {
    const mai = person('079', 'Lý Thị Mai', '1951-11-11', 'F');
    const tuan = person('079', 'Vũ Văn Tuấn', '1947-06-06', 'M');
    await register([mai, tuan]);
    const batchId = await submit(hcm, '79', [item('MAI', mai), item('TUAN', tuan)]);
    await waitForStatus(hcm, batchId, 'AWAITING_APPROVAL');
    const maiClient = apiClient(server.url, await tokenFor(server.url, { role: 'beneficiary', personalId: mai.personalId }));
    const tuanClient = apiClient(server.url, await tokenFor(server.url, { role: 'beneficiary', personalId: tuan.personalId }));

    const maiList = await maiClient.get<{ items: { paymentId: string; program: { nameVi: string }; status: string }[] }>('/v1/me/payments');
    const maiPaymentId = maiList.body.items[0]!.paymentId;
    const own = await maiClient.get<{ history: unknown[] }>(`/v1/me/payments/${maiPaymentId}`);
    const ownGeneric = await maiClient.get<{ personalId: string }>(`/v1/payments/${maiPaymentId}`);
    const tuanSeesMai = await tuanClient.get(`/v1/me/payments/${maiPaymentId}`);
    const tuanSeesMaiGeneric = await tuanClient.get(`/v1/payments/${maiPaymentId}`);
    const tuanList = await tuanClient.get<{ items: { paymentId: string }[] }>('/v1/me/payments');
    const beneficiaryReadsBatch = await maiClient.get(`/v1/batches/${batchId}`);

    expect(maiList.body.items).toHaveLength(1);
    expect(maiList.body.items[0]!.program.nameVi.length).toBeGreaterThan(0);
    expect(own.status).toBe(200);
    expect(own.body.history.length).toBeGreaterThanOrEqual(2);
    expect(ownGeneric.body.personalId).toBe(mai.personalId);
    expect(tuanSeesMai.status).toBe(404);
    expect(tuanSeesMaiGeneric.status).toBe(404);
    expect(tuanList.body.items.map((payment) => payment.paymentId)).not.toContain(maiPaymentId);
    expect(beneficiaryReadsBatch.status).toBe(403);
  });

  it('logged no personal ID number anywhere during the run', () => {
    const output = server.output();

    expect(output.length).toBeGreaterThan(0);
    expect(output).not.toMatch(/(?<!\d)\d{12}(?!\d)/);
  });
});
