import { parsePaymentId, type BatchRecord, type PaymentRecord } from '../domain/batch.js';
import { providers } from '../domain/catalogues.js';
import type { Clock } from '../domain/dates.js';
import { AppError, ForbiddenError, NotFoundError, ValidationFailedError, type ItemError } from '../domain/errors.js';
import {
  PAYER_ADDRESS,
  PID_ADDRESS,
  g2pReasonOf,
  g2pStatusOf,
  maskPid,
  type DisburseRequest,
  type G2pStatus,
  type ResolveRequest,
  type TxnStatusRequest,
} from '../domain/g2p.js';
import type { KeyedHash } from '../domain/keyed-hash.js';
import { createBatchRequestSchema } from '../domain/schemas.js';
import { toItemErrors } from '../domain/validation.js';
import { receiverUrlProblem, type ReceiverPolicy } from '../domain/webhooks.js';
import type { BatchStore, PagePosition } from '../ports/batch-store.js';
import type { WebhookStore } from '../ports/webhook-store.js';
import type { BatchUseCases } from './batches.js';
import type { Principal } from './principal.js';

/** The identity this system gives in G2P Connect headers (sender_id of its answers). */
export const G2P_SENDER_ID = 'social-payments.gov.vn';
const VERSION = '1.0.0';

/** Our request fields, as the G2P request names them (for errors that name what the client sent). */
const fieldNames: Record<string, string> = {
  paymentRef: 'reference_id',
  personalId: 'payee_fa',
  fullName: 'payee_name',
  dateOfBirth: 'payee_dob',
  amount: 'amount',
  gender: 'payee_fa',
};

function g2pPath(path: string): string {
  const item = /^payments\[(\d+)\](?:\.(\w+))?/.exec(path);
  if (item) return `message.disbursements[${item[1]}]${item[2] ? `.${fieldNames[item[2]] ?? item[2]}` : ''}`;
  if (path.startsWith('control')) return 'header.total_count';
  if (path === 'batchRef') return 'message.transaction_id';
  if (path === 'scheduledFor') return 'message.disbursements[0].scheduled_timestamp';
  if (path === 'programCode' || path === 'period') return 'message.disbursements[0].payer_fa';
  return path;
}

/** An error of the batch rules, its paths renamed to the G2P request's. */
function renamed(error: unknown): unknown {
  if (!(error instanceof AppError) || !error.errors) return error;
  const errors = error.errors.map((item) => ({ ...item, path: g2pPath(item.path) }));
  return Object.assign(Object.create(Object.getPrototypeOf(error) as object) as AppError, error, { errors });
}

export interface G2pDependencies {
  batches: BatchUseCases;
  store: Pick<BatchStore, 'getBatch' | 'listPayments' | 'findBatchIdByRef'>;
  webhooks: Pick<WebhookStore, 'getEndpoint'>;
  /** The care rule of the account routes: the link of a person in the caller's care, or NotFoundError. */
  readAccount: (principal: Principal, personalId: string) => Promise<{ provider: { type: string; code: string }; accountNumberMasked: string }>;
  hash: KeyedHash;
  clock: Clock;
  policy: ReceiverPolicy;
  newMessageId: () => string;
}

function header(deps: Pick<G2pDependencies, 'clock' | 'newMessageId'>, action: string, status: G2pStatus, extra: Record<string, unknown> = {}) {
  return { version: VERSION, message_id: deps.newMessageId(), message_ts: deps.clock.now().toISOString(), action, status, sender_id: G2P_SENDER_ID, ...extra };
}

export interface DisbursementStatus {
  reference_id: string;
  timestamp: string;
  status: G2pStatus;
  status_reason_code?: string;
  status_reason_message?: string;
  instruction?: string;
  amount: string;
  currency_code: 'VND';
}

export function disbursementStatus(payment: PaymentRecord): DisbursementStatus {
  const reason = g2pReasonOf(payment.reasonCode);
  return {
    reference_id: payment.paymentRef,
    timestamp: payment.updatedAt,
    status: g2pStatusOf(payment.status),
    ...(reason ? { status_reason_code: reason } : {}),
    ...(payment.reasonCode ? { status_reason_message: payment.reasonCode } : {}),
    instruction: `paymentId=${payment.paymentId}`,
    amount: String(payment.amount),
    currency_code: 'VND' as const,
  };
}

/** The on-disburse envelope of a batch created by a G2P disburse: every disbursement's current status (no personal data). */
export async function onDisburseEnvelope(
  deps: Pick<G2pDependencies, 'clock' | 'newMessageId'> & { store: Pick<BatchStore, 'listPayments'> },
  batch: BatchRecord,
  signature: string,
) {
  const items: PaymentRecord[] = [];
  let after: PagePosition | undefined;
  do {
    const page = await deps.store.listPayments(batch, { limit: 1000, after });
    items.push(...page.items);
    after = page.next;
  } while (after);
  items.sort((a, b) => a.seq - b.seq);
  const statuses = items.map(disbursementStatus);
  const completed = statuses.filter((item) => item.status === 'SUCC' || item.status === 'RJCT').length;
  return {
    signature,
    header: header(deps, 'on-disburse', 'SUCC', {
      total_count: statuses.length,
      completed_count: completed,
      ...(batch.g2p ? { receiver_id: batch.g2p.senderId } : {}),
    }),
    message: { transaction_id: batch.batchRef, correlation_id: batch.batchId, disbursements_status: statuses },
  };
}

