import { DynamoRegisterEventStore } from '../../shared/adapters/dynamodb/register-event-store.js';
import type { DeathMarkers } from '../../shared/ports/register-events.js';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { startLocalDynamo, type LocalDynamo } from '../../local/dynamodb.js';
import { DynamoAccountStore } from '../../shared/adapters/dynamodb/account-store.js';
import { DynamoBatchStore } from '../../shared/adapters/dynamodb/batch-store.js';
import { DynamoEntitlementStore } from '../../shared/adapters/dynamodb/entitlement-store.js';
import { keys } from '../../shared/adapters/dynamodb/keys.js';
import { SandboxPaymentProvider } from '../../shared/adapters/provider/sandbox-provider.js';
import { createDisbursementUseCases, PaymentGroupError, type DisbursementMessage, type DisbursementUseCases } from '../../shared/app/disbursement.js';
import { zeroByStatus, type BatchRecord, type PaymentRecord } from '../../shared/domain/batch.js';
import type { Clock } from '../../shared/domain/dates.js';
import { keyedHasher } from '../../shared/domain/keyed-hash.js';
import { sumAmounts } from '../../shared/domain/money.js';
import type { Principal } from '../../shared/app/principal.js';
import type { AccountStore } from '../../shared/ports/account-store.js';
import type { BatchStore } from '../../shared/ports/batch-store.js';
import type { EntitlementStore } from '../../shared/ports/entitlement-store.js';
import type { PaymentProvider } from '../../shared/ports/payment-provider.js';
import type { WorkQueue } from '../../shared/ports/work-queue.js';
import { makePersonalId } from './personal-ids.js';
import { batchRecord, paymentRecord } from './records.js';

/**
 * A harness for driving the disbursement use cases with real adapters on an
 * in-memory dynalite, a real SandboxPaymentProvider, and a queue the test
 * delivers itself (so that it can deliver a message twice, concurrently, or
 * again after the handler threw). Faults are injected by decorating ports.
 */

const REGION = 'ap-southeast-1';
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const PROVINCE = '79';
export const PROGRAM = 'SOCIAL_ALLOWANCE';
export const PERIOD = '2026-11';
export const MAKER = 'hcm-maker';
export const hash = keyedHasher('fault-injection-test-pepper-not-a-secret');

/** The crash a test injects; anything else thrown is a real failure. */
export class InjectedCrash extends Error {
  constructor(where: string) {
    super(`injected crash: ${where}`);
    this.name = 'InjectedCrash';
  }
}

// ---------------------------------------------------------------------------
// Ports: a recording queue and decorators

/** The disbursement queue as the test sees it: messages are kept until the test takes them. */
export class RecordingQueue<M> implements WorkQueue<M> {
  /** Every message ever sent, in order. */
  readonly sent: M[] = [];
  private pending: M[] = [];

  async send(messages: readonly M[]): Promise<void> {
    this.sent.push(...messages);
    this.pending.push(...messages);
  }

  /** The messages sent since the last take. */
  take(): M[] {
    const taken = this.pending;
    this.pending = [];
    return taken;
  }
}

/**
 * `inner` with some of its methods replaced (a decorator over any port: the
 * other methods are delegated, bound to `inner`).
 */
export function decorate<T extends object>(inner: T, overrides: Partial<T>): T {
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (Object.prototype.hasOwnProperty.call(overrides, property)) return overrides[property as keyof T];
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Calls of each kind per key, for "the first time for this payment" faults. */
export class Counter {
  private readonly counts = new Map<string, number>();
  /** Counts one more and returns the new count. */
  hit(key: string): number {
    const next = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, next);
    return next;
  }
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  total(): number {
    return [...this.counts.values()].reduce((sum, count) => sum + count, 0);
  }
}

// ---------------------------------------------------------------------------
// The world: dynalite, adapters, use cases

export interface World {
  dynamo: LocalDynamo;
  client: DynamoDBDocumentClient;
  batches: DynamoBatchStore;
  accounts: DynamoAccountStore;
  entitlements: DynamoEntitlementStore;
  provider: SandboxPaymentProvider;
  clock: Clock;
  /** Death markers (register events): the worker reads them at hand-off. */
  deaths: DynamoRegisterEventStore;
  stop(): Promise<void>;
}

/** A clock that moves forward one millisecond a reading, so that histories are ordered. */
export function tickingClock(start = new Date('2026-11-25T02:00:00.000Z')): Clock {
  let now = start.getTime();
  return { now: () => new Date(now++) };
}

