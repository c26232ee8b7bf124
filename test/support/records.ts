import { ulid } from 'ulid';
import { paymentIdentity, personHash, zeroByStatus, type BatchRecord, type PaymentRecord } from '../../shared/domain/batch.js';
import type { KeyedHash } from '../../shared/domain/keyed-hash.js';

/**
 * Records as the system keeps them, for tests that write through the adapters:
 * one builder per record type, with every field set, and `overrides` for what a
 * test cares about.
 */

/** An OPEN batch of province 79 with nothing received, created at `createdAt`. */
export function batchRecord(overrides: Partial<BatchRecord> = {}, createdAt = overrides.createdAt ?? '2026-11-23T08:00:00.000Z'): BatchRecord {
  return {
    batchId: ulid(),
    batchRef: `HCM-${ulid()}`,
    provinceCode: '79',
    programCode: 'SOCIAL_ALLOWANCE',
    period: '2026-11',
    status: 'OPEN',
    control: { itemCount: 0, totalAmount: 0 },
    received: { itemCount: 0, totalAmount: 0 },
    counts: zeroByStatus(),
    amounts: zeroByStatus(),
    rejections: {},
    shardCount: 1,
    chunkCount: 0,
    fingerprint: `fp-${ulid()}`,
    createdBy: 'province-79-system',
    approvedBy: null,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  };
}

/** The person a payment is for. */
export interface Payee {
  personalId: string;
  fullName: string;
  dateOfBirth: string;
  gender: PaymentRecord['gender'];
}

/**
 * A RECEIVED payment of `batch` (keys and ids derived from `paymentRef` as the
 * upload derives them), uploaded at `at`.
 */
export function paymentRecord(
  hash: KeyedHash,
  batch: Pick<BatchRecord, 'batchId' | 'shardCount' | 'provinceCode' | 'programCode' | 'period'>,
  item: { paymentRef: string; seq: number; amount: number; payee: Payee; at: string },
  overrides: Partial<PaymentRecord> = {},
): PaymentRecord {
  return {
    ...paymentIdentity(hash, batch.batchId, item.paymentRef, batch.shardCount),
    batchId: batch.batchId,
    provinceCode: batch.provinceCode,
    programCode: batch.programCode,
    period: batch.period,
    seq: item.seq,
    paymentRef: item.paymentRef,
    personalId: item.payee.personalId,
    personHash: personHash(hash, item.payee.personalId),
    fullName: item.payee.fullName,
    dateOfBirth: item.payee.dateOfBirth,
    gender: item.payee.gender,
    amount: item.amount,
    status: 'RECEIVED',
    reasonCode: null,
    nameMatch: null,
    account: null,
    history: [{ status: 'RECEIVED', reasonCode: null, at: item.at }],
    createdAt: item.at,
    updatedAt: item.at,
    ...overrides,
  };
}
