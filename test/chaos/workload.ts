import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoBatchStore } from '../../shared/adapters/dynamodb/batch-store.js';
import { createDocumentClient } from '../../shared/adapters/dynamodb/client.js';
import { SANDBOX_REGISTER_SEED, sandboxPeople, syntheticPopulation } from '../../shared/adapters/population/synthetic-population.js';
import { callbackSignature } from '../../shared/app/callbacks.js';
import { attemptOf, historyWithAttempts, parsePaymentId, parseTransferRef, type BatchRecord, type PaymentRecord } from '../../shared/domain/batch.js';
import { entitlementHoldingStatuses, paymentStatuses, type PaymentStatus } from '../../shared/domain/lifecycle.js';
import type { ReasonCode } from '../../shared/domain/reason-codes.js';
import type { DeathEventAnswer } from '../../shared/domain/register-events.js';
import type { Citizen } from '../../shared/ports/population-registry.js';
import type { ChaosWorld, Supervisor } from './harness.js';

/**
 * One round of the chaos suite, as provincial systems, officials, a provider
 * and beneficiaries would drive the system over HTTP, while the child process
 * running it is killed at the points the plan names; then the invariants of
 * domain.md, read from the store the child left.
 *
 * Who retries what (nobody else acts): a provincial system replays a create
 * whose answer it did not get (api.md: the replay finishes what the first
 * started); a provider resends a callback until it is answered; an official
 * or a beneficiary whose request failed looks, and asks again only if nothing
 * was recorded (an approval, a cancel or a link that was recorded is never
 * asked again: the system must finish it by itself).
 */

const PROVINCE = '79';
const PROGRAM = 'SOCIAL_ALLOWANCE';
const AMOUNT = 500_000;
const PROVIDER = '970436';
const SECRET = 'local-provider-secret';
const REGISTER_SECRET = 'local-register-secret';

type Profile = 'paid' | 'duplicate' | 'closed' | 'not-found' | 'flaky' | 'down' | 'sent' | 'held' | 'deceased' | 'died' | 'cancelled';

const suffixOf: Partial<Record<Profile, string>> = { paid: '1234', closed: '0000', 'not-found': '0001', flaky: '9990', down: '9999', sent: '5555', held: '4321', cancelled: '2468' };

/** Where each profile ends. */
export const expectedEnd: Record<Profile, { status: PaymentStatus; reasonCode: ReasonCode | null }> = {
  paid: { status: 'PAID', reasonCode: null },
  duplicate: { status: 'REJECTED', reasonCode: 'DUPLICATE_ENTITLEMENT' },
  // FAILED ACCOUNT_CLOSED on its first attempt; the beneficiary links a new account, the province asks for a
  // new attempt and a second official approves it (issue 13): PAID by attempt 2.
  closed: { status: 'PAID', reasonCode: null },
  'not-found': { status: 'FAILED', reasonCode: 'ACCOUNT_NOT_FOUND' },
  flaky: { status: 'PAID', reasonCode: null },
  down: { status: 'FAILED', reasonCode: 'RETRIES_EXHAUSTED' },
  sent: { status: 'PAID', reasonCode: null },
  held: { status: 'PAID', reasonCode: null },
  deceased: { status: 'REJECTED', reasonCode: 'DECEASED' },
  // Held (no account), then the register's death event (issue 16) cancels it: nothing is owed after the death.
  died: { status: 'CANCELLED', reasonCode: 'DECEASED' },
  cancelled: { status: 'CANCELLED', reasonCode: null },
};

class NetworkError extends Error {}

interface Answer {
  status: number;
  json: Record<string, unknown>;
  retryAfter: string | null;
}

/** The people of the suite: the synthetic register's, with fixed roles (accounts linked once, in setup). */
export class Cast {
  readonly paid: Citizen[];
  readonly closed: Citizen;
  readonly notFound: Citizen;
  readonly flaky: Citizen;
  readonly down: Citizen;
  readonly sent: Citizen;
  readonly cancelled: Citizen[];
  readonly deceased: Citizen;
  /** One person without an account per round: linked during the round, after their payment is held. */
  private readonly unlinked: Citizen[];

  constructor() {
    const alive = syntheticPopulation(SANDBOX_REGISTER_SEED).filter((citizen) => citizen.dateOfDeath === null);
    let next = 0;
    const take = (n: number) => alive.slice(next, (next += n));
    this.paid = take(5);
    [this.closed, this.notFound, this.flaky, this.down, this.sent] = take(5) as [Citizen, Citizen, Citizen, Citizen, Citizen];
    this.cancelled = take(3);
    this.unlinked = alive.slice(next);
    const deceased = sandboxPeople.find((person) => person.dateOfDeath !== null);
    if (!deceased) throw new Error('the sandbox register has no deceased person');
    this.deceased = deceased;
  }

