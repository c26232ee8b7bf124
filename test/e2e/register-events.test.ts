import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbackSignature } from '../../shared/app/callbacks.js';
import { apiClient, personalIdFor } from '../support/api-client.js';
import { startLocalServer, tokenFor, type RunningServer } from '../support/local-server.js';

/**
 * Events from the population register over HTTP (api.md 1.1): a death stops
 * what must not be paid (held, verified, queued and not yet handed off), lists
 * what the provider already has (SENT, PAID), closes the account link, and
 * with `funeral` prepares the funeral allowance in a batch of the province that
 * an official approves and the provider pays. Signed with the register's
 * secret; replays answer the same; nothing changes on a refused event.
 */

let server: RunningServer;
let hcm: ReturnType<typeof apiClient>;
let approver: ReturnType<typeof apiClient>;
let ops: ReturnType<typeof apiClient>;
let local: ReturnType<typeof apiClient>;
let counter = 0;
const REGISTER_SECRET = 'local-register-secret';
const DATE_OF_DEATH = '2026-10-20';
/** A period after the month of death, and the month of death itself (still owed). */
const AFTER = '2026-11';
const MONTH_OF_DEATH = '2026-10';

interface Person {
  personalId: string;
  fullName: string;
  dateOfBirth: string;
  gender: 'M' | 'F';
}

type Payment = { paymentId: string; paymentRef: string; status: string; reasonCode: string | null; period: string };
type Batch = { batchId: string; status: string; programCode: string; provinceCode: string; createdBy: string; counts: Record<string, number>; amounts: Record<string, number>; control: { itemCount: number; totalAmount: number } };
type Answer = { eventId: string; cancelledPayments: number; funeralAllowance: { batchId: string } | null; paidAfterDeath: { paymentId: string; status: string; provinceCode: string }[] };

function person(fullName: string): Person {
  counter += 1;
  const dateOfBirth = `19${30 + (counter % 40)}-0${1 + (counter % 9)}-2${counter % 8}`;
  return { personalId: personalIdFor('079', dateOfBirth, 'F', 960000 + counter), fullName, dateOfBirth, gender: 'F' };
}

async function register(...people: Person[]) {
  expect((await local.post('/local/population', { citizens: people })).status).toBe(200);
}

async function link(who: Person, accountNumber: string) {
  const client = apiClient(server.url, await tokenFor(server.url, { role: 'beneficiary', personalId: who.personalId }));
  const answer = await client.call('PUT', `/v1/accounts/${who.personalId}`, { json: { provider: { type: 'BANK', code: '970436' }, accountNumber, accountName: who.fullName } });
  expect(answer.status).toBe(200);
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

async function payment(paymentId: string): Promise<Payment> {
  const answer = await hcm.get<Payment>(`/v1/payments/${paymentId}`);
  expect(answer.status).toBe(200);
  return answer.body;
}

async function waitForPayment(paymentId: string, done: (payment: Payment) => boolean, timeoutMs = 50_000): Promise<Payment> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await payment(paymentId);
    if (done(current)) return current;
    if (Date.now() > deadline) throw new Error(`payment not done: ${current.status} ${current.reasonCode}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/** A batch of one payment per person for `period`, verified (AWAITING_APPROVAL); returns its id and payment ids by person. */
async function verifiedBatch(people: Person[], period: string): Promise<{ batchId: string; paymentIds: string[] }> {
  const payments = people.map((who, index) => ({ paymentRef: `p${index}`, personalId: who.personalId, fullName: who.fullName, dateOfBirth: who.dateOfBirth, gender: who.gender, amount: 500_000 }));
  const created = await hcm.post<Batch>('/v1/batches', {
    batchRef: `death-${Date.now()}-${counter++}`,
    provinceCode: '79',
    programCode: 'SOCIAL_ALLOWANCE',
    period,
    control: { itemCount: payments.length, totalAmount: payments.length * 500_000 },
    payments,
  });
  expect(created.status).toBe(201);
  await waitFor(created.body.batchId, (batch) => batch.status === 'AWAITING_APPROVAL');
  const listed = await hcm.get<{ items: Payment[] }>(`/v1/batches/${created.body.batchId}/payments?limit=1000`);
  const byRef = new Map(listed.body.items.map((item) => [item.paymentRef, item.paymentId]));
  return { batchId: created.body.batchId, paymentIds: people.map((_, index) => byRef.get(`p${index}`) ?? '') };
}

function deathEvent(who: Person, extra: Record<string, unknown> = {}) {
  counter += 1;
  return { eventId: `reg-${Date.now()}-${counter}`, type: 'DEATH_REGISTERED', personalId: who.personalId, dateOfDeath: DATE_OF_DEATH, registeredAt: '2026-10-21T03:00:00Z', ...extra };
}

async function sendEvent<T = Answer>(body: unknown, options: { timestamp?: number; secret?: string; raw?: string } = {}) {
  const raw = options.raw ?? JSON.stringify(body);
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const response = await fetch(`${server.url}/v1/register-events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-timestamp': timestamp, 'x-signature': callbackSignature(options.secret ?? REGISTER_SECRET, timestamp, raw) },
    body: raw,
  });
  return { status: response.status, body: (await response.json()) as T & { code?: string; detail?: string } };
}

