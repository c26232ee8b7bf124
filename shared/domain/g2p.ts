/**
 * G2P Connect (repository G2P-Connect/specs, src/disburse and src/mapper,
 * v1.0.0): the `{ signature, header, message }` envelope and the messages this
 * system serves, written from the specification's YAML. Every departure is in
 * docs/decisions.md 120-127. Pure: schemas and mappings only.
 */
import * as z from 'zod';
import type { PaymentStatus } from './lifecycle.js';
import type { ReasonCode } from './reason-codes.js';

const text = (max: number) => z.string().min(1).max(max);
/** DateTime.yaml: RFC 3339. */
const dateTime = z.iso.datetime({ offset: true });

/** MsgSignature.yaml: a string. Accepted and ignored on requests (docs/decisions.md 122). */
const signature = z.string().max(4096).optional();

/** MsgHeader_V1.0.0.yaml (required: message_id, message_ts, action, sender_id, total_count). */
function requestHeader<A extends string>(actions: readonly [A, ...A[]]) {
  return z.strictObject({
    version: text(16).optional(),
    message_id: text(128),
    message_ts: dateTime,
    action: z.enum(actions),
    sender_id: text(128),
    sender_uri: z.string().max(2048).optional(),
    receiver_id: text(128).optional(),
    total_count: z.int().min(0).max(5000),
    is_msg_encrypted: z.boolean().optional(),
    encryption_algo: z.string().max(64).optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
  });
}

/** TransactionId.yaml; here also the batchRef of the batch a disburse creates, so [A-Za-z0-9._-], 1-64. */
const transactionId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/);
const referenceId = text(64);

/** Amount: a whole number of VND, as a JSON number or a string of digits (the spec leaves its type to the implementer). */
const amount = z.union([z.int().min(1), z.string().regex(/^[1-9][0-9]{0,14}$/).transform(Number)]);

/** A payee's financial address: `pid:<12-digit personal ID>`, optionally `@<provider>` (FinancialAddress.yaml's id-type:id@provider). */
export const PID_ADDRESS = /^pid:(\d{12})(?:@[a-zA-Z0-9.-]+)?$/i;
/** The payer: `program:<PROGRAM_CODE>.<YYYY-MM>@<anything>`: the program and the month paid. */
export const PAYER_ADDRESS = /^program:([A-Z_]{1,40})\.(\d{4}-\d{2})(?:@[a-zA-Z0-9.-]+)?$/;

/** DisburseRequest.yaml: `disbursements` items (required: reference_id, payer_fa, payee_fa, amount). */
export const disbursementSchema = z.strictObject({
  reference_id: referenceId,
  payer_fa: z.string().regex(PAYER_ADDRESS),
  payee_fa: z.string().regex(PID_ADDRESS),
  amount,
  scheduled_timestamp: dateTime.optional(),
  payer_name: text(200).optional(),
  payee_name: text(200),
  /** Not in the spec (docs/decisions.md 121): the register check needs the date of birth. */
  payee_dob: z.iso.date(),
  note: z.string().max(99).optional(),
  purpose: z.string().max(200).optional(),
  instruction: z.string().max(999).optional(),
  currency_code: z.literal('VND').optional(),
  locale: z.string().max(8).optional(),
});

export const disburseRequestSchema = z
  .strictObject({
    signature,
    header: requestHeader(['disburse']),
    message: z.strictObject({ transaction_id: transactionId, disbursements: z.array(disbursementSchema).min(1).max(5000) }),
  })
  .meta({ id: 'G2pDisburseRequest', description: 'G2P Connect disburse: the envelope of the specification (src/disburse, v1.0.0), unencrypted.' });

export const txnStatusRequestSchema = z
  .strictObject({
    signature,
    header: requestHeader(['status', 'search', 'on-disburse']),
    message: z.strictObject({
      transaction_id: transactionId,
      txnstatus_request: z.strictObject({
        reference_id: referenceId,
        txn_type: z.literal('disburse'),
        attribute_type: z.enum(['transaction_id', 'reference_id_list']),
        attribute_value: z.union([transactionId, z.array(z.string().max(100)).min(1).max(1000)]),
        locale: z.string().max(8).optional(),
      }),
    }),
  })
  .meta({ id: 'G2pTxnStatusRequest', description: 'G2P Connect txn/status: the status of an earlier disburse, by its transaction_id or by payment references.' });

export const resolveRequestSchema = z
  .strictObject({
    signature,
    header: requestHeader(['resolve']),
    message: z.strictObject({
      transaction_id: transactionId,
      resolve_request: z
        .array(
          z.strictObject({
            reference_id: referenceId,
            timestamp: dateTime,
            fa: z.string().max(200).optional(),
            id: z.string().max(200).optional(),
            name: z.string().max(200).optional(),
            scope: z.enum(['yes_no', 'details']).optional(),
            additional_info: z.array(z.unknown()).optional(),
            locale: z.string().max(8).optional(),
          }),
        )
        .min(1)
        .max(100),
    }),
  })
  .meta({ id: 'G2pResolveRequest', description: 'G2P Connect mapper resolve: is a social security account linked to `pid:<12-digit ID>`, and with which provider (masked).' });