export async function startWorld(): Promise<World> {
  const dynamo = await startLocalDynamo(`fi-${ulid().slice(-8).toLowerCase()}`);
  const raw = new DynamoDBClient({ endpoint: dynamo.endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 8 });
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false } });
  const clock = tickingClock();
  return {
    dynamo,
    client,
    batches: new DynamoBatchStore(client, dynamo.tableNames.core),
    accounts: new DynamoAccountStore(client, dynamo.tableNames.core),
    deaths: new DynamoRegisterEventStore(client, dynamo.tableNames.core),
    entitlements: new DynamoEntitlementStore(client, dynamo.tableNames.core),
    provider: new SandboxPaymentProvider(client, dynamo.tableNames.sandboxProvider, () => clock.now()),
    clock,
    stop: async () => {
      client.destroy();
      await dynamo.stop();
    },
  };
}

export interface Ports {
  batches?: BatchStore;
  accounts?: AccountStore;
  entitlements?: EntitlementStore;
  provider?: PaymentProvider;
  deaths?: DeathMarkers;
  /** The dead-letter handler's hand-off window (default 0). */
  handOffWindowMs?: number;
}

/** The real use cases over the world's adapters, with some ports replaced by decorated ones. */
export function useCases(world: World, queue: RecordingQueue<DisbursementMessage>, ports: Ports = {}): DisbursementUseCases {
  return createDisbursementUseCases({
    batches: ports.batches ?? world.batches,
    accounts: ports.accounts ?? world.accounts,
    entitlements: ports.entitlements ?? world.entitlements,
    provider: ports.provider ?? world.provider,
    queue,
    clock: world.clock,
    deaths: ports.deaths ?? world.deaths,
    ...(ports.handOffWindowMs === undefined ? {} : { handOffWindowMs: ports.handOffWindowMs }),
  });
}

export function approver(sub: string): Principal {
  return { sub, scopes: new Set(['batches:read', 'batches:approve']), provinceCode: PROVINCE, personalId: undefined };
}

// ---------------------------------------------------------------------------
// Fixtures: a verified batch awaiting approval

/** What each person's account does at the sandbox provider (api.md), and where the payment ends. */
export type Profile = 'paid' | 'closed' | 'not-found' | 'flaky' | 'down' | 'pending' | 'no-account';

const suffixOf: Record<Exclude<Profile, 'no-account'>, string> = {
  paid: '1234',
  closed: '0000',
  'not-found': '0001',
  flaky: '9990',
  down: '9999',
  pending: '5555',
};

/** Where a payment of each profile ends once the queue is drained (SENT ones are then settled by a callback). */
export const expectedEnd: Record<Profile, { status: PaymentRecord['status']; reasonCode: string | null }> = {
  paid: { status: 'PAID', reasonCode: null },
  closed: { status: 'FAILED', reasonCode: 'ACCOUNT_CLOSED' },
  'not-found': { status: 'FAILED', reasonCode: 'ACCOUNT_NOT_FOUND' },
  flaky: { status: 'PAID', reasonCode: null },
  down: { status: 'FAILED', reasonCode: 'RETRIES_EXHAUSTED' },
  pending: { status: 'SENT', reasonCode: null },
  'no-account': { status: 'ON_HOLD', reasonCode: 'NO_LINKED_ACCOUNT' },
};

/** 30 payments: most paid at once, and every other behaviour of the sandbox provider at least once. */
export const standardProfiles: Profile[] = [
  'no-account',
  'closed',
  'closed',
  'not-found',
  'flaky',
  'flaky',
  'down',
  'pending',
  'pending',
  'pending',
  ...Array.from({ length: 20 }, (): Profile => 'paid'),
];

export interface SeededBatch {
  batch: BatchRecord;
  payments: PaymentRecord[];
  /** paymentId -> profile */
  profiles: Map<string, Profile>;
}

let serial = 0;

/** A batch record holding exactly `payments` (control totals, received totals and counters consistent with their statuses). */
export function batchRecordOf(
  batchId: string,
  payments: readonly PaymentRecord[],
  options: { status: BatchRecord['status']; shardCount: number; at: string; updatedAt?: string },
): BatchRecord {
  const total = sumAmounts(payments.map((payment) => payment.amount));
  const counts = zeroByStatus();
  const amounts = zeroByStatus();
  for (const payment of payments) {
    counts[payment.status] += 1;
    amounts[payment.status] += payment.amount;
  }
  return batchRecord(
    {
      batchId,
      batchRef: `FI-${batchId}`,
      provinceCode: PROVINCE,
      programCode: PROGRAM,
      period: PERIOD,
      status: options.status,
      control: { itemCount: payments.length, totalAmount: total },
      received: { itemCount: payments.length, totalAmount: total },
      counts,
      amounts,
      shardCount: options.shardCount,
      chunkCount: 1,
      fingerprint: `fp-${batchId}`,
      createdBy: MAKER,
      updatedAt: options.updatedAt ?? options.at,
    },
    options.at,
  );
}

