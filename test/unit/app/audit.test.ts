import { describe, expect, it } from 'vitest';
import { AuditTrail, auditedAccountStore, auditedBatchStore, MAX_CHANGES_PER_RECORD } from '../../../shared/app/audit.js';
import type { BatchRecord, PaymentRecord } from '../../../shared/domain/batch.js';
import type { AccountLinkRecord, AccountStore } from '../../../shared/ports/account-store.js';
import type { AuditLog, AuditRecord } from '../../../shared/ports/audit-log.js';
import type { BatchStore } from '../../../shared/ports/batch-store.js';

/** An audit log that keeps what it is given. */
class MemoryAuditLog implements AuditLog {
  readonly records: AuditRecord[] = [];
  failNext = false;
  async append(records: readonly AuditRecord[]) {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('audit table unavailable');
    }
    this.records.push(...records);
  }
  async listForBatch() {
    return { items: this.records, next: undefined };
  }
}

const clock = { now: () => new Date('2026-11-30T05:00:00.000Z') };
const BATCH_ID = '01JDZ8Q0000000000000000000';

function payment(shard: number, ref: string, status: PaymentRecord['status'], history: PaymentRecord['status'][]): PaymentRecord {
  return {
    paymentId: `${BATCH_ID}-0${shard}${ref.padEnd(20, 'a')}`,
    batchId: BATCH_ID,
    shard,
    status,
    history: history.map((step) => ({ status: step, reasonCode: null, at: '2026-11-30T04:00:00.000Z' })),
  } as PaymentRecord;
}

/** A batch store whose writes succeed (or not) as the test says; only the methods used here exist. */
function fakeBatchStore(results: { transitionPayment?: PaymentRecord | undefined; transitionBatch?: BatchRecord; putBatchIfAbsent?: boolean }): BatchStore {
  return {
    transitionPayment: async () => results.transitionPayment,
    transitionBatch: async () => results.transitionBatch!,
    putBatchIfAbsent: async () => results.putBatchIfAbsent ?? true,
    getBatch: async () => undefined,
  } as unknown as BatchStore;
}

