import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoAccountStore } from '../../../shared/adapters/dynamodb/account-store.js';
import { DynamoBatchStore } from '../../../shared/adapters/dynamodb/batch-store.js';
import { createDocumentClient } from '../../../shared/adapters/dynamodb/client.js';
import { DynamoEntitlementStore } from '../../../shared/adapters/dynamodb/entitlement-store.js';
import { keys } from '../../../shared/adapters/dynamodb/keys.js';
import { paymentIdentity, type BatchRecord, type PaymentRecord } from '../../../shared/domain/batch.js';
import { RateLimitedError } from '../../../shared/domain/errors.js';
import { keyedHasher } from '../../../shared/domain/keyed-hash.js';
import type { PaymentStatus } from '../../../shared/domain/lifecycle.js';
import type { AccountLinkRecord } from '../../../shared/ports/account-store.js';
import type { ClaimOutcome, EntitlementClaim } from '../../../shared/ports/entitlement-store.js';
import { batchRecord } from '../../support/records.js';
import { MOTO_CREDENTIALS, MOTO_REGION, motoAvailable, oneRequestAtATime, startMoto, type Moto } from '../../support/moto.js';

/**
 * The entitlement and account stores on moto_server (no other suite runs them
 * on a wire protocol), and the conditional-write races the design rests on:
 * every invariant is one single-item conditional write (docs/decisions.md),
 * so N parallel writers must leave exactly one winner and tell the others who
 * won. Also two batch-store races that test/integration/dynamodb does not run
 * (it covers 20 parallel lease takers of a free lease and 20 identical
 * payment transitions). Each section starts from empty tables (moto reset).
 *
 * moto applies parallel requests in parallel threads without making a
 * conditional write atomic (DynamoDB does): the client lets one request at a
 * time reach it (oneRequestAtATime in test/support/moto.ts), so that the races
 * test our conditions. Calls still run concurrently, their requests interleave.
 */