/**
 * Writes, through the adapters, a batch in AWAITING_APPROVAL whose payments are
 * all VERIFIED, with their entitlements held and the accounts linked (one
 * profile per payment). Counters and control totals are consistent.
 */
export async function seedVerifiedBatch(world: World, profiles: readonly Profile[] = standardProfiles, shardCount = 2): Promise<SeededBatch> {
  const batchId = ulid();
  const at = '2026-11-20T03:00:00.000Z';
  const verifiedAt = '2026-11-20T03:05:00.000Z';
  const payments: PaymentRecord[] = profiles.map((_, index) => {
    serial += 1;
    const birthYear = 1940 + (serial % 50);
    const gender = serial % 2 === 0 ? 'M' : 'F';
    const personalId = makePersonalId({ prefix: '079', gender, birthYear, serial: 300_000 + serial });
    const paymentRef = `FI-${String(index).padStart(4, '0')}`;
    return paymentRecord(
      hash,
      { batchId, shardCount, provinceCode: PROVINCE, programCode: PROGRAM, period: PERIOD },
      { paymentRef, seq: 10_000 + index, amount: 500_000 + index * 1_000, at, payee: { personalId, fullName: `Nguyễn Thị Số ${serial}`, dateOfBirth: `${birthYear}-03-15`, gender } },
      {
        status: 'VERIFIED',
        nameMatch: 'EXACT',
        history: [
          { status: 'RECEIVED', reasonCode: null, at },
          { status: 'VERIFIED', reasonCode: null, at: verifiedAt },
        ],
        updatedAt: verifiedAt,
      },
    );
  });
  const batch = batchRecordOf(batchId, payments, { status: 'AWAITING_APPROVAL', shardCount, at, updatedAt: verifiedAt });
  await world.batches.putBatchIfAbsent(batch);
  await world.batches.putPayments(payments);
  const byId = new Map<string, Profile>();
  await Promise.all(
    payments.map(async (payment, index) => {
      const profile = profiles[index]!;
      byId.set(payment.paymentId, profile);
      const claim = await world.entitlements.claim({
        personHash: payment.personHash,
        programCode: PROGRAM,
        period: PERIOD,
        paymentId: payment.paymentId,
        batchId,
        seq: payment.seq,
      });
      if (!claim.held) throw new Error('fixture: the entitlement is held by another payment');
      if (profile === 'no-account') return;
      const accountNumber = `00${String(serial).padStart(4, '0')}${String(index).padStart(4, '0')}${suffixOf[profile]}`;
      await world.accounts.link(payment.personHash, {
        linkId: ulid(),
        personalId: payment.personalId,
        provider: { type: 'BANK', code: '970436' },
        accountNumber,
        accountNumberMasked: `****${accountNumber.slice(-4)}`,
        accountName: payment.fullName,
        linkedAt: '2026-11-01T00:00:00.000Z',
        linkedBy: 'beneficiary',
        consentRef: null,
      });
    }),
  );
  const shards = new Set(payments.map((payment) => payment.shard));
  if (payments.length >= 20 && shards.size !== shardCount) throw new Error('fixture: every shard should hold payments');
  return { batch, payments, profiles: byId };
}

// ---------------------------------------------------------------------------
// Delivery: the test is the queue's consumer

export interface DrainOptions {
  /** Deliveries of each sent message (2: every message is delivered twice, both at once). */
  copies?: 1 | 2;
  /** Receives before a message goes to the dead-letter queue (then `exhausted()` is called). */
  maxReceives?: number;
  /** Calls of `exhausted()` per dead-lettered message before giving up (the DLQ consumer is retried too). */
  maxExhaustedCalls?: number;
  /** Upper bound on delivery rounds. */
  maxRounds?: number;
}

export interface DrainReport {
  deliveries: number;
  failedDeliveries: number;
  /** Failures that were not injected crashes or the provider's transient errors. */
  unexpectedErrors: unknown[];
  deadLettered: DisbursementMessage[];
  rounds: number;
}

interface Envelope {
  message: DisbursementMessage;
  receives: number;
}