  held(round: number): Citizen {
    return this.unlinkedAt(round);
  }

  /** Who dies in the round (their payment held, no account), and who arranges the funeral: new people every round. */
  dying(round: number): { deceased: Citizen; arranger: Citizen } {
    return { deceased: this.unlinkedAt(500 + 2 * round), arranger: this.unlinkedAt(501 + 2 * round) };
  }

  private unlinkedAt(index: number): Citizen {
    const person = this.unlinked[index];
    if (!person) throw new Error(`no unlinked person left at ${index}`);
    return person;
  }

  /** Who gets an account in setup, and its last four digits. */
  accounts(): [Citizen, string][] {
    return [
      ...this.paid.map((person): [Citizen, string] => [person, suffixOf.paid!]),
      [this.closed, suffixOf.closed!],
      [this.notFound, suffixOf['not-found']!],
      [this.flaky, suffixOf.flaky!],
      [this.down, suffixOf.down!],
      [this.sent, suffixOf.sent!],
      ...this.cancelled.map((person): [Citizen, string] => [person, suffixOf.cancelled!]),
    ];
  }
}

/**
 * Whether a payment ended where its profile may end. With deaths in the round, a payment whose
 * message was received by a dying child `maxReceiveCount` times may also end FAILED
 * RETRIES_EXHAUSTED (the dead-letter handler asked the provider, which had no transfer): a terminal
 * end the province sees and can retry. The money invariants (check()) then prove the provider
 * really has none.
 */
export function endsAsExpected(profile: Profile, payment: Pick<PaymentRecord, 'status' | 'reasonCode'> | undefined, hadDeaths: boolean): boolean {
  const end = expectedEnd[profile];
  if (payment?.status === end.status && payment.reasonCode === end.reasonCode) return true;
  return hadDeaths && exhaustible.has(profile) && payment?.status === 'FAILED' && payment.reasonCode === 'RETRIES_EXHAUSTED';
}
/** Profiles whose payment reaches the disbursement queue. */
const exhaustible = new Set<Profile>(['paid', 'closed', 'not-found', 'flaky', 'sent', 'held']);

