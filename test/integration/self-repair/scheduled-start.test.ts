import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keys } from '../../../shared/adapters/dynamodb/keys.js';
import { createBatchUseCases } from '../../../shared/app/batches.js';
import { CursorCodec } from '../../../shared/app/cursor.js';
import type { DisbursementMessage } from '../../../shared/app/disbursement.js';
import type { Principal } from '../../../shared/app/principal.js';
import { createRepairUseCases } from '../../../shared/app/repair.js';
import type { VerificationMessage } from '../../../shared/app/verification.js';
import type { Clock } from '../../../shared/domain/dates.js';
import { InvalidStateError } from '../../../shared/domain/errors.js';
import type { WorkQueue } from '../../../shared/ports/work-queue.js';
import {
  approver,
  decorate,
  drain,
  hash,
  InjectedCrash,
  MAKER,
  paymentsOf,
  PROVINCE,
  RecordingQueue,
  seedVerifiedBatch,
  startWorld,
  useCases,
  type World,
} from '../../support/disbursement-harness.js';

/**
 * Issue 15, the scheduled start under deaths (docs/decisions.md 115-116),
 * through the real store (dynalite): an approved batch whose scheduledFor has
 * not come sends nothing, whatever the reconciler does; the run that starts it
 * dies right after its `startedAt` write (the fan-out never queued): the next
 * run resumes the fan-out, and every payment is paid once. A cancel is
 * accepted before the start and refused after it.
 */

let world: World;
beforeEach(async () => {
  world = await startWorld();
});
afterEach(async () => {
  await world?.stop();
});

const QUIET_MS = 1_000;
const maker: Principal = { sub: MAKER, scopes: new Set(['batches:read', 'batches:write']), provinceCode: PROVINCE, personalId: undefined };

function reconciler(queue: WorkQueue<DisbursementMessage>, offsetMs: () => number) {
  const clock: Clock = { now: () => new Date(world.clock.now().getTime() + offsetMs()) };
  return createRepairUseCases({
    batches: world.batches,
    entitlements: world.entitlements,
    accounts: world.accounts,
    verificationQueue: new RecordingQueue<VerificationMessage>(),
    disbursementQueue: queue,
    clock,
    settings: { quietMs: QUIET_MS, redriveAfterMs: 5 * 60_000, recheckMs: QUIET_MS },
  });
}

function batchUseCases(offsetMs: () => number) {
  return createBatchUseCases({
    store: world.batches,
    entitlements: world.entitlements,
    clock: { now: () => new Date(world.clock.now().getTime() + offsetMs()) },
    newBatchId: ulid,
    newLeaseOwner: ulid,
    hash,
    cursors: new CursorCodec('scheduled-start-test-cursor-key-not-a-secret'),
    onSubmitted: async () => undefined,
  });
}

/** A verified batch scheduled `inMs` after the world's now. */
async function scheduledBatch(inMs: number, people: ('paid' | 'closed' | 'no-account')[]) {
  const seeded = await seedVerifiedBatch(world, people, 1);
  const scheduledFor = new Date(world.clock.now().getTime() + inMs).toISOString();
  await world.client.send(
    new UpdateCommand({ TableName: world.dynamo.tableNames.core, Key: keys.batch(seeded.batch.batchId), UpdateExpression: 'SET scheduledFor = :at', ExpressionAttributeValues: { ':at': scheduledFor } }),
  );
  return { seeded, scheduledFor };
}

describe('issue 15: the scheduled start survives deaths', () => {
  it('sends nothing before scheduledFor; a start that dies after startedAt is resumed by the next run; paid once', async () => {
    const { seeded } = await scheduledBatch(10 * 60_000, ['paid', 'paid', 'closed']);
    const queue = new RecordingQueue<DisbursementMessage>();
    const app = useCases(world, queue);
    await app.approve(approver('hcm-checker'), seeded.batch.batchId);
    // A retried approval and a stray fan-out page send nothing either.
    await app.approve(approver('hcm-checker'), seeded.batch.batchId);
    await app.handle({ kind: 'shard', batchId: seeded.batch.batchId, shard: 0 });
    expect(queue.sent).toEqual([]);

    let offset = 5 * 60_000; // before scheduledFor: the reconciler leaves it alone (no start, no "repair")
    const early = await reconciler(queue, () => offset).run();
    expect(early.started).toEqual([]);
    expect(early.repairs).toEqual([]);
    expect(queue.sent).toEqual([]);
    expect([...(await paymentsOf(world, seeded)).values()].every((payment) => payment.status === 'VERIFIED')).toBe(true);

    // Due: the run writes startedAt, then dies before its fan-out is queued.
    offset = 11 * 60_000;
    const dying = decorate<WorkQueue<DisbursementMessage>>(queue, { send: async () => Promise.reject(new InjectedCrash('after startedAt, before the fan-out')) });
    await expect(reconciler(dying, () => offset).run()).rejects.toThrow(InjectedCrash);
    const started = await world.batches.getBatch(seeded.batch.batchId);
    expect(started?.startedAt).toBeDefined();
    expect(queue.sent).toEqual([]);
    // Once started it can no longer be cancelled.
    await expect(batchUseCases(() => offset).cancelBatch(maker, seeded.batch.batchId)).rejects.toThrow(InvalidStateError);

    // The next run (the batch quiet) resumes the fan-out as for an approval that died before its own.
    offset = 12 * 60_000;
    const resumed = await reconciler(queue, () => offset).run();
    expect(resumed.repairs.map((repair) => repair.kind)).toEqual(['fan-out-resumed']);
    expect(resumed.started).toEqual([]);
    expect((await drain(app, queue)).unexpectedErrors).toEqual([]);
    const statuses = [...(await paymentsOf(world, seeded)).values()].map((payment) => payment.status).sort();
    expect(statuses).toEqual(['FAILED', 'PAID', 'PAID']);
    expect((await world.batches.getBatch(seeded.batch.batchId))?.status).toBe('COMPLETED');
  });

  it('a run that starts it queues the fan-out once; a cancel before the start wins over a start after it', async () => {
    const { seeded } = await scheduledBatch(10 * 60_000, ['paid']);
    const queue = new RecordingQueue<DisbursementMessage>();
    await useCases(world, queue).approve(approver('hcm-checker'), seeded.batch.batchId);
    const cancelled = await batchUseCases(() => 60_000).cancelBatch(maker, seeded.batch.batchId);
    expect(cancelled.status).toBe('CANCELLED');
    const late = await reconciler(queue, () => 11 * 60_000).run();
    expect(late.started).toEqual([]);
    expect(queue.sent).toEqual([]);
    expect([...(await paymentsOf(world, seeded)).values()].map((payment) => payment.status)).toEqual(['CANCELLED']);

    const other = await scheduledBatch(10 * 60_000, ['paid']);
    await useCases(world, queue).approve(approver('hcm-checker'), other.seeded.batch.batchId);
    const runs = await Promise.all([reconciler(queue, () => 11 * 60_000).run(), reconciler(queue, () => 11 * 60_000).run()]);
    expect(runs.flatMap((run) => run.started)).toEqual([other.seeded.batch.batchId]);
    expect(queue.sent).toEqual([{ kind: 'shard', batchId: other.seeded.batch.batchId, shard: 0 }]);
  });
});
