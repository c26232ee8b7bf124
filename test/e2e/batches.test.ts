import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, personalIdFor } from '../support/api-client.js';
import { startLocalServer, tokenFor, type RunningServer } from '../support/local-server.js';

let server: RunningServer;
let hcm: ReturnType<typeof apiClient>;
let hanoi: ReturnType<typeof apiClient>;
let approver: ReturnType<typeof apiClient>;
let beneficiary: ReturnType<typeof apiClient>;
let hcmAuthorization: string;

const period = '2026-11';
let refCounter = 0;
const newBatchRef = () => `e2e-${Date.now()}-${refCounter++}`;

function payment(index: number, overrides: Record<string, unknown> = {}) {
  const dateOfBirth = `19${40 + (index % 50)}-0${1 + (index % 9)}-1${index % 10}`;
  const gender = index % 2 === 0 ? 'F' : 'M';
  return {
    paymentRef: `P-${String(index).padStart(5, '0')}`,
    personalId: personalIdFor('079', dateOfBirth, gender, 100000 + index),
    fullName: index % 3 === 0 ? 'Nguyễn Thị Ánh' : 'Trần Văn Bình',
    dateOfBirth,
    gender,
    amount: 500_000 + index * 1_000,
    ...overrides,
  };
}

function csvOf(items: ReturnType<typeof payment>[]): string {
  const header = 'paymentRef,personalId,fullName,dateOfBirth,gender,amount';
  return `\uFEFF${[header, ...items.map((p) => [p.paymentRef, p.personalId, `"${p.fullName}"`, p.dateOfBirth, p.gender, p.amount].join(','))].join('\r\n')}\r\n`;
}

const total = (items: { amount: number }[]) => items.reduce((sum, item) => sum + item.amount, 0);

async function createBatch(client: ReturnType<typeof apiClient>, items: ReturnType<typeof payment>[], extra: Record<string, unknown> = {}) {
  const body = {
    batchRef: newBatchRef(),
    provinceCode: '79',
    programCode: 'SOCIAL_ALLOWANCE',
    period,
    control: { itemCount: items.length, totalAmount: total(items) },
    ...extra,
  };
  const answer = await client.post<{ batchId: string; status: string }>('/v1/batches', body);
  expect(answer.status).toBe(201);
  return { body, batch: answer.body };
}

beforeAll(async () => {
  server = await startLocalServer();
  const hcmToken = await tokenFor(server.url, { role: 'province', provinceCode: '79', sub: 'hcm-system' });
  hcmAuthorization = `Bearer ${hcmToken}`;
  hcm = apiClient(server.url, hcmToken);
  hanoi = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '01', sub: 'hanoi-system' }));
  approver = apiClient(server.url, await tokenFor(server.url, { role: 'approver', provinceCode: '79', sub: 'hcm-approver' }));
  beneficiary = apiClient(server.url, await tokenFor(server.url, { role: 'beneficiary', personalId: '079185012345' }));
});

afterAll(async () => {
  if (process.env.SHOW_SERVER_LOG) console.log(server.output());
  await server?.stop();
});

