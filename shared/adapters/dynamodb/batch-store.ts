import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { BatchRecord, MaskedAccount, PaymentHistoryEntry, PaymentRecord, PayoutAccount, Totals } from '../../domain/batch.js';
import { InvalidStateError, RateLimitedError } from '../../domain/errors.js';
import { assertTransitions, type BatchStatus, type PaymentStatus } from '../../domain/lifecycle.js';
import { addAmounts } from '../../domain/money.js';
import type { ReasonCode } from '../../domain/reason-codes.js';
import type { RetryRecord } from '../../domain/retry.js';
import type { StatementLine, StatementResult } from '../../domain/statement.js';
import type { StatementStatus } from '../../domain/batch.js';
import {
  ConditionFailed,
  type BatchStore,
  type CounterDelta,
  type Census,
  type Page,
  type PagePosition,
  type PaymentChange,
  type PaymentKey,
  type PaymentSummary,
  type Tally,
  type TransitionOptions,
} from '../../ports/batch-store.js';
import { isWatched, zeroByStatus, type UploadLease } from '../../domain/batch.js';
import { entity, keys } from './keys.js';
import { batchGetAll, batchWriteAll, sparseIndexItems } from './batching.js';
import { isConditionFailure } from './conditions.js';

type Item = Record<string, unknown>;