const hash = keyedHasher('moto-integration-pepper-not-a-secret');
const T0 = new Date('2026-11-23T08:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000).toISOString();
const PROGRAM = 'SOCIAL_ALLOWANCE';
const PERIOD = '2026-11';

describe.runIf(motoAvailable)('DynamoDB stores on moto_server', () => {
  let moto: Moto;
  let client: DynamoDBDocumentClient;
  let tableName: string;

  beforeAll(async () => {
    // createDocumentClient takes its region and credentials from the environment, as in Lambda.
    vi.stubEnv('AWS_REGION', MOTO_REGION);
    vi.stubEnv('AWS_ACCESS_KEY_ID', MOTO_CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', MOTO_CREDENTIALS.secretAccessKey);
    moto = (await startMoto({ prefix: 'stores' }))!;
    client = createDocumentClient(moto.endpoint);
    oneRequestAtATime(client);
    tableName = moto.tableNames.core;
  });

  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
    vi.unstubAllEnvs();
  });

  /** Empty tables for the section that calls it. */
  const freshTables = () =>
    beforeAll(async () => {
      await moto.reset();
    });

  /**
   * A client whose chosen PutItem reaches DynamoDB twice, the first answer
   * lost: what the SDK's own retry does after a timeout or a 5xx on a write
   * that had in fact been applied.
   */
  const losingFirstAnswerOf = (isTarget: (item: Record<string, unknown>) => boolean) =>
    ({
      send: async (command: Parameters<DynamoDBDocumentClient['send']>[0]) => {
        // The write reaches the table once, its answer is lost, and the SDK sends it again.
        if (command instanceof PutCommand && isTarget(command.input.Item ?? {})) await client.send(new PutCommand(command.input));
        if (command instanceof UpdateCommand && isTarget(command.input.Key ?? {})) await client.send(new UpdateCommand(command.input));
        return client.send(command);
      },
    }) as unknown as DynamoDBDocumentClient;

  /** Every command the adapter sent, by name (to tell a write from a write plus a read). */
  const watchCommands = () => {
    const send = vi.spyOn(client, 'send');
    return {
      names: () => send.mock.calls.map(([command]) => command.constructor.name),
      restore: () => send.mockRestore(),
    };
  };

  // -------------------------------------------------------------------------
  describe('entitlement store', () => {
    freshTables();
    let store: DynamoEntitlementStore;
    beforeAll(() => {
      store = new DynamoEntitlementStore(client, tableName);
    });

    let people = 0;
    const claimOf = (person: string, batchId: string, seq: number): EntitlementClaim => ({
      personHash: person,
      programCode: PROGRAM,
      period: PERIOD,
      batchId,
      seq,
      paymentId: `${batchId}-${String(seq).padStart(6, '0')}`,
    });
    const newPerson = () => hash('person', `person-${++people}`);
    const holderOf = async (person: string) =>
      (await client.send(new GetCommand({ TableName: tableName, Key: keys.entitlement(person, PROGRAM, PERIOD), ConsistentRead: true }))).Item?.paymentId as
        | string
        | undefined;

    it('holds a free entitlement; repeating the claim is a no-op; a claim from another batch learns the holder from the failed write alone', async () => {
      // Prepare
      const person = newPerson();
      const first = claimOf(person, ulid(), 5);
      const other = claimOf(person, ulid(), 1);

      // Act
      const held = await store.claim(first);
      const repeated = await store.claim(first);
      const watch = watchCommands();
      const lost = await store.claim(other);
      const sent = watch.names();
      watch.restore();

      // Assess: across batches, the first claim wins whatever the seq
      expect(held).toEqual({ held: true, supersededPaymentId: undefined });
      expect(repeated).toEqual({ held: true, supersededPaymentId: undefined });
      expect(lost).toEqual({ held: false, holderPaymentId: first.paymentId });
      // moto returns the item with the failed condition (ReturnValuesOnConditionCheckFailure), so no second
      // read is needed; dynalite does not, and the adapter falls back to a GetItem there.
      expect(sent).toEqual(['UpdateCommand']);
      expect(await holderOf(person)).toBe(first.paymentId);
    });

    it('within one batch, the item uploaded first takes the entitlement over and names the one it superseded', async () => {
      // Prepare
      const person = newPerson();
      const batchId = ulid();
      const later = claimOf(person, batchId, 20_003);
      const earlier = claimOf(person, batchId, 10_007);
      const latest = claimOf(person, batchId, 30_000);

      // Act
      const first = await store.claim(later);
      const takeover = await store.claim(earlier);
      const refused = await store.claim(latest);

      // Assess
      expect(first).toEqual({ held: true, supersededPaymentId: undefined });
      expect(takeover).toEqual({ held: true, supersededPaymentId: later.paymentId });
      expect(refused).toEqual({ held: false, holderPaymentId: earlier.paymentId });
      expect(await holderOf(person)).toBe(earlier.paymentId);
    });

    // Regression (found by this suite): a takeover whose write is retried after a lost answer (the SDK
    // retries writes; so does a redelivered verification page whose claim ran before a crash) finds
    // the item already its own. It must still name the payment it superseded, or the later item stays
    // VERIFIED beside the earlier one that holds the entitlement, and both can be paid.
    it('a takeover retried after its first answer was lost still names the payment it superseded', async () => {
      // Prepare
      const person = newPerson();
      const batchId = ulid();
      const later = claimOf(person, batchId, 20_001);
      const earlier = claimOf(person, batchId, 10_001);
      await store.claim(later);
      const retrying = new DynamoEntitlementStore(losingFirstAnswerOf((item) => item.sk === 'ENT'), tableName);

      // Act
      const takeover = await retrying.claim(earlier);

      // Assess
      expect(await holderOf(person)).toBe(earlier.paymentId);
      expect(takeover).toEqual({ held: true, supersededPaymentId: later.paymentId });
    });

    it('releases only for the holder; a release by anyone else, or of nothing, changes nothing', async () => {
      // Prepare
      const person = newPerson();
      const holder = claimOf(person, ulid(), 1);
      const other = claimOf(person, ulid(), 1);
      await store.claim(holder);

      // Act
      await store.release(other);
      const afterForeignRelease = await holderOf(person);
      await store.release(holder);
      const afterRelease = await holderOf(person);
      await store.release(holder);
      const reclaimed = await store.claim(other);

      // Assess
      expect(afterForeignRelease).toBe(holder.paymentId);
      expect(afterRelease).toBeUndefined();
      expect(reclaimed).toEqual({ held: true, supersededPaymentId: undefined });
      expect(await holderOf(person)).toBe(other.paymentId);
    });

    it('race: of 20 parallel claims from 20 batches exactly one holds, and the 19 others name it', async () => {
      // Prepare
      const person = newPerson();
      const claims = Array.from({ length: 20 }, () => claimOf(person, ulid(), 1));

      // Act
      const outcomes = await Promise.all(claims.map((claim) => store.claim(claim)));

      // Assess
      const winners = claims.filter((_, index) => outcomes[index]!.held);
      expect(winners).toHaveLength(1);
      const winner = winners[0]!.paymentId;
      expect(outcomes.filter((outcome) => !outcome.held)).toEqual(Array.from({ length: 19 }, () => ({ held: false, holderPaymentId: winner })));
      expect(await holderOf(person)).toBe(winner);
    });

    it('race: of 12 parallel claims within one batch, the first-uploaded ends up holding, and every other claimant is told it does not (lost, or superseded)', async () => {
      // Prepare: seqs in an order unrelated to their upload order
      const person = newPerson();
      const batchId = ulid();
      const seqs = [70_001, 10_004, 90_000, 10_002, 50_005, 30_000, 10_003, 80_001, 20_000, 60_002, 40_009, 10_010];
      const claims = seqs.map((seq) => claimOf(person, batchId, seq));
      const first = claims.find((claim) => claim.seq === Math.min(...seqs))!;

      // Act
      const outcomes = await Promise.all(claims.map((claim) => store.claim(claim)));

      // Assess
      expect(await holderOf(person)).toBe(first.paymentId);
      const seqOf = new Map(claims.map((claim) => [claim.paymentId, claim.seq]));
      const believers = new Set(claims.filter((_, index) => outcomes[index]!.held).map((claim) => claim.paymentId));
      const superseded = new Set(outcomes.flatMap((outcome) => (outcome.held && outcome.supersededPaymentId ? [outcome.supersededPaymentId] : [])));
      // Whoever was told it holds and was later superseded was named by its successor: one believer remains.
      expect([...believers].filter((paymentId) => !superseded.has(paymentId))).toEqual([first.paymentId]);
      for (const [index, outcome] of outcomes.entries()) {
        if (!outcome.held) expect(seqOf.get(outcome.holderPaymentId)).toBeLessThan(claims[index]!.seq);
      }
    });

    it('race: a holder releasing while 10 others claim never loses another payment’s claim; at most one claimant holds, and it is the stored holder', async () => {
      // Prepare
      const person = newPerson();
      const holder = claimOf(person, ulid(), 1);
      await store.claim(holder);
      const claims = Array.from({ length: 10 }, () => claimOf(person, ulid(), 1));

      // Act
      const [, ...outcomes] = await Promise.all([store.release(holder), ...claims.map((claim) => store.claim(claim))]);

      // Assess
      const results = outcomes as ClaimOutcome[];
      const winners = claims.filter((_, index) => results[index]!.held).map((claim) => claim.paymentId);
      expect(winners.length).toBeLessThanOrEqual(1);
      expect(await holderOf(person)).toBe(winners[0]);
      for (const outcome of results) {
        // A loser saw either the old holder (before the release) or the winner.
        if (!outcome.held) expect([holder.paymentId, ...winners]).toContain(outcome.holderPaymentId);
      }
    });
  });

  // -------------------------------------------------------------------------
  describe('account store', () => {
    freshTables();
    let store: DynamoAccountStore;
    beforeAll(() => {
      store = new DynamoAccountStore(client, tableName);
    });

    let people = 0;
    const newPerson = () => hash('person', `account-holder-${++people}`);
    const linkOf = (n: number, linkedAt: string): AccountLinkRecord => ({
      linkId: ulid(),
      personalId: '079085000123',
      provider: { type: 'BANK', code: 'VCB' },
      accountNumber: `00710000${String(n).padStart(5, '0')}`,
      accountNumberMasked: `********${String(n).padStart(5, '0').slice(-4)}`,
      accountName: 'NGUYEN VAN A',
      linkedAt,
      linkedBy: 'beneficiary-sub',
      consentRef: `consent-${n}`,
    });

    it('links, relinks (the previous link is closed at the relink, both kept), reads the current link and the history newest first', async () => {
      // Prepare
      const person = newPerson();
      const first = linkOf(1, at(0));
      const second = linkOf(2, at(60));

      // Act
      await store.link(person, first);
      await store.link(person, second);

      // Assess
      expect(await store.getCurrent(person)).toEqual(second);
      expect(await store.history(person)).toEqual([
        { linkId: second.linkId, provider: second.provider, accountNumberMasked: second.accountNumberMasked, linkedAt: second.linkedAt, unlinkedAt: null, consentRef: second.consentRef, unlinkConsentRef: null },
        { linkId: first.linkId, provider: first.provider, accountNumberMasked: first.accountNumberMasked, linkedAt: first.linkedAt, unlinkedAt: second.linkedAt, consentRef: first.consentRef, unlinkConsentRef: null },
      ]);
    });

    it('unlinks the current link once (closing it in the history); with none linked, unlink returns undefined', async () => {
      // Prepare
      const person = newPerson();
      const link = linkOf(3, at(0));
      await store.link(person, link);

      // Act
      const removed = await store.unlink(person, { at: at(120), by: 'beneficiary-sub', consentRef: null });
      const again = await store.unlink(person, { at: at(180), by: 'beneficiary-sub', consentRef: null });

      // Assess
      expect(removed).toEqual(link);
      expect(again).toBeUndefined();
      expect(await store.getCurrent(person)).toBeUndefined();
      expect((await store.history(person)).map((entry) => entry.unlinkedAt)).toEqual([at(120)]);
      expect(await store.unlink(newPerson(), { at: at(0), by: 'beneficiary-sub', consentRef: null })).toBeUndefined();
    });

    // Regression (found by this suite): when the current-link write is retried after a lost answer, the
    // "old item" it sees is the new link itself. The previous link must still be closed, and the new
    // one left open.
    it('a relink whose PutItem is retried after its first answer was lost closes the previous link, not itself', async () => {
      // Prepare: a previous link, then a relink through a client that loses the first answer of the current-link write
      const person = newPerson();
      const old = linkOf(5, at(0));
      const fresh = linkOf(6, at(60));
      await store.link(person, old);
      const retrying = new DynamoAccountStore(losingFirstAnswerOf((item) => item.sk === 'ACCOUNT'), tableName);

      // Act
      await retrying.link(person, fresh);

      // Assess
      expect(await store.getCurrent(person)).toEqual(fresh);
      expect((await store.history(person)).map((entry) => [entry.linkId, entry.unlinkedAt])).toEqual([
        [fresh.linkId, null],
        [old.linkId, fresh.linkedAt],
      ]);
    });

    it('race: 10 parallel links for one person leave one current link, and it is the only open entry of the history', async () => {
      // Prepare
      const person = newPerson();
      const links = Array.from({ length: 10 }, (_, index) => linkOf(10 + index, at(index)));

      // Act
      await Promise.all(links.map((link) => store.link(person, link)));

      // Assess: each replaced link was returned to its replacer, who closed it
      const current = await store.getCurrent(person);
      expect(links).toContainEqual(current);
      const history = await store.history(person);
      expect(history).toHaveLength(10);
      expect(history.filter((entry) => entry.unlinkedAt === null).map((entry) => entry.linkId)).toEqual([current!.linkId]);
    });

    it('race: of 10 parallel unlinks exactly one returns the link, and the history is closed once, at its time', async () => {
      // Prepare
      const person = newPerson();
      const link = linkOf(30, at(0));
      await store.link(person, link);

      // Act
      const results = await Promise.all(Array.from({ length: 10 }, (_, index) => store.unlink(person, { at: at(100 + index), by: 'beneficiary-sub', consentRef: null })));

      // Assess
      const winners = results.flatMap((result, index) => (result ? [index] : []));
      expect(winners).toHaveLength(1);
      expect(results[winners[0]!]).toEqual(link);
      expect(await store.getCurrent(person)).toBeUndefined();
      expect((await store.history(person)).map((entry) => entry.unlinkedAt)).toEqual([at(100 + winners[0]!)]);
    });

    it('race: a relink landing between unlink’s read and its delete stays current (unlink removes only the link it read)', async () => {
      // Prepare: unlink's store pauses after its first read while another store relinks
      const person = newPerson();
      const old = linkOf(40, at(0));
      const fresh = linkOf(41, at(30));
      await store.link(person, old);
      const other = new DynamoAccountStore(client, tableName);
      let paused = false;
      const pausing = {
        send: async (command: Parameters<DynamoDBDocumentClient['send']>[0]) => {
          const result = await client.send(command);
          if (!paused && command instanceof GetCommand) {
            paused = true;
            await other.link(person, fresh);
          }
          return result;
        },
      } as unknown as DynamoDBDocumentClient;

      // Act
      const removed = await new DynamoAccountStore(pausing, tableName).unlink(person, { at: at(60), by: 'beneficiary-sub', consentRef: null });

      // Assess: nothing removed; the relink holds, and it closed the old link
      expect(paused).toBe(true);
      expect(removed).toBeUndefined();
      expect(await store.getCurrent(person)).toEqual(fresh);
      expect((await store.history(person)).map((entry) => [entry.linkId, entry.unlinkedAt])).toEqual([
        [fresh.linkId, null],
        [old.linkId, fresh.linkedAt],
      ]);
    });
  });

  // -------------------------------------------------------------------------
  describe('batch store races not covered elsewhere', () => {
    freshTables();
    let store: DynamoBatchStore;
    beforeAll(() => {
      store = new DynamoBatchStore(client, tableName);
    });
    const LEASE_MS = 120_000;

    async function storedBatch(): Promise<BatchRecord> {
      const batch = batchRecord({ programCode: PROGRAM, period: PERIOD, control: { itemCount: 1, totalAmount: 5_000_000 } }, T0.toISOString());
      await store.putBatchIfAbsent(batch);
      return batch;
    }

    async function storedPayment(batch: BatchRecord, status: PaymentStatus): Promise<PaymentRecord> {
      const paymentRef = `REF-${ulid()}`;
      const createdAt = batch.createdAt;
      const payment: PaymentRecord = {
        ...paymentIdentity(hash, batch.batchId, paymentRef, batch.shardCount),
        batchId: batch.batchId,
        provinceCode: batch.provinceCode,
        programCode: batch.programCode,
        period: batch.period,
        seq: 1,
        paymentRef,
        personalId: '079085000123',
        personHash: hash('person', paymentRef),
        fullName: 'Nguyễn Văn A',
        dateOfBirth: '1985-01-15',
        gender: 'M',
        amount: 5_000_000,
        status,
        reasonCode: null,
        nameMatch: 'EXACT',
        account: null,
        history: [{ status, reasonCode: null, at: createdAt }],
        createdAt,
        updatedAt: createdAt,
      };
      await store.putPayments([payment]);
      return payment;
    }

    it('race: 10 parallel takers of an expired upload lease: exactly one takes it over and marks the recount; the others are told to retry', async () => {
      // Prepare: owner-0's lease has expired
      const batch = await storedBatch();
      await store.acquireUploadLease(batch.batchId, 'owner-0', T0, LEASE_MS);
      const later = new Date(T0.getTime() + LEASE_MS + 60_000);

      // Act
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, index) => store.acquireUploadLease(batch.batchId, `owner-${index + 1}`, later, LEASE_MS)),
      );

      // Assess
      const won = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      const lost = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
      expect(won).toHaveLength(1);
      expect(won[0]!.recountNeeded).toBe(true);
      expect(lost).toHaveLength(9);
      for (const reason of lost) expect(reason).toBeInstanceOf(RateLimitedError);
      const stored = await store.getBatch(batch.batchId);
      expect(stored?.uploadLease).toEqual(won[0]!.uploadLease);
      expect(stored?.recountNeeded).toBe(true);
    });

    it('race: 12 parallel transitions of one VERIFIED payment to different states (QUEUED, ON_HOLD, CANCELLED): exactly one happens, and the payment shows it', async () => {
      // Prepare
      const batch = await storedBatch();
      const payment = await storedPayment(batch, 'VERIFIED');
      const key = { batchId: payment.batchId, shard: payment.shard, refDigest: payment.refDigest };
      const targets: PaymentStatus[] = ['QUEUED', 'ON_HOLD', 'CANCELLED'];

      // Act
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, index) =>
          store.transitionPayment(key, ['VERIFIED'], targets[index % 3]!, { reasonCode: index % 3 === 1 ? 'NO_LINKED_ACCOUNT' : null, at: at(index + 1) }),
        ),
      );

      // Assess
      const moved = results.filter((result) => result !== undefined);
      expect(moved).toHaveLength(1);
      const stored = await store.getPayment(key);
      expect(stored).toEqual(moved[0]);
      expect(stored?.history.map((entry) => entry.status)).toEqual(['VERIFIED', moved[0]!.status]);
    });
  });
});