export interface RoundResult {
  batches: { approved: string; cancelled: string };
  /** The closed account's payment, the retry of it the province withdrew, and the one approved. */
  retries: { paymentId: string; withdrawn: string; approved: string };
  /** The register's death event of the round, and what it answered. */
  death: { eventId: string; answer: DeathEventAnswer };
  /** Deaths while the round ran. */
  deaths: number;
  /** paymentId -> profile */
  profiles: Map<string, Profile>;
  /** ms from the round's last driver action to convergence. */
  convergeMs: number;
  /** Answers of 500 and above the system gave (never expected). */
  serverErrors: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CHAOS_TRACE=1: each wait's end on stderr, in seconds from the round's start (where a round's time goes). */
const tracing = process.env.CHAOS_TRACE === '1';

export class Driver {
  readonly store: DynamoBatchStore;
  private readonly client;
  private tokens = new Map<string, string>();
  readonly serverErrors: string[] = [];

  constructor(
    private readonly world: ChaosWorld,
    private readonly supervisor: Supervisor,
  ) {
    this.client = createDocumentClient(world.dynamo.endpoint);
    this.store = new DynamoBatchStore(this.client, world.dynamo.tableNames.core);
  }

  destroy(): void {
    this.client.destroy();
  }

  /** One HTTP request; a connection the child's death cut is a NetworkError. */
  private async request(method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {}): Promise<Answer> {
    await this.supervisor.ready();
    let response: Response;
    try {
      response = await fetch(`${this.supervisor.url}${path}`, {
        method,
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(options.body !== undefined || options.raw !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
        body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new NetworkError((error as Error).message);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new NetworkError((error as Error).message);
    }
    const json = text && response.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (response.status >= 500) this.serverErrors.push(`${method} ${path} ${response.status} ${text.slice(0, 200)}`);
    return { status: response.status, json, retryAfter: response.headers.get('retry-after') };
  }

  /** Asks until the system answers (a dead child's request is sent again to the next one). */
  private async untilAnswered(method: string, path: string, options: Parameters<Driver['request']>[2] = {}): Promise<Answer> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.request(method, path, options);
      } catch (error) {
        if (!(error instanceof NetworkError) || attempt > 200) throw error;
      }
    }
  }

  async token(body: Record<string, unknown>): Promise<string> {
    const key = JSON.stringify(body);
    const known = this.tokens.get(key);
    if (known) return known;
    const answer = await this.untilAnswered('POST', '/local/token', { body });
    if (answer.status !== 200) throw new Error(`token: ${answer.status} ${JSON.stringify(answer.json)}`);
    const token = answer.json.accessToken as string;
    this.tokens.set(key, token);
    return token;
  }

  private province = () => this.token({ role: 'province', provinceCode: PROVINCE, sub: 'chaos-maker' });
  private approver = () => this.token({ role: 'approver', provinceCode: PROVINCE, sub: 'chaos-checker' });
  private beneficiary = (person: Citizen) => this.token({ role: 'beneficiary', personalId: person.personalId });

  /** A beneficiary links an account; asked again only while the link is not recorded. */
  async link(person: Citizen, suffix: string): Promise<void> {
    const token = await this.beneficiary(person);
    const accountNumber = `00${person.personalId.slice(-6)}${suffix}`;
    const body = { provider: { type: 'BANK', code: PROVIDER }, accountNumber, accountName: person.fullName };
    for (;;) {
      try {
        const answer = await this.request('PUT', `/v1/accounts/${person.personalId}`, { token, body });
        if (answer.status !== 200) throw new Error(`link: ${answer.status} ${JSON.stringify(answer.json)}`);
        return;
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        const current = await this.untilAnswered('GET', '/v1/me/account', { token });
        if (current.status === 200 && (current.json.accountNumberMasked as string).endsWith(suffix)) return;
      }
    }
  }

  /** A province's create, replayed until answered (the same body: idempotent). */
  private async create(body: Record<string, unknown>): Promise<string> {
    const token = await this.province();
    const deadline = Date.now() + 120_000;
    for (;;) {
      const answer = await this.untilAnswered('POST', '/v1/batches', { token, body });
      if (answer.status === 201 || answer.status === 200) return answer.json.batchId as string;
      // An identical request (the first, dead or alive) is still at work: come back after Retry-After.
      if ((answer.status === 409 && answer.json.code === 'CONFLICT') || answer.status === 429) {
        if (Date.now() > deadline) throw new Error(`create kept answering ${answer.status} for 120 s`);
        await sleep(Math.min(Number(answer.retryAfter ?? 1), 5) * 1000);
        continue;
      }
      throw new Error(`create: ${answer.status} ${JSON.stringify(answer.json)}`);
    }
  }

  /** An official's action: asked again only if its effect is not recorded. */
  private async act(path: string, token: string, recorded: (batch: BatchRecord) => boolean, batchId: string): Promise<void> {
    for (;;) {
      try {
        const answer = await this.request('POST', path, { token });
        if (answer.status === 200) return;
        throw new Error(`${path}: ${answer.status} ${JSON.stringify(answer.json)}`);
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        const batch = await this.store.getBatch(batchId);
        if (batch && recorded(batch)) return;
      }
    }
  }

  /**
   * The register's signed death event (api.md 1.1, "Events from the population register"), with a funeral:
   * the same event sent again until answered (the same eventId is the same event, finished by whichever
   * delivery, or the reconciler, gets to it).
   */
  private async registerDeath(round: number, dying: { deceased: Citizen; arranger: Citizen }): Promise<RoundResult['death']> {
    const eventId = `chaos-death-${round}`;
    const raw = JSON.stringify({
      eventId,
      type: 'DEATH_REGISTERED',
      personalId: dying.deceased.personalId,
      dateOfDeath: '2026-11-15',
      registeredAt: '2026-11-16T08:00:00+07:00',
      funeral: { arrangerPersonalId: dying.arranger.personalId, arrangerName: dying.arranger.fullName, provinceCode: PROVINCE },
    });
    for (;;) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const answer = await this.untilAnswered('POST', '/v1/register-events', { raw, headers: { 'x-timestamp': timestamp, 'x-signature': callbackSignature(REGISTER_SECRET, timestamp, raw) } });
      if (answer.status === 202) return { eventId, answer: answer.json as unknown as DeathEventAnswer };
      // An earlier delivery (dead) still holds the funeral batch's create: the register asks again after Retry-After.
      if (answer.status === 409 && answer.retryAfter !== null) {
        await sleep(Math.min(Number(answer.retryAfter), 2) * 1000);
        continue;
      }
      throw new Error(`register event: ${answer.status} ${JSON.stringify(answer.json)}`);
    }
  }

  /** A provider's signed callback, sent until it is answered. */
  private async callback(paymentId: string, outcome: 'PAID'): Promise<void> {
    const raw = JSON.stringify({ transferRef: paymentId, outcome, settledAt: new Date().toISOString() });
    for (;;) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const answer = await this.untilAnswered('POST', `/v1/provider-callbacks/${PROVIDER}`, {
        raw,
        headers: { 'x-timestamp': timestamp, 'x-signature': callbackSignature(SECRET, timestamp, raw) },
      });
      if (answer.status === 200) return;
      throw new Error(`callback: ${answer.status} ${JSON.stringify(answer.json)}`);
    }
  }

