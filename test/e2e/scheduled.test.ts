import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { apiClient, personalIdFor } from '../support/api-client.js';
import { startLocalServer, tokenFor, type RunningServer } from '../support/local-server.js';

/**
 * Scheduled payment date (api.md "Version 1.1 additions"): an approved batch
 * sends nothing before its scheduledFor (payments stay VERIFIED), everything
 * after; it may be cancelled until then and not after; the batch view and the
 * report show it; and the start survives a kill -9 of the server (the batch in
 * the durable store is the timer: the reconciler of the restarted server
 * starts it).
 */

const dataDir = mkdtempSync(join(tmpdir(), 'scheduled-e2e-'));
const serverEnv = {
  LOCAL_DATA: 'disk',
  LOCAL_DATA_DIR: dataDir,
  LOCAL_QUIET: '1',
  LOCAL_REPAIR_INTERVAL_MS: '1000',
  REPAIR_QUIET_SECONDS: '2',
  REPAIR_REDRIVE_AFTER_SECONDS: '6',
  REPAIR_RECHECK_SECONDS: '2',
};
let running: RunningServer | undefined;

afterAll(async () => {
  await running?.stop('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

type Batch = { batchId: string; status: string; scheduledFor: string | null; counts: Record<string, number> };
type Payment = { paymentId: string; status: string; history: { status: string; at: string }[] };
type Client = ReturnType<typeof apiClient>;

let counter = 0;
function person(fullName: string) {
  counter += 1;
  const dateOfBirth = `197${counter % 10}-1${counter % 3}-0${1 + (counter % 9)}`;
  return { personalId: personalIdFor('079', dateOfBirth, 'F', 660_000 + counter), fullName, dateOfBirth, gender: 'F' as const };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function clients(url: string) {
  return {
    maker: apiClient(url, await tokenFor(url, { role: 'province', provinceCode: '79', sub: 'sched-maker' })),
    checker: apiClient(url, await tokenFor(url, { role: 'approver', provinceCode: '79', sub: 'sched-checker' })),
    local: apiClient(url),
  };
}

/** A verified batch of `size` people with linked accounts, scheduled for `scheduledFor`, approved. */
async function approvedScheduledBatch(url: string, scheduledFor: string | undefined, size = 2): Promise<string> {
  const { maker, checker, local } = await clients(url);
  const people = Array.from({ length: size }, (_, index) => person(`Phạm Thị Hẹn ${counter}-${index}`));
  expect((await local.post('/local/population', { citizens: people })).status).toBe(200);
  for (const who of people) {
    const beneficiary = apiClient(url, await tokenFor(url, { role: 'beneficiary', personalId: who.personalId }));
    const linked = await beneficiary.call('PUT', `/v1/accounts/${who.personalId}`, { json: { provider: { type: 'BANK', code: '970436' }, accountNumber: '1234567890', accountName: who.fullName } });
    expect(linked.status).toBe(200);
  }
  const created = await maker.post<Batch>('/v1/batches', {
    batchRef: `scheduled-${Date.now()}-${counter}`,
    provinceCode: '79',
    programCode: 'SOCIAL_ALLOWANCE',
    period: '2026-09',
    control: { itemCount: size, totalAmount: size * 500_000 },
    ...(scheduledFor ? { scheduledFor } : {}),
    payments: people.map((who, index) => ({ paymentRef: `S-${index}`, personalId: who.personalId, fullName: who.fullName, dateOfBirth: who.dateOfBirth, gender: who.gender, amount: 500_000 })),
  });
  expect(created.status).toBe(201);
  expect(created.body.scheduledFor).toBe(scheduledFor ? new Date(scheduledFor).toISOString() : null);
  const { batchId } = created.body;
  await until('verification', async () => ((await maker.get<Batch>(`/v1/batches/${batchId}`)).body.status === 'AWAITING_APPROVAL' ? true : undefined));
  const approved = await checker.post<Batch>(`/v1/batches/${batchId}/approve`);
  expect(approved.status).toBe(200);
  return batchId;
}

async function paymentsOf(maker: Client, batchId: string): Promise<Payment[]> {
  return (await maker.get<{ items: Payment[] }>(`/v1/batches/${batchId}/payments`)).body.items;
}

describe('scheduled payment date', () => {
  it('refuses a malformed scheduledFor, changing nothing', async () => {
    running = await startLocalServer(serverEnv);
    const { maker } = await clients(running.url);
    for (const scheduledFor of ['tomorrow', '2026-13-01T00:00:00Z', '2026-12-24', 20261224, null]) {
      const refused = await maker.post<{ code: string; errors: { path: string }[] }>('/v1/batches', {
        batchRef: `bad-schedule-${String(scheduledFor)}`,
        provinceCode: '79',
        programCode: 'SOCIAL_ALLOWANCE',
        period: '2026-09',
        control: { itemCount: 1, totalAmount: 500_000 },
        scheduledFor,
      });
      expect(refused.status, String(scheduledFor)).toBe(422);
      expect(refused.body.errors.some((error) => error.path === 'scheduledFor')).toBe(true);
    }
  });

  it('sends nothing before scheduledFor and everything after; shows it in the batch and the report', async () => {
    const url = (running as RunningServer).url;
    const { maker } = await clients(url);
    const scheduledFor = new Date(Date.now() + 15_000).toISOString().replace('Z', '+00:00');
    const due = Date.parse(scheduledFor);
    const batchId = await approvedScheduledBatch(url, scheduledFor);

    const report = await maker.get<{ batch: Batch }>(`/v1/batches/${batchId}/report`);
    expect(report.body.batch.scheduledFor).toBe(new Date(due).toISOString());
    // Until its time: APPROVED, every payment VERIFIED, nothing queued, sent or paid.
    let looked = 0;
    while (Date.now() < due - 700) {
      const batch = (await maker.get<Batch>(`/v1/batches/${batchId}`)).body;
      expect(batch.status).toBe('APPROVED');
      expect(batch.scheduledFor).toBe(new Date(due).toISOString());
      expect(batch.counts).toMatchObject({ VERIFIED: 2, QUEUED: 0, SENT: 0, PAID: 0, ON_HOLD: 0 });
      expect((await paymentsOf(maker, batchId)).map((payment) => payment.status)).toEqual(['VERIFIED', 'VERIFIED']);
      looked++;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(looked).toBeGreaterThan(5);
    // Then: everything, and nothing left the VERIFIED state before scheduledFor.
    const completed = await until('completion', async () => {
      const batch = (await maker.get<Batch>(`/v1/batches/${batchId}`)).body;
      return batch.status === 'COMPLETED' ? batch : undefined;
    });
    expect(completed.counts.PAID).toBe(2);
    for (const payment of await paymentsOf(maker, batchId)) {
      const queued = payment.history.find((entry) => entry.status === 'QUEUED');
      expect(Date.parse(queued?.at ?? '')).toBeGreaterThanOrEqual(due);
    }
  });

  it('may be cancelled until scheduledFor (its payments CANCELLED), and not once it has come', async () => {
    const url = (running as RunningServer).url;
    const { maker } = await clients(url);
    const later = await approvedScheduledBatch(url, new Date(Date.now() + 120_000).toISOString(), 1);
    const cancelled = await maker.post<Batch>(`/v1/batches/${later}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('CANCELLED');
    await until('payments cancelled', async () => ((await paymentsOf(maker, later)).every((payment) => payment.status === 'CANCELLED') ? true : undefined));

    // scheduledFor already past at approval: the approval starts it, and it cannot be cancelled.
    const past = await approvedScheduledBatch(url, new Date(Date.now() - 60_000).toISOString(), 1);
    const refused = await maker.post<{ code: string }>(`/v1/batches/${past}/cancel`);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('INVALID_STATE');
    await until('completion', async () => ((await maker.get<Batch>(`/v1/batches/${past}`)).body.status === 'COMPLETED' ? true : undefined));

    // An unscheduled approved batch still cannot be cancelled.
    const plain = await approvedScheduledBatch(url, undefined, 1);
    expect((await maker.post(`/v1/batches/${plain}/cancel`)).status).toBe(409);
  });

  it('starts on time after a kill -9 and a restart: the durable store keeps the schedule', async () => {
    const url = (running as RunningServer).url;
    const scheduledFor = new Date(Date.now() + 8_000).toISOString();
    const batchId = await approvedScheduledBatch(url, scheduledFor);
    await (running as RunningServer).stop('SIGKILL');
    running = undefined;
    // Down across the scheduled time.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(scheduledFor) - Date.now()) + 1_000));
    running = await startLocalServer(serverEnv);
    const { maker } = await clients(running.url);
    const completed = await until('completion after the restart', async () => {
      const batch = (await maker.get<Batch>(`/v1/batches/${batchId}`)).body;
      return batch.status === 'COMPLETED' ? batch : undefined;
    });
    expect(completed.counts.PAID).toBe(2);
  });
});