/** Injected crashes and the provider's transient errors, alone or as the failures of a payment group. */
function isExpectedFailure(error: unknown): boolean {
  if (error instanceof PaymentGroupError) return error.errors.every(isExpectedFailure);
  const name = (error as { name?: string } | null)?.name;
  return name === 'InjectedCrash' || name === 'ProviderTransientError';
}

/**
 * Delivers every message the queue holds, and the messages those deliveries
 * send, until nothing is left: a round delivers all pending envelopes at once;
 * an envelope whose handle() threw is delivered again next round, up to
 * `maxReceives`, then dead-lettered: `exhausted()` is called for it (again,
 * up to `maxExhaustedCalls`, if that throws too).
 */
export async function drain(app: DisbursementUseCases, queue: RecordingQueue<DisbursementMessage>, options: DrainOptions = {}): Promise<DrainReport> {
  const copies = options.copies ?? 1;
  const maxReceives = options.maxReceives ?? 5;
  const maxExhaustedCalls = options.maxExhaustedCalls ?? 3;
  const maxRounds = options.maxRounds ?? 40;
  const report: DrainReport = { deliveries: 0, failedDeliveries: 0, unexpectedErrors: [], deadLettered: [], rounds: 0 };
  let pending: Envelope[] = [];
  for (;;) {
    for (const message of queue.take()) for (let copy = 0; copy < copies; copy += 1) pending.push({ message, receives: 0 });
    if (pending.length === 0) return report;
    if (report.rounds >= maxRounds) throw new Error(`the queue did not drain in ${maxRounds} rounds (${pending.length} messages left)`);
    report.rounds += 1;
    const round = pending;
    pending = [];
    await Promise.all(
      round.map(async (envelope) => {
        envelope.receives += 1;
        report.deliveries += 1;
        try {
          await app.handle(envelope.message);
          return;
        } catch (error) {
          report.failedDeliveries += 1;
          if (!isExpectedFailure(error)) report.unexpectedErrors.push(error);
        }
        if (envelope.receives < maxReceives) {
          pending.push(envelope);
          return;
        }
        report.deadLettered.push(envelope.message);
        for (let call = 1; ; call += 1) {
          try {
            await app.exhausted(envelope.message);
            return;
          } catch (error) {
            if (!isExpectedFailure(error)) report.unexpectedErrors.push(error);
            if (call >= maxExhaustedCalls) throw error;
          }
        }
      }),
    );
  }
}

// ---------------------------------------------------------------------------
// Reading back what happened

export interface LedgerEntry {
  reference: string;
  amount: number;
  accepted: boolean;
  outcome: { status: string };
}

/** Every transfer the sandbox provider recorded (Scan of its table: a test may). */
export async function ledger(world: World): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await world.client.send(new ScanCommand({ TableName: world.dynamo.tableNames.sandboxProvider, ExclusiveStartKey: start, ConsistentRead: true }));
    for (const item of page.Items ?? []) {
      if (typeof item.pk === 'string' && item.pk.startsWith('TRANSFER#')) {
        entries.push({ reference: item.pk.slice('TRANSFER#'.length), amount: item.amount as number, accepted: item.accepted === true, outcome: item.outcome as { status: string } });
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return entries;
}

/** The current payments of the batch, by paymentId. */
export async function paymentsOf(world: World, seeded: SeededBatch): Promise<Map<string, PaymentRecord>> {
  const stored = await world.batches.getPayments(seeded.payments.map(({ batchId, shard, refDigest }) => ({ batchId, shard, refDigest })));
  return new Map(stored.map((payment) => [payment.paymentId, payment]));
}

/** Who holds the payment's entitlement now (undefined when released). */
export async function entitlementHolder(world: World, payment: PaymentRecord): Promise<string | undefined> {
  const result = await world.client.send(
    new GetCommand({ TableName: world.dynamo.tableNames.core, Key: keys.entitlement(payment.personHash, payment.programCode, payment.period), ConsistentRead: true }),
  );
  return result.Item?.paymentId as string | undefined;
}

/** Settles every SENT payment of the batch as its provider's callback would (PAID). Returns how many. */
export async function settleSent(world: World, app: DisbursementUseCases, seeded: SeededBatch): Promise<number> {
  const sent = [...(await paymentsOf(world, seeded)).values()].filter((payment) => payment.status === 'SENT');
  for (const payment of sent) {
    const moved = await app.recordOutcome(payment, { status: 'PAID', settledAt: world.clock.now().toISOString() });
    if (!moved) throw new Error(`settling ${payment.paymentId} changed nothing`);
  }
  return sent.length;
}