export function createG2pUseCases(deps: G2pDependencies) {
  function provinceOf(principal: Principal): string {
    if (!principal.provinceCode) throw new ForbiddenError('Only a provincial system disburses.');
    return principal.provinceCode;
  }

  /** The batch request a disburse stands for, checked by the batch rules (errors named by the G2P fields). */
  function toBatchRequest(provinceCode: string, request: DisburseRequest) {
    const { disbursements } = request.message;
    const errors: ItemError[] = [];
    const payer = disbursements[0]?.payer_fa ?? '';
    const schedule = disbursements[0]?.scheduled_timestamp;
    disbursements.forEach((item, index) => {
      if (item.payer_fa !== payer) errors.push({ index, path: `message.disbursements[${index}].payer_fa`, code: 'payer_fa_differs', message: 'every disbursement of a message must have the same payer_fa (one program, one month: one batch)' });
      if (item.scheduled_timestamp !== schedule) errors.push({ index, path: `message.disbursements[${index}].scheduled_timestamp`, code: 'scheduled_timestamp_differs', message: 'every disbursement of a message must have the same scheduled_timestamp (or none)' });
    });
    if (errors.length > 0) throw new ValidationFailedError(`${errors.length} disbursement(s) cannot be part of one batch.`, { errors: errors.slice(0, 1000), extensions: { errorCount: errors.length } });
    const [, programCode = '', period = ''] = PAYER_ADDRESS.exec(payer) ?? [];
    const candidate = {
      batchRef: request.message.transaction_id,
      provinceCode,
      programCode,
      period,
      control: { itemCount: request.header.total_count, totalAmount: disbursements.reduce((sum, item) => sum + item.amount, 0) },
      payments: disbursements.map((item) => ({
        paymentRef: item.reference_id,
        personalId: (PID_ADDRESS.exec(item.payee_fa) ?? [])[1] ?? '',
        fullName: item.payee_name,
        dateOfBirth: item.payee_dob,
        amount: item.amount,
      })),
      ...(schedule ? { scheduledFor: schedule } : {}),
    };
    const parsed = createBatchRequestSchema.safeParse(candidate);
    if (!parsed.success) {
      const items = toItemErrors(parsed.error, { input: candidate }).map((item) => ({ ...item, path: g2pPath(item.path) }));
      throw new ValidationFailedError(`The disbursements break ${items.length} rule(s) of a batch.`, { errors: items.slice(0, 1000), extensions: { errorCount: items.length } });
    }
    return parsed.data;
  }

  async function loadG2pBatch(principal: Principal, transactionId: string): Promise<BatchRecord | undefined> {
    const provinceCode = provinceOf(principal);
    const batchId = await deps.store.findBatchIdByRef(provinceCode, deps.hash('batch-ref', transactionId));
    if (!batchId) return undefined;
    const batch = await deps.store.getBatch(batchId);
    return batch && batch.provinceCode === provinceCode ? batch : undefined;
  }

  return {
    /**
     * disburse: the disbursements become a batch of the caller's province under the batch rules
     * (createBatch: control totals from header.total_count and the sum, verification, entitlements,
     * then maker-checker approval in this API). Async (`sync` false): sender_uri is required, must be
     * a receiver the webhook policy allows, and the province must have a webhook secret to sign with.
     */
    async disburse(principal: Principal, request: DisburseRequest, options: { sync: boolean }) {
      const provinceCode = provinceOf(principal);
      const senderUri = request.header.sender_uri;
      if (!options.sync) {
        const problem = senderUri === undefined ? 'is required for the asynchronous disburse (the on-disburse callback goes there)' : receiverUrlProblem(senderUri, deps.policy);
        if (problem) throw new ValidationFailedError(`header.sender_uri is not accepted: ${problem}.`, { errors: [{ path: 'header.sender_uri', code: 'sender_uri_not_allowed', message: problem }] });
        if (!(await deps.webhooks.getEndpoint(provinceCode))) {
          throw new ValidationFailedError('Callbacks are signed with the province\'s webhook secret: set one with PUT /v1/webhook first.', {
            errors: [{ path: 'header.sender_uri', code: 'no_signing_secret', message: 'the province has no webhook secret to sign callbacks with (PUT /v1/webhook)' }],
          });
        }
      }
      const batchRequest = toBatchRequest(provinceCode, request);
      let batch: BatchRecord;
      try {
        batch = (
          await deps.batches.createBatch(principal, batchRequest, {
            g2p: { senderId: request.header.sender_id, ...(options.sync || !senderUri ? {} : { senderUri }), transactionId: request.message.transaction_id },
          })
        ).batch;
      } catch (error) {
        throw renamed(error);
      }
      if (!options.sync) return { message: { ack_status: 'ACK' as const, timestamp: deps.clock.now().toISOString(), correlation_id: batch.batchId } };
      return onDisburseEnvelope({ ...deps, store: deps.store }, batch, 'none: a synchronous answer over TLS');
    },

    /** txn/status by the disburse's transaction_id, or by payment references (`paymentId`s, as each status's instruction gives them). */
    async txnStatus(principal: Principal, request: TxnStatusRequest) {
      provinceOf(principal);
      const { attribute_type: type, attribute_value: value } = request.message.txnstatus_request;
      let statuses: DisbursementStatus[] = [];
      let transactionId = request.message.transaction_id;
      if (type === 'transaction_id') {
        if (typeof value !== 'string') throw new ValidationFailedError('attribute_value must be a transaction_id.', { errors: [{ path: 'message.txnstatus_request.attribute_value', code: 'invalid_type', message: 'must be the transaction_id of a disburse' }] });
        const batch = await loadG2pBatch(principal, value);
        if (!batch) throw new NotFoundError('No disburse with this transaction_id.');
        transactionId = value;
        statuses = (await onDisburseEnvelope({ ...deps, store: deps.store }, batch, '')).message.disbursements_status;
      } else {
        if (!Array.isArray(value)) throw new ValidationFailedError('attribute_value must be a list of references.', { errors: [{ path: 'message.txnstatus_request.attribute_value', code: 'invalid_type', message: 'must be a list of paymentIds' }] });
        for (const reference of value) {
          const key = parsePaymentId(reference.replace(/^paymentId=/, ''));
          const batch = key ? await deps.store.getBatch(key.batchId) : undefined;
          let payment: PaymentRecord | undefined;
          if (key && batch && batch.provinceCode === principal.provinceCode) {
            try {
              payment = await deps.batches.getPayment(principal, reference.replace(/^paymentId=/, ''));
            } catch (error) {
              if (!(error instanceof NotFoundError)) throw error;
            }
          }
          statuses.push(
            payment
              ? disbursementStatus(payment)
              : { reference_id: reference, timestamp: deps.clock.now().toISOString(), status: 'RJCT', status_reason_code: 'rjct.reference_id.invalid', amount: '0', currency_code: 'VND' },
          );
        }
      }
      return {
        signature: 'none: a synchronous answer over TLS',
        header: header(deps, 'on-status', 'SUCC', { total_count: statuses.length, completed_count: statuses.length }),
        message: {
          transaction_id: request.message.transaction_id,
          correlation_id: request.message.txnstatus_request.reference_id,
          txnstatus_response: { txn_type: 'on-disburse' as const, txn_status: { transaction_id: transactionId, disbursements_status: statuses } },
        },
      };
    },

    /**
     * Mapper resolve of `pid:<12-digit ID>` (in `id` or `fa`): whether a social security account is
     * linked and its provider, masked. The account routes' care rule applies: a person outside the
     * caller's care is answered exactly as one without a link (succ.fa.not_found).
     */
    async resolve(principal: Principal, request: ResolveRequest) {
      provinceOf(principal);
      const answers = [];
      for (const item of request.message.resolve_request) {
        const at = deps.clock.now().toISOString();
        const personalId = (PID_ADDRESS.exec(item.id ?? '') ?? PID_ADDRESS.exec(item.fa ?? '') ?? [])[1];
        if (!personalId) {
          answers.push({ reference_id: item.reference_id, timestamp: at, status: 'RJCT' as const, status_reason_code: 'rjct.id.invalid', status_reason_message: 'id (or fa) must be pid:<12-digit personal ID>' });
          continue;
        }
        try {
          const link = await deps.readAccount(principal, personalId);
          const provider = providers.find((candidate) => candidate.code === link.provider.code);
          answers.push({
            reference_id: item.reference_id,
            timestamp: at,
            id: maskPid(personalId),
            account_provider_info: { name: provider?.name ?? link.provider.code, code: link.provider.code, additional_info: link.accountNumberMasked },
            status: 'SUCC' as const,
            status_reason_code: 'succ.fa.active',
          });
        } catch (error) {
          if (!(error instanceof NotFoundError)) throw error;
          answers.push({ reference_id: item.reference_id, timestamp: at, id: maskPid(personalId), status: 'SUCC' as const, status_reason_code: 'succ.fa.not_found' });
        }
      }
      return {
        signature: 'none: a synchronous answer over TLS',
        header: header(deps, 'on-resolve', 'SUCC', { total_count: answers.length, completed_count: answers.length }),
        message: { transaction_id: request.message.transaction_id, correlation_id: request.message.transaction_id, resolve_response: answers },
      };
    },

    /** Link, unlink, update: links belong to the beneficiary (PUT /v1/accounts/{personalId} with consent). */
    notSupported(action: string) {
      return {
        signature: 'none: a synchronous answer over TLS',
        header: header(deps, `on-${action}`, 'RJCT', {
          status_reason_code: 'rjct.action.not_supported',
          status_reason_message: 'Links belong to the beneficiary: they are made and removed with PUT and DELETE /v1/accounts/{personalId}, with the beneficiary\'s consent.',
        }),
        message: {},
      };
    },
  };
}

export type G2pUseCases = ReturnType<typeof createG2pUseCases>;
