import { DynamoDBClient, GetItemCommand, QueryCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLocalDynamo, type LocalDynamo } from '../../../local/dynamodb.js';
import { DynamoBatchStore } from '../../../shared/adapters/dynamodb/batch-store.js';
import { createDocumentClient } from '../../../shared/adapters/dynamodb/client.js';
import { keys } from '../../../shared/adapters/dynamodb/keys.js';
import { paymentIdentity, personHash, zeroByStatus, type BatchRecord, type PaymentRecord } from '../../../shared/domain/batch.js';
import { InvalidStateError, RateLimitedError } from '../../../shared/domain/errors.js';
import { keyedHasher } from '../../../shared/domain/keyed-hash.js';
import type { BatchStatus, PaymentStatus } from '../../../shared/domain/lifecycle.js';
import { ConditionFailed, type Page, type PagePosition, type PaymentKey } from '../../../shared/ports/batch-store.js';
import { MOTO_CREDENTIALS, MOTO_REGION, motoAvailable, oneRequestAtATime, startMoto, type Moto } from '../../support/moto.js';
import { makePersonalId } from '../../support/personal-ids.js';
import { batchRecord } from '../../support/records.js';

/**
 * DynamoBatchStore against a real DynamoDB wire protocol. One suite, two
 * backends: dynalite (in process, always) and moto_server (where installed,
 * which includes CI). Each section starts from empty tables.
 */

const hash = keyedHasher('integration-test-pepper-not-a-secret');
const KEY_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk'] as const;
const LEASE_MS = 120_000;
const T0 = new Date('2026-11-23T08:00:00.000Z');

// ---------------------------------------------------------------------------
// Backends

interface Running {
  endpoint: string;
  tableName: string;
}

interface Backend {
  name: string;
  /** Payments written in the payments section (moto is about 7x slower than dynalite). */
  paymentCount: number;
  start(): Promise<void>;
  /** Empty tables: a fresh start for one section. */
  reset(): Promise<Running>;
  stop(): Promise<void>;
}

function dynaliteBackend(): Backend {
  let current: LocalDynamo | undefined;
  return {
    name: 'dynalite',
    paymentCount: 1_234,
    start: async () => undefined,
    // dynalite starts in milliseconds: a new in-memory server is the cleanest reset.
    reset: async () => {
      await current?.stop();
      current = await startLocalDynamo('it');
      return { endpoint: current.endpoint, tableName: current.tableNames.core };
    },
    stop: async () => {
      await current?.stop();
      current = undefined;
    },
  };
}

function motoBackend(): Backend {
  let moto: Moto | undefined;
  return {
    name: 'moto_server',
    paymentCount: 300,
    start: async () => {
      moto = await startMoto({ prefix: 'it' });
      if (!moto) throw new Error('moto_server is on the PATH but did not start');
    },
    reset: async () => {
      await moto!.reset();
      return { endpoint: moto!.endpoint, tableName: moto!.tableNames.core };
    },
    stop: async () => {
      await moto?.stop();
      moto = undefined;
    },
  };
}

// ---------------------------------------------------------------------------
// Fixtures

let provinceCounter = 0;
/** A province of its own per test, so that lists see only that test's batches. */
const newProvince = () => `P${String(++provinceCounter).padStart(3, '0')}`;

const minutesAfter = (base: Date, minutes: number) => new Date(base.getTime() + minutes * 60_000).toISOString();

function newBatch(overrides: Partial<BatchRecord> = {}): BatchRecord {
  return batchRecord(overrides, overrides.createdAt ?? T0.toISOString());
}

/**
 * A payment whose paymentRef is sometimes the beneficiary's personal ID
 * itself (a province may do that): neither may reach a key.
 */