/** Link, unlink and update: any envelope (they are answered "not supported" whatever they hold). */
export const mapperChangeRequestSchema = z
  .looseObject({ signature, header: z.looseObject({ message_id: text(128), action: z.string().max(32) }), message: z.unknown().optional() })
  .meta({ id: 'G2pMapperChangeRequest', description: 'G2P Connect mapper link, unlink or update: answered RJCT rjct.action.not_supported.' });

export type DisburseRequest = z.output<typeof disburseRequestSchema>;
export type TxnStatusRequest = z.output<typeof txnStatusRequestSchema>;
export type ResolveRequest = z.output<typeof resolveRequestSchema>;

/** RequestStatus.yaml. */
export type G2pStatus = 'RCVD' | 'PDNG' | 'SUCC' | 'RJCT';

/** A payment's status as G2P Connect says it: received, pending (verified, approved, in flight), paid, or rejected. */
export function g2pStatusOf(status: PaymentStatus): G2pStatus {
  switch (status) {
    case 'RECEIVED':
      return 'RCVD';
    case 'PAID':
      return 'SUCC';
    case 'REJECTED':
    case 'FAILED':
    case 'CANCELLED':
    case 'RETURNED':
      return 'RJCT';
    default:
      return 'PDNG';
  }
}

/** DisburseStatusReasonCode.yaml has no code for our reasons: the closest one, the reason itself in status_reason_message. */
export function g2pReasonOf(reasonCode: ReasonCode | null): string | undefined {
  if (!reasonCode) return undefined;
  if (reasonCode === 'AMOUNT_OVER_PROGRAM_LIMIT') return 'rjct.amount.invalid';
  if (reasonCode === 'DUPLICATE_ENTITLEMENT') return 'rjct.reference_id.duplicate';
  return 'rjct.payee_fa.invalid';
}

// --- Responses (documented in the OpenAPI document; loose: the spec lets implementations add members)

const callbackHeader = z.object({
  version: z.string(),
  message_id: z.string(),
  message_ts: z.string(),
  action: z.string(),
  status: z.enum(['RCVD', 'PDNG', 'SUCC', 'RJCT']),
  status_reason_code: z.string().optional(),
  status_reason_message: z.string().optional(),
  total_count: z.int().min(0).optional(),
  completed_count: z.int().min(0).optional(),
  sender_id: z.string().optional(),
  receiver_id: z.string().optional(),
});

export const disbursementStatusSchema = z.object({
  reference_id: z.string(),
  timestamp: z.string(),
  status: z.enum(['RCVD', 'PDNG', 'SUCC', 'RJCT']),
  status_reason_code: z.string().optional(),
  status_reason_message: z.string().optional(),
  instruction: z.string().optional().meta({ description: 'paymentId=<the paymentId>: the payment in this API, also a reference for txn/status.' }),
  amount: z.string(),
  currency_code: z.literal('VND'),
});

export const disburseResponseSchema = z
  .object({
    signature: z.string(),
    header: callbackHeader,
    message: z.object({ transaction_id: z.string(), correlation_id: z.string().optional(), disbursements_status: z.array(disbursementStatusSchema) }),
  })
  .meta({ id: 'G2pDisburseResponse', description: 'on-disburse (the synchronous answer, and the callback to sender_uri).' });

export const ackSchema = z
  .object({ message: z.object({ ack_status: z.enum(['ACK', 'NACK', 'ERR']), timestamp: z.string(), correlation_id: z.string().optional() }) })
  .meta({ id: 'G2pAck', description: 'The acknowledgement of an asynchronous request (Response.yaml): ACK, and the on-disburse callback follows.' });

export const txnStatusResponseSchema = z
  .object({
    signature: z.string(),
    header: callbackHeader,
    message: z.object({
      transaction_id: z.string(),
      correlation_id: z.string(),
      txnstatus_response: z.object({ txn_type: z.literal('on-disburse'), txn_status: z.object({ transaction_id: z.string(), disbursements_status: z.array(disbursementStatusSchema) }) }),
    }),
  })
  .meta({ id: 'G2pTxnStatusResponse', description: 'on-status: the current status of each disbursement asked about.' });

export const resolveResponseSchema = z
  .object({
    signature: z.string(),
    header: callbackHeader,
    message: z.object({
      transaction_id: z.string(),
      correlation_id: z.string(),
      resolve_response: z.array(
        z.object({
          reference_id: z.string(),
          timestamp: z.string(),
          id: z.string().optional().meta({ description: 'Masked: pid:<first 3>******<last 3>.' }),
          account_provider_info: z.object({ name: z.string(), code: z.string(), additional_info: z.string().optional() }).optional(),
          status: z.enum(['RCVD', 'PDNG', 'SUCC', 'RJCT']),
          status_reason_code: z.string(),
          status_reason_message: z.string().optional(),
        }),
      ),
    }),
  })
  .meta({ id: 'G2pResolveResponse', description: 'on-resolve: linked or not, the provider and the masked account number; nothing else about the person.' });

export const mapperChangeResponseSchema = z
  .object({ signature: z.string(), header: callbackHeader, message: z.object({}).loose() })
  .meta({ id: 'G2pNotSupported', description: 'RJCT rjct.action.not_supported: links belong to the beneficiary (PUT /v1/accounts/{personalId}).' });

/** pid:079*******123 -> shown as pid:079******123 (first three, last three). */
export function maskPid(personalId: string): string {
  return `pid:${personalId.slice(0, 3)}******${personalId.slice(-3)}`;
}