const KEY_ATTRIBUTES = new Set(['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'gsi3pk', 'gsi3sk', 'entity']);

/** The record without the storage attributes (keys, entity type). */
function strip<T>(item: Item | undefined): T {
  if (!item) throw new Error('DynamoDB returned no attributes where the request asked for them');
  return Object.fromEntries(Object.entries(item).filter(([name]) => !KEY_ATTRIBUTES.has(name))) as T;
}

function batchItem(batch: BatchRecord): Item {
  return {
    ...keys.batch(batch.batchId),
    ...keys.batchByProvince(batch.provinceCode, batch.createdAt, batch.batchId),
    ...(isWatched(batch) ? keys.watchedBatch(batch.batchId) : {}),
    entity: entity.batch,
    ...batch,
  };
}

/** The update clause that puts a batch in the reconciler's watch or takes it out (names and values added). */
function watchClause(batchId: string, watched: boolean, names: Record<string, string>, values: Record<string, unknown>): { set?: string; remove?: string } {
  names['#w_pk'] = 'gsi3pk';
  names['#w_sk'] = 'gsi3sk';
  if (!watched) return { remove: '#w_pk, #w_sk' };
  const watch = keys.watchedBatch(batchId);
  values[':w_pk'] = watch.gsi3pk;
  values[':w_sk'] = watch.gsi3sk;
  return { set: '#w_pk = :w_pk, #w_sk = :w_sk' };
}

/** `SET a, b REMOVE c` from clause lists (either may be empty). */
function updateExpression(sets: string[], removes: string[], adds: string[] = []): string {
  return [adds.length ? `ADD ${adds.join(', ')}` : '', sets.length ? `SET ${sets.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : '']
    .filter(Boolean)
    .join(' ');
}

// ---------------------------------------------------------------------------
// The stored form of a payment (docs/data-model.md, "Payment item size")
//
// DynamoDB bills a write by the whole item's size (the larger of before and after), in 1 KB
// steps, and a payment is written about four times: the item is kept under 1 KB through its
// life. So nothing the keys already hold is stored again, the history is one short string per
// entry, the account and payout are lists, and a null is no attribute. The record read back is
// exactly the record written (test/integration/dynamodb/payment-item-size.test.ts).
//
// - paymentId, batchId, shard, refDigest: from pk and sk; personHash from gsi1pk; createdAt
//   from gsi1sk (`<createdAt>#<paymentId>`).
// - updatedAt: the time of the last history entry (every transition writes both), stored only
//   when a record says otherwise.
// - history: `<status>[:<reasonCode>] <at>` per entry, e.g. `ON_HOLD:NO_LINKED_ACCOUNT 2026-...`.
// - account: [type, code, accountNumberMasked]; payout: [type, code, accountNumber,
//   accountName, linkId].
// - gender, reasonCode, nameMatch, account: null is stored as no attribute.
// Every other attribute is stored under its own name, as it is. status, reasonCode and amount,
// which conditions, filters and projections name, keep their names and plain values.

type StoredTuple = string[];

const PAYMENT_KEY = /^BATCH#(.+)#S(\d+)$/;
const PAYMENT_SORT_KEY = /^PAY#(.+)$/;
const PERSON_KEY = /^PERSON#(.+)$/;
/** Statuses and reason codes are upper-case words: they can neither hold the separators nor be empty. */
const HISTORY_TOKEN = /^[A-Z_]+$/;
/** Record fields stored as no attribute when null. */
const NULL_WHEN_ABSENT = ['gender', 'reasonCode', 'nameMatch', 'account'] as const;
/** Record fields rebuilt from the keys, never stored. */
const FROM_KEYS = new Set(['paymentId', 'batchId', 'shard', 'refDigest', 'personHash', 'createdAt']);

function encodeHistoryEntry(entry: PaymentHistoryEntry): string {
  const head = entry.reasonCode === null ? entry.status : `${entry.status}:${entry.reasonCode}`;
  if (!HISTORY_TOKEN.test(entry.status) || (entry.reasonCode !== null && !HISTORY_TOKEN.test(entry.reasonCode))) {
    throw new Error(`A history entry holds a status or reason code that is not a code: ${head}`);
  }
  return `${head} ${entry.at}`;
}

function decodeHistoryEntry(stored: string): PaymentHistoryEntry {
  const space = stored.indexOf(' ');
  const head = stored.slice(0, space);
  const colon = head.indexOf(':');
  return {
    status: (colon < 0 ? head : head.slice(0, colon)) as PaymentStatus,
    reasonCode: colon < 0 ? null : (head.slice(colon + 1) as ReasonCode),
    at: stored.slice(space + 1),
  };
}

const encodeAccount = (account: MaskedAccount): StoredTuple => [account.provider.type, account.provider.code, account.accountNumberMasked];

function decodeAccount(stored: StoredTuple): MaskedAccount {
  const [type, code, accountNumberMasked] = stored as [MaskedAccount['provider']['type'], string, string];
  return { provider: { type, code }, accountNumberMasked };
}

const encodePayout = (payout: PayoutAccount): StoredTuple => [payout.provider.type, payout.provider.code, payout.accountNumber, payout.accountName, payout.linkId];

function decodePayout(stored: StoredTuple): PayoutAccount {
  const [type, code, accountNumber, accountName, linkId] = stored as [PayoutAccount['provider']['type'], string, string, string, string];
  return { provider: { type, code }, accountNumber, accountName, linkId };
}

/** The stored value of a record field (undefined: no attribute). */
function storedValue(field: string, value: unknown): unknown {
  if (value === undefined || (value === null && (NULL_WHEN_ABSENT as readonly string[]).includes(field))) return undefined;
  if (value === null) return null;
  if (field === 'account') return encodeAccount(value as MaskedAccount);
  if (field === 'payout') return encodePayout(value as PayoutAccount);
  return value;
}

function paymentItem(payment: PaymentRecord): Item {
  const key = keys.payment(payment.batchId, payment.shard, payment.refDigest);
  const byPerson = keys.paymentByPerson(payment.personHash, payment.createdAt, payment.paymentId);
  if (payment.paymentId !== paymentIdFromKey(key.pk, key.sk)) {
    throw new Error(`The payment's id ${payment.paymentId} does not name its key ${key.pk} ${key.sk}`);
  }
  const item: Item = { ...key, ...byPerson, entity: entity.payment };
  const last = payment.history.at(-1);
  for (const [field, value] of Object.entries(payment)) {
    if (FROM_KEYS.has(field)) continue;
    if (field === 'history') item.history = payment.history.map(encodeHistoryEntry);
    else if (field === 'updatedAt') {
      if (last?.at !== payment.updatedAt) item.updatedAt = payment.updatedAt;
    } else {
      const stored = storedValue(field, value);
      if (stored !== undefined) item[field] = stored;
    }
  }
  return item;
}

const paymentIdOf = (key: PaymentKey) => `${key.batchId}-${String(key.shard).padStart(2, '0')}${key.refDigest}`;

function paymentIdFromKey(pk: string, sk: string): string {
  const [, batchId, shard] = PAYMENT_KEY.exec(pk) ?? [];
  const [, refDigest] = PAYMENT_SORT_KEY.exec(sk) ?? [];
  if (batchId === undefined || shard === undefined || refDigest === undefined) throw new Error(`Not a payment key: ${pk} ${sk}`);
  return `${batchId}-${shard}${refDigest}`;
}

/** The record of a stored payment item (the inverse of paymentItem). */
function paymentRecord(item: Item | undefined): PaymentRecord {
  if (!item) throw new Error('DynamoDB returned no attributes where the request asked for them');
  const { pk, sk, gsi1pk, gsi1sk, gsi3pk: _heldPartition, gsi3sk: _heldSort, entity: _entity, history, updatedAt, account, payout, ...rest } = item as Item & {
    pk: string;
    sk: string;
    gsi1pk: string;
    gsi1sk: string;
    history: string[];
    updatedAt?: string;
    account?: StoredTuple;
    payout?: StoredTuple;
  };
  const [, batchId = '', shard = ''] = PAYMENT_KEY.exec(pk) ?? [];
  const [, refDigest = ''] = PAYMENT_SORT_KEY.exec(sk) ?? [];
  const [, personHash = ''] = PERSON_KEY.exec(gsi1pk) ?? [];
  const paymentId = paymentIdFromKey(pk, sk);
  if (!gsi1sk.endsWith(`#${paymentId}`)) throw new Error(`The index key ${gsi1sk} does not end with the payment's id ${paymentId}`);
  const decoded = history.map(decodeHistoryEntry);
  const record = {
    paymentId,
    batchId,
    shard: Number(shard),
    refDigest,
    ...rest,
    personHash,
    ...Object.fromEntries(NULL_WHEN_ABSENT.map((field) => [field, rest[field] ?? null])),
    account: account ? decodeAccount(account) : null,
    ...(payout ? { payout: decodePayout(payout) } : {}),
    history: decoded,
    createdAt: gsi1sk.slice(0, gsi1sk.length - paymentId.length - 1),
    updatedAt: updatedAt ?? decoded.at(-1)?.at,
  };
  return record as PaymentRecord;
}


function summaryOf(item: Item, status: PaymentStatus, changedAt: string): PaymentSummary {
  const [, personHash = ''] = PERSON_KEY.exec(item.gsi1pk as string) ?? [];
  return { paymentId: paymentIdFromKey(item.pk as string, item.sk as string), personHash, status, amount: item.amount as number, changedAt };
}

/** Builds `#status IN (:s0, :s1, ...)` for a status guard. */
/** The payment is on `attempt` (an item written before attempts existed, or never retried, has no attribute: attempt 1). */
function attemptIs(attempt: number, names: Record<string, string>, value: string): string {
  names['#attempt'] = 'attempt';
  return attempt === 1 ? `(attribute_not_exists(#attempt) OR #attempt = ${value})` : `#attempt = ${value}`;
}

function retryItem(retry: RetryRecord): Item {
  return {
    ...keys.retry(retry.batchId, retry.retryId),
    ...(retry.status === 'APPROVED' && !retry.dispatched ? keys.retryToDispatch(retry.batchId, retry.retryId) : {}),
    entity: entity.retry,
    ...retry,
  };
}

function statusIn(statuses: readonly string[], values: Record<string, unknown>, prefix: string): string {
  const names = statuses.map((status, index) => {
    values[`:${prefix}${index}`] = status;
    return `:${prefix}${index}`;
  });
  return `#status IN (${names.join(', ')})`;
}

/** An APPROVED batch only while not started and before its scheduledFor (uses `:now`, set by the caller). */
function beforeScheduledStart(values: Record<string, unknown>): string {
  values[':approvedStatus'] = 'APPROVED';
  return '(#status <> :approvedStatus OR (attribute_not_exists(startedAt) AND scheduledFor > :now))';
}

export class DynamoBatchStore implements BatchStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async claimBatchRef(claim: { provinceCode: string; batchRefHash: string; batchId: string; fingerprint: string; at: string; lease: UploadLease }) {
    const key = keys.batchRef(claim.provinceCode, claim.batchRefHash);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, entity: entity.batchRef, batchId: claim.batchId, fingerprint: claim.fingerprint, createdAt: claim.at, createLease: claim.lease },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { claimed: true, batchId: claim.batchId, fingerprint: claim.fingerprint, lease: claim.lease };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const existing = await this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    const item = existing.Item as { batchId: string; fingerprint: string; createLease?: UploadLease };
    return { claimed: false, batchId: item.batchId, fingerprint: item.fingerprint, lease: item.createLease };
  }

  async findBatchIdByRef(provinceCode: string, batchRefHash: string): Promise<string | undefined> {
    const existing = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.batchRef(provinceCode, batchRefHash), ConsistentRead: true }));
    return (existing.Item as { batchId?: string } | undefined)?.batchId;
  }

  async takeOverCreate(provinceCode: string, batchRefHash: string, lease: UploadLease, now: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.batchRef(provinceCode, batchRefHash),
          UpdateExpression: 'SET createLease = :lease',
          ConditionExpression: 'attribute_exists(pk) AND createLease.expiresAt < :now',
          ExpressionAttributeValues: { ':lease': lease, ':now': now },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return false;
    }
  }

  async releaseCreateLease(provinceCode: string, batchRefHash: string, owner: string, outcome: { finished: boolean }): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.batchRef(provinceCode, batchRefHash),
          ...(outcome.finished
            ? { UpdateExpression: 'REMOVE createLease', ExpressionAttributeValues: { ':owner': owner } }
            : { UpdateExpression: 'SET createLease.expiresAt = :expired', ExpressionAttributeValues: { ':owner': owner, ':expired': new Date(0).toISOString() } }),
          ConditionExpression: 'createLease.#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async putBatchIfAbsent(batch: BatchRecord): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({ TableName: this.tableName, Item: batchItem(batch), ConditionExpression: 'attribute_not_exists(pk)' }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return false;
    }
  }

  async getBatch(batchId: string): Promise<BatchRecord | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.batch(batchId), ConsistentRead: true }));
    return result.Item ? strip<BatchRecord>(result.Item) : undefined;
  }

  async listBatches(
    provinceCode: string,
    query: { period?: string | undefined; status?: BatchStatus | undefined; limit: number; after?: PagePosition | undefined },
  ): Promise<Page<BatchRecord>> {
    const filters: string[] = [];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':pk': keys.provinceBatchesPartition(provinceCode) };
    if (query.period) {
      filters.push('#period = :period');
      names['#period'] = 'period';
      values[':period'] = query.period;
    }
    if (query.status) {
      filters.push('#status = :status');
      names['#status'] = 'status';
      values[':status'] = query.status;
    }
    const items: BatchRecord[] = [];
    let start = query.after as Item | undefined;
    // A filter is applied after DynamoDB's page limit: keep reading until the page is full or the index ends.
    do {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'gsi2',
          KeyConditionExpression: 'gsi2pk = :pk',
          ...(filters.length > 0 ? { FilterExpression: filters.join(' AND '), ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          Limit: query.limit - items.length,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of result.Items ?? []) items.push(strip<BatchRecord>(item));
      start = result.LastEvaluatedKey;
    } while (start && items.length < query.limit);
    return { items, next: start };
  }

  async acquireUploadLease(batchId: string, owner: string, now: Date, leaseMs: number): Promise<BatchRecord> {
    const nowIso = now.toISOString();
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.batch(batchId),
          // In the watch while leased: a chunk whose request dies leaves a lease the reconciler clears.
          UpdateExpression: 'SET uploadLease = :lease, gsi3pk = :w_pk, gsi3sk = :w_sk',
          ConditionExpression: 'attribute_exists(pk) AND #status = :open AND (attribute_not_exists(uploadLease) OR uploadLease.expiresAt < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':lease': { owner, expiresAt: new Date(now.getTime() + leaseMs).toISOString() },
            ':open': 'OPEN',
            ':now': nowIso,
            ':w_pk': keys.watchedBatch(batchId).gsi3pk,
            ':w_sk': keys.watchedBatch(batchId).gsi3sk,
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const before = strip<BatchRecord>(result.Attributes);
      if (before.uploadLease) {
        // The previous holder died mid-chunk: its payments may be stored but not counted.
        await this.client.send(
          new UpdateCommand({ TableName: this.tableName, Key: keys.batch(batchId), UpdateExpression: 'SET recountNeeded = :t', ExpressionAttributeValues: { ':t': true } }),
        );
        before.recountNeeded = true;
      }
      return { ...before, uploadLease: { owner, expiresAt: new Date(now.getTime() + leaseMs).toISOString() } };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = await this.getBatch(batchId);
      if (!current) throw new ConditionFailed(undefined);
      if (current.status !== 'OPEN') throw new InvalidStateError(`The batch is ${current.status}; payments can only be added while it is OPEN.`);
      // Busy, not wrong: 429 with Retry-After tells a client to simply send it again.
      const retryAfterSeconds = current.uploadLease ? Math.max(1, Math.ceil((Date.parse(current.uploadLease.expiresAt) - now.getTime()) / 1000)) : 1;
      throw new RateLimitedError('Another chunk of this batch is being uploaded right now. Retry after the time Retry-After gives.', { retryAfterSeconds });
    }
  }

  async completeUpload(batchId: string, owner: string, added: Totals, now: string): Promise<BatchRecord> {
    let result;
    try {
      result = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.batch(batchId),
        UpdateExpression:
          'ADD received.itemCount :n, received.totalAmount :a, counts.RECEIVED :n, amounts.RECEIVED :a, chunkCount :one SET updatedAt = :now REMOVE uploadLease, gsi3pk, gsi3sk',
        ConditionExpression: '#status = :open AND uploadLease.#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner', '#status': 'status' },
        ExpressionAttributeValues: { ':n': added.itemCount, ':a': added.totalAmount, ':one': 1, ':now': now, ':owner': owner, ':open': 'OPEN' },
        ReturnValues: 'ALL_NEW',
      }),
    );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw new ConditionFailed(await this.getBatch(batchId));
    }
    return strip<BatchRecord>(result.Attributes);
  }

  async releaseUploadLease(batchId: string, owner: string, options: { recount: boolean } = { recount: false }): Promise<BatchRecord | undefined> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.batch(batchId),
          UpdateExpression: options.recount ? 'SET recountNeeded = :t REMOVE uploadLease, gsi3pk, gsi3sk' : 'REMOVE uploadLease, gsi3pk, gsi3sk',
          ConditionExpression: 'uploadLease.#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner, ...(options.recount ? { ':t': true } : {}) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip<BatchRecord>(result.Attributes);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return undefined;
    }
  }

  async repairReceived(batchId: string, received: Totals, now: Date): Promise<BatchRecord> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.batch(batchId),
          UpdateExpression:
            'SET received = :received, counts.RECEIVED = :n, amounts.RECEIVED = :a, updatedAt = :now REMOVE recountNeeded, uploadLease, gsi3pk, gsi3sk',
          ConditionExpression: '#status = :open AND (attribute_not_exists(uploadLease) OR uploadLease.expiresAt < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':received': received,
            ':n': received.itemCount,
            ':a': received.totalAmount,
            ':now': now.toISOString(),
            ':open': 'OPEN',
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip<BatchRecord>(result.Attributes);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw new ConditionFailed(await this.getBatch(batchId));
    }
  }

  async sealBatch(batchId: string, received: Totals, now: Date): Promise<BatchRecord> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.batch(batchId),
          // SUBMITTED is watched: verification runs for it (a verification that stops is resumed).
          UpdateExpression: 'SET #status = :submitted, updatedAt = :now, sealedAt = :now, gsi3pk = :w_pk, gsi3sk = :w_sk REMOVE uploadLease',
          ConditionExpression:
            '#status = :open AND received.itemCount = :n AND received.totalAmount = :a AND attribute_not_exists(recountNeeded) AND (attribute_not_exists(uploadLease) OR uploadLease.expiresAt < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':submitted': 'SUBMITTED',
            ':open': 'OPEN',
            ':n': received.itemCount,
            ':a': received.totalAmount,
            ':now': now.toISOString(),
            ':w_pk': keys.watchedBatch(batchId).gsi3pk,
            ':w_sk': keys.watchedBatch(batchId).gsi3sk,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip<BatchRecord>(result.Attributes);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw new ConditionFailed(await this.getBatch(batchId));
    }
  }

  async getPayments(paymentKeys: PaymentKey[]): Promise<PaymentRecord[]> {
    const items = await batchGetAll(
      this.client,
      this.tableName,
      paymentKeys.map((key) => keys.payment(key.batchId, key.shard, key.refDigest)),
    );
    return items.map((item) => paymentRecord(item));
  }

  async getPayment(key: PaymentKey): Promise<PaymentRecord | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.payment(key.batchId, key.shard, key.refDigest), ConsistentRead: true }),
    );
    return result.Item ? paymentRecord(result.Item) : undefined;
  }

  async putPayments(payments: PaymentRecord[]): Promise<void> {
    await batchWriteAll(this.client, this.tableName, payments.map(paymentItem));
  }

  async sumPayments(batch: Pick<BatchRecord, 'batchId' | 'shardCount'>): Promise<Totals> {
    const shards = Array.from({ length: batch.shardCount }, (_, shard) => shard);
    const perShard = await Promise.all(
      shards.map(async (shard) => {
        let itemCount = 0;
        let totalAmount = 0;
        let start: Item | undefined;
        do {
          const result = await this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeValues: { ':pk': keys.paymentShard(batch.batchId, shard) },
              ProjectionExpression: 'amount',
              ConsistentRead: true,
              ExclusiveStartKey: start,
            }),
          );
          for (const item of result.Items ?? []) {
            itemCount += 1;
            totalAmount = addAmounts(totalAmount, item.amount as number);
          }
          start = result.LastEvaluatedKey;
        } while (start);
        return { itemCount, totalAmount };
      }),
    );
    return perShard.reduce((sum, part) => ({ itemCount: sum.itemCount + part.itemCount, totalAmount: addAmounts(sum.totalAmount, part.totalAmount) }), {
      itemCount: 0,
      totalAmount: 0,
    });
  }

  async listPayments(
    batch: Pick<BatchRecord, 'batchId' | 'shardCount'>,
    query: { status?: PaymentStatus | undefined; reasonCode?: ReasonCode | undefined; limit: number; after?: PagePosition | undefined },
  ): Promise<Page<PaymentRecord>> {
    const filters: string[] = [];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    if (query.status) {
      filters.push('#status = :status');
      names['#status'] = 'status';
      values[':status'] = query.status;
    }
    if (query.reasonCode) {
      filters.push('reasonCode = :reason');
      values[':reason'] = query.reasonCode;
    }
    // Shards are read one after the other; the position is (shard, last key in it).
    let shard = typeof query.after?.shard === 'number' ? query.after.shard : 0;
    let start = query.after?.key as Item | undefined;
    const items: PaymentRecord[] = [];
    while (shard < batch.shardCount && items.length < query.limit) {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: { ...values, ':pk': keys.paymentShard(batch.batchId, shard) },
          Limit: query.limit - items.length,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of result.Items ?? []) items.push(paymentRecord(item));
      start = result.LastEvaluatedKey;
      if (!start) shard += 1;
    }
    const next = shard < batch.shardCount ? { shard, ...(start ? { key: start } : {}) } : undefined;
    return { items, next };
  }

  async startScheduledBatch(batchId: string, now: string): Promise<BatchRecord | undefined> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.batch(batchId),
          UpdateExpression: 'SET startedAt = :now, updatedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND #status = :approved AND attribute_not_exists(startedAt) AND scheduledFor <= :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':now': now, ':approved': 'APPROVED' },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip<BatchRecord>(result.Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async transitionBatch(batchId: string, from: readonly BatchStatus[], to: BatchStatus, changes: Partial<BatchRecord>, now: string, options: TransitionOptions = {}): Promise<BatchRecord> {
    assertTransitions('batch', from, to);
    // Counters a transition does not replace are unknown here: a COMPLETED batch without them stays watched
    // (the reconciler recounts it and lets it go).
    const counts = (changes.counts ?? { ON_HOLD: 1 }) as BatchRecord['counts'];
    const watched = isWatched({ status: to, counts, cancelPending: changes.cancelPending });
    try {
      return await this.sendTransition(batchId, from, to, changes, now, options, watched);
    } catch (error) {
      // Out of the watch only while no recount is due (a change from outside, decision 143): a batch that
      // left the watch with one due would never be recounted. Then the same move, kept in the watch.
      if (watched || !(error instanceof ConditionFailed) || error.current?.recountDue !== true || !from.includes(error.current.status)) throw error;
      return this.sendTransition(batchId, from, to, changes, now, options, true);
    }
  }

  /** One transition's conditional UpdateItem; out of the watch (`watched` false) only if no recount is due. */
  private async sendTransition(
    batchId: string,
    from: readonly BatchStatus[],
    to: BatchStatus,
    changes: Partial<BatchRecord>,
    now: string,
    options: TransitionOptions,
    watched: boolean,
  ): Promise<BatchRecord> {
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ':to': to, ':now': now };
    const sets = ['#status = :to', 'updatedAt = :now'];
    const removes: string[] = [];
    for (const [field, value] of Object.entries(changes)) {
      if (field === 'status' || field === 'updatedAt' || value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    const watch = watchClause(batchId, watched, names, values);
    if (watch.set) sets.push(watch.set);
    if (watch.remove) removes.push(watch.remove);
    const conditions = [`attribute_exists(pk) AND ${statusIn(from, values, 'from')}`];
    if (options.beforeScheduledStart) conditions.push(beforeScheduledStart(values));
    if (!watched) {
      names['#recountDue'] = 'recountDue';
      values[':recountDue'] = true;
      conditions.push('(attribute_not_exists(#recountDue) OR #recountDue <> :recountDue)');
    }
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.batch(batchId),
          UpdateExpression: updateExpression(sets, removes),
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip<BatchRecord>(result.Attributes);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw new ConditionFailed(await this.getBatch(batchId));
    }
  }

  async transitionPayment(
    key: PaymentKey,
    from: readonly PaymentStatus[],
    to: PaymentStatus,
    change: PaymentChange,
  ): Promise<PaymentRecord | undefined> {
    // The stored form (paymentItem): the entry as one string, updatedAt as its time (so no attribute
    // of its own), nulls as no attribute.
    assertTransitions('payment', from, to);
    const values: Record<string, unknown> = {
      ':to': to,
      ':entry': [encodeHistoryEntry({ status: to, reasonCode: change.reasonCode, at: change.at })],
    };
    const sets = ['#status = :to', 'history = list_append(history, :entry)'];
    const removes = ['updatedAt'];
    // A held payment is in its batch's held partition of gsi3 (by the time it was held) until it leaves ON_HOLD.
    if (to === 'ON_HOLD') {
      const held = keys.heldPayment(key.batchId, change.at, paymentIdOf(key));
      values[':h_pk'] = held.gsi3pk;
      values[':h_sk'] = held.gsi3sk;
      sets.push('gsi3pk = :h_pk', 'gsi3sk = :h_sk');
    } else if (to === 'PAID' && change.unconfirmedUntil) {
      const unconfirmed = keys.unconfirmedPaid(key.refDigest, change.unconfirmedUntil, paymentIdOf(key));
      values[':u_pk'] = unconfirmed.gsi3pk;
      values[':u_sk'] = unconfirmed.gsi3sk;
      sets.push('gsi3pk = :u_pk', 'gsi3sk = :u_sk');
    } else if (from.includes('ON_HOLD') || from.includes('PAID')) removes.push('gsi3pk', 'gsi3sk');
    if (change.reasonCode === null) removes.push('reasonCode');
    else {
      values[':reason'] = change.reasonCode;
      sets.push('reasonCode = :reason');
    }
    const names: Record<string, string> = { '#status': 'status' };
    for (const [field, value] of Object.entries(change.set ?? {})) {
      if (value === undefined) continue;
      names[`#set_${field}`] = field;
      const stored = storedValue(field, value);
      if (stored === undefined) removes.push(`#set_${field}`);
      else {
        values[`:set_${field}`] = stored;
        sets.push(`#set_${field} = :set_${field}`);
      }
    }
    const adds: string[] = [];
    if (change.claimHandOff) {
      values[':handOffAt'] = change.at;
      values[':oneHandOff'] = 1;
      sets.push('handOffAt = :handOffAt');
      adds.push('handOffs :oneHandOff');
    }
    // A new attempt is started by its retry only, once: the claim must be live on the attempt read.
    let expected = '';
    if (change.expect) {
      names['#retryId'] = 'retryId';
      names['#retryFor'] = 'retryFor';
      values[':x_retry'] = change.expect.retryId;
      values[':x_attempt'] = change.expect.attempt;
      expected = ` AND #retryId = :x_retry AND #retryFor = :x_attempt AND ${attemptIs(change.expect.attempt, names, ':x_attempt')}`;
    }
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.payment(key.batchId, key.shard, key.refDigest),
          UpdateExpression: updateExpression(sets, removes, adds),
          // unlessHandedOff (a death event): only while the disbursement worker has not claimed the hand-off.
          ConditionExpression: `attribute_exists(pk) AND ${statusIn(from, values, 'from')}${change.unlessHandedOff ? ' AND attribute_not_exists(handOffs)' : ''}${handOffsCondition(change.handOffsStill, values)}${expected}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return paymentRecord(result.Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async claimHandOff(key: PaymentKey, now: string): Promise<PaymentRecord | undefined> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.payment(key.batchId, key.shard, key.refDigest),
          UpdateExpression: 'SET handOffAt = :now, updatedAt = :now ADD handOffs :one',
          ConditionExpression: 'attribute_exists(pk) AND #status = :queued',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':one': 1, ':queued': 'QUEUED', ':now': now },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return paymentRecord(result.Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async countOverdueUnconfirmed(now: string): Promise<number> {
    let count = 0;
    for (const partition of keys.unconfirmedPaidPartitions) {
      let start: Item | undefined;
      do {
        const result = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: 'gsi3',
            KeyConditionExpression: 'gsi3pk = :pk AND gsi3sk < :now',
            ExpressionAttributeValues: { ':pk': partition, ':now': now },
            Select: 'COUNT',
            ExclusiveStartKey: start,
          }),
        );
        count += result.Count ?? 0;
        start = result.LastEvaluatedKey;
      } while (start);
    }
    return count;
  }

  async flagPaidAfterDeath(key: PaymentKey, dateOfDeath: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.payment(key.batchId, key.shard, key.refDigest),
        UpdateExpression: 'SET paidAfterDeath = :date',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':date': dateOfDeath },
      }),
    );
  }

  async addToCounters(batchId: string, deltas: CounterDelta[], now: string, rejections: Partial<Record<ReasonCode, number>> = {}): Promise<BatchRecord | undefined> {
    const merged = new Map<PaymentStatus, { count: number; amount: number }>();
    for (const delta of deltas) {
      const sum = merged.get(delta.status) ?? { count: 0, amount: 0 };
      merged.set(delta.status, { count: sum.count + delta.count, amount: sum.amount + delta.amount });
    }
    const rejected = Object.entries(rejections).filter(([, count]) => count !== 0);
    if (merged.size === 0 && rejected.length === 0) return undefined;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':now': now };
    const adds = [...merged].map(([status, delta], index) => {
      names[`#s${index}`] = status;
      values[`:c${index}`] = delta.count;
      values[`:a${index}`] = delta.amount;
      return `counts.#s${index} :c${index}, amounts.#s${index} :a${index}`;
    });
    rejected.forEach(([code, count], index) => {
      names[`#r${index}`] = code;
      values[`:r${index}`] = count;
      adds.push(`rejections.#r${index} :r${index}`);
    });
    const result = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.batch(batchId),
        UpdateExpression: `ADD ${adds.join(', ')} SET updatedAt = :now`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        // The batch after the update: whoever moved the last unsettled payment sees it settled without another read.
        ReturnValues: 'ALL_NEW',
      }),
    );
    return strip<BatchRecord>(result.Attributes);
  }

  async markShardVerified(batchId: string, shard: number): Promise<number> {
    const result = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.batch(batchId),
        // A number set: adding the same shard twice (a redelivered message) counts it once.
        UpdateExpression: 'ADD verifiedShards :shard',
        ExpressionAttributeValues: { ':shard': new Set([shard]) },
        // ALL_NEW: some backends return nothing under UPDATED_NEW when the set did not change.
        ReturnValues: 'ALL_NEW',
      }),
    );
    return (result.Attributes?.verifiedShards as Set<number> | undefined)?.size ?? 0;
  }

  async tallyPayments(batch: Pick<BatchRecord, 'batchId' | 'shardCount'>): Promise<Tally> {
    const { counts, amounts, rejections } = await this.censusPayments(batch);
    return { counts, amounts, rejections };
  }

  async censusPayments(batch: Pick<BatchRecord, 'batchId' | 'shardCount'>, collect: readonly PaymentStatus[] = []): Promise<Census> {
    const census: Census = { counts: zeroByStatus(), amounts: zeroByStatus(), rejections: {}, lastChangeAt: null, collected: [] };
    await Promise.all(
      Array.from({ length: batch.shardCount }, async (_, shard) => {
        let start: Item | undefined;
        do {
          const result = await this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':pk': keys.paymentShard(batch.batchId, shard) },
              // A Query is billed by the items read, not by the attributes returned: the history (for when the
              // payment last changed) and the keys cost nothing more.
              ProjectionExpression: 'pk, sk, gsi1pk, #status, amount, reasonCode, history, updatedAt',
              ConsistentRead: true,
              ExclusiveStartKey: start,
            }),
          );
          for (const item of result.Items ?? []) {
            const status = item.status as PaymentStatus;
            census.counts[status] += 1;
            census.amounts[status] = addAmounts(census.amounts[status], item.amount as number);
            const reason = item.reasonCode as ReasonCode | null;
            if (status === 'REJECTED' && reason) census.rejections[reason] = (census.rejections[reason] ?? 0) + 1;
            const history = item.history as string[];
            const changedAt = (item.updatedAt as string | undefined) ?? decodeHistoryEntry(history[history.length - 1] ?? ' ').at;
            if (census.lastChangeAt === null || changedAt > census.lastChangeAt) census.lastChangeAt = changedAt;
            if (collect.includes(status)) census.collected.push(summaryOf(item, status, changedAt));
          }
          start = result.LastEvaluatedKey;
        } while (start);
      }),
    );
    return census;
  }

  async listWatchedBatches(): Promise<BatchRecord[]> {
    const items = await sparseIndexItems(this.client, this.tableName, keys.watchedBatchesPartition);
    return items.map((item) => strip<BatchRecord>(item));
  }

  async watchBatch(batchId: string): Promise<void> {
    const watch = keys.watchedBatch(batchId);
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.batch(batchId),
        UpdateExpression: 'SET gsi3pk = :w_pk, gsi3sk = :w_sk, recountDue = :t',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':w_pk': watch.gsi3pk, ':w_sk': watch.gsi3sk, ':t': true },
      }),
    );
  }

  async recountBatch(batchId: string, tally: Tally, seenUpdatedAt: string, at: string): Promise<BatchRecord> {
    const current = await this.getBatch(batchId);
    if (!current) throw new ConditionFailed(undefined);
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':counts': tally.counts, ':amounts': tally.amounts, ':rejections': tally.rejections, ':now': at, ':seen': seenUpdatedAt };
    const watch = watchClause(batchId, isWatched({ ...current, counts: tally.counts, recountDue: false }), names, values);
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.batch(batchId),
          UpdateExpression: updateExpression(
            ['counts = :counts', 'amounts = :amounts', 'rejections = :rejections', 'updatedAt = :now', 'checkedAt = :now', ...(watch.set ? [watch.set] : [])],
            ['recountDue', ...(watch.remove ? [watch.remove] : [])],
          ),
          ConditionExpression: 'updatedAt = :seen',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip<BatchRecord>(result.Attributes);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw new ConditionFailed(await this.getBatch(batchId));
    }
  }

  async finishCancellation(batchId: string, tally: Tally, at: string): Promise<BatchRecord> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.batch(batchId),
          UpdateExpression: 'SET counts = :counts, amounts = :amounts, rejections = :rejections, updatedAt = :now REMOVE cancelPending, gsi3pk, gsi3sk',
          ConditionExpression: '#status = :cancelled',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':counts': tally.counts, ':amounts': tally.amounts, ':rejections': tally.rejections, ':now': at, ':cancelled': 'CANCELLED' },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip<BatchRecord>(result.Attributes);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw new ConditionFailed(await this.getBatch(batchId));
    }
  }

  async markChecked(batchId: string, seenUpdatedAt: string, at: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.batch(batchId),
          UpdateExpression: 'SET checkedAt = :now',
          ConditionExpression: 'updatedAt = :seen',
          ExpressionAttributeValues: { ':now': at, ':seen': seenUpdatedAt },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async listHeldPayments(batchId: string, query: { heldBefore?: string; limit: number; after?: PagePosition | undefined }): Promise<Page<PaymentRecord>> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'gsi3',
        KeyConditionExpression: query.heldBefore ? 'gsi3pk = :pk AND gsi3sk < :before' : 'gsi3pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.heldPaymentsPartition(batchId), ...(query.heldBefore ? { ':before': query.heldBefore } : {}) },
        Limit: query.limit,
        ExclusiveStartKey: query.after as Item | undefined,
      }),
    );
    const found = (result.Items ?? []).map((item) => ({ pk: item.pk, sk: item.sk }));
    const items = await batchGetAll(this.client, this.tableName, found);
    return { items: items.map((item) => paymentRecord(item)).filter((payment) => payment.status === 'ON_HOLD'), next: result.LastEvaluatedKey };
  }

  async listPaymentsByPerson(personHash: string, query: { limit: number; after?: PagePosition | undefined }): Promise<Page<PaymentRecord>> {
    // The index holds keys only: find the page there, then read the items in one BatchGetItem.
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.personPaymentsPartition(personHash) },
        ScanIndexForward: false,
        Limit: query.limit,
        ExclusiveStartKey: query.after as Item | undefined,
      }),
    );
    const found = (result.Items ?? []).map((item) => ({ pk: item.pk, sk: item.sk }));
    const items = await batchGetAll(this.client, this.tableName, found);
    const order = new Map(found.map((key, index) => [`${key.pk}|${key.sk}`, index]));
    items.sort((a, b) => (order.get(`${a.pk}|${a.sk}`) ?? 0) - (order.get(`${b.pk}|${b.sk}`) ?? 0));
    return { items: items.map((item) => paymentRecord(item)), next: result.LastEvaluatedKey };
  }

  async putRetry(retry: RetryRecord): Promise<boolean> {
    try {
      await this.client.send(new PutCommand({ TableName: this.tableName, Item: retryItem(retry), ConditionExpression: 'attribute_not_exists(pk)' }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async getRetry(batchId: string, retryId: string): Promise<RetryRecord | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.retry(batchId, retryId), ConsistentRead: true }));
    return result.Item ? strip<RetryRecord>(result.Item) : undefined;
  }

  async updateRetry(batchId: string, retryId: string, from: readonly RetryRecord['status'][], changes: Partial<RetryRecord>, now: string): Promise<RetryRecord | undefined> {
    const names: Record<string, string> = { '#status': 'status', '#updatedAt': 'updatedAt' };
    const values: Record<string, unknown> = { ':now': now };
    const sets = ['#updatedAt = :now'];
    const removes: string[] = [];
    for (const [field, value] of Object.entries(changes)) {
      if (value === undefined || field === 'updatedAt') continue;
      names[`#c_${field}`] = field;
      values[`:c_${field}`] = value;
      sets.push(`#c_${field} = :c_${field}`);
    }
    names['#d_pk'] = 'gsi3pk';
    names['#d_sk'] = 'gsi3sk';
    if (changes.status === 'APPROVED' && !changes.dispatched) {
      const index = keys.retryToDispatch(batchId, retryId);
      values[':d_pk'] = index.gsi3pk;
      values[':d_sk'] = index.gsi3sk;
      sets.push('#d_pk = :d_pk', '#d_sk = :d_sk');
    } else if (changes.dispatched || changes.status === 'CANCELLED') removes.push('#d_pk', '#d_sk');
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.retry(batchId, retryId),
          UpdateExpression: updateExpression(sets, removes),
          ConditionExpression: `attribute_exists(pk) AND ${statusIn(from, values, 'from')}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip<RetryRecord>(result.Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async claimForRetry(key: PaymentKey, retryId: string, attempt: number): Promise<boolean> {
    const names: Record<string, string> = { '#status': 'status', '#retryId': 'retryId', '#retryFor': 'retryFor' };
    const values: Record<string, unknown> = { ':retry': retryId, ':attempt': attempt };
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.payment(key.batchId, key.shard, key.refDigest),
          UpdateExpression: 'SET #retryId = :retry, #retryFor = :attempt',
          // FAILED or RETURNED on the attempt read, and no other retry's claim on that attempt.
          ConditionExpression: `attribute_exists(pk) AND ${statusIn(['FAILED', 'RETURNED'], values, 's')} AND ${attemptIs(attempt, names, ':attempt')} AND (attribute_not_exists(#retryFor) OR #retryFor <> :attempt OR #retryId = :retry)`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async releaseRetryClaim(key: PaymentKey, retryId: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.payment(key.batchId, key.shard, key.refDigest),
          UpdateExpression: 'REMOVE #retryId, #retryFor',
          ConditionExpression: 'attribute_exists(pk) AND #retryId = :retry',
          ExpressionAttributeNames: { '#retryId': 'retryId', '#retryFor': 'retryFor' },
          ExpressionAttributeValues: { ':retry': retryId },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async listRetriesToDispatch(): Promise<RetryRecord[]> {
    const items = await sparseIndexItems(this.client, this.tableName, keys.retriesToDispatchPartition);
    return items.map((item) => strip<RetryRecord>(item)).filter((retry) => retry.status === 'APPROVED' && !retry.dispatched);
  }

  async claimStatement(providerCode: string, key: string, fingerprint: string, at: string) {
    try {
      // UpdateItem creating the item (the callbacks function may update, not put).
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.statement(key),
          UpdateExpression: 'SET #entity = :entity, providerCode = :provider, fingerprint = :fingerprint, receivedAt = :at',
          ConditionExpression: 'attribute_not_exists(pk)',
          ExpressionAttributeNames: { '#entity': 'entity' },
          ExpressionAttributeValues: { ':entity': entity.statement, ':provider': providerCode, ':fingerprint': fingerprint, ':at': at },
        }),
      );
      return { claimed: true, fingerprint };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const stored = (await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.statement(key), ConsistentRead: true }))).Item;
      return {
        claimed: false,
        fingerprint: String(stored?.fingerprint ?? ''),
        result: typeof stored?.result === 'string' ? (JSON.parse(stored.result) as StatementResult) : undefined,
      };
    }
  }

  async finishStatement(key: string, result: StatementResult, at: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.statement(key),
        UpdateExpression: 'SET #result = :result, finishedAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#result': 'result' },
        ExpressionAttributeValues: { ':result': JSON.stringify(result), ':at': at },
      }),
    );
  }

  async markStatement(key: PaymentKey, attempt: number, change: { statementId: string; statementStatus: StatementStatus }): Promise<void> {
    const names: Record<string, string> = { '#statementId': 'statementId', '#statementStatus': 'statementStatus' };
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.payment(key.batchId, key.shard, key.refDigest),
          // Confirmed or returned: out of the index of unconfirmed transfers (a mismatch stays in it, and is overdue in time).
          UpdateExpression: `SET #statementId = :id, #statementStatus = :status${change.statementStatus === 'CONFIRMED' || change.statementStatus === 'RETURNED' ? ' REMOVE gsi3pk, gsi3sk' : ''}`,
          ConditionExpression: `attribute_exists(pk) AND ${attemptIs(attempt, names, ':attempt')}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':id': change.statementId, ':status': change.statementStatus, ':attempt': attempt },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async putUnknownReference(batchId: string, statementKey: string, index: number, line: StatementLine & { statementId: string; valueDate: string }): Promise<void> {
    const fields = { entity: entity.unknownReference, ...line };
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([field, value]) => {
        names[`#${field}`] = field;
        values[`:${field}`] = value;
        return `#${field} = :${field}`;
      });
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.unknownReference(batchId, statementKey, index),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  async listUnknownReferences(batchId: string): Promise<(StatementLine & { statementId: string; valueDate: string })[]> {
    const found: (StatementLine & { statementId: string; valueDate: string })[] = [];
    let start: Item | undefined;
    do {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': keys.batch(batchId).pk, ':prefix': 'UNKNOWN#' },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of result.Items ?? []) {
        const { transferRef, amount, status, reasonCode, statementId, valueDate } = item as Record<string, unknown>;
        found.push({
          transferRef: String(transferRef),
          amount: Number(amount),
          status: status as StatementLine['status'],
          ...(reasonCode ? { reasonCode: String(reasonCode) } : {}),
          statementId: String(statementId),
          valueDate: String(valueDate),
        });
      }
      start = result.LastEvaluatedKey;
    } while (start);
    return found;
  }

  async claimNotice(paymentId: string, event: string, attempt: number, at: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.notice(paymentId, event, attempt),
          UpdateExpression: 'SET #entity = :entity, sentAt = :at',
          ConditionExpression: 'attribute_not_exists(pk)',
          ExpressionAttributeNames: { '#entity': 'entity' },
          ExpressionAttributeValues: { ':entity': entity.notice, ':at': at },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

/** `handOffsStill` of a payment change: the hand-off count as it was read. */
function handOffsCondition(still: PaymentChange['handOffsStill'], values: Record<string, unknown>): string {
  if (!still) return '';
  if (still.count === undefined) return ' AND attribute_not_exists(handOffs)';
  values[':handOffsStill'] = still.count;
  return ' AND handOffs = :handOffsStill';
}