  /**
   * Waits until `probe` answers, at most `timeoutMs` after the later of the wait's start and the
   * last death: a round armed with many kills takes longer, but the system must move on once
   * the deaths stop. On timeout, says where each payment of the round stands.
   */
  private async waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    const started = performance.now();
    for (;;) {
      const value = await probe();
      if (value !== undefined) {
        this.trace(`${what} (waited ${Math.round(performance.now() - started)} ms)`);
        return value;
      }
      const lastDeath = this.supervisor.kills.at(-1)?.at ?? 0;
      if (performance.now() > Math.max(started, lastDeath) + timeoutMs) {
        throw new Error(`timed out waiting for ${what}\n${await this.describeRound()}\n${this.supervisor.tail()}`);
      }
      await sleep(150);
    }
  }

  /** Waits until the batch is COMPLETED. */
  private async completed(batchId: string, what: string): Promise<void> {
    await this.waitFor(what, async () => ((await this.store.getBatch(batchId))?.status === 'COMPLETED' ? true : undefined));
  }

  private roundStarted = 0;
  private trace(what: string): void {
    if (tracing) process.stderr.write(`[trace] +${((performance.now() - this.roundStarted) / 1000).toFixed(2)} s ${what}; deaths ${this.supervisor.kills.length}\n`);
  }

  /** The batches of the round under way, and each payment's status (for a timeout's message). */
  private roundBatches: string[] = [];
  private async describeRound(): Promise<string> {
    const lines: string[] = [`deaths so far: ${this.supervisor.kills.length}; last: ${JSON.stringify(this.supervisor.kills.slice(-5))}`];
    for (const batchId of this.roundBatches) {
      const batch = await this.store.getBatch(batchId);
      lines.push(`batch ${batchId}: ${batch?.status} counts ${JSON.stringify(batch?.counts)} cancelPending ${batch?.cancelPending} recountDue ${batch?.recountDue}`);
      for (const payment of await this.payments(batchId)) lines.push(`  ${payment.paymentRef}: ${payment.status} ${payment.reasonCode ?? ''} attempts ${JSON.stringify(payment.history?.slice(-3) ?? [])}`);
    }
    return lines.join('\n');
  }

  private async payments(batchId: string): Promise<PaymentRecord[]> {
    const batch = await this.store.getBatch(batchId);
    if (!batch) return [];
    const all: PaymentRecord[] = [];
    let after: Record<string, unknown> | undefined;
    do {
      const page = await this.store.listPayments(batch, { limit: 500, after });
      all.push(...page.items);
      after = page.next;
    } while (after);
    return all;
  }

  /** Links the setup's accounts (no kill is armed while this runs). */
  async setup(cast: Cast): Promise<void> {
    for (const [person, suffix] of cast.accounts()) await this.link(person, suffix);
  }

  async round(cast: Cast, round: number): Promise<RoundResult> {
    this.roundStarted = performance.now();
    const deathsBefore = this.supervisor.kills.length;
    const period = `${2031 + Math.floor(round / 12)}-${String((round % 12) + 1).padStart(2, '0')}`;
    const held = cast.held(round);
    const dying = cast.dying(round);
    const item = (person: Citizen, ref: string) => ({
      paymentRef: ref,
      personalId: person.personalId,
      fullName: person.fullName,
      dateOfBirth: person.dateOfBirth,
      gender: person.gender,
      amount: AMOUNT,
    });
    const approvedItems: [Profile, ReturnType<typeof item>][] = [
      ...cast.paid.map((person, index): [Profile, ReturnType<typeof item>] => ['paid', item(person, `P${index}`)]),
      ['duplicate', item(cast.paid[0]!, 'P0-again')],
      ['closed', item(cast.closed, 'CLOSED')],
      ['not-found', item(cast.notFound, 'NOTFOUND')],
      ['flaky', item(cast.flaky, 'FLAKY')],
      ['down', item(cast.down, 'DOWN')],
      ['sent', item(cast.sent, 'SENT')],
      ['held', item(held, 'HELD')],
      ['deceased', item(cast.deceased, 'DECEASED')],
      ['died', item(dying.deceased, 'DIED')],
    ];
    const cancelledItems = cast.cancelled.map((person, index) => item(person, `C${index}`));
    const batchOf = (ref: string, items: ReturnType<typeof item>[]) => ({
      batchRef: `chaos-${round}-${ref}`,
      provinceCode: PROVINCE,
      programCode: PROGRAM,
      period,
      control: { itemCount: items.length, totalAmount: items.length * AMOUNT },
      payments: items,
    });

    const [approved, cancelled] = await Promise.all([
      this.create(batchOf('A', approvedItems.map(([, payment]) => payment))),
      this.create(batchOf('B', cancelledItems)),
    ]);
    this.roundBatches = [approved, cancelled];
    this.trace('created');
    for (const batchId of [approved, cancelled]) {
      await this.waitFor(`verification of ${batchId}`, async () => ((await this.store.getBatch(batchId))?.status === 'AWAITING_APPROVAL' ? true : undefined));
    }
    const province = await this.province();
    // One after the other: a request is then killed at its own points, not at those of a request beside it
    // (the named phase must see each one's last write done by its own unit, not by the reconciler).
    await this.act(`/v1/batches/${cancelled}/cancel`, province, (batch) => batch.status === 'CANCELLED', cancelled);
    this.trace('cancelled');
    await this.act(`/v1/batches/${approved}/approve`, await this.approver(), (batch) => batch.status !== 'AWAITING_APPROVAL', approved);
    this.trace('approved');

    // Identify the payments by their refs (paymentRef -> profile).
    const profileByRef = new Map(approvedItems.map(([profile, payment]) => [payment.paymentRef, profile]));
    const profiles = new Map<string, Profile>();
    for (const payment of await this.payments(approved)) profiles.set(payment.paymentId, profileByRef.get(payment.paymentRef) ?? 'paid');
    for (const payment of await this.payments(cancelled)) profiles.set(payment.paymentId, 'cancelled');
    const idOf = (profile: Profile) => [...profiles].find(([, p]) => p === profile)?.[0] as string;

    // The provider settles the accepted transfer; the held person links an account; the register reports a death.
    let death: RoundResult['death'] | undefined;
    await Promise.all([
      (async () => {
        const sent = idOf('sent');
        // FAILED: deaths exhausted its message before the provider took it (endsAsExpected).
        const status = await this.waitFor('the SENT payment', async () => {
          const found = (await this.store.getPayment(parsePaymentId(sent)!))?.status;
          return found === 'SENT' || found === 'FAILED' ? found : undefined;
        });
        if (status === 'SENT') await this.callback(sent, 'PAID');
        this.trace('callback answered');
      })(),
      (async () => {
        const heldId = idOf('held');
        await this.waitFor('the held payment', async () => {
          const found = (await this.store.getPayment(parsePaymentId(heldId)!))?.status;
          return found === 'ON_HOLD' || found === 'FAILED' ? true : undefined;
        });
        // Linked once the batch is COMPLETED (ON_HOLD is settled), so that every round's release reopens it:
        // the reopen's write is a point of every round, not of the rounds where the link came first.
        await this.completed(approved, 'the approved batch to complete');
        await this.link(held, suffixOf.held!);
        this.trace('held person linked');
      })(),
      (async () => {
        const diedId = idOf('died');
        await this.waitFor('the dying person\'s payment held', async () => ((await this.store.getPayment(parsePaymentId(diedId)!))?.status === 'ON_HOLD' ? true : undefined));
        // Once the batch is COMPLETED, as the held person's link: every round takes the same path.
        await this.completed(approved, 'the approved batch to complete before the death');
        death = await this.registerDeath(round, dying);
        if (death.answer.funeralAllowance) this.roundBatches.push(death.answer.funeralAllowance.batchId);
        this.trace('death registered');
      })(),
    ]);

    const retries = { paymentId: idOf('closed'), ...(await this.retryClosed(cast, approved, idOf('closed'))) };

    const lastAction = performance.now();
    await this.waitFor(
      `convergence of round ${round}`,
      async () => ((await this.converged([approved, cancelled], profiles, this.supervisor.kills.length > deathsBefore, { batchId: approved, ...retries }, death!.answer)) ? true : undefined),
      180_000,
    );
    const convergeMs = performance.now() - lastAction;
    // The next round's payment to this person fails again on the closed account.
    await this.link(cast.closed, suffixOf.closed!);
    return { batches: { approved, cancelled }, retries, death: death!, deaths: this.supervisor.kills.length - deathsBefore, profiles, convergeMs, serverErrors: [...this.serverErrors] };
  }

  /**
   * A new attempt (issue 13): once the payment of the closed account FAILED and its batch COMPLETED, its
   * beneficiary links a working account, and the province asks for a retry of that payment and withdraws it
   * (cancel: its claim must hold nothing, and it must never be paid); then asks again, and a second official
   * approves that one. Each asks again only while its effect is not recorded (read from the store, as an
   * official would look in the app): a request that died after its claim is the retry to go on with, a cancel
   * that died after the CANCELLED write is done (the next request releases the claim it left).
   */
  private async retryClosed(cast: Cast, batchId: string, paymentId: string): Promise<{ withdrawn: string; approved: string }> {
    const key = parsePaymentId(paymentId)!;
    const first = await this.waitFor('the closed account payment to fail', async () => {
      const payment = await this.store.getPayment(key);
      return payment?.status === 'FAILED' ? payment : undefined;
    });
    await this.completed(batchId, 'the approved batch to complete before the retry');
    await this.link(cast.closed, suffixOf.paid!);
    const province = await this.province();
    // The retry the payment's claim names, unless that retry was cancelled (its claim holds nothing).
    const claimedRetry = async () => {
      const payment = await this.store.getPayment(key);
      if (!payment?.retryId || payment.retryFor !== attemptOf(first)) return undefined;
      const retry = await this.store.getRetry(batchId, payment.retryId);
      return retry && retry.status !== 'CANCELLED' ? payment.retryId : undefined;
    };
    const requestRetry = async (): Promise<string> => {
      for (;;) {
        try {
          const answer = await this.request('POST', `/v1/batches/${batchId}/retries`, { token: province, body: { paymentIds: [paymentId] } });
          if (answer.status === 201) return answer.json.retryId as string;
          if (answer.status !== 409) throw new Error(`retry: ${answer.status} ${JSON.stringify(answer.json)}`);
        } catch (error) {
          if (!(error instanceof NetworkError)) throw error;
        }
        // 409, or no answer: an earlier request (dead) may hold it.
        const claimed = await claimedRetry();
        if (claimed) return claimed;
      }
    };
    const withdrawn = await requestRetry();
    this.trace('retry requested (to withdraw)');
    for (;;) {
      try {
        const answer = await this.request('POST', `/v1/batches/${batchId}/retries/${withdrawn}/cancel`, { token: province });
        if (answer.status === 200) break;
        throw new Error(`retry cancel: ${answer.status} ${JSON.stringify(answer.json)}`);
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        if ((await this.store.getRetry(batchId, withdrawn))?.status === 'CANCELLED') break;
      }
    }
    this.trace('retry withdrawn');
    const retryId = await requestRetry();
    this.trace('retry requested');
    const approver = await this.approver();
    for (;;) {
      try {
        const answer = await this.request('POST', `/v1/batches/${batchId}/retries/${retryId}/approve`, { token: approver });
        if (answer.status === 200) break;
        throw new Error(`retry approval: ${answer.status} ${JSON.stringify(answer.json)}`);
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        if ((await this.store.getRetry(batchId, retryId))?.status === 'APPROVED') break;
      }
    }
    this.trace('retry approved');
    return { withdrawn, approved: retryId };
  }

  /** Every batch terminal, every payment where its profile ends, counters equal to a recount, nothing left watched. */
  private async converged(
    batchIds: string[],
    profiles: Map<string, Profile>,
    hadDeaths: boolean,
    retry: { batchId: string; paymentId: string; approved: string },
    death: DeathEventAnswer,
  ): Promise<boolean> {
    // The funeral allowance's batch is verified and waits for the province's officials (nobody approves it here).
    const funeral = death.funeralAllowance && (await this.store.getBatch(death.funeralAllowance.batchId));
    if (!funeral || funeral.status !== 'AWAITING_APPROVAL') return false;
    // The approved retry has started its attempt: an approval that died after its APPROVED write is finished by
    // the reconciler, and until then a payment whose first attempt deaths exhausted looks settled already (and the
    // account linked for the next round would be the one its attempt is sent to).
    const approvedRetry = await this.store.getRetry(retry.batchId, retry.approved);
    if (!approvedRetry?.dispatched) return false;
    const retried = await this.store.getPayment(parsePaymentId(retry.paymentId)!);
    if (!retried || attemptOf(retried) < 2) return false;
    for (const batchId of batchIds) {
      const batch = await this.store.getBatch(batchId);
      if (!batch || (batch.status !== 'COMPLETED' && batch.status !== 'CANCELLED') || batch.cancelPending || batch.recountDue) return false;
      const census = await this.store.censusPayments(batch);
      if (paymentStatuses.some((status) => census.counts[status] !== batch.counts[status] || census.amounts[status] !== batch.amounts[status])) return false;
    }
    for (const [paymentId, profile] of profiles) {
      const payment = await this.store.getPayment(parsePaymentId(paymentId)!);
      if (!endsAsExpected(profile, payment, hadDeaths)) return false;
    }
    const watched = await this.store.listWatchedBatches();
    return !watched.some((batch) => batchIds.includes(batch.batchId));
  }

  /** The invariants of domain.md over everything the suite did so far; the failures, in words. */
  async check(results: RoundResult[]): Promise<{ failures: string[]; double: number; lost: number; instructions: number; bookings: number; exhaustedByDeaths: number }> {
    const failures: string[] = [];
    let exhaustedByDeaths = 0;
    const payments = new Map<string, PaymentRecord>();
    for (const result of results) {
      for (const batchId of [result.batches.approved, result.batches.cancelled]) {
        const batch = (await this.store.getBatch(batchId))!;
        for (const payment of await this.payments(batchId)) payments.set(payment.paymentId, payment);
        // Counts and amounts equal a recount; the report's totals equal the control totals.
        const census = await this.store.censusPayments(batch);
        for (const status of paymentStatuses) {
          if (batch.counts[status] !== census.counts[status] || batch.amounts[status] !== census.amounts[status]) {
            failures.push(`${batchId}: ${status} counted ${batch.counts[status]}/${batch.amounts[status]}, recount ${census.counts[status]}/${census.amounts[status]}`);
          }
        }
        const itemCount = paymentStatuses.reduce((sum, status) => sum + census.counts[status], 0);
        const totalAmount = paymentStatuses.reduce((sum, status) => sum + census.amounts[status], 0);
        if (itemCount !== batch.control.itemCount || totalAmount !== batch.control.totalAmount) failures.push(`${batchId}: payments ${itemCount}/${totalAmount} != control`);
        const report = await this.untilAnswered('GET', `/v1/batches/${batchId}/report`, { token: await this.province() });
        const byStatus = (report.json.totals as { byStatus?: Record<string, { count: number; amount: number }> } | undefined)?.byStatus ?? {};
        const reported = Object.values(byStatus).reduce((sum, { count, amount }) => ({ count: sum.count + count, amount: sum.amount + amount }), { count: 0, amount: 0 });
        if (report.status !== 200 || reported.count !== batch.control.itemCount || reported.amount !== batch.control.totalAmount) {
          failures.push(`${batchId}: report ${report.status} totals ${JSON.stringify(reported)} != control`);
        }
      }
      for (const [paymentId, profile] of result.profiles) {
        const payment = payments.get(paymentId);
        const end = expectedEnd[profile];
        if (!endsAsExpected(profile, payment, result.deaths > 0)) {
          const history = (payment?.history ?? []).map((entry) => `${entry.status}${entry.reasonCode ? ` ${entry.reasonCode}` : ''}`).join(' > ');
          failures.push(`${paymentId} (${profile}): ${payment?.status} ${payment?.reasonCode}, expected ${end.status} ${end.reasonCode} (history: ${history})`);
        }
        else if (payment?.status !== end.status) exhaustedByDeaths++;
      }
    }

    // The withdrawn retry stays CANCELLED and never started an attempt; the closed account's payment started one
    // new attempt, by the retry approved (its claim names it).
    for (const { batches, retries } of results) {
      const withdrawn = await this.store.getRetry(batches.approved, retries.withdrawn);
      if (withdrawn?.status !== 'CANCELLED' || withdrawn.dispatched || withdrawn.approvedBy !== null) {
        failures.push(`withdrawn retry ${retries.withdrawn}: ${withdrawn?.status} dispatched ${withdrawn?.dispatched} approvedBy ${withdrawn?.approvedBy}`);
      }
      const payment = payments.get(retries.paymentId);
      const historyAttempt = historyWithAttempts(payment?.history ?? []).at(-1)?.attempt;
      if (!payment || attemptOf(payment) !== 2 || historyAttempt !== 2 || payment.retryId !== retries.approved) {
        failures.push(`${retries.paymentId} (closed): attempt ${payment && attemptOf(payment)} (history: ${historyAttempt}), claimed by ${payment?.retryId} (approved ${retries.approved}, withdrawn ${retries.withdrawn})`);
      }
    }

    // Each death event cancelled the deceased's held payment (whichever delivery finished it) and prepared exactly
    // one funeral allowance, verified and waiting for approval: a delivery or a resume after a death never makes two.
    const funeralBatches = (await this.scan(this.world.dynamo.tableNames.core, (item) => item.entity === 'BATCH' && item.programCode === 'FUNERAL_ALLOWANCE')).map((item) => String(item.batchId));
    const announced = results.map(({ death }) => death.answer.funeralAllowance?.batchId);
    if (JSON.stringify([...funeralBatches].sort()) !== JSON.stringify([...announced].sort())) {
      failures.push(`funeral allowance batches ${JSON.stringify(funeralBatches)}, announced ${JSON.stringify(announced)}`);
    }
    for (const { death } of results) {
      const { cancelledPayments, funeralAllowance, paidAfterDeath } = death.answer;
      if (cancelledPayments !== 1 || paidAfterDeath.length !== 0) failures.push(`${death.eventId}: cancelled ${cancelledPayments}, paid after death ${paidAfterDeath.length}`);
      const batch = funeralAllowance && (await this.store.getBatch(funeralAllowance.batchId));
      if (!batch || batch.status !== 'AWAITING_APPROVAL' || batch.control.itemCount !== 1 || batch.counts.VERIFIED !== 1) {
        failures.push(`${death.eventId}: funeral batch ${funeralAllowance?.batchId} ${batch?.status}, VERIFIED ${batch?.counts.VERIFIED} of ${batch?.control.itemCount}`);
      }
    }

    // Entitlements: each held by exactly the payment that owns it.
    const entitlements = await this.scan(this.world.dynamo.tableNames.core, (item) => String(item.pk).startsWith('ENT#'));
    const holderOf = new Map(entitlements.map((item) => [String(item.pk), String(item.paymentId)]));
    for (const payment of payments.values()) {
      const key = `ENT#${payment.personHash}#${payment.programCode}#${payment.period}`;
      const holds = entitlementHoldingStatuses.includes(payment.status) && payment.status !== 'RECEIVED';
      if (holds && holderOf.get(key) !== payment.paymentId) failures.push(`${payment.paymentId} (${payment.status}) does not hold its entitlement (held by ${holderOf.get(key)})`);
      if (!holds && holderOf.get(key) === payment.paymentId) failures.push(`${payment.paymentId} (${payment.status}) still holds its entitlement`);
    }

    // The provider's side, counted apart from its deduplication: every instruction received, and every booking.
    const instructions = await this.scan(this.world.dynamo.tableNames.sandboxProvider, (item) => String(item.pk).startsWith('INSTRUCTION#'));
    const transfers = await this.scan(this.world.dynamo.tableNames.sandboxProvider, (item) => String(item.pk).startsWith('TRANSFER#'));
    const byPayment = new Map<string, Record<string, unknown>[]>();
    // By payment attempt: every instruction of one attempt carries its reference, amount and account.
    for (const instruction of instructions) {
      const reference = String(instruction.reference);
      if (!parseTransferRef(reference)) {
        failures.push(`an instruction names ${reference}, not a payment's attempt`);
        continue;
      }
      byPayment.set(reference, [...(byPayment.get(reference) ?? []), instruction]);
    }
    for (const [reference, list] of byPayment) {
      const named = parseTransferRef(reference)!;
      const payment = payments.get(named.paymentId);
      const shapes = new Set(list.map((instruction) => `${String(instruction.reference)} ${String(instruction.amount)} ${String(instruction.providerCode)} ${String(instruction.accountNumber)}`));
      if (shapes.size > 1) failures.push(`${reference}: ${list.length} instructions differ (${[...shapes].join(' | ')})`);
      const current = payment && named.attempt === attemptOf(payment);
      if (payment && list.some((instruction) => instruction.amount !== payment.amount || (current && instruction.accountNumber !== payment.payout?.accountNumber))) {
        failures.push(`${reference}: an instruction's amount or account is not the payment's`);
      }
    }
    // Per entitlement (person, program, period): at most one transfer booked and accepted.
    let double = 0;
    let lost = 0;
    const acceptedByEntitlement = new Map<string, number>();
    const acceptedByPayment = new Map<string, number>();
    for (const transfer of transfers) {
      if (transfer.accepted !== true) continue;
      const reference = String(transfer.reference);
      // Every attempt of a payment counts towards that payment (and its entitlement).
      const paymentId = parseTransferRef(reference)?.paymentId ?? reference;
      const payment = payments.get(paymentId);
      const bookings = Number(transfer.bookings ?? 1);
      acceptedByPayment.set(paymentId, (acceptedByPayment.get(paymentId) ?? 0) + bookings);
      if (!payment) continue;
      const entitlement = `${payment.personHash}|${payment.programCode}|${payment.period}`;
      acceptedByEntitlement.set(entitlement, (acceptedByEntitlement.get(entitlement) ?? 0) + bookings);
      // Every transfer the provider accepted is recorded: the payment says so.
      if (payment.status !== 'PAID' && payment.status !== 'SENT' && payment.status !== 'RETURNED') {
        lost++;
        failures.push(`${reference}: the provider accepted it, the payment is ${payment.status}`);
      }
    }
    for (const [entitlement, count] of acceptedByEntitlement) {
      if (count > 1) {
        double += count - 1;
        failures.push(`entitlement ${entitlement.slice(0, 12)}...: ${count} transfers accepted`);
      }
    }
    for (const payment of payments.values()) {
      if ((payment.status === 'PAID' || payment.status === 'SENT') && (acceptedByPayment.get(payment.paymentId) ?? 0) !== 1) {
        lost++;
        failures.push(`${payment.paymentId}: ${payment.status} with ${acceptedByPayment.get(payment.paymentId) ?? 0} accepted transfers`);
      }
    }
    return { failures, double, lost, instructions: instructions.length, bookings: [...acceptedByPayment.values()].reduce((sum, n) => sum + n, 0), exhaustedByDeaths };
  }

  private async scan(table: string, keep: (item: Record<string, unknown>) => boolean): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []).filter(keep));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }
}

