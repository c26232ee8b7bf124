import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, personalIdFor, type ApiAnswer } from '../support/api-client.js';
import { startLocalServer, tokenFor, type RunningServer } from '../support/local-server.js';

/**
 * Creates with payments under concurrency and with mismatched totals (api.md,
 * "Version 1.1 additions", HTTP conventions; issue 11), over HTTP against the
 * local server.
 *
 * Old code: 30 identical creates sent together got 429 for most of them and 409
 * for some, and in most rounds the batch was left OPEN with every payment in it
 * while each further identical replay answered 429 for ever (the seal after the
 * upload saw the request's own released lease in a stale snapshot). A create
 * whose payments did not match `control` answered 422 but left an OPEN batch,
 * and the corrected retry with the same batchRef got 409 BATCH_REF_CONFLICT.
 */

let server: RunningServer;
let hcm: ReturnType<typeof apiClient>;
let serial = 0;

type Batch = { batchId: string; batchRef: string; status: string; control: { itemCount: number; totalAmount: number } };

function payment(index: number) {
  const dateOfBirth = `19${40 + (index % 50)}-0${1 + (index % 9)}-1${index % 10}`;
  const gender = index % 2 === 0 ? 'F' : 'M';
  return {
    paymentRef: `C-${String(index).padStart(5, '0')}`,
    personalId: personalIdFor('079', dateOfBirth, gender, 400000 + index),
    fullName: index % 3 === 0 ? 'Nguyễn Thị Ánh' : 'Trần Văn Bình',
    dateOfBirth,
    gender,
    amount: 500_000 + index * 1_000,
  };
}

function createBody(items: ReturnType<typeof payment>[], control = { itemCount: items.length, totalAmount: items.reduce((sum, item) => sum + item.amount, 0) }) {
  serial += 1;
  return { batchRef: `creates-${Date.now()}-${serial}`, provinceCode: '79', programCode: 'SOCIAL_ALLOWANCE', period: '2026-11', control, payments: items };
}

async function waitForStatus(batchId: string, wanted: string, timeoutMs = 30_000): Promise<Batch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = (await hcm.get<Batch>(`/v1/batches/${batchId}`)).body;
    if (batch.status === wanted) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${batchId} is ${batch.status}, not ${wanted}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

async function listedRefs(): Promise<string[]> {
  const refs: string[] = [];
  let cursor: string | null | undefined;
  do {
    const page = await hcm.get<{ items: Batch[]; nextCursor: string | null }>(`/v1/batches?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(page.status).toBe(200);
    refs.push(...page.body.items.map((batch) => batch.batchRef));
    cursor = page.body.nextCursor;
  } while (cursor);
  return refs;
}

beforeAll(async () => {
  server = await startLocalServer({ LOCAL_QUIET: '1' });
  hcm = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '79', sub: 'hcm-creates' }));
});

afterAll(async () => {
  if (process.env.SHOW_SERVER_LOG) console.log(server.output());
  await server?.stop();
});

describe('creates with payments (api.md 1.1)', () => {
  it('30 identical creates sent together: one 201, the others 200 or 409 CONFLICT with Retry-After; never 429 or 5xx; then replays are 200 and the batch is sealed', async () => {
    const body = createBody(Array.from({ length: 40 }, (_, index) => payment(index)));
    const answers: ApiAnswer<Batch & { code?: string }>[] = await Promise.all(Array.from({ length: 30 }, () => hcm.post<Batch & { code?: string }>('/v1/batches', body)));

    const statuses = answers.map((answer) => answer.status);
    const summary = JSON.stringify(statuses.reduce<Record<number, number>>((counts, status) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }), {}));
    expect(statuses.filter((status) => status === 201), `one 201 (${summary})`).toHaveLength(1);
    expect(statuses.filter((status) => status !== 201 && status !== 200 && status !== 409), `only 200 and 409 besides (${summary})`).toEqual([]);
    const created = answers.find((answer) => answer.status === 201)!.body;
    for (const answer of answers) {
      if (answer.status === 200) expect(answer.body.batchId).toBe(created.batchId);
      if (answer.status === 409) {
        expect(answer.body.code).toBe('CONFLICT');
        expect(Number(answer.headers.get('retry-after')), 'Retry-After in seconds').toBeGreaterThan(0);
      }
    }

    // A replay once the first has finished: 200 with the same batch, which is not left OPEN.
    const replay = await hcm.post<Batch>('/v1/batches', body);
    expect(replay.status).toBe(200);
    expect(replay.body.batchId).toBe(created.batchId);
    const batch = await waitForStatus(created.batchId, 'AWAITING_APPROVAL');
    expect(batch.control).toEqual(body.control);
    const again = await hcm.post<Batch>('/v1/batches', body);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ batchId: created.batchId, status: 'AWAITING_APPROVAL' });
  });

  it('a create whose payments do not match control: 422 CONTROL_TOTALS_MISMATCH, nothing stored, and the corrected retry with the same batchRef is 201', async () => {
    const items = Array.from({ length: 5 }, (_, index) => payment(100 + index));
    const correct = createBody(items);
    const wrong = { ...correct, control: { itemCount: correct.control.itemCount, totalAmount: correct.control.totalAmount + 1_000 } };

    const refused = await hcm.post<{ code: string }>('/v1/batches', wrong);
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('CONTROL_TOTALS_MISMATCH');
    expect(await listedRefs(), 'nothing stored').not.toContain(correct.batchRef);

    // Four payments for a total of five: refused too, still nothing stored.
    const alsoRefused = await hcm.post<{ code: string }>('/v1/batches', { ...correct, payments: items.slice(0, 4), control: { itemCount: 4, totalAmount: correct.control.totalAmount } });
    expect(alsoRefused.status).toBe(422);
    expect(alsoRefused.body.code).toBe('CONTROL_TOTALS_MISMATCH');

    const retried = await hcm.post<Batch>('/v1/batches', correct);
    expect(retried.status).toBe(201);
    expect(retried.body.batchRef).toBe(correct.batchRef);
    await waitForStatus(retried.body.batchId, 'AWAITING_APPROVAL');
    expect((await listedRefs()).filter((ref) => ref === correct.batchRef)).toHaveLength(1);
  });
});