beforeAll(async () => {
  server = await startLocalServer();
  hcm = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '79', sub: 'hcm-maker' }));
  approver = apiClient(server.url, await tokenFor(server.url, { role: 'approver', provinceCode: '79', sub: 'hcm-checker' }));
  ops = apiClient(server.url, await tokenFor(server.url, { role: 'ops', sub: 'ops-1' }));
  local = apiClient(server.url);
});

afterAll(async () => {
  await server?.stop();
});

describe('POST /v1/register-events', () => {
  it('refuses a bad signature and a stale timestamp with 401, changing nothing', async () => {
    const who = person('Ngô Thị Lan');
    await register(who);
    await link(who, '1234561111');
    const { paymentIds } = await verifiedBatch([who], AFTER);
    const event = deathEvent(who);

    const forged = await sendEvent(event, { secret: 'not-the-register-secret' });
    const signedByProvider = await sendEvent(event, { secret: 'local-provider-secret' });
    const stale = await sendEvent(event, { timestamp: Math.floor(Date.now() / 1000) - 400 });
    const future = await sendEvent(event, { timestamp: Math.floor(Date.now() / 1000) + 400 });
    for (const refused of [forged, signedByProvider, stale, future]) {
      expect(refused.status).toBe(401);
      expect(refused.body.code).toBe('UNAUTHENTICATED');
    }
    expect(stale.body.detail).toMatch(/300 s/);
    expect(await payment(paymentIds[0]!)).toMatchObject({ status: 'VERIFIED', reasonCode: null });
    const own = apiClient(server.url, await tokenFor(server.url, { role: 'beneficiary', personalId: who.personalId }));
    expect((await own.get('/v1/me/account')).status).toBe(200);

    // The same eventId, signed correctly afterwards, is a first delivery: the refusals stored nothing.
    const accepted = await sendEvent(event);
    expect(accepted.status).toBe(202);
    expect(accepted.body.cancelledPayments).toBe(1);
    expect(await payment(paymentIds[0]!)).toMatchObject({ status: 'CANCELLED', reasonCode: 'DECEASED' });
    // The account link is closed (its history kept, the unlink audited): no current link any more.
    expect((await own.get('/v1/me/account')).status).toBe(404);
  });

  it('refuses a malformed or impossible event with 422 naming the field, changing nothing', async () => {
    const who = person('Đinh Thị Mai');
    const badId = await sendEvent({ ...deathEvent(who), personalId: '12345' });
    expect(badId.status).toBe(422);
    expect(JSON.stringify(badId.body)).toContain('personalId');
    const future = await sendEvent({ ...deathEvent(who), dateOfDeath: '2999-01-01', registeredAt: '2999-01-02T00:00:00Z' });
    expect(future.status).toBe(422);
    expect(JSON.stringify(future.body)).toContain('dateOfDeath');
    const unknownType = await sendEvent({ ...deathEvent(who), type: 'BIRTH_REGISTERED' });
    expect(unknownType.status).toBe(422);
    const notJson = await sendEvent(undefined, { raw: '{"eventId":' });
    expect(notJson.status).toBe(400);
    // Nothing was stored for the eventId: the same event, well formed, is received as new.
    expect((await sendEvent(deathEvent(who))).status).toBe(202);
  });

  it('without funeral: cancels a held payment after the month of death, keeps the month of death and other people; a replay answers the same', async () => {
    const deceased = person('Lý Thị Nga');
    const other = person('Mạc Thị Oanh');
    await register(deceased, other);
    // Held: an approved batch of the month after the death, no account linked yet.
    const held = await verifiedBatch([deceased, other], AFTER);
    expect((await approver.post(`/v1/batches/${held.batchId}/approve`)).status).toBe(200);
    await waitForPayment(held.paymentIds[0]!, (p) => p.status === 'ON_HOLD');
    await waitForPayment(held.paymentIds[1]!, (p) => p.status === 'ON_HOLD');
    // Verified, not yet approved: a batch of the month of death (still owed).
    const ofMonth = await verifiedBatch([deceased], MONTH_OF_DEATH);

    const event = deathEvent(deceased);
    const first = await sendEvent(event);
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ eventId: event.eventId, cancelledPayments: 1, funeralAllowance: null, paidAfterDeath: [] });

    expect(await payment(held.paymentIds[0]!)).toMatchObject({ status: 'CANCELLED', reasonCode: 'DECEASED' });
    expect(await payment(held.paymentIds[1]!)).toMatchObject({ status: 'ON_HOLD' }); // another person's
    expect(await payment(ofMonth.paymentIds[0]!)).toMatchObject({ status: 'VERIFIED' }); // the month of death is still owed
    const counted = await waitFor(held.batchId, (batch) => batch.counts.CANCELLED === 1);
    expect(counted.counts.ON_HOLD).toBe(1);
    expect(counted.amounts.CANCELLED).toBe(500_000);

    // The same event again: the same answer, nothing changed.
    const replay = await sendEvent(event);
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual(first.body);
    // The same eventId with another content: 409, nothing changed.
    const changed = await sendEvent({ ...event, dateOfDeath: '2026-09-01' });
    expect(changed.status).toBe(409);
    expect(changed.body.code).toBe('CONFLICT');
    expect(await payment(ofMonth.paymentIds[0]!)).toMatchObject({ status: 'VERIFIED' });

    // The batch's audit trail records the cancellation as the register's.
    const audit = await hcm.get<{ items: { actor: string; changes: { subject: string; to: string; reasonCode?: string | null }[] }[] }>(`/v1/batches/${held.batchId}/audit?limit=1000`);
    expect(audit.body.items.some((record) => record.actor === 'register:population' && record.changes.some((change) => change.to === 'CANCELLED' && change.reasonCode === 'DECEASED'))).toBe(true);
  });

  it('a verified payment of a batch awaiting approval is cancelled, and the batch approves and completes without it', async () => {
    const deceased = person('Phan Thị Quế');
    const alive = person('Quách Thị Rạng');
    await register(deceased, alive);
    await link(alive, '1234563333');
    const batch = await verifiedBatch([deceased, alive], AFTER);
    const answer = await sendEvent(deathEvent(deceased));
    expect(answer.body.cancelledPayments).toBe(1);
    expect(await payment(batch.paymentIds[0]!)).toMatchObject({ status: 'CANCELLED', reasonCode: 'DECEASED' });
    expect((await approver.post(`/v1/batches/${batch.batchId}/approve`)).status).toBe(200);
    const done = await waitFor(batch.batchId, (b) => b.status === 'COMPLETED');
    expect(done.counts).toMatchObject({ PAID: 1, CANCELLED: 1, VERIFIED: 0, QUEUED: 0 });
  });

  it('a death arriving while the payment is QUEUED: never paid, it ends CANCELLED DECEASED', async () => {
    const deceased = person('Tạ Thị Sen');
    await register(deceased);
    await link(deceased, '1234569999'); // the sandbox provider fails transiently every time: the payment stays QUEUED
    const batch = await verifiedBatch([deceased], AFTER);
    expect((await approver.post(`/v1/batches/${batch.batchId}/approve`)).status).toBe(200);
    await waitForPayment(batch.paymentIds[0]!, (p) => p.status === 'QUEUED');

    const answer = await sendEvent(deathEvent(deceased));
    expect(answer.status).toBe(202);
    // Not yet handed off: cancelled at once; handed off (a send in flight or retrying): listed, and the worker decides at its next hand-off.
    const listed = answer.body.paidAfterDeath.map((p) => p.paymentId);
    expect(answer.body.cancelledPayments + listed.length).toBe(1);
    const final = await waitForPayment(batch.paymentIds[0]!, (p) => p.status !== 'QUEUED');
    expect(final).toMatchObject({ status: 'CANCELLED', reasonCode: 'DECEASED' });
    const done = await waitFor(batch.batchId, (b) => b.status === 'COMPLETED');
    expect(done.counts).toMatchObject({ CANCELLED: 1, PAID: 0, FAILED: 0, QUEUED: 0 });
  });

  it('a death arriving while the payment is SENT or PAID: left as it is and listed for the province', async () => {
    const sent = person('Uông Thị Tâm');
    const paid = person('Vi Thị Uyên');
    await register(sent, paid);
    await link(sent, '1234565555'); // accepted, settled later by a callback
    await link(paid, '1234564444'); // paid at once
    const batch = await verifiedBatch([sent, paid], AFTER);
    expect((await approver.post(`/v1/batches/${batch.batchId}/approve`)).status).toBe(200);
    await waitForPayment(batch.paymentIds[0]!, (p) => p.status === 'SENT');
    await waitForPayment(batch.paymentIds[1]!, (p) => p.status === 'PAID');

    const forSent = await sendEvent(deathEvent(sent));
    const forPaid = await sendEvent(deathEvent(paid));
    expect(forSent.body).toMatchObject({ cancelledPayments: 0, paidAfterDeath: [{ paymentId: batch.paymentIds[0], status: 'SENT', provinceCode: '79' }] });
    expect(forPaid.body).toMatchObject({ cancelledPayments: 0, paidAfterDeath: [{ paymentId: batch.paymentIds[1], status: 'PAID', provinceCode: '79' }] });
    expect(await payment(batch.paymentIds[0]!)).toMatchObject({ status: 'SENT' });
    expect(await payment(batch.paymentIds[1]!)).toMatchObject({ status: 'PAID' });
  });

  it('with funeral: prepares the allowance to the arranger in a batch of the province, which a second official approves and the provider pays', async () => {
    const deceased = person('Xa Thị Vân');
    const arranger = person('Yên Thị Xuân');
    await register(deceased, arranger);
    await link(arranger, '1234567777');
    const event = deathEvent(deceased, { funeral: { arrangerPersonalId: arranger.personalId, arrangerName: arranger.fullName, provinceCode: '79' } });
    const answer = await sendEvent(event);
    expect(answer.status).toBe(202);
    const batchId = answer.body.funeralAllowance?.batchId;
    expect(batchId).toBeTruthy();
    expect((await sendEvent(event)).body).toEqual(answer.body);

    const waiting = await waitFor(batchId!, (batch) => batch.status === 'AWAITING_APPROVAL');
    expect(waiting).toMatchObject({ programCode: 'FUNERAL_ALLOWANCE', provinceCode: '79', control: { itemCount: 1, totalAmount: 10_000_000 }, createdBy: 'system:register-events' });
    expect(waiting.counts.VERIFIED).toBe(1);
    const programs = await hcm.get<{ items: { code: string; maxAmount: number }[] }>('/v1/programs');
    expect(programs.body.items.find((program) => program.code === 'FUNERAL_ALLOWANCE')?.maxAmount).toBe(10_000_000);

    // Maker-checker like any batch: an official of the province approves; then the arranger's linked account is paid.
    expect((await approver.post(`/v1/batches/${batchId}/approve`)).status).toBe(200);
    const done = await waitFor(batchId!, (batch) => batch.status === 'COMPLETED');
    expect(done.counts.PAID).toBe(1);
    expect(done.amounts.PAID).toBe(10_000_000);
  });

  it('with funeral and an arranger without a linked account: the allowance waits ON_HOLD until they link one', async () => {
    const deceased = person('Âu Thị Yến');
    const arranger = person('Bạch Thị Ánh');
    await register(deceased, arranger);
    const answer = await sendEvent(deathEvent(deceased, { funeral: { arrangerPersonalId: arranger.personalId, arrangerName: arranger.fullName, provinceCode: '79' } }));
    const batchId = answer.body.funeralAllowance!.batchId;
    await waitFor(batchId, (batch) => batch.status === 'AWAITING_APPROVAL');
    expect((await approver.post(`/v1/batches/${batchId}/approve`)).status).toBe(200);
    await waitFor(batchId, (batch) => batch.counts.ON_HOLD === 1);
    await link(arranger, '1234568888');
    const done = await waitFor(batchId, (batch) => batch.counts.PAID === 1);
    expect(done.amounts.PAID).toBe(10_000_000);
  });
});