describe('AuditTrail', () => {
  it('records what a unit changed, once per scope, with who and which request', async () => {
    // Prepare
    const log = new MemoryAuditLog();
    const trail = new AuditTrail(log, clock);
    const moved = [payment(0, 'p1', 'VERIFIED', ['RECEIVED', 'VERIFIED']), payment(0, 'p2', 'REJECTED', ['RECEIVED', 'REJECTED']), payment(1, 'p3', 'VERIFIED', ['RECEIVED', 'VERIFIED'])];
    let next = 0;
    const store = auditedBatchStore({ ...fakeBatchStore({}), transitionPayment: async () => moved[next++] } as BatchStore);

    // Act
    await trail.unit({ actor: 'system:verify-worker', requestId: 'msg-1', action: 'verifyPage' }, async () => {
      for (const item of moved) await store.transitionPayment(item, ['RECEIVED'], item.status, { reasonCode: null, at: '2026-11-30T04:59:00.000Z' });
    });

    // Assess: shard 0 (two changes) and shard 1 (one), each one record
    expect(log.records).toHaveLength(2);
    expect(log.records.map((record) => [record.scope, record.changes.length])).toEqual([
      [{ kind: 'batch', batchId: BATCH_ID, shard: 0 }, 2],
      [{ kind: 'batch', batchId: BATCH_ID, shard: 1 }, 1],
    ]);
    expect(log.records[0]).toMatchObject({ actor: 'system:verify-worker', requestId: 'msg-1', action: 'verifyPage', at: '2026-11-30T05:00:00.000Z' });
    expect(log.records[0]!.changes[1]).toEqual({ subject: 'payment', paymentId: moved[1]!.paymentId, from: 'RECEIVED', to: 'REJECTED', reasonCode: null, at: '2026-11-30T04:59:00.000Z' });
  });

  it('records nothing for a unit that changed nothing (a refused request, a failed conditional write)', async () => {
    const log = new MemoryAuditLog();
    const trail = new AuditTrail(log, clock);
    const store = auditedBatchStore(fakeBatchStore({ transitionPayment: undefined }));

    await trail.unit({ actor: 'p', requestId: 'r', action: 'a' }, () => store.transitionPayment(payment(0, 'x', 'VERIFIED', []), ['RECEIVED'], 'VERIFIED', { reasonCode: null, at: 't' }));

    expect(log.records).toEqual([]);
  });

  it('still records what a failing unit changed before it failed, and rethrows its error', async () => {
    const log = new MemoryAuditLog();
    const trail = new AuditTrail(log, clock);
    const store = auditedBatchStore(fakeBatchStore({ transitionPayment: payment(2, 'y', 'QUEUED', ['VERIFIED', 'QUEUED']) }));

    const failing = trail.unit({ actor: 'system:disburse-worker', requestId: 'msg-2', action: 'disburse' }, async () => {
      await store.transitionPayment(payment(2, 'y', 'VERIFIED', []), ['VERIFIED'], 'QUEUED', { reasonCode: null, at: 't' });
      throw new Error('provider timed out');
    });

    await expect(failing).rejects.toThrow('provider timed out');
    expect(log.records).toHaveLength(1);
    expect(log.records[0]!.changes).toEqual([expect.objectContaining({ from: 'VERIFIED', to: 'QUEUED' })]);
  });

  it('fails the unit when its record cannot be written, so that the request or message is retried', async () => {
    const log = new MemoryAuditLog();
    log.failNext = true;
    const trail = new AuditTrail(log, clock);
    const store = auditedBatchStore(fakeBatchStore({ transitionPayment: payment(0, 'z', 'PAID', ['QUEUED', 'PAID']) }));

    await expect(
      trail.unit({ actor: 'a', requestId: 'r', action: 'x' }, () => store.transitionPayment(payment(0, 'z', 'QUEUED', []), ['QUEUED'], 'PAID', { reasonCode: null, at: 't' })),
    ).rejects.toThrow('audit table unavailable');
  });

  it('keeps concurrent units apart (each payment of a group in its own async chain)', async () => {
    const log = new MemoryAuditLog();
    const trail = new AuditTrail(log, clock);
    const store = auditedBatchStore(fakeBatchStore({ transitionPayment: payment(0, 'c', 'PAID', ['QUEUED', 'PAID']) }));
    const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

    await Promise.all(
      ['m1', 'm2', 'm3'].map((requestId) =>
        trail.unit({ actor: 'system:disburse-worker', requestId, action: 'disburse' }, async () => {
          await tick();
          await store.transitionPayment(payment(0, 'c', 'QUEUED', []), ['QUEUED'], 'PAID', { reasonCode: null, at: 't' });
          await tick();
        }),
      ),
    );

    expect(log.records.map((record) => [record.requestId, record.changes.length]).sort()).toEqual([
      ['m1', 1],
      ['m2', 1],
      ['m3', 1],
    ]);
  });

  it('splits a unit with very many changes (cancelling a large batch) into records of bounded size', async () => {
    const log = new MemoryAuditLog();
    const trail = new AuditTrail(log, clock);
    const store = auditedBatchStore(fakeBatchStore({ transitionPayment: payment(0, 'k', 'CANCELLED', ['RECEIVED', 'CANCELLED']) }));

    await trail.unit({ actor: 'p', requestId: 'r', action: 'cancelBatch' }, async () => {
      for (let index = 0; index < 2 * MAX_CHANGES_PER_RECORD + 1; index += 1) {
        await store.transitionPayment(payment(0, 'k', 'RECEIVED', []), ['RECEIVED'], 'CANCELLED', { reasonCode: null, at: 't' });
      }
    });

    expect(log.records.map((record) => record.changes.length)).toEqual([MAX_CHANGES_PER_RECORD, MAX_CHANGES_PER_RECORD, 1]);
  });

  it('records batch transitions, but not a tally that refreshes an APPROVED batch in place', async () => {
    const log = new MemoryAuditLog();
    const trail = new AuditTrail(log, clock);
    const approved = { batchId: BATCH_ID, status: 'APPROVED' } as BatchRecord;
    const store = auditedBatchStore(fakeBatchStore({ transitionBatch: approved }));

    await trail.unit({ actor: 'hcm-checker', requestId: 'r', action: 'approveBatch' }, async () => {
      await store.transitionBatch(BATCH_ID, ['AWAITING_APPROVAL'], 'APPROVED', { approvedBy: 'hcm-checker' }, 't1');
      await store.transitionBatch(BATCH_ID, ['APPROVED'], 'APPROVED', {}, 't2');
    });

    expect(log.records).toHaveLength(1);
    expect(log.records[0]).toMatchObject({ scope: { kind: 'batch', batchId: BATCH_ID, shard: null }, actor: 'hcm-checker' });
    expect(log.records[0]!.changes).toEqual([{ subject: 'batch', batchId: BATCH_ID, from: 'AWAITING_APPROVAL', to: 'APPROVED', at: 't1', details: { approvedBy: 'hcm-checker' } }]);
  });

  it('records account links in the person scope with the masked number only', async () => {
    const log = new MemoryAuditLog();
    const trail = new AuditTrail(log, clock);
    const link = { linkId: 'L1', personalId: '079185000001', provider: { type: 'BANK', code: '970436' }, accountNumber: '0123456789', accountNumberMasked: '****6789', accountName: 'NGUYEN THI ANH', linkedAt: 't' } as AccountLinkRecord;
    const inner = { link: async () => undefined, unlink: async () => link } as unknown as AccountStore;
    const accounts = auditedAccountStore(inner);

    await trail.unit({ actor: 'beneficiary-sub', requestId: 'r', action: 'linkAccount' }, async () => {
      await accounts.link('personhash', link);
      await accounts.unlink('personhash', { at: 't2', by: 'beneficiary-sub', consentRef: null });
    });

    expect(log.records).toHaveLength(1);
    expect(log.records[0]!.scope).toEqual({ kind: 'person', personHash: 'personhash' });
    expect(log.records[0]!.changes.map((change) => (change.subject === 'account' ? change.event : ''))).toEqual(['LINKED', 'UNLINKED']);
    const text = JSON.stringify(log.records);
    for (const secret of ['079185000001', '0123456789', 'NGUYEN']) expect(text).not.toContain(secret);
  });

  it('keeps the consent a province named to link and to unlink in the audit trail', async () => {
    // Prepare
    const log = new MemoryAuditLog();
    const trail = new AuditTrail(log, clock);
    const link = { linkId: 'L2', personalId: '079185000001', provider: { type: 'BANK', code: '970436' }, accountNumber: '0123456789', accountNumberMasked: '****6789', accountName: 'Nguyễn Thị Ánh', linkedAt: 't', linkedBy: 'hcm-system', consentRef: 'CONSENT-LINK-7' } as AccountLinkRecord;
    const accounts = auditedAccountStore({ link: async () => undefined, unlink: async () => link } as unknown as AccountStore);

    // Act
    await trail.unit({ actor: 'hcm-system', requestId: 'r', action: 'unlinkAccount' }, async () => {
      await accounts.link('personhash', link);
      await accounts.unlink('personhash', { at: 't2', by: 'hcm-system', consentRef: 'CONSENT-UNLINK-8' });
    });

    // Assess
    expect(log.records[0]!.changes).toEqual([
      expect.objectContaining({ subject: 'account', event: 'LINKED', consentRef: 'CONSENT-LINK-7' }),
      expect.objectContaining({ subject: 'account', event: 'UNLINKED', consentRef: 'CONSENT-UNLINK-8', at: 't2' }),
    ]);
  });
});