function newPayment(batch: BatchRecord, index: number, overrides: Partial<PaymentRecord> = {}): PaymentRecord {
  const personalId = makePersonalId({ prefix: '079', gender: index % 2 === 0 ? 'M' : 'F', birthYear: 1940 + (index % 60), serial: 100_000 + index });
  const paymentRef = index % 3 === 0 ? personalId : `REF-${batch.provinceCode}-${String(index).padStart(6, '0')}`;
  const identity = paymentIdentity(hash, batch.batchId, paymentRef, batch.shardCount);
  const at = batch.createdAt;
  const status = overrides.status ?? 'RECEIVED';
  return {
    ...identity,
    batchId: batch.batchId,
    provinceCode: batch.provinceCode,
    programCode: batch.programCode,
    period: batch.period,
    seq: index,
    paymentRef,
    personalId,
    personHash: personHash(hash, personalId),
    fullName: `Nguyễn Văn ${index}`,
    dateOfBirth: `${1940 + (index % 60)}-01-15`,
    gender: index % 2 === 0 ? 'M' : 'F',
    // 5 to 50 million VND: even a few hundred payments add up past 2^31.
    amount: 5_000_000 + ((index * 7_919_993) % 45_000_001),
    status,
    reasonCode: null,
    nameMatch: null,
    account: null,
    history: [{ status, reasonCode: null, at }],
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

const keyOf = (payment: PaymentRecord): PaymentKey => ({ batchId: payment.batchId, shard: payment.shard, refDigest: payment.refDigest });
const byId = (a: { paymentId: string }, b: { paymentId: string }) => (a.paymentId < b.paymentId ? -1 : 1);

/** Follows `next` to the end; returns every page. */
async function allPages<T>(read: (after: PagePosition | undefined) => Promise<Page<T>>, maxPages = 10_000): Promise<T[][]> {
  const pages: T[][] = [];
  let after: PagePosition | undefined;
  do {
    const page = await read(after);
    pages.push(page.items);
    after = page.next;
    if (pages.length > maxPages) throw new Error('pagination does not end');
  } while (after);
  return pages;
}

/** Every page but the last is full; the last holds what remains (DynamoDB may end on an empty page). */
function expectFullPages<T>(pages: T[][], limit: number): void {
  for (const page of pages.slice(0, -1)) expect(page).toHaveLength(limit);
  expect(pages.at(-1)!.length).toBeLessThanOrEqual(limit);
}

// ---------------------------------------------------------------------------
// The suite

function batchStoreSuite(backend: Backend): void {
  const ctx = {} as {
    documentClient: DynamoDBDocumentClient;
    raw: DynamoDBClient;
    store: DynamoBatchStore;
    tableName: string;
  };

  beforeAll(async () => {
    // createDocumentClient takes its region and credentials from the environment, as in Lambda.
    vi.stubEnv('AWS_REGION', MOTO_REGION);
    vi.stubEnv('AWS_ACCESS_KEY_ID', MOTO_CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', MOTO_CREDENTIALS.secretAccessKey);
    await backend.start();
  });

  afterAll(async () => {
    ctx.documentClient?.destroy();
    ctx.raw?.destroy();
    await backend.stop();
    vi.unstubAllEnvs();
  });

  /** Empty tables and new clients for the section that calls it. */
  function freshTables(): void {
    beforeAll(async () => {
      ctx.documentClient?.destroy();
      ctx.raw?.destroy();
      const running = await backend.reset();
      ctx.documentClient = createDocumentClient(running.endpoint);
      // moto checks a condition and writes without a lock between them: let one request in at a time,
      // as DynamoDB applies each write atomically (see oneRequestAtATime), so races test our conditions.
      if (backend.name === 'moto_server') oneRequestAtATime(ctx.documentClient);
      ctx.raw = new DynamoDBClient({ endpoint: running.endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS });
      ctx.store = new DynamoBatchStore(ctx.documentClient, running.tableName);
      ctx.tableName = running.tableName;
    });
  }

  async function storedBatch(batch: Partial<BatchRecord> = {}): Promise<BatchRecord> {
    const record = newBatch(batch);
    await ctx.store.putBatchIfAbsent(record);
    return record;
  }

  describe('batch references and batches', () => {
    freshTables();

    it('claims a batchRef once; a second claim gets the earlier batchId and fingerprint', async () => {
      // Prepare
      const batchRefHash = hash('batch-ref', 'HCM-2026-11-001');
      const lease = { owner: 'request-1', expiresAt: minutesAfter(T0, 1) };
      const first = { provinceCode: '79', batchRefHash, batchId: ulid(), fingerprint: 'fp-first', at: T0.toISOString(), lease };
      const second = { ...first, batchId: ulid(), fingerprint: 'fp-second', at: minutesAfter(T0, 1), lease: { owner: 'request-2', expiresAt: minutesAfter(T0, 2) } };

      // Act
      const claimed = await ctx.store.claimBatchRef(first);
      const again = await ctx.store.claimBatchRef(second);
      const otherProvince = await ctx.store.claimBatchRef({ ...second, provinceCode: '01' });
      await ctx.store.releaseCreateLease('79', batchRefHash, 'request-2', { finished: true }); // not its lease: nothing happens
      const whileWorking = await ctx.store.claimBatchRef(second);
      await ctx.store.releaseCreateLease('79', batchRefHash, 'request-1', { finished: true });
      const finished = await ctx.store.claimBatchRef(second);

      // Assess
      expect(claimed).toEqual({ claimed: true, batchId: first.batchId, fingerprint: 'fp-first', lease });
      expect(again).toEqual({ claimed: false, batchId: first.batchId, fingerprint: 'fp-first', lease });
      expect(otherProvince).toEqual({ claimed: true, batchId: second.batchId, fingerprint: 'fp-second', lease: second.lease });
      expect(whileWorking.lease).toEqual(lease);
      expect(finished).toEqual({ claimed: false, batchId: first.batchId, fingerprint: 'fp-first', lease: undefined });
    });

    it('keeps an unfinished create leased (expired), so that a replay takes it over rather than answer with it', async () => {
      // Prepare
      const batchRefHash = hash('batch-ref', 'HCM-2026-11-UNFINISHED');
      const lease = { owner: 'request-1', expiresAt: minutesAfter(T0, 1) };
      const first = { provinceCode: '79', batchRefHash, batchId: ulid(), fingerprint: 'fp', at: T0.toISOString(), lease };
      await ctx.store.claimBatchRef(first);

      // Act: the request failed half-way (its upload lease was held, say)
      await ctx.store.releaseCreateLease('79', batchRefHash, 'request-1', { finished: false });
      const replay = await ctx.store.claimBatchRef({ ...first, batchId: ulid(), lease: { owner: 'request-2', expiresAt: minutesAfter(T0, 2) } });
      const takenOver = await ctx.store.takeOverCreate('79', batchRefHash, { owner: 'request-2', expiresAt: minutesAfter(T0, 2) }, T0.toISOString());

      // Assess: a lease is still there (a replay answering "finished" would hand back an unsealed batch), and it is free at once
      expect(replay.lease, 'an unfinished create is not a finished one').toEqual({ owner: 'request-1', expiresAt: new Date(0).toISOString() });
      expect(takenOver).toBe(true);
    });

    it('lets a create lease be taken over only once it has expired', async () => {
      // Prepare
      const batchRefHash = hash('batch-ref', 'HCM-2026-11-002');
      await ctx.store.claimBatchRef({ provinceCode: '79', batchRefHash, batchId: ulid(), fingerprint: 'fp', at: T0.toISOString(), lease: { owner: 'dead', expiresAt: minutesAfter(T0, 1) } });

      // Act
      const early = await ctx.store.takeOverCreate('79', batchRefHash, { owner: 'replay-1', expiresAt: minutesAfter(T0, 2) }, minutesAfter(T0, 0.5));
      const late = await ctx.store.takeOverCreate('79', batchRefHash, { owner: 'replay-2', expiresAt: minutesAfter(T0, 3) }, minutesAfter(T0, 1.5));
      const again = await ctx.store.takeOverCreate('79', batchRefHash, { owner: 'replay-3', expiresAt: minutesAfter(T0, 4) }, minutesAfter(T0, 1.5));

      // Assess
      expect([early, late, again]).toEqual([false, true, false]);
    });

    it('writes a batch once (a retried create changes nothing) and reads it back without key attributes', async () => {
      // Prepare
      const batch = newBatch({ provinceCode: newProvince(), control: { itemCount: 3, totalAmount: 3_000_000 } });

      // Act
      await ctx.store.putBatchIfAbsent(batch);
      await ctx.store.putBatchIfAbsent({ ...batch, status: 'CANCELLED', fingerprint: 'fp-retry', updatedAt: minutesAfter(T0, 5) });
      const read = await ctx.store.getBatch(batch.batchId);

      // Assess
      expect(read).toEqual(batch);
      for (const attribute of [...KEY_ATTRIBUTES, 'entity']) expect(read).not.toHaveProperty(attribute);
      expect(await ctx.store.getBatch(ulid())).toBeUndefined();
    });

    it('lists a province’s batches newest first, page by page through `next`', async () => {
      // Prepare: 12 batches a minute apart, written in shuffled order, and one in another province
      const provinceCode = newProvince();
      const batches = Array.from({ length: 12 }, (_, index) => newBatch({ provinceCode, createdAt: minutesAfter(T0, index) }));
      for (const index of [5, 0, 11, 3, 8, 1, 10, 2, 7, 4, 9, 6]) await ctx.store.putBatchIfAbsent(batches[index]!);
      await storedBatch({ provinceCode: newProvince(), createdAt: minutesAfter(T0, 100) });

      // Act
      const pages = await allPages((after) => ctx.store.listBatches(provinceCode, { limit: 5, after }));

      // Assess
      expect(pages.map((page) => page.length)).toEqual([5, 5, 2]);
      expect(pages.flat().map((batch) => batch.batchId)).toEqual([...batches].reverse().map((batch) => batch.batchId));
      expect(pages.flat()[0]).toEqual(batches[11]);
    });

    it('fills each page with matching batches although the filter skips most of what DynamoDB reads', async () => {
      // Prepare: 15 batches; period 2026-10 for every third, SUBMITTED for every fourth from the second
      const provinceCode = newProvince();
      const batches = Array.from({ length: 15 }, (_, index) =>
        newBatch({
          provinceCode,
          createdAt: minutesAfter(T0, index),
          period: index % 3 === 0 ? '2026-10' : '2026-11',
          status: index % 4 === 1 ? 'SUBMITTED' : 'OPEN',
        }),
      );
      for (const batch of batches) await ctx.store.putBatchIfAbsent(batch);
      const newestFirst = [...batches].reverse();
      const idsWhere = (match: (batch: BatchRecord) => boolean) => newestFirst.filter(match).map((batch) => batch.batchId);

      // Act
      const byPeriod = await allPages((after) => ctx.store.listBatches(provinceCode, { period: '2026-10', limit: 2, after }));
      const byStatus = await allPages((after) => ctx.store.listBatches(provinceCode, { status: 'SUBMITTED', limit: 3, after }));
      const byBoth = await allPages((after) => ctx.store.listBatches(provinceCode, { period: '2026-11', status: 'OPEN', limit: 4, after }));
      const none = await allPages((after) => ctx.store.listBatches(provinceCode, { status: 'APPROVED', limit: 4, after }));

      // Assess
      expect(byPeriod.flat().map((batch) => batch.batchId)).toEqual(idsWhere((batch) => batch.period === '2026-10'));
      expectFullPages(byPeriod, 2);
      expect(byPeriod.slice(0, 2).map((page) => page.length)).toEqual([2, 2]);
      expect(byStatus.flat().map((batch) => batch.batchId)).toEqual(idsWhere((batch) => batch.status === 'SUBMITTED'));
      expectFullPages(byStatus, 3);
      expect(byStatus[0]).toHaveLength(3);
      expect(byBoth.flat().map((batch) => batch.batchId)).toEqual(idsWhere((batch) => batch.period === '2026-11' && batch.status === 'OPEN'));
      expectFullPages(byBoth, 4);
      expect(none.flat()).toEqual([]);
    });
  });

  describe('upload lease, totals and seal', () => {
    freshTables();

    it('grants the lease to one owner; a second owner is told to retry (429) while it lives', async () => {
      // Prepare
      const batch = await storedBatch();

      // Act
      const leased = await ctx.store.acquireUploadLease(batch.batchId, 'owner-a', T0, LEASE_MS);
      const second = ctx.store.acquireUploadLease(batch.batchId, 'owner-b', new Date(T0.getTime() + LEASE_MS - 1), LEASE_MS);

      // Assess
      const expiresAt = new Date(T0.getTime() + LEASE_MS).toISOString();
      expect(leased.uploadLease).toEqual({ owner: 'owner-a', expiresAt });
      expect(leased.recountNeeded).toBeUndefined();
      await expect(second).rejects.toBeInstanceOf(RateLimitedError);
      await expect(second).rejects.toMatchObject({ status: 429, retryAfterSeconds: 1 });
      const stored = await ctx.store.getBatch(batch.batchId);
      expect(stored?.uploadLease).toEqual({ owner: 'owner-a', expiresAt });
      expect(stored?.recountNeeded).toBeUndefined();
    });

    it('hands an expired lease to a new owner and marks the batch for a recount', async () => {
      // Prepare
      const batch = await storedBatch();
      await ctx.store.acquireUploadLease(batch.batchId, 'owner-a', T0, LEASE_MS);
      const later = new Date(T0.getTime() + LEASE_MS + 1);

      // Act
      const leased = await ctx.store.acquireUploadLease(batch.batchId, 'owner-b', later, LEASE_MS);

      // Assess
      const expiresAt = new Date(later.getTime() + LEASE_MS).toISOString();
      expect(leased.uploadLease).toEqual({ owner: 'owner-b', expiresAt });
      expect(leased.recountNeeded).toBe(true);
      const stored = await ctx.store.getBatch(batch.batchId);
      expect(stored?.uploadLease).toEqual({ owner: 'owner-b', expiresAt });
      expect(stored?.recountNeeded).toBe(true);
    });

    it('refuses the lease on a batch that is no longer OPEN, and on one that does not exist', async () => {
      // Prepare
      const batch = await storedBatch({ status: 'SUBMITTED' });

      // Act
      const closed = await ctx.store.acquireUploadLease(batch.batchId, 'owner-a', T0, LEASE_MS).catch((error: unknown) => error);
      const missing = await ctx.store.acquireUploadLease(ulid(), 'owner-a', T0, LEASE_MS).catch((error: unknown) => error);

      // Assess
      expect(closed).toBeInstanceOf(InvalidStateError);
      expect(missing).toBeInstanceOf(ConditionFailed);
      expect((missing as ConditionFailed).current).toBeUndefined();
      expect((await ctx.store.getBatch(batch.batchId))?.uploadLease).toBeUndefined();
    });

    it('adds chunk totals exactly, past 2^31 and past 2^40, and frees the lease', async () => {
      // Prepare
      const batch = await storedBatch();
      const chunk1 = { itemCount: 2, totalAmount: 2 ** 31 + 5 };
      const chunk2 = { itemCount: 3, totalAmount: 2 ** 40 + 7 };
      const expected = 2 ** 31 + 2 ** 40 + 12;

      // Act
      await ctx.store.acquireUploadLease(batch.batchId, 'owner-a', T0, LEASE_MS);
      const afterFirst = await ctx.store.completeUpload(batch.batchId, 'owner-a', chunk1, minutesAfter(T0, 1));
      await ctx.store.acquireUploadLease(batch.batchId, 'owner-b', new Date(minutesAfter(T0, 2)), LEASE_MS);
      const afterSecond = await ctx.store.completeUpload(batch.batchId, 'owner-b', chunk2, minutesAfter(T0, 3));

      // Assess
      expect(afterFirst.received).toEqual(chunk1);
      expect(afterFirst.chunkCount).toBe(1);
      expect(afterFirst.uploadLease).toBeUndefined();
      expect(afterSecond.received).toEqual({ itemCount: 5, totalAmount: expected });
      expect(BigInt(afterSecond.received.totalAmount)).toBe(2n ** 31n + 2n ** 40n + 12n);
      expect(afterSecond.counts.RECEIVED).toBe(5);
      expect(afterSecond.amounts.RECEIVED).toBe(expected);
      expect(afterSecond.counts.VERIFIED).toBe(0);
      expect(afterSecond.chunkCount).toBe(2);
      expect(afterSecond.updatedAt).toBe(minutesAfter(T0, 3));
      expect(afterSecond.uploadLease).toBeUndefined();
      expect(await ctx.store.getBatch(batch.batchId)).toEqual(afterSecond);
    });

    it('refuses to count a chunk whose owner lost the lease, and changes nothing', async () => {
      // Prepare: owner-a's lease expired and owner-b took it over
      const batch = await storedBatch();
      await ctx.store.acquireUploadLease(batch.batchId, 'owner-a', T0, LEASE_MS);
      await ctx.store.acquireUploadLease(batch.batchId, 'owner-b', new Date(T0.getTime() + LEASE_MS + 1), LEASE_MS);
      const before = await ctx.store.getBatch(batch.batchId);

      // Act
      const late = ctx.store.completeUpload(batch.batchId, 'owner-a', { itemCount: 4, totalAmount: 4_000_000 }, minutesAfter(T0, 3));

      // Assess
      await expect(late).rejects.toThrow();
      expect(await ctx.store.getBatch(batch.batchId)).toEqual(before);
      expect(before?.uploadLease?.owner).toBe('owner-b');
    });

    it('refuses to count a chunk when no lease is held at all', async () => {
      // Prepare
      const batch = await storedBatch();
      await ctx.store.acquireUploadLease(batch.batchId, 'owner-a', T0, LEASE_MS);
      await ctx.store.releaseUploadLease(batch.batchId, 'owner-a');

      // Act
      const unleased = ctx.store.completeUpload(batch.batchId, 'owner-a', { itemCount: 1, totalAmount: 1_000 }, minutesAfter(T0, 1));

      // Assess
      await expect(unleased).rejects.toThrow();
      expect((await ctx.store.getBatch(batch.batchId))?.received).toEqual({ itemCount: 0, totalAmount: 0 });
    });

    it('releases the lease only for its owner, marking a recount when asked', async () => {
      // Prepare
      const plain = await storedBatch();
      const recount = await storedBatch();
      const foreign = await storedBatch();
      for (const batch of [plain, recount, foreign]) await ctx.store.acquireUploadLease(batch.batchId, 'owner-a', T0, LEASE_MS);

      // Act
      await ctx.store.releaseUploadLease(plain.batchId, 'owner-a');
      await ctx.store.releaseUploadLease(recount.batchId, 'owner-a', { recount: true });
      await ctx.store.releaseUploadLease(foreign.batchId, 'owner-b', { recount: true });

      // Assess
      const [plainAfter, recountAfter, foreignAfter] = await Promise.all([plain, recount, foreign].map((batch) => ctx.store.getBatch(batch.batchId)));
      expect(plainAfter?.uploadLease).toBeUndefined();
      expect(plainAfter?.recountNeeded).toBeUndefined();
      expect(recountAfter?.uploadLease).toBeUndefined();
      expect(recountAfter?.recountNeeded).toBe(true);
      expect(foreignAfter?.uploadLease?.owner).toBe('owner-a');
      expect(foreignAfter?.recountNeeded).toBeUndefined();
    });

    it('repairs `received` from a recount, but not while a live lease is held', async () => {
      // Prepare: a chunk died after writing; then another upload is in flight
      const batch = await storedBatch();
      await ctx.store.acquireUploadLease(batch.batchId, 'owner-a', T0, LEASE_MS);
      await ctx.store.releaseUploadLease(batch.batchId, 'owner-a', { recount: true });
      await ctx.store.acquireUploadLease(batch.batchId, 'owner-b', T0, LEASE_MS);
      const recount = { itemCount: 7, totalAmount: 2 ** 41 + 3 };

      // Act
      const whileLeased = ctx.store.repairReceived(batch.batchId, recount, new Date(T0.getTime() + 1_000));
      const failure = await whileLeased.catch((error: unknown) => error);
      const repaired = await ctx.store.repairReceived(batch.batchId, recount, new Date(T0.getTime() + LEASE_MS + 1));

      // Assess
      expect(failure).toBeInstanceOf(ConditionFailed);
      expect((failure as ConditionFailed).current?.uploadLease?.owner).toBe('owner-b');
      expect((failure as ConditionFailed).current?.recountNeeded).toBe(true);
      expect(repaired.received).toEqual(recount);
      expect(repaired.counts.RECEIVED).toBe(7);
      expect(repaired.amounts.RECEIVED).toBe(2 ** 41 + 3);
      expect(repaired.recountNeeded).toBeUndefined();
      expect(repaired.uploadLease).toBeUndefined();
      expect(repaired.status).toBe('OPEN');
    });

    it('seals only when `received` is what was checked, no live lease is held and no recount is pending', async () => {
      // Prepare
      const batch = await storedBatch({ control: { itemCount: 2, totalAmount: 2 ** 40 + 1 } });
      await ctx.store.acquireUploadLease(batch.batchId, 'owner-a', T0, LEASE_MS);
      await ctx.store.completeUpload(batch.batchId, 'owner-a', { itemCount: 2, totalAmount: 2 ** 40 + 1 }, T0.toISOString());
      const pending = await storedBatch();
      await ctx.store.acquireUploadLease(pending.batchId, 'owner-a', T0, LEASE_MS);
      await ctx.store.releaseUploadLease(pending.batchId, 'owner-a', { recount: true });
      const sealAt = new Date(minutesAfter(T0, 1));

      // Act
      const mismatch = await ctx.store.sealBatch(batch.batchId, { itemCount: 2, totalAmount: 2 ** 40 }, sealAt).catch((error: unknown) => error);
      await ctx.store.acquireUploadLease(batch.batchId, 'owner-b', sealAt, LEASE_MS);
      const leased = await ctx.store.sealBatch(batch.batchId, { itemCount: 2, totalAmount: 2 ** 40 + 1 }, sealAt).catch((error: unknown) => error);
      await ctx.store.releaseUploadLease(batch.batchId, 'owner-b');
      const sealed = await ctx.store.sealBatch(batch.batchId, { itemCount: 2, totalAmount: 2 ** 40 + 1 }, sealAt);
      const twice = await ctx.store.sealBatch(batch.batchId, { itemCount: 2, totalAmount: 2 ** 40 + 1 }, sealAt).catch((error: unknown) => error);
      const recountPending = await ctx.store.sealBatch(pending.batchId, { itemCount: 0, totalAmount: 0 }, sealAt).catch((error: unknown) => error);

      // Assess
      expect(mismatch).toBeInstanceOf(ConditionFailed);
      expect((mismatch as ConditionFailed).current).toMatchObject({ status: 'OPEN', received: { itemCount: 2, totalAmount: 2 ** 40 + 1 } });
      expect(leased).toBeInstanceOf(ConditionFailed);
      expect((leased as ConditionFailed).current?.uploadLease?.owner).toBe('owner-b');
      expect((leased as ConditionFailed).current?.status).toBe('OPEN');
      expect(sealed.status).toBe('SUBMITTED');
      expect(sealed.updatedAt).toBe(sealAt.toISOString());
      expect(sealed.received).toEqual({ itemCount: 2, totalAmount: 2 ** 40 + 1 });
      expect(sealed.uploadLease).toBeUndefined();
      expect(twice).toBeInstanceOf(ConditionFailed);
      expect((twice as ConditionFailed).current?.status).toBe('SUBMITTED');
      expect(recountPending).toBeInstanceOf(ConditionFailed);
      expect((recountPending as ConditionFailed).current?.status).toBe('OPEN');
      expect((await ctx.store.getBatch(batch.batchId))?.status).toBe('SUBMITTED');
    });

    it('seals over an expired lease (its holder is gone)', async () => {
      // Prepare
      const batch = await storedBatch();
      await ctx.store.acquireUploadLease(batch.batchId, 'owner-a', T0, LEASE_MS);

      // Act
      const sealed = await ctx.store.sealBatch(batch.batchId, { itemCount: 0, totalAmount: 0 }, new Date(T0.getTime() + LEASE_MS + 1));

      // Assess
      expect(sealed.status).toBe('SUBMITTED');
      expect(sealed.uploadLease).toBeUndefined();
    });
  });

  describe('batch transitions and counters', () => {
    freshTables();

    it('moves a batch from an allowed state, setting the changes', async () => {
      // Prepare
      const batch = await storedBatch({ status: 'AWAITING_APPROVAL' });

      // Act
      const approved = await ctx.store.transitionBatch(batch.batchId, ['AWAITING_APPROVAL'], 'APPROVED', { approvedBy: 'checker-1' }, minutesAfter(T0, 9));

      // Assess
      expect(approved).toMatchObject({ status: 'APPROVED', approvedBy: 'checker-1', updatedAt: minutesAfter(T0, 9) });
      expect(await ctx.store.getBatch(batch.batchId)).toEqual(approved);
    });

    it('throws ConditionFailed with the current batch from a wrong state, and changes nothing', async () => {
      // Prepare
      const batch = await storedBatch({ status: 'SUBMITTED' });
      const from: BatchStatus[] = ['OPEN', 'AWAITING_APPROVAL'];

      // Act
      const wrong = await ctx.store
        .transitionBatch(batch.batchId, from, 'CANCELLED', { approvedBy: 'nobody' }, minutesAfter(T0, 1))
        .catch((error: unknown) => error);
      const missing = await ctx.store.transitionBatch(ulid(), ['OPEN'], 'CANCELLED', {}, minutesAfter(T0, 1)).catch((error: unknown) => error);

      // Assess
      expect(wrong).toBeInstanceOf(ConditionFailed);
      expect((wrong as ConditionFailed).current).toEqual(batch);
      expect(await ctx.store.getBatch(batch.batchId)).toEqual(batch);
      expect(missing).toBeInstanceOf(ConditionFailed);
      expect((missing as ConditionFailed).current).toBeUndefined();
    });

    it('keeps a batch in the watch while a recount is due, whatever its new status, and lets it go with the recount', async () => {
      // Prepare: a change from outside (a death's cancel, a return) asked for a recount of an approved batch
      const counts = { ...zeroByStatus(), PAID: 1, CANCELLED: 1 };
      const amounts = { ...zeroByStatus(), PAID: 500_000, CANCELLED: 500_000 };
      const batch = await storedBatch({ status: 'APPROVED', counts, amounts });
      await ctx.store.watchBatch(batch.batchId);
      const watched = async () => (await ctx.store.listWatchedBatches()).map((watchedBatch) => watchedBatch.batchId);

      // Act: completed from a tally with nothing held (which alone would leave the watch)
      const completed = await ctx.store.transitionBatch(batch.batchId, ['APPROVED'], 'COMPLETED', { counts, amounts }, minutesAfter(T0, 2));
      const wrong = await ctx.store.transitionBatch(batch.batchId, ['AWAITING_APPROVAL'], 'APPROVED', {}, minutesAfter(T0, 3)).catch((error: unknown) => error);

      // Assess: still watched and due, and a transition from a wrong state still refused
      expect(completed).toMatchObject({ status: 'COMPLETED', recountDue: true });
      expect(await watched()).toContain(batch.batchId);
      expect(wrong).toBeInstanceOf(ConditionFailed);
      expect((await ctx.store.getBatch(batch.batchId))?.status).toBe('COMPLETED');

      // Act: the reconciler's recount
      const recounted = await ctx.store.recountBatch(batch.batchId, { counts, amounts, rejections: {} }, completed.updatedAt, minutesAfter(T0, 4));

      // Assess
      expect(recounted.recountDue).toBeUndefined();
      expect(await watched()).not.toContain(batch.batchId);
    });

    it('adds to the counters, merging repeated statuses into one update, and to the rejection reasons', async () => {
      // Prepare
      const batch = await storedBatch({
        counts: { ...zeroByStatus(), RECEIVED: 10 },
        amounts: { ...zeroByStatus(), RECEIVED: 2 ** 40 + 10 },
      });

      // Act
      await ctx.store.addToCounters(
        batch.batchId,
        [
          { status: 'RECEIVED', count: -1, amount: -1_000 },
          { status: 'CANCELLED', count: 1, amount: 1_000 },
          { status: 'RECEIVED', count: -2, amount: -(2 ** 31) },
          { status: 'CANCELLED', count: 2, amount: 2 ** 31 },
          { status: 'VERIFIED', count: 3, amount: 3_000 },
        ],
        minutesAfter(T0, 2),
      );
      await ctx.store.addToCounters(batch.batchId, [], minutesAfter(T0, 3));
      await ctx.store.addToCounters(batch.batchId, [], minutesAfter(T0, 4), { DECEASED: 2, ID_NOT_FOUND: 0 });
      await ctx.store.addToCounters(batch.batchId, [{ status: 'REJECTED', count: 1, amount: 5_000 }], minutesAfter(T0, 5), { DECEASED: 1, INVALID_ID: 1 });

      // Assess
      const stored = await ctx.store.getBatch(batch.batchId);
      expect(stored?.counts).toEqual({ ...zeroByStatus(), RECEIVED: 7, CANCELLED: 3, VERIFIED: 3, REJECTED: 1 });
      expect(stored?.amounts).toEqual({ ...zeroByStatus(), RECEIVED: 2 ** 40 + 10 - 1_000 - 2 ** 31, CANCELLED: 2 ** 31 + 1_000, VERIFIED: 3_000, REJECTED: 5_000 });
      expect(stored?.rejections).toEqual({ DECEASED: 3, INVALID_ID: 1 });
      expect(stored?.updatedAt).toBe(minutesAfter(T0, 5));
    });
  });

  describe('payments', () => {
    freshTables();
    const SHARDS = 4;
    const fixture = {} as { batch: BatchRecord; payments: PaymentRecord[] };
    const statusOf = (index: number): PaymentStatus => (index % 5 === 0 ? 'VERIFIED' : index % 11 === 0 ? 'REJECTED' : 'RECEIVED');

    beforeAll(async () => {
      fixture.batch = await storedBatch({ provinceCode: newProvince(), shardCount: SHARDS });
      fixture.payments = Array.from({ length: backend.paymentCount }, (_, index) =>
        newPayment(fixture.batch, index, statusOf(index) === 'REJECTED' ? { status: 'REJECTED', reasonCode: 'ID_NOT_FOUND' } : { status: statusOf(index) }),
      );
      await ctx.store.putPayments(fixture.payments);
    });

    it(`stores every payment across the shards and reads them back with BatchGetItem (> 100 keys)`, async () => {
      // Prepare
      const { payments } = fixture;
      const shardsUsed = new Set(payments.map((payment) => payment.shard));

      // Act
      const read = await ctx.store.getPayments(payments.map(keyOf));

      // Assess
      expect(shardsUsed.size).toBe(SHARDS);
      expect(read).toHaveLength(payments.length);
      expect([...read].sort(byId)).toEqual([...payments].sort(byId));
      expect(await ctx.store.getPayment(keyOf(payments[7]!))).toEqual(payments[7]);
      expect(await ctx.store.getPayments([{ batchId: fixture.batch.batchId, shard: 0, refDigest: 'nothing-here' }])).toEqual([]);
    });

    it('counts and sums the stored payments of every shard exactly', async () => {
      // Prepare
      const expected = fixture.payments.reduce((total, payment) => total + BigInt(payment.amount), 0n);

      // Act
      const totals = await ctx.store.sumPayments(fixture.batch);

      // Assess
      expect(expected > 2n ** 31n).toBe(true);
      expect(totals.itemCount).toBe(fixture.payments.length);
      expect(BigInt(totals.totalAmount)).toBe(expected);
    });

    it.each([7, 100])('lists every payment exactly once across shards, %i per page', async (limit) => {
      // Act
      const pages = await allPages((after) => ctx.store.listPayments(fixture.batch, { limit, after }));

      // Assess
      const listed = pages.flat();
      expectFullPages(pages, limit);
      expect(new Set(listed.map((payment) => payment.paymentId)).size).toBe(listed.length);
      expect([...listed].sort(byId)).toEqual([...fixture.payments].sort(byId));
    });

    it.each([
      { limit: 7, status: 'VERIFIED' as const },
      { limit: 100, status: 'RECEIVED' as const },
      { limit: 7, status: 'REJECTED' as const },
    ])('lists only $status payments, each once, $limit per page', async ({ limit, status }) => {
      // Prepare
      const expected = fixture.payments.filter((payment) => payment.status === status).sort(byId);

      // Act
      const pages = await allPages((after) => ctx.store.listPayments(fixture.batch, { status, limit, after }));

      // Assess
      const listed = pages.flat();
      expect(expected.length).toBeGreaterThan(limit);
      expectFullPages(pages, limit);
      expect(listed.every((payment) => payment.status === status)).toBe(true);
      expect([...listed].sort(byId)).toEqual(expected);
    });

    it('filters by reason code', async () => {
      // Act
      const pages = await allPages((after) => ctx.store.listPayments(fixture.batch, { reasonCode: 'ID_NOT_FOUND', limit: 50, after }));

      // Assess
      expect(pages.flat().sort(byId)).toEqual(fixture.payments.filter((payment) => payment.reasonCode === 'ID_NOT_FOUND').sort(byId));
    });

    it('moves a payment only from an expected status, appending its history once', async () => {
      // Prepare
      const batch = await storedBatch({ shardCount: 2 });
      const [payment] = [newPayment(batch, 1)];
      await ctx.store.putPayments([payment!]);
      const key = keyOf(payment!);
      const at = minutesAfter(T0, 4);

      // Act
      const moved = await ctx.store.transitionPayment(key, ['RECEIVED'], 'VERIFIED', { reasonCode: null, at });
      const repeated = await ctx.store.transitionPayment(key, ['RECEIVED'], 'VERIFIED', { reasonCode: null, at: minutesAfter(T0, 5) });
      const wrongState = await ctx.store.transitionPayment(key, ['QUEUED', 'SENT'], 'FAILED', { reasonCode: 'PROVIDER_REJECTED', at: minutesAfter(T0, 6) });
      const missing = await ctx.store.transitionPayment({ ...key, refDigest: 'not-stored' }, ['RECEIVED'], 'VERIFIED', { reasonCode: null, at });

      // Assess
      expect(moved).toMatchObject({ status: 'VERIFIED', reasonCode: null, updatedAt: at });
      expect(moved?.history).toEqual([
        { status: 'RECEIVED', reasonCode: null, at: batch.createdAt },
        { status: 'VERIFIED', reasonCode: null, at },
      ]);
      for (const attribute of [...KEY_ATTRIBUTES, 'entity']) expect(moved).not.toHaveProperty(attribute);
      expect(repeated).toBeUndefined();
      expect(wrongState).toBeUndefined();
      expect(missing).toBeUndefined();
      expect(await ctx.store.getPayment(key)).toEqual(moved);
    });

    it('records a reason code with a transition', async () => {
      // Prepare
      const batch = await storedBatch();
      const payment = newPayment(batch, 2);
      await ctx.store.putPayments([payment]);

      // Act
      const rejected = await ctx.store.transitionPayment(keyOf(payment), ['RECEIVED', 'VERIFIED'], 'REJECTED', { reasonCode: 'DECEASED', at: minutesAfter(T0, 1) });

      // Assess
      expect(rejected).toMatchObject({ status: 'REJECTED', reasonCode: 'DECEASED' });
      expect(rejected?.history.at(-1)).toEqual({ status: 'REJECTED', reasonCode: 'DECEASED', at: minutesAfter(T0, 1) });
    });

    it('tallies the payments of every shard by status, amount and rejection reason', async () => {
      // Prepare
      const expected = { counts: zeroByStatus(), amounts: zeroByStatus(), rejections: {} as Record<string, number> };
      for (const payment of fixture.payments) {
        expected.counts[payment.status] += 1;
        expected.amounts[payment.status] += payment.amount;
        if (payment.reasonCode) expected.rejections[payment.reasonCode] = (expected.rejections[payment.reasonCode] ?? 0) + 1;
      }

      // Act
      const tally = await ctx.store.tallyPayments(fixture.batch);

      // Assess
      expect(tally).toEqual(expected);
    });

    it('sets the extra attributes of a change in the same write', async () => {
      // Prepare
      const batch = await storedBatch();
      const payment = newPayment(batch, 4, { status: 'VERIFIED' });
      await ctx.store.putPayments([payment]);
      const account = { provider: { type: 'EWALLET' as const, code: 'MOMO' }, accountNumberMasked: '******4321' };

      // Act
      const held = await ctx.store.transitionPayment(keyOf(payment), ['VERIFIED'], 'QUEUED', {
        reasonCode: null,
        at: minutesAfter(T0, 1),
        set: { nameMatch: 'ASCII_FOLDED', account, duplicateOf: undefined },
      });

      // Assess
      expect(held).toMatchObject({ status: 'QUEUED', nameMatch: 'ASCII_FOLDED', account });
      expect(held).not.toHaveProperty('duplicateOf');
      expect(await ctx.store.getPayment(keyOf(payment))).toEqual(held);
    });

    it('lists a person’s payments across batches, newest first, page by page', async () => {
      // Prepare: one person paid in three batches, a minute apart
      const personalId = makePersonalId({ gender: 'F', birthYear: 1951, serial: 424_242 });
      const payments: PaymentRecord[] = [];
      for (const minute of [1, 3, 2]) {
        const batch = await storedBatch({ createdAt: minutesAfter(T0, minute), shardCount: 3 });
        const payment = newPayment(batch, 500 + minute, { personalId, personHash: personHash(hash, personalId) });
        await ctx.store.putPayments([payment]);
        payments.push(payment);
      }

      // Act
      const pages = await allPages((after) => ctx.store.listPaymentsByPerson(personHash(hash, personalId), { limit: 2, after }));

      // Assess
      expect(pages[0]).toHaveLength(2);
      expect(pages.flat()).toEqual([...payments].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1)));
    });

    it('counts each verified shard once, however often it is reported', async () => {
      // Prepare
      const batch = await storedBatch({ shardCount: 3 });

      // Act
      const first = await ctx.store.markShardVerified(batch.batchId, 0);
      const second = await ctx.store.markShardVerified(batch.batchId, 1);
      await ctx.store.markShardVerified(batch.batchId, 1);
      await ctx.store.markShardVerified(batch.batchId, 0);
      const third = await ctx.store.markShardVerified(batch.batchId, 2);

      // Assess
      expect([first, second, third]).toEqual([1, 2, 3]);
      const stored = (await ctx.store.getBatch(batch.batchId)) as BatchRecord & { verifiedShards?: Set<number> };
      expect(stored.verifiedShards).toEqual(new Set([0, 1, 2]));
    });

    it('keeps personal ID numbers, paymentRefs and the batchRef out of every key attribute', async () => {
      // Prepare: the raw items (low-level client) of the batch, its payments, its batchRef claim and its people
      const { batch, payments } = fixture;
      const batchRefHash = hash('batch-ref', batch.batchRef);
      await ctx.store.claimBatchRef({ provinceCode: batch.provinceCode, batchRefHash, batchId: batch.batchId, fingerprint: batch.fingerprint, at: batch.createdAt, lease: { owner: 'o', expiresAt: batch.createdAt } });
      const items: Record<string, AttributeValue>[] = [];
      const query = async (input: { IndexName?: string; KeyConditionExpression: string; ExpressionAttributeValues: Record<string, AttributeValue> }) => {
        let start: Record<string, AttributeValue> | undefined;
        do {
          const result = await ctx.raw.send(new QueryCommand({ TableName: ctx.tableName, ...input, ExclusiveStartKey: start }));
          items.push(...(result.Items ?? []));
          start = result.LastEvaluatedKey;
        } while (start);
      };

      // Act
      for (let shard = 0; shard < batch.shardCount; shard += 1) {
        await query({ KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: keys.paymentShard(batch.batchId, shard) } } });
      }
      await query({
        IndexName: 'gsi2',
        KeyConditionExpression: 'gsi2pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: keys.provinceBatchesPartition(batch.provinceCode) } },
      });
      // (indexes from 10 on: the transition tests reuse the people of indexes 1 to 3)
      for (const payment of payments.slice(10, 15)) {
        await query({ IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :pk', ExpressionAttributeValues: { ':pk': { S: `PERSON#${payment.personHash}` } } });
      }
      const refClaim = await ctx.raw.send(new GetItemCommand({ TableName: ctx.tableName, Key: { pk: { S: keys.batchRef(batch.provinceCode, batchRefHash).pk }, sk: { S: 'BATCH_REF' } } }));
      items.push(refClaim.Item!);

      // Assess: the test data does hold IDs (some paymentRefs are IDs), so the check means something
      expect(items.length).toBe(payments.length + 1 + 5 + 1);
      expect(payments.some((payment) => payment.paymentRef === payment.personalId)).toBe(true);
      const secrets = new Set([...payments.map((payment) => payment.personalId), ...payments.map((payment) => payment.paymentRef), batch.batchRef]);
      const keyValues = items.flatMap((item) =>
        KEY_ATTRIBUTES.flatMap((attribute) => {
          const value = item[attribute]?.S;
          return value === undefined ? [] : [value];
        }),
      );
      expect(keyValues.length).toBeGreaterThan(items.length * 2);
      const leaks = keyValues.filter(
        (value) =>
          [...secrets].some((secret) => value.includes(secret)) ||
          // Any number of 12 digits or more standing on its own, not only the ones above. (Inside a longer
          // token a run of digits may occur by chance: keyed-hash digests are base32.)
          value.split(/[^0-9A-Za-z]+/).some((token) => /^\d{12,}$/.test(token)),
      );
      expect(leaks).toEqual([]);
      const stored = items.find((item) => item.sk?.S?.startsWith('PAY#') && item.personalId?.S === payments[0]!.personalId);
      expect(stored?.paymentRef?.S).toBe(payments[0]!.paymentRef);
    });
  });

  describe('concurrency', () => {
    freshTables();

    it('gives the upload lease to exactly one of 20 parallel callers', async () => {
      // Prepare
      const batch = await storedBatch();
      const owners = Array.from({ length: 20 }, (_, index) => `owner-${index}`);

      // Act
      const results = await Promise.allSettled(owners.map((owner) => ctx.store.acquireUploadLease(batch.batchId, owner, T0, LEASE_MS)));

      // Assess
      const won = results.filter((result): result is PromiseFulfilledResult<BatchRecord> => result.status === 'fulfilled');
      const lost = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost.every((result) => result.reason instanceof RateLimitedError)).toBe(true);
      const stored = await ctx.store.getBatch(batch.batchId);
      expect(stored?.uploadLease?.owner).toBe(won[0]!.value.uploadLease?.owner);
      expect(stored?.recountNeeded).toBeUndefined();
    });

    it('lets exactly one of 20 parallel RECEIVED -> CANCELLED transitions happen', async () => {
      // Prepare
      const batch = await storedBatch();
      const payment = newPayment(batch, 3);
      await ctx.store.putPayments([payment]);

      // Act
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          ctx.store.transitionPayment(keyOf(payment), ['RECEIVED'], 'CANCELLED', { reasonCode: null, at: new Date(T0.getTime() + 1_000 + index).toISOString() }),
        ),
      );

      // Assess
      const moved = results.filter((result) => result !== undefined);
      expect(moved).toHaveLength(1);
      const stored = await ctx.store.getPayment(keyOf(payment));
      expect(stored).toEqual(moved[0]);
      expect(stored?.history.map((entry) => entry.status)).toEqual(['RECEIVED', 'CANCELLED']);
    });
  });
}

describe('DynamoBatchStore on dynalite', () => {
  batchStoreSuite(dynaliteBackend());
});

describe.runIf(motoAvailable)('DynamoBatchStore on moto_server', () => {
  batchStoreSuite(motoBackend());
});
