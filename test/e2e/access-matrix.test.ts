import { base64url, CompactSign, decodeProtectedHeader, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../local/auth.js';
import { callbackSignature } from '../../shared/app/callbacks.js';
import { routes, type OperationId } from '../../shared/http/routes.js';
import { apiClient, personalIdFor, type ApiAnswer } from '../support/api-client.js';
import { startLocalServer, tokenFor, type RunningServer } from '../support/local-server.js';

/**
 * The access-control matrix: every route of the route table (rows) called by
 * every kind of caller (columns), each cell against a real resource of one
 * fixture world, with the status api.md prescribes:
 *   2xx allowed; 401 no valid token; 403 the token lacks the route's scope;
 *   404 another principal's resource ("existence does not leak");
 *   409/422 where an allowed call fails for its state or body.
 *
 * Rows come from `routes` itself: a route added without an expectation here
 * fails the test. Every non-2xx answer must be problem+json with a contract code.
 *
 * The account routes answer 404 to a province for anyone outside its care
 * (domain.md, "Social security accounts"): province B on province A's person is
 * such a cell of the matrix, and a second table (`accountCells`) adds the cells
 * the matrix cannot hold: a person in a province's care by residence only, a
 * person of another province with and without a link, and the consent rules
 * (422 without consentRef, kept in the link's history). Every 404 of an account
 * route must be the very answer "no link" gets (same status, code, title, type
 * and detail), so that a province cannot tell a person elsewhere has an account.
 *
 * The bad-token columns are forged here. The local server's key is private to
 * its process, so "expired", "wrong audience" and "wrong issuer" tokens are
 * signed with a foreign key and are refused for the signature as well: this
 * test proves they are refused (401), not which check refuses them. Each claim
 * check is isolated, with the authority's own key, in test/unit/local/auth.test.ts.
 */

const principals = [
  'none',
  'provinceA',
  'provinceB',
  'approverA',
  'beneficiaryX',
  'beneficiaryY',
  'ops',
  'expired',
  'wrongAudience',
  'wrongIssuer',
  'tamperedSignature',
  'algNone',
] as const;
type Principal = (typeof principals)[number];
type ValidPrincipal = 'provinceA' | 'provinceB' | 'approverA' | 'beneficiaryX' | 'beneficiaryY' | 'ops';
type Expected = Record<Principal, number>;

/** The columns that hold no valid token: refused on every `jwt` route, whatever the route. */
const NO_VALID_TOKEN = { none: 401, expired: 401, wrongAudience: 401, wrongIssuer: 401, tamperedSignature: 401, algNone: 401 } as const;

/** A `jwt` route: the callers without a valid token get 401, the others what `valid` says. */
function jwt(valid: Record<ValidPrincipal, number>): Expected {
  return { ...NO_VALID_TOKEN, ...valid };
}

function everyone(status: number): Expected {
  return Object.fromEntries(principals.map((principal) => [principal, status])) as Expected;
}

/** api.md, Conventions: the problem codes each status may carry. */
const contractCodes: Record<number, readonly string[]> = {
  400: ['VALIDATION_FAILED'],
  401: ['UNAUTHENTICATED'],
  403: ['FORBIDDEN'],
  404: ['NOT_FOUND'],
  409: ['CONFLICT', 'BATCH_REF_CONFLICT', 'INVALID_STATE'],
  413: ['PAYLOAD_TOO_LARGE'],
  415: ['UNSUPPORTED_MEDIA_TYPE'],
  422: ['VALIDATION_FAILED', 'CONTROL_TOTALS_MISMATCH'],
  429: ['RATE_LIMITED'],
  500: ['INTERNAL'],
};

interface Person {
  personalId: string;
  fullName: string;
  dateOfBirth: string;
  gender: 'M' | 'F';
}

interface World {
  /** In province A's care by a payment in its main batch (no residence in the register). */
  x: Person;
  y: Person;
  /** Lives in province A (79) by the register, no payment anywhere: in A's care by residence only. */
  r: Person;
  /** Lives in province B (01), no payment in A's batches; linked by B with consent before the cells run. */
  v: Person;
  /** Lives in province B (01), never linked. */
  n: Person;
  /** The person of the batch that the approveBatch row approves. */
  w: Person;
  /** The person of the chunk that the appendPayments row appends. */
  z: Person;
  /** Province A's batch holding X's VERIFIED payment, AWAITING_APPROVAL, never changed by the matrix. */
  mainBatchId: string;
  /** X's payment in the main batch. */
  paymentId: string;
  /** OPEN, control of two payments: appended to (idempotently) by the appendPayments row. */
  openBatchId: string;
  /** OPEN, cancelled by the cancelBatch row (a repeated cancel is a no-op). */
  cancelBatchId: string;
  /** AWAITING_APPROVAL, approved by the approveBatch row (a repeated approval by the same official is a no-op). */
  approveBatchId: string;
}

interface CellRequest {
  params?: Record<string, string>;
  query?: string;
  json?: unknown;
  headers?: Record<string, string>;
}

interface Row {
  expected: Expected;
  request: (world: World) => CellRequest;
  /** Runs before every cell of the row, so that a cell never depends on the cells before it. */
  before?: (world: World) => Promise<void>;
  /** Extra assertions on an answer that has the expected 2xx status; returns what is wrong, if anything. */
  check?: (principal: Principal, answer: ApiAnswer, world: World) => string | undefined;
}

const SUB_A_MAKER = 'matrix-a-maker';
const SUB_A_CHECKER = 'matrix-a-checker';
const PERIOD = '2026-11';
const PROGRAM = 'SOCIAL_ALLOWANCE';
const AMOUNT = 500_000;
let cellSerial = 0;

function item(ref: string, who: Person) {
  return { paymentRef: ref, personalId: who.personalId, fullName: who.fullName, dateOfBirth: who.dateOfBirth, gender: who.gender, amount: AMOUNT };
}

function linkBody(who: Person, consentRef: string | null = 'CONSENT-MATRIX-1') {
  return { provider: { type: 'BANK', code: '970436' }, accountNumber: '1234567890', accountName: who.fullName, ...(consentRef ? { consentRef } : {}) };
}

/** The fields of a problem that must not tell "no link" from "not yours". */
const problemShape = (answer: ApiAnswer) => JSON.stringify([answer.status, answer.body?.code, answer.body?.title, answer.body?.type, answer.body?.detail]);
/** Every 404 an account route answered, by cell. */
const accountNotFound: { where: string; shape: string }[] = [];

const items = (answer: ApiAnswer) => (answer.body.items ?? []) as Record<string, unknown>[];

/** Each province's webhook (a loopback port nothing listens on), set before the cells that read, list or remove it. */
async function ensureWebhooks(): Promise<void> {
  for (const province of ['provinceA', 'provinceB'] as const) {
    const put = await clients[province].call('PUT', '/v1/webhook', { json: { url: 'http://127.0.0.1:9/matrix-hook' } });
    if (put.status !== 200) throw new Error(`webhook of ${province}: ${put.status} ${put.text}`);
  }
}

/** A G2P Connect envelope (src/disburse v1.0.0 shape) with a fresh transaction_id. */
function g2pDisburse(world: World, options: { senderUri?: string } = {}) {
  const transactionId = `matrix-g2p-${++cellSerial}`;
  return {
    signature: 'Signature: namespace="g2p"',
    header: {
      version: '1.0.0',
      message_id: `msg-${cellSerial}`,
      message_ts: new Date().toISOString(),
      action: 'disburse',
      sender_id: 'matrix.example.gov.vn',
      ...(options.senderUri ? { sender_uri: options.senderUri } : {}),
      total_count: 1,
    },
    message: {
      transaction_id: transactionId,
      disbursements: [
        { reference_id: 'G2P-1', payer_fa: `program:${PROGRAM}.${PERIOD}@matrix`, payee_fa: `pid:${world.z.personalId}`, amount: String(AMOUNT), payee_name: world.z.fullName, payee_dob: world.z.dateOfBirth, currency_code: 'VND' },
      ],
    },
  };
}

function g2pEnvelope(action: string, message: unknown) {
  return { signature: 'Signature: namespace="g2p"', header: { version: '1.0.0', message_id: `msg-${++cellSerial}`, message_ts: new Date().toISOString(), action, sender_id: 'matrix.example.gov.vn', total_count: 1 }, message };
}

const g2pStatusBody = () =>
  g2pEnvelope('status', { transaction_id: `matrix-status-${cellSerial}`, txnstatus_request: { reference_id: 'R-1', txn_type: 'disburse', attribute_type: 'transaction_id', attribute_value: 'matrix-no-such-transaction' } });

const matrix: Record<OperationId, Row> = {
  g2pDisburse: {
    // Without sender_uri the asynchronous disburse is refused (its callbacks would have nowhere to go).
    expected: jwt({ provinceA: 422, provinceB: 422, approverA: 403, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: (world) => ({ json: g2pDisburse(world) }),
  },
  g2pDisburseSync: {
    // Each province creates its own batch (the province comes from the token).
    expected: jwt({ provinceA: 200, provinceB: 200, approverA: 403, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: (world) => ({ json: g2pDisburse(world) }),
    check: (_principal, answer) => ((answer.body.message as { disbursements_status?: unknown[] } | undefined)?.disbursements_status?.length === 1 ? undefined : `disburse ${answer.text}`),
  },
  g2pTxnStatus: {
    expected: jwt({ provinceA: 404, provinceB: 404, approverA: 404, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: () => ({ json: g2pStatusBody() }),
  },
  g2pTxnStatusSync: {
    expected: jwt({ provinceA: 404, provinceB: 404, approverA: 404, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: () => ({ json: g2pStatusBody() }),
  },
  g2pMapperResolve: {
    // X is in province A's care (a payment in its batch) and linked; province B is answered as for no link.
    expected: jwt({ provinceA: 200, provinceB: 200, approverA: 403, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    before: (world) => linkX(world),
    request: (world) => ({ json: g2pEnvelope('resolve', { transaction_id: `matrix-resolve-${cellSerial}`, resolve_request: [{ reference_id: 'R-1', timestamp: new Date().toISOString(), id: `pid:${world.x.personalId}` }] }) }),
    check: (principal, answer) => {
      const code = (answer.body.message as { resolve_response: { status_reason_code: string }[] }).resolve_response[0]?.status_reason_code;
      const expected = principal === 'provinceA' ? 'succ.fa.active' : 'succ.fa.not_found';
      return code === expected ? undefined : `resolve answered ${code}, expected ${expected}`;
    },
  },
  g2pMapperLink: { expected: jwt({ provinceA: 200, provinceB: 200, approverA: 403, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }), request: () => ({ json: g2pEnvelope('link', {}) }) },
  g2pMapperUnlink: { expected: jwt({ provinceA: 200, provinceB: 200, approverA: 403, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }), request: () => ({ json: g2pEnvelope('unlink', {}) }) },
  g2pMapperUpdate: { expected: jwt({ provinceA: 200, provinceB: 200, approverA: 403, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }), request: () => ({ json: g2pEnvelope('update', {}) }) },
  putWebhook: {
    expected: jwt({ provinceA: 200, provinceB: 200, approverA: 403, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: () => ({ json: { url: 'http://127.0.0.1:9/matrix-hook' } }),
    check: (_principal, answer) => (typeof answer.body.secret === 'string' && answer.body.url === 'http://127.0.0.1:9/matrix-hook' ? undefined : `put ${answer.text}`),
  },
  getWebhook: {
    expected: jwt({ provinceA: 200, provinceB: 200, approverA: 200, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    before: ensureWebhooks,
    request: () => ({}),
    check: (_principal, answer) => (answer.body.secret === undefined ? undefined : 'the secret is shown again'),
  },
  deleteWebhook: {
    expected: jwt({ provinceA: 204, provinceB: 204, approverA: 403, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    before: ensureWebhooks,
    request: () => ({}),
  },
  listWebhookDeliveries: {
    expected: jwt({ provinceA: 200, provinceB: 200, approverA: 200, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: () => ({}),
    check: (principal, answer, world) =>
      principal === 'provinceB' && items(answer).some((delivery) => [world.mainBatchId, world.approveBatchId, world.cancelBatchId].includes(String(delivery.batchId)))
        ? "province B sees province 79's deliveries"
        : undefined,
  },
  redeliverWebhookEvent: {
    // An eventId of the right shape that no province has: 404 to both, as another province's event would be.
    expected: jwt({ provinceA: 404, provinceB: 404, approverA: 403, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: (world) => ({ params: { eventId: `${world.mainBatchId}-approved` } }),
  },
  getHealth: { expected: everyone(200), request: () => ({}) },
  getOpenApi: { expected: everyone(200), request: () => ({}) },
  listPrograms: {
    expected: jwt({ provinceA: 200, provinceB: 200, approverA: 200, beneficiaryX: 200, beneficiaryY: 200, ops: 200 }),
    request: () => ({}),
  },
  listProviders: {
    expected: jwt({ provinceA: 200, provinceB: 200, approverA: 200, beneficiaryX: 200, beneficiaryY: 200, ops: 200 }),
    request: () => ({}),
  },
  listReasonCodes: {
    expected: jwt({ provinceA: 200, provinceB: 200, approverA: 200, beneficiaryX: 200, beneficiaryY: 200, ops: 200 }),
    request: () => ({}),
  },
  createBatch: {
    // One body for every column: a new batch of province 79. Province B has the scope but names
    // another province (api.md: "provinceCode must be the caller's"): refused with FORBIDDEN.
    expected: jwt({ provinceA: 201, provinceB: 403, approverA: 403, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: () => ({
      json: { batchRef: `matrix-create-${++cellSerial}`, provinceCode: '79', programCode: PROGRAM, period: PERIOD, control: { itemCount: 1, totalAmount: AMOUNT } },
    }),
    check: (_principal, answer) => (answer.body.provinceCode === '79' && answer.body.createdBy === SUB_A_MAKER ? undefined : `created ${answer.text}`),
  },
  listBatches: {
    // Each province lists its own batches; B's list is allowed but must not hold A's.
    expected: jwt({ provinceA: 200, provinceB: 200, approverA: 200, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: () => ({ query: '?limit=1000' }),
    check: (principal, answer, world) => {
      const ids = items(answer).map((batch) => batch.batchId);
      const provinces = new Set(items(answer).map((batch) => batch.provinceCode));
      if (principal === 'provinceB') return ids.includes(world.mainBatchId) || provinces.has('79') ? 'province B sees province 79 batches' : undefined;
      return ids.includes(world.mainBatchId) ? undefined : 'the main batch is missing from province 79 list';
    },
  },
  getBatch: {
    expected: jwt({ provinceA: 200, provinceB: 404, approverA: 200, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: (world) => ({ params: { batchId: world.mainBatchId } }),
    check: (_principal, answer, world) => (answer.body.batchId === world.mainBatchId ? undefined : `wrong batch ${answer.text}`),
  },
  appendPayments: {
    // The same chunk each time: stored once, then a no-op (200); the batch stays OPEN.
    expected: jwt({ provinceA: 200, provinceB: 404, approverA: 403, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: (world) => ({ params: { batchId: world.openBatchId }, json: { payments: [item('MATRIX-APPEND', world.z)] } }),
  },
  listBatchPayments: {
    expected: jwt({ provinceA: 200, provinceB: 404, approverA: 200, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: (world) => ({ params: { batchId: world.mainBatchId } }),
    check: (_principal, answer, world) => (items(answer).some((payment) => payment.paymentId === world.paymentId) ? undefined : 'X payment missing'),
  },
  sealBatch: {
    // The main batch is sealed already: sealing again is a no-op (200) and changes nothing.
    expected: jwt({ provinceA: 200, provinceB: 404, approverA: 403, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: (world) => ({ params: { batchId: world.mainBatchId } }),
    check: (_principal, answer) => (answer.body.status === 'AWAITING_APPROVAL' ? undefined : `status ${String(answer.body.status)}`),
  },
  getBatchReport: {
    expected: jwt({ provinceA: 200, provinceB: 404, approverA: 200, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: (world) => ({ params: { batchId: world.mainBatchId } }),
  },
  listBatchAudit: {
    expected: jwt({ provinceA: 200, provinceB: 404, approverA: 200, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: (world) => ({ params: { batchId: world.mainBatchId } }),
    // The main batch was created and sealed by province A's system: its own records name it.
    check: (_principal, answer) => (items(answer).some((record) => record.action === 'createBatch') ? undefined : `no createBatch record in ${answer.text.slice(0, 200)}`),
  },
  cancelBatch: {
    // A batch of its own: cancelled by the first allowed cell, a no-op (200) after that.
    expected: jwt({ provinceA: 200, provinceB: 404, approverA: 403, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: (world) => ({ params: { batchId: world.cancelBatchId } }),
    check: (_principal, answer) => (answer.body.status === 'CANCELLED' ? undefined : `status ${String(answer.body.status)}`),
  },
  getPayment: {
    expected: jwt({ provinceA: 200, provinceB: 404, approverA: 200, beneficiaryX: 200, beneficiaryY: 404, ops: 403 }),
    request: (world) => ({ params: { paymentId: world.paymentId } }),
    check: (_principal, answer, world) => (answer.body.paymentId === world.paymentId ? undefined : `wrong payment ${answer.text}`),
  },
  linkAccount: {
    // X is in province A's care (a payment in its batch), not B's: B gets the answer of "no link" (404).
    expected: jwt({ provinceA: 200, provinceB: 404, approverA: 403, beneficiaryX: 200, beneficiaryY: 404, ops: 403 }),
    request: (world) => ({ params: { personalId: world.x.personalId }, json: linkBody(world.x) }),
  },
  getAccount: {
    expected: jwt({ provinceA: 200, provinceB: 404, approverA: 403, beneficiaryX: 200, beneficiaryY: 404, ops: 403 }),
    before: (world) => linkX(world),
    request: (world) => ({ params: { personalId: world.x.personalId } }),
    check: (_principal, answer, world) => (answer.body.personalId === world.x.personalId ? undefined : `wrong account ${answer.text}`),
  },
  unlinkAccount: {
    // X's account is linked again before every cell, so that each allowed cell really unlinks (204).
    // Every column names a consent (a province must; the person may); B is outside X's care: 404.
    expected: jwt({ provinceA: 204, provinceB: 404, approverA: 403, beneficiaryX: 204, beneficiaryY: 404, ops: 403 }),
    before: (world) => linkX(world),
    request: (world) => ({ params: { personalId: world.x.personalId }, query: '?consentRef=CONSENT-MATRIX-UNLINK' }),
  },
  listMyPayments: {
    // Y's own (empty of X's payment) list is allowed: isolation is by the token's pid.
    expected: jwt({ provinceA: 403, provinceB: 403, approverA: 403, beneficiaryX: 200, beneficiaryY: 200, ops: 403 }),
    request: () => ({}),
    check: (principal, answer, world) => {
      const mine = items(answer).some((payment) => payment.paymentId === world.paymentId);
      return mine === (principal === 'beneficiaryX') ? undefined : `${principal} list ${mine ? 'holds' : 'lacks'} X's payment`;
    },
  },
  getMyPayment: {
    expected: jwt({ provinceA: 403, provinceB: 403, approverA: 403, beneficiaryX: 200, beneficiaryY: 404, ops: 403 }),
    request: (world) => ({ params: { paymentId: world.paymentId } }),
    check: (_principal, answer, world) => (answer.body.paymentId === world.paymentId ? undefined : `wrong payment ${answer.text}`),
  },
  getMyAccount: {
    // Y has no linked account: "or 404".
    expected: jwt({ provinceA: 403, provinceB: 403, approverA: 403, beneficiaryX: 200, beneficiaryY: 404, ops: 403 }),
    before: (world) => linkX(world),
    request: () => ({}),
    check: (_principal, answer, world) => (answer.body.personalId === world.x.personalId ? undefined : `wrong account ${answer.text}`),
  },
  approveBatch: {
    // A batch of its own, created by SUB_A_MAKER; approverA is another official of province 79.
    expected: jwt({ provinceA: 403, provinceB: 403, approverA: 200, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: (world) => ({ params: { batchId: world.approveBatchId } }),
    check: (_principal, answer) => (answer.body.status === 'APPROVED' && answer.body.approvedBy === SUB_A_CHECKER ? undefined : `approved ${answer.text}`),
  },
  createRetry: {
    // The main batch awaits approval: nothing of it can be retried yet (409 INVALID_STATE for its province).
    expected: jwt({ provinceA: 409, provinceB: 404, approverA: 403, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: (world) => ({ params: { batchId: world.mainBatchId }, json: {} }),
  },
  getBatchReconciliation: {
    expected: jwt({ provinceA: 200, provinceB: 404, approverA: 200, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: (world) => ({ params: { batchId: world.mainBatchId } }),
  },
  importStatement: {
    // Signature-authenticated, as callbacks: a signature made with the wrong secret is 401 for all.
    expected: everyone(401),
    request: () => {
      const json = { statementId: 'MATRIX-1', valueDate: '2026-11-30', lines: [] };
      const timestamp = String(Math.floor(Date.now() / 1000));
      return {
        params: { providerCode: '970436' },
        json,
        headers: { 'x-timestamp': timestamp, 'x-signature': callbackSignature('not-the-provider-secret', timestamp, JSON.stringify(json)) },
      };
    },
  },
  getRetry: {
    expected: jwt({ provinceA: 404, provinceB: 404, approverA: 404, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: (world) => ({ params: { batchId: world.mainBatchId, retryId: '01JAAAAAAAAAAAAAAAAAAAAAAA' } }),
  },
  approveRetry: {
    expected: jwt({ provinceA: 403, provinceB: 403, approverA: 404, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: (world) => ({ params: { batchId: world.mainBatchId, retryId: '01JAAAAAAAAAAAAAAAAAAAAAAA' } }),
  },
  cancelRetry: {
    expected: jwt({ provinceA: 404, provinceB: 404, approverA: 403, beneficiaryX: 403, beneficiaryY: 403, ops: 403 }),
    request: (world) => ({ params: { batchId: world.mainBatchId, retryId: '01JAAAAAAAAAAAAAAAAAAAAAAA' } }),
  },
  providerCallback: {
    // Signature-authenticated: bearer tokens are irrelevant; a signature made with the wrong secret is 401 for all.
    expected: everyone(401),
    request: (world) => {
      const json = { transferRef: world.paymentId, outcome: 'PAID', settledAt: new Date().toISOString() };
      const timestamp = String(Math.floor(Date.now() / 1000));
      return {
        params: { providerCode: '970436' },
        json,
        headers: { 'x-timestamp': timestamp, 'x-signature': callbackSignature('not-the-provider-secret', timestamp, JSON.stringify(json)) },
      };
    },
  },
  receiveRegisterEvent: {
    // Signature-authenticated (the register's secret): a bearer token is irrelevant; a wrong signature is 401 for all.
    expected: everyone(401),
    request: (world) => {
      const json = { eventId: `matrix-${Date.now()}`, type: 'DEATH_REGISTERED', personalId: world.x.personalId, dateOfDeath: '2026-01-01', registeredAt: new Date().toISOString() };
      const timestamp = String(Math.floor(Date.now() / 1000));
      return { json, headers: { 'x-timestamp': timestamp, 'x-signature': callbackSignature('not-the-register-secret', timestamp, JSON.stringify(json)) } };
    },
  },
};

let server: RunningServer;
let world: World;
let clients: Record<Principal, ReturnType<typeof apiClient>>;

async function linkX(w: World): Promise<void> {
  const answer = await clients.beneficiaryX.call('PUT', `/v1/accounts/${w.x.personalId}`, { json: linkBody(w.x) });
  if (answer.status !== 200) throw new Error(`linking X failed: ${answer.status} ${answer.text}`);
}

function fillPath(path: string, params: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_whole, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for {${name}} of ${path}`);
    return encodeURIComponent(value);
  });
}

/** What is wrong with a non-2xx answer as a contract problem document, if anything. */
function problemDefect(answer: ApiAnswer): string | undefined {
  if (answer.headers.get('content-type') !== 'application/problem+json') return `content-type ${answer.headers.get('content-type')}`;
  const code = answer.body?.code;
  if (typeof code !== 'string' || !(contractCodes[answer.status] ?? []).includes(code)) return `code ${String(code)} for ${answer.status}`;
  if (answer.body.status !== answer.status) return `problem status ${String(answer.body.status)}`;
  if (answer.body.requestId !== answer.headers.get('x-request-id')) return 'requestId differs from x-request-id';
  return undefined;
}

async function waitForStatus(batchId: string, status: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const batch = await clients.provinceA.get<{ status: string }>(`/v1/batches/${batchId}`);
    if (batch.body.status === status) return;
    if (Date.now() > deadline) throw new Error(`batch ${batchId} still ${batch.body.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function createBatch(ref: string, control: { itemCount: number; totalAmount: number }, payments?: ReturnType<typeof item>[]): Promise<string> {
  const created = await clients.provinceA.post<{ batchId: string }>('/v1/batches', {
    batchRef: `matrix-${ref}`,
    provinceCode: '79',
    programCode: PROGRAM,
    period: PERIOD,
    control,
    ...(payments ? { payments } : {}),
  });
  if (created.status !== 201) throw new Error(`fixture batch ${ref}: ${created.status} ${created.text}`);
  return created.body.batchId;
}

/** Bad tokens, forged here; all but `tamperedSignature` use a key the server does not know. */
async function forgeTokens(genuineProvinceA: string, x: Person): Promise<Record<'expired' | 'wrongAudience' | 'wrongIssuer' | 'tamperedSignature' | 'algNone', string>> {
  const { privateKey: foreignKey } = await generateKeyPair('ES256');
  const now = Math.floor(Date.now() / 1000);
  // Every scope there is: a refused token must be refused whatever it claims.
  const claims = { scope: 'batches:write batches:read batches:approve accounts:write beneficiary provider ops', province: '79', pid: x.personalId };
  const forge = (overrides: { iss?: string; aud?: string; iat?: number; exp?: number }) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setSubject(SUB_A_MAKER)
      .setIssuer(overrides.iss ?? LOCAL_ISSUER)
      .setAudience(overrides.aud ?? LOCAL_AUDIENCE)
      .setIssuedAt(overrides.iat ?? now)
      .setExpirationTime(overrides.exp ?? now + 3600)
      .sign(foreignKey);

  // A genuine token of province A whose signature is replaced by one a foreign key makes over
  // the very same header and payload: only the signature differs.
  const [header, payload] = genuineProvinceA.split('.') as [string, string, string];
  const { alg = 'ES256', ...protectedHeader } = decodeProtectedHeader(genuineProvinceA);
  const resigned = await new CompactSign(base64url.decode(payload)).setProtectedHeader({ alg, ...protectedHeader }).sign(foreignKey);
  const tamperedSignature = `${header}.${payload}.${resigned.split('.')[2]}`;
  expect(resigned.split('.').slice(0, 2)).toEqual([header, payload]);
  expect(tamperedSignature).not.toBe(genuineProvinceA);

  return {
    expired: await forge({ iat: now - 7200, exp: now - 3600 }),
    wrongAudience: await forge({ aud: 'another-api' }),
    wrongIssuer: await forge({ iss: 'urn:someone-else:idp' }),
    tamperedSignature,
    algNone: new UnsecuredJWT(claims).setSubject(SUB_A_MAKER).setIssuer(LOCAL_ISSUER).setAudience(LOCAL_AUDIENCE).setIssuedAt().setExpirationTime('1h').encode(),
  };
}

beforeAll(async () => {
  server = await startLocalServer({ LOCAL_QUIET: '1' });
  const url = server.url;
  const people = (['X', 'Y', 'W', 'Z', 'R', 'V', 'N'] as const).map((name, index): Person => {
    const dateOfBirth = `195${index}-0${index + 2}-1${index}`;
    return { personalId: personalIdFor('079', dateOfBirth, 'F', 930_001 + index), fullName: `Nguyễn Thị Ma Trận ${name}`, dateOfBirth, gender: 'F' };
  });
  const [x, y, w, z, r, v, n] = people as [Person, Person, Person, Person, Person, Person, Person];
  // Permanent residence by the register: R in province A (79), V and N in province B (01); X, Y, W, Z have none.
  const residence: Record<string, string> = { [r.personalId]: '79', [v.personalId]: '01', [n.personalId]: '01' };

  const provinceA = await tokenFor(url, { role: 'province', provinceCode: '79', sub: SUB_A_MAKER });
  const tokens: Record<Exclude<Principal, 'none'>, string> = {
    provinceA,
    provinceB: await tokenFor(url, { role: 'province', provinceCode: '01', sub: 'matrix-b-system' }),
    approverA: await tokenFor(url, { role: 'approver', provinceCode: '79', sub: SUB_A_CHECKER }),
    beneficiaryX: await tokenFor(url, { role: 'beneficiary', personalId: x.personalId, sub: 'matrix-x' }),
    beneficiaryY: await tokenFor(url, { role: 'beneficiary', personalId: y.personalId, sub: 'matrix-y' }),
    ops: await tokenFor(url, { role: 'ops', sub: 'matrix-ops' }),
    ...(await forgeTokens(provinceA, x)),
  };
  clients = Object.fromEntries(principals.map((principal) => [principal, apiClient(url, principal === 'none' ? undefined : tokens[principal])])) as typeof clients;

  // X and W are verified (Y and Z are registered too, so that nothing fails for an unknown person).
  const registered = await apiClient(url).post('/local/population', {
    citizens: people.map((person) => (residence[person.personalId] ? { ...person, provinceCode: residence[person.personalId] } : person)),
  });
  if (registered.status !== 200) throw new Error(`population: ${registered.status} ${registered.text}`);
  const mainBatchId = await createBatch('main', { itemCount: 1, totalAmount: AMOUNT }, [item('MATRIX-X', x)]);
  const approveBatchId = await createBatch('approve', { itemCount: 1, totalAmount: AMOUNT }, [item('MATRIX-W', w)]);
  const openBatchId = await createBatch('open', { itemCount: 2, totalAmount: 2 * AMOUNT });
  const cancelBatchId = await createBatch('cancel', { itemCount: 1, totalAmount: AMOUNT });
  await Promise.all([waitForStatus(mainBatchId, 'AWAITING_APPROVAL'), waitForStatus(approveBatchId, 'AWAITING_APPROVAL')]);

  const listed = await clients.provinceA.get<{ items: { paymentId: string; status: string }[] }>(`/v1/batches/${mainBatchId}/payments`);
  const payment = listed.body.items[0];
  if (!payment || payment.status !== 'VERIFIED') throw new Error(`X's payment is not VERIFIED: ${listed.text}`);
  world = { x, y, w, z, r, v, n, mainBatchId, paymentId: payment.paymentId, openBatchId, cancelBatchId, approveBatchId };
  await linkX(world);
  const linkedV = await clients.provinceB.call('PUT', `/v1/accounts/${v.personalId}`, { json: linkBody(v, 'CONSENT-B-ON-V') });
  if (linkedV.status !== 200) throw new Error(`linking V failed: ${linkedV.status} ${linkedV.text}`);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe('access-control matrix', () => {
  it('answers every route for every principal as api.md says', async () => {
    // A route without an expectation, or an expectation without a route, fails here.
    expect(Object.keys(matrix).sort()).toEqual(routes.map((route) => route.operationId).sort());

    const failures: string[] = [];
    let cells = 0;
    for (const route of routes) {
      const row: Row = matrix[route.operationId];
      for (const principal of principals) {
        await row.before?.(world);
        const request = row.request(world);
        const path = fillPath(route.path, request.params ?? {}) + (request.query ?? '');
        const answer = await clients[principal].call(route.method, path, {
          ...(request.json !== undefined ? { json: request.json } : {}),
          ...(request.headers ? { headers: request.headers } : {}),
        });
        cells += 1;

        const expected = row.expected[principal];
        const where = `${route.operationId} (${route.method} ${route.path}) as ${principal}`;
        if (answer.status !== expected) {
          failures.push(`${where}: expected ${expected}, got ${answer.status} ${String(answer.body?.code ?? '')}`.trim());
          continue;
        }
        const defect = answer.status >= 200 && answer.status < 300 ? row.check?.(principal, answer, world) : problemDefect(answer);
        if (defect) failures.push(`${where}: ${defect}`);
        if (answer.status === 404 && route.path === '/v1/accounts/{personalId}') accountNotFound.push({ where, shape: problemShape(answer) });
      }
    }

    console.log(`access matrix: ${cells} cells = ${routes.length} routes x ${principals.length} principals`);
    expect(cells).toBe(routes.length * principals.length);
    expect(failures).toEqual([]);
  });

  it('serves accounts only to the person and the provinces caring for them, with consent, and answers everyone else as "no link"', async () => {
    // Prepare: each cell in order (some change what the next ones see: R is linked, relinked, unlinked, linked again).
    const path = (who: Person) => `/v1/accounts/${who.personalId}`;
    const { r, v, n, x } = world;
    type History = { history: { consentRef: string | null; unlinkConsentRef: string | null; unlinkedAt: string | null }[] };
    const cells: { name: string; principal: Principal; method: string; path: string; json?: unknown; expected: number; check?: (answer: ApiAnswer) => string | undefined }[] = [
      // Another province's person (V lives in 01 and has a link B made): A gets "no link" on every route, and changes nothing.
      { name: 'A reads V (another province, linked)', principal: 'provinceA', method: 'GET', path: path(v), expected: 404 },
      { name: 'A links V (another province), with consent', principal: 'provinceA', method: 'PUT', path: path(v), json: linkBody(v, 'CONSENT-A-ON-V'), expected: 404 },
      { name: 'A unlinks V (another province), with consent', principal: 'provinceA', method: 'DELETE', path: `${path(v)}?consentRef=CONSENT-A-ON-V`, expected: 404 },
      {
        name: "B still reads V's link, unchanged by A",
        principal: 'provinceB',
        method: 'GET',
        path: path(v),
        expected: 200,
        check: (answer) => ((answer.body as unknown as History).history.length === 1 && (answer.body as unknown as History).history[0]?.consentRef === 'CONSENT-B-ON-V' ? undefined : answer.text),
      },
      // A person without a link, in one province's care (B) and not the other's (A): the same 404.
      { name: 'B reads N (its own, no link)', principal: 'provinceB', method: 'GET', path: path(n), expected: 404 },
      { name: 'A reads N (another province, no link)', principal: 'provinceA', method: 'GET', path: path(n), expected: 404 },
      { name: 'A unlinks N (another province, no link)', principal: 'provinceA', method: 'DELETE', path: `${path(n)}?consentRef=CONSENT-A-ON-N`, expected: 404 },
      // Care by residence only (R lives in 79, no payment): A acts, with consent each time.
      { name: 'A links R without consentRef', principal: 'provinceA', method: 'PUT', path: path(r), json: linkBody(r, null), expected: 422 },
      { name: 'A links R (residence), with consent', principal: 'provinceA', method: 'PUT', path: path(r), json: linkBody(r, 'CONSENT-R-1'), expected: 200 },
      { name: 'A relinks R, with another consent', principal: 'provinceA', method: 'PUT', path: path(r), json: linkBody(r, 'CONSENT-R-2'), expected: 200 },
      { name: 'A reads R', principal: 'provinceA', method: 'GET', path: path(r), expected: 200 },
      { name: 'B reads R (another province)', principal: 'provinceB', method: 'GET', path: path(r), expected: 404 },
      { name: 'A unlinks R without consentRef', principal: 'provinceA', method: 'DELETE', path: path(r), expected: 422 },
      { name: 'A unlinks R, with consent', principal: 'provinceA', method: 'DELETE', path: `${path(r)}?consentRef=CONSENT-R-UNLINK`, expected: 204 },
      { name: 'A reads R after the unlink', principal: 'provinceA', method: 'GET', path: path(r), expected: 404 },
      {
        name: 'A links R again: the history keeps each consent, to link and to unlink',
        principal: 'provinceA',
        method: 'PUT',
        path: path(r),
        json: linkBody(r, 'CONSENT-R-3'),
        expected: 200,
        check: (answer) => {
          const entries = (answer.body as unknown as History).history.map((entry) => [entry.consentRef, entry.unlinkConsentRef, entry.unlinkedAt === null]);
          const expected = [
            ['CONSENT-R-3', null, true],
            ['CONSENT-R-2', 'CONSENT-R-UNLINK', false],
            ['CONSENT-R-1', null, false],
          ];
          return JSON.stringify(entries) === JSON.stringify(expected) ? undefined : `history ${JSON.stringify(entries)}`;
        },
      },
      // Care by payment (X): consent is required of the province there too; the person needs none.
      { name: 'A links X without consentRef', principal: 'provinceA', method: 'PUT', path: path(x), json: linkBody(x, null), expected: 422 },
      { name: 'X links herself without consentRef', principal: 'beneficiaryX', method: 'PUT', path: path(x), json: linkBody(x, null), expected: 200 },
      { name: 'A unlinks X without consentRef', principal: 'provinceA', method: 'DELETE', path: path(x), expected: 422 },
      { name: 'X unlinks herself without consentRef', principal: 'beneficiaryX', method: 'DELETE', path: path(x), expected: 204 },
    ];

    // Act
    const failures: string[] = [];
    for (const cell of cells) {
      const answer = await clients[cell.principal].call(cell.method, cell.path, cell.json === undefined ? {} : { json: cell.json });
      if (answer.status !== cell.expected) {
        failures.push(`${cell.name}: expected ${cell.expected}, got ${answer.status} ${answer.text.slice(0, 200)}`);
        continue;
      }
      const defect = answer.status < 300 ? cell.check?.(answer) : problemDefect(answer);
      if (defect) failures.push(`${cell.name}: ${defect}`);
      if (answer.status === 422 && (answer.body.errors as { path: string }[] | undefined)?.[0]?.path !== 'consentRef') failures.push(`${cell.name}: 422 not naming consentRef`);
      if (answer.status === 404) accountNotFound.push({ where: cell.name, shape: problemShape(answer) });
    }

    // Assess
    console.log(`access matrix: ${cells.length} account access and consent cells; ${routes.length * principals.length + cells.length} cells in all`);
    expect(failures).toEqual([]);
    const reference = accountNotFound.find((entry) => entry.where === 'B reads N (its own, no link)');
    expect(reference).toBeDefined();
    expect(accountNotFound.filter((entry) => entry.shape !== reference?.shape)).toEqual([]);
    expect(accountNotFound.length).toBeGreaterThan(10);
  });
});