describe('provincial batches over HTTP', () => {
  it('creates a batch, uploads chunks as JSON and CSV, seals it, and reports exact totals', async () => {
    const items = Array.from({ length: 30 }, (_, index) => payment(index));
    const { batch } = await createBatch(hcm, items);
    expect(batch.status).toBe('OPEN');

    const first = await hcm.post<{ accepted: number }>(`/v1/batches/${batch.batchId}/payments`, { payments: items.slice(0, 12) });
    const second = await hcm.postCsv<{ accepted: number }>(`/v1/batches/${batch.batchId}/payments`, csvOf(items.slice(12)));
    const sealed = await hcm.post<{ status: string; received: unknown }>(`/v1/batches/${batch.batchId}/seal`);
    const read = await approver.get<{ counts: Record<string, number>; amounts: Record<string, number>; received: unknown; status: string }>(
      `/v1/batches/${batch.batchId}`,
    );

    expect(first.text).toContain('accepted');
    expect(first.body.accepted).toBe(12);
    expect(second.status).toBe(200);
    expect(second.body.accepted).toBe(18);
    expect(sealed.status).toBe(200);
    expect(sealed.body.status).toBe('SUBMITTED');
    expect(read.body.received).toEqual({ itemCount: 30, totalAmount: total(items) });
    // Verification starts at the seal and may already have moved some payments on by the time of the read
    // (the read's function may be cold): every payment is RECEIVED, VERIFIED or REJECTED, and they add up.
    const sealedStatuses = ['RECEIVED', 'VERIFIED', 'REJECTED'] as const;
    expect(sealedStatuses.reduce((sum, status) => sum + (read.body.counts[status] ?? 0), 0)).toBe(30);
    expect(sealedStatuses.reduce((sum, status) => sum + (read.body.amounts[status] ?? 0), 0)).toBe(total(items));
    expect(Object.keys(read.body.counts)).toHaveLength(10);
    expect(read.body.counts.PAID).toBe(0);
  });

  it('creates and seals in one request when payments hold control.itemCount items', async () => {
    const items = Array.from({ length: 5 }, (_, index) => payment(index));

    const { batch } = await createBatch(hcm, items, { payments: items });

    expect(batch.status).toBe('SUBMITTED');
  });

  it('answers a replayed create with the same batch (200) and a reused batchRef with 409 BATCH_REF_CONFLICT', async () => {
    const items = [payment(1)];
    const { body, batch } = await createBatch(hcm, items);

    const replay = await hcm.post<{ batchId: string }>('/v1/batches', body);
    const { control, ...rest } = body;
    const reordered = await hcm.post<{ batchId: string }>('/v1/batches', { control, ...rest });
    const conflict = await hcm.post('/v1/batches', { ...body, period: '2026-10' });

    expect(replay.status).toBe(200);
    expect(replay.body.batchId).toBe(batch.batchId);
    expect(reordered.body.batchId).toBe(batch.batchId);
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ code: 'BATCH_REF_CONFLICT' });
  });

  it('refuses a chunk with bad items with 422 listing every error, and stores nothing', async () => {
    const items = Array.from({ length: 4 }, (_, index) => payment(index));
    const { batch } = await createBatch(hcm, items);
    const bad = [
      items[0],
      { ...items[1], amount: 12.5 },
      { ...items[2], personalId: '07918501234' },
      { ...items[3], dateOfBirth: '2023-02-29' },
    ];

    const answer = await hcm.post<{ code: string; errors: { index: number; paymentRef: string; path: string }[] }>(
      `/v1/batches/${batch.batchId}/payments`,
      { payments: bad },
    );
    const after = await hcm.get<{ received: { itemCount: number } }>(`/v1/batches/${batch.batchId}`);
    const listed = await hcm.get<{ items: unknown[] }>(`/v1/batches/${batch.batchId}/payments`);

    expect(answer.status).toBe(422);
    expect(answer.body.code).toBe('VALIDATION_FAILED');
    expect(answer.body.errors.map((error) => [error.index, error.paymentRef])).toEqual([
      [1, 'P-00001'],
      [2, 'P-00002'],
      [3, 'P-00003'],
    ]);
    expect(answer.text).not.toContain(items[2]!.personalId.slice(0, 11));
    expect(after.body.received.itemCount).toBe(0);
    expect(listed.body.items).toHaveLength(0);
  });

  it('treats a resent chunk as a no-op, and a paymentRef reused with other content as 409 storing nothing', async () => {
    const items = Array.from({ length: 6 }, (_, index) => payment(index));
    const { batch } = await createBatch(hcm, items);
    await hcm.post(`/v1/batches/${batch.batchId}/payments`, { payments: items.slice(0, 3) });

    const resent = await hcm.post<{ accepted: number; alreadyStored: number }>(`/v1/batches/${batch.batchId}/payments`, {
      payments: items.slice(0, 3),
    });
    const conflicting = await hcm.post<{ code: string; errors: { paymentRef: string }[] }>(`/v1/batches/${batch.batchId}/payments`, {
      payments: [items[3], { ...items[0], amount: 999_000 }],
    });
    const after = await hcm.get<{ received: { itemCount: number } }>(`/v1/batches/${batch.batchId}`);

    expect(resent.status).toBe(200);
    expect(resent.body).toMatchObject({ accepted: 0, alreadyStored: 3 });
    expect(conflicting.status).toBe(409);
    expect(conflicting.body.code).toBe('CONFLICT');
    expect(conflicting.body.errors.map((error) => error.paymentRef)).toEqual(['P-00000']);
    expect(after.body.received.itemCount).toBe(3);
  });

  it('refuses to seal when the payments do not match the control totals, then seals once they do', async () => {
    const items = Array.from({ length: 3 }, (_, index) => payment(index));
    const { batch } = await createBatch(hcm, items);
    await hcm.post(`/v1/batches/${batch.batchId}/payments`, { payments: items.slice(0, 2) });

    const mismatch = await hcm.post<{ code: string; expected: unknown; actual: unknown }>(`/v1/batches/${batch.batchId}/seal`);
    await hcm.post(`/v1/batches/${batch.batchId}/payments`, { payments: items.slice(2) });
    const sealed = await hcm.post<{ status: string }>(`/v1/batches/${batch.batchId}/seal`);
    const again = await hcm.post<{ status: string }>(`/v1/batches/${batch.batchId}/seal`);
    const late = await hcm.post<{ code: string }>(`/v1/batches/${batch.batchId}/payments`, { payments: [payment(99)] });

    expect(mismatch.status).toBe(422);
    expect(mismatch.body).toMatchObject({
      code: 'CONTROL_TOTALS_MISMATCH',
      expected: { itemCount: 3, totalAmount: total(items) },
      actual: { itemCount: 2, totalAmount: total(items.slice(0, 2)) },
    });
    expect(sealed.body.status).toBe('SUBMITTED');
    expect(again.status).toBe(200);
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('INVALID_STATE');
  });

  it('keeps totals above 2^31 exact', async () => {
    const items = Array.from({ length: 3 }, (_, index) => payment(index, { amount: 1_000_000_000 + index }));
    const { batch } = await createBatch(hcm, items, { programCode: 'TET_GIFT' });
    await hcm.post(`/v1/batches/${batch.batchId}/payments`, { payments: items });

    const sealed = await hcm.post<{ received: { totalAmount: number } }>(`/v1/batches/${batch.batchId}/seal`);

    expect(sealed.body.received.totalAmount).toBe(3_000_000_003);
    expect(sealed.body.received.totalAmount).toBeGreaterThan(2 ** 31);
  });

  it('lists the province\'s batches newest first with filters, and pages with a cursor bound to the query', async () => {
    const refs: string[] = [];
    for (let index = 0; index < 3; index += 1) {
      const { batch } = await createBatch(hcm, [payment(index)], { period: '2027-01' });
      refs.push(batch.batchId);
    }

    const firstPage = await hcm.get<{ items: { batchId: string; period: string }[]; nextCursor: string }>('/v1/batches?period=2027-01&limit=2');
    const secondPage = await hcm.get<{ items: { batchId: string }[]; nextCursor: string | null }>(
      `/v1/batches?period=2027-01&limit=2&cursor=${firstPage.body.nextCursor}`,
    );
    const otherQuery = await hcm.get<{ code: string }>(`/v1/batches?period=2027-02&limit=2&cursor=${firstPage.body.nextCursor}`);
    const tampered = await hcm.get<{ code: string }>(`/v1/batches?period=2027-01&limit=2&cursor=${firstPage.body.nextCursor.slice(0, -2)}AA`);
    const otherCaller = await hanoi.get<{ code: string }>(`/v1/batches?period=2027-01&limit=2&cursor=${firstPage.body.nextCursor}`);
    const byStatus = await hcm.get<{ items: { status: string }[] }>('/v1/batches?status=OPEN');
    const badFilter = await hcm.get<{ code: string }>('/v1/batches?status=DONE');

    expect(firstPage.body.items.map((item) => item.batchId)).toEqual([refs[2], refs[1]]);
    expect(secondPage.body.items.map((item) => item.batchId)).toEqual([refs[0]]);
    expect(secondPage.body.nextCursor).toBeNull();
    expect(otherQuery.status).toBe(400);
    expect(tampered.status).toBe(400);
    expect(otherCaller.status).toBe(400);
    expect(byStatus.body.items.length).toBeGreaterThan(0);
    expect(byStatus.body.items.every((item) => item.status === 'OPEN')).toBe(true);
    expect(badFilter.status).toBe(400);
  });

  it('lists payments with a status filter and a report as CSV with a BOM and totals', async () => {
    const items = Array.from({ length: 7 }, (_, index) => payment(index, { fullName: index === 0 ? '=HYPERLINK("x")' : 'Lê Thị Hồng, Hoa' }));
    const { batch } = await createBatch(hcm, items);
    await hcm.post(`/v1/batches/${batch.batchId}/payments`, { payments: items });

    const received = await hcm.get<{ items: { status: string; history: unknown[] }[] }>(`/v1/batches/${batch.batchId}/payments?status=RECEIVED&limit=1000`);
    const paid = await hcm.get<{ items: unknown[] }>(`/v1/batches/${batch.batchId}/payments?status=PAID`);
    const csv = await hcm.get(`/v1/batches/${batch.batchId}/report`, { accept: 'text/csv' });
    const report = await hcm.get<{ totals: { byStatus: Record<string, { count: number; amount: number }> }; items: unknown[] }>(
      `/v1/batches/${batch.batchId}/report`,
    );

    expect(received.text).toContain('items');
    expect(received.body.items).toHaveLength(7);
    expect(received.body.items[0]!.history).toHaveLength(1);
    expect(paid.body.items).toHaveLength(0);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    // fetch's text() drops a BOM: read the bytes.
    const raw = Buffer.from(
      await (await fetch(`${server.url}/v1/batches/${batch.batchId}/report`, { headers: { accept: 'text/csv', authorization: hcmAuthorization } })).arrayBuffer(),
    );
    expect([...raw.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(csv.text).toContain('"Lê Thị Hồng, Hoa"');
    expect(csv.text).toContain(`'=HYPERLINK(""x"")`);
    expect(csv.text).toContain(`total,RECEIVED,7,${total(items)}`);
    expect(csv.text.split('\r\n')[0]).toBe('paymentId,paymentRef,personalId,fullName,dateOfBirth,amount,status,reasonCode,nameMatch,account,updatedAt,actor,nextStep,attempt,transferRef,statementStatus');
    expect(report.body.items).toHaveLength(7);
    expect(report.body.totals.byStatus.RECEIVED).toEqual({ count: 7, amount: total(items) });
  });

  it('cancels a batch that is not yet approved, and every payment becomes CANCELLED', async () => {
    const items = Array.from({ length: 4 }, (_, index) => payment(index));
    const { batch } = await createBatch(hcm, items);
    await hcm.post(`/v1/batches/${batch.batchId}/payments`, { payments: items });

    const cancelled = await hcm.post<{ status: string; counts: Record<string, number> }>(`/v1/batches/${batch.batchId}/cancel`);
    const again = await hcm.post<{ status: string }>(`/v1/batches/${batch.batchId}/cancel`);
    const seal = await hcm.post<{ code: string }>(`/v1/batches/${batch.batchId}/seal`);
    const payments = await hcm.get<{ items: { status: string }[] }>(`/v1/batches/${batch.batchId}/payments`);

    expect(cancelled.body.status).toBe('CANCELLED');
    expect(cancelled.body.counts).toMatchObject({ RECEIVED: 0, CANCELLED: 4 });
    expect(again.status).toBe(200);
    expect(seal.status).toBe(409);
    expect(payments.body.items.map((item) => item.status)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED', 'CANCELLED']);
  });

  it("hides another province's batches and payments (404), and refuses a wrong scope (403)", async () => {
    const items = [payment(1)];
    const { batch } = await createBatch(hcm, items, { payments: items });
    const listed = await hcm.get<{ items: { paymentId: string }[] }>(`/v1/batches/${batch.batchId}/payments`);
    const paymentId = listed.body.items[0]!.paymentId;

    const answers = await Promise.all([
      hanoi.get(`/v1/batches/${batch.batchId}`),
      hanoi.get(`/v1/batches/${batch.batchId}/payments`),
      hanoi.get(`/v1/batches/${batch.batchId}/report`),
      hanoi.post(`/v1/batches/${batch.batchId}/seal`),
      hanoi.post(`/v1/batches/${batch.batchId}/cancel`),
      hanoi.get(`/v1/payments/${paymentId}`),
      hcm.get('/v1/batches/not-a-batch-id'),
    ]);
    const ownPayment = await hcm.get<{ paymentId: string; history: unknown[] }>(`/v1/payments/${paymentId}`);
    const wrongProvince = await hcm.post<{ code: string }>('/v1/batches', {
      batchRef: newBatchRef(),
      provinceCode: '01',
      programCode: 'SOCIAL_ALLOWANCE',
      period,
      control: { itemCount: 1, totalAmount: 500000 },
    });
    const approverWrites = await approver.post<{ code: string }>(`/v1/batches/${batch.batchId}/cancel`);
    const beneficiaryReads = await beneficiary.get<{ code: string }>(`/v1/batches/${batch.batchId}`);

    expect(answers.map((answer) => answer.status)).toEqual([404, 404, 404, 404, 404, 404, 404]);
    expect(ownPayment.status).toBe(200);
    expect(ownPayment.body.history.length).toBeGreaterThanOrEqual(1);
    expect(wrongProvince.status).toBe(403);
    expect(approverWrites.status).toBe(403);
    expect(approverWrites.body.code).toBe('FORBIDDEN');
    expect(beneficiaryReads.status).toBe(403);
  });

  it('refuses a wrong media type for a chunk with 415 and a CSV with a wrong header with 422', async () => {
    const { batch } = await createBatch(hcm, [payment(1)]);

    const xml = await hcm.call<{ code: string }>('POST', `/v1/batches/${batch.batchId}/payments`, {
      headers: { 'content-type': 'application/xml' },
    });
    const wrongHeader = await hcm.postCsv<{ code: string }>(`/v1/batches/${batch.batchId}/payments`, 'ref,id,name\r\nP1,1,x\r\n');

    expect(xml.status).toBe(415);
    expect(wrongHeader.status).toBe(422);
    expect(wrongHeader.body.code).toBe('VALIDATION_FAILED');
  });
});
