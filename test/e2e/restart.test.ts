import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalDynamo } from '../../local/dynamodb.js';
import { apiClient, personalIdFor } from '../support/api-client.js';
import { startLocalServer, tokenFor, type RunningServer } from '../support/local-server.js';

/**
 * The "done when" of issue 11: `npm start`, create a batch, kill -9 the server
 * mid-disbursement, start it again on the same data folder: the batch completes
 * with correct totals and nobody is paid twice; a token issued before the
 * restart still works after it.
 *
 * Old code: the local store was in memory, so a kill -9 lost every batch,
 * account, person and provider record (and the signing key: old tokens were
 * refused); and nothing re-drove the work in flight after a restart.
 */

const dataDir = mkdtempSync(join(tmpdir(), 'restart-e2e-'));
const serverEnv = {
  LOCAL_DATA: 'disk',
  LOCAL_DATA_DIR: dataDir,
  LOCAL_QUIET: '1',
  // The reconciler at test speed (the first run at start re-drives everything anyway).
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

type Batch = { batchId: string; status: string; counts: Record<string, number>; amounts: Record<string, number>; control: { itemCount: number; totalAmount: number } };
type Payment = { paymentId: string; paymentRef: string; status: string; amount: number };
type Report = { totals: { control: { itemCount: number; totalAmount: number }; byStatus: Record<string, { count: number; amount: number }> }; items: unknown[] };

/**
 * Enough that the kill lands mid-disbursement: the sandbox pays in milliseconds, and between the first PAID
 * seen and the kill 14 to 40 of 40 were paid on the 2-core machine (all 40 once: a red run that proved nothing).
 */
const PAYMENTS = 120;

function person(index: number) {
  const dateOfBirth = `19${45 + (index % 40)}-0${1 + (index % 9)}-1${index % 10}`;
  const gender = index % 2 === 0 ? ('F' as const) : ('M' as const);
  return { personalId: personalIdFor('079', dateOfBirth, gender, 610000 + index), fullName: index % 2 === 0 ? 'Nguyễn Thị Ánh' : 'Trần Văn Bình', dateOfBirth, gender };
}

/** What the store in the data folder holds, read with the server stopped (or killed): the sandbox provider's records and the batch's payments' statuses. */
async function readStore(batchId: string): Promise<{ instructions: Record<string, unknown>[]; transfers: Record<string, unknown>[]; statuses: string[] }> {
  const dynamo = await startLocalDynamo('local', { path: join(dataDir, 'dynamodb') });
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'ap-southeast-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }));
  const scan = async (table: string) => {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  };
  try {
    const provider = await scan(dynamo.tableNames.sandboxProvider);
    const core = await scan(dynamo.tableNames.core);
    return {
      instructions: provider.filter((item) => String(item.pk).startsWith('INSTRUCTION#')),
      transfers: provider.filter((item) => String(item.pk).startsWith('TRANSFER#')),
      // Payment items live in the batch's shard partitions (`BATCH#<batchId>#Snn`).
      statuses: core.filter((item) => String(item.pk).startsWith(`BATCH#${batchId}#S`) && typeof item.status === 'string').map((item) => String(item.status)),
    };
  } finally {
    client.destroy();
    await dynamo.stop();
  }
}

describe('a kill -9 of npm start mid-disbursement, and a restart', () => {
  it('completes the batch with exact totals, pays nobody twice, and keeps tokens valid', async () => {
    const started = Date.now();
    running = await startLocalServer(serverEnv);
    const first = running;
    expect(first.output()).toContain(dataDir);
    const makerToken = await tokenFor(first.url, { role: 'province', provinceCode: '79', sub: 'hcm-restart-maker' });
    const approverToken = await tokenFor(first.url, { role: 'approver', provinceCode: '79', sub: 'hcm-restart-checker' });
    const maker = apiClient(first.url, makerToken);

    // 40 people in the register, each with a linked account that the sandbox provider pays at once.
    const people = Array.from({ length: PAYMENTS }, (_, index) => person(index));
    expect((await apiClient(first.url).post('/local/population', { citizens: people })).status).toBe(200);
    await Promise.all(
      people.map(async (who, index) => {
        const client = apiClient(first.url, await tokenFor(first.url, { role: 'beneficiary', personalId: who.personalId }));
        const linked = await client.call('PUT', `/v1/accounts/${who.personalId}`, {
          json: { provider: { type: 'BANK', code: '970436' }, accountNumber: `9704${String(index).padStart(6, '0')}1234`, accountName: who.fullName },
        });
        expect(linked.status).toBe(200);
      }),
    );
    const items = people.map((who, index) => ({ paymentRef: `R-${String(index).padStart(4, '0')}`, ...who, amount: 500_000 + index * 1_000 }));
    const control = { itemCount: items.length, totalAmount: items.reduce((sum, item) => sum + item.amount, 0) };
    const created = await maker.post<Batch>('/v1/batches', { batchRef: `restart-${Date.now()}`, provinceCode: '79', programCode: 'SOCIAL_ALLOWANCE', period: '2026-11', control, payments: items });
    expect(created.status).toBe(201);
    const batchId = created.body.batchId;
    for (let batch = created.body; batch.status !== 'AWAITING_APPROVAL'; batch = (await maker.get<Batch>(`/v1/batches/${batchId}`)).body) {
      expect(batch.status, 'verification').toMatch(/OPEN|SUBMITTED|AWAITING_APPROVAL/);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // Approve, and kill -9 as soon as some payments are PAID but not all.
    const approved = await apiClient(first.url, approverToken).post<Batch>(`/v1/batches/${batchId}/approve`);
    expect(approved.status).toBe(200);
    let statusesSeen: string[] = [];
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      statusesSeen = (await maker.get<{ items: Payment[] }>(`/v1/batches/${batchId}/payments?limit=1000`)).body.items.map((payment) => payment.status);
      if (statusesSeen.includes('PAID')) break;
    }
    await first.stop('SIGKILL');
    running = undefined;
    expect(statusesSeen, 'killed mid-disbursement').toContain('PAID');

    // What the dead process left: some paid, some not (the point of the test), read from the store itself.
    const left = await readStore(batchId);
    expect(left.statuses).toHaveLength(PAYMENTS);
    const paidAtKill = left.statuses.filter((status) => status === 'PAID').length;
    console.log(`at the kill: ${JSON.stringify(left.statuses.reduce<Record<string, number>>((counts, status) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }), {}))}, ${left.instructions.length} instructions`);
    expect(paidAtKill, 'not every payment was paid before the kill').toBeLessThan(PAYMENTS);

    // Start again on the same folder: the reconciler's first run re-drives what was in flight.
    running = await startLocalServer(serverEnv);
    const second = running;
    expect(second.output()).toMatch(/the reconciler ran at start \(\d+ batch\(es\) watched, \d+ repair\(s\)\)/);
    // The tokens issued before the restart are still valid (the signing key lives with the data).
    const makerAfter = apiClient(second.url, makerToken);
    let batch: Batch | undefined;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
      const answer = await makerAfter.get<Batch>(`/v1/batches/${batchId}`);
      expect(answer.status, 'a token from before the restart').toBe(200);
      batch = answer.body;
      if (batch.status === 'COMPLETED') break;
    }
    expect(batch?.status, JSON.stringify(batch?.counts)).toBe('COMPLETED');

    // Counts equal a recount of the payments; the report's totals equal the control totals.
    const listed = await makerAfter.get<{ items: Payment[] }>(`/v1/batches/${batchId}/payments?limit=1000`);
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(PAYMENTS);
    const recount: Record<string, { count: number; amount: number }> = {};
    for (const payment of listed.body.items) {
      const entry = (recount[payment.status] ??= { count: 0, amount: 0 });
      entry.count += 1;
      entry.amount += payment.amount;
    }
    expect(recount).toEqual({ PAID: { count: PAYMENTS, amount: control.totalAmount } });
    for (const [status, count] of Object.entries(batch!.counts)) expect(count, `counts.${status}`).toBe(recount[status]?.count ?? 0);
    for (const [status, amount] of Object.entries(batch!.amounts)) expect(amount, `amounts.${status}`).toBe(recount[status]?.amount ?? 0);
    const report = await makerAfter.get<Report>(`/v1/batches/${batchId}/report?limit=1000`);
    expect(report.status).toBe(200);
    const byStatus = Object.values(report.body.totals.byStatus);
    expect(byStatus.reduce((sum, entry) => sum + entry.count, 0)).toBe(control.itemCount);
    expect(byStatus.reduce((sum, entry) => sum + entry.amount, 0)).toBe(control.totalAmount);
    expect(report.body.totals.byStatus.PAID).toEqual({ count: PAYMENTS, amount: control.totalAmount });
    expect(report.body.totals.control).toEqual(control);
    // Nothing else to do: the approver's old token too, and nothing left watched once the reconciler looked.
    expect((await apiClient(second.url, approverToken).get<Batch>(`/v1/batches/${batchId}`)).status).toBe(200);

    await second.stop('SIGINT');
    running = undefined;

    // Nobody paid twice, counted from what reached the provider: one accepted booking per payment, and every
    // instruction of a payment with its reference, amount and account.
    const end = await readStore(batchId);
    const paymentIds = new Set(listed.body.items.map((payment) => payment.paymentId));
    const amounts = new Map(listed.body.items.map((payment) => [payment.paymentId, payment.amount]));
    const bookings = new Map<string, number>();
    for (const transfer of end.transfers) {
      if (transfer.accepted !== true) continue;
      const reference = String(transfer.pk).slice('TRANSFER#'.length);
      bookings.set(reference, (bookings.get(reference) ?? 0) + Number(transfer.bookings ?? 1));
    }
    for (const paymentId of paymentIds) expect(bookings.get(paymentId), `${paymentId}: accepted bookings`).toBe(1);
    const accountOf = new Map<string, string>();
    for (const instruction of end.instructions) {
      const reference = String(instruction.reference);
      expect(paymentIds.has(reference), 'an instruction for a payment of the batch').toBe(true);
      expect(instruction.amount).toBe(amounts.get(reference));
      const account = `${String(instruction.providerCode)} ${String(instruction.accountNumber)}`;
      expect(account, `${reference}: the same account every time`).toBe(accountOf.get(reference) ?? account);
      accountOf.set(reference, account);
    }
    expect(accountOf.size).toBe(PAYMENTS);
    console.log(`restart e2e: ${end.instructions.length} instructions for ${PAYMENTS} payments, ${paidAtKill} paid at the kill, ${Math.round((Date.now() - started) / 1000)} s`);
  });
});