describe('POST /local/population/deaths', () => {
  it('records the death in the sandbox register and emits the signed event (ops token only)', async () => {
    const deceased = person('Cao Thị Bích');
    await register(deceased);
    const held = await verifiedBatch([deceased], AFTER);
    expect((await approver.post(`/v1/batches/${held.batchId}/approve`)).status).toBe(200);
    await waitForPayment(held.paymentIds[0]!, (p) => p.status === 'ON_HOLD');

    expect((await local.post('/local/population/deaths', { personalId: deceased.personalId, dateOfDeath: DATE_OF_DEATH })).status).toBe(401);
    expect((await hcm.post('/local/population/deaths', { personalId: deceased.personalId, dateOfDeath: DATE_OF_DEATH })).status).toBe(403);
    const recorded = await ops.post<{ eventId: string; answer: Answer }>('/local/population/deaths', { personalId: deceased.personalId, dateOfDeath: DATE_OF_DEATH });
    expect(recorded.status).toBe(200);
    expect(recorded.body.answer).toMatchObject({ eventId: recorded.body.eventId, cancelledPayments: 1, funeralAllowance: null });
    expect(recorded.text).not.toContain(deceased.personalId);
    expect(await payment(held.paymentIds[0]!)).toMatchObject({ status: 'CANCELLED', reasonCode: 'DECEASED' });
    // The register knows the death now: linking an account for the person is refused.
    const own = apiClient(server.url, await tokenFor(server.url, { role: 'beneficiary', personalId: deceased.personalId }));
    const refused = await own.call<{ errors: { code: string }[] }>('PUT', `/v1/accounts/${deceased.personalId}`, { json: { provider: { type: 'BANK', code: '970436' }, accountNumber: '1234560002', accountName: deceased.fullName } });
    expect(refused.status).toBe(422);
    expect(refused.body.errors[0]?.code).toBe('DECEASED');
  });
});
