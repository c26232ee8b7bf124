/**
 * Every key of the core table is built here and nowhere else (docs/data-model.md
 * lists the access patterns). No key holds a personal ID number or any text a
 * client chose: those enter keys only as keyed hashes.
 */

export const entity = {
  batch: 'BATCH',
  batchRef: 'BATCH_REF',
  payment: 'PAYMENT',
  entitlement: 'ENTITLEMENT',
  account: 'ACCOUNT',
  accountHistory: 'ACCOUNT_HISTORY',
  auditRecord: 'AUDIT_RECORD',
  registerEvent: 'REGISTER_EVENT',
  death: 'DEATH',
  webhookEndpoint: 'WEBHOOK_ENDPOINT',
  webhookDelivery: 'WEBHOOK_DELIVERY',
  retry: 'RETRY',
  statement: 'STATEMENT',
  notice: 'NOTICE',
  unknownReference: 'UNKNOWN_REFERENCE',
} as const;

/** Partitions of gsi3 that unconfirmed PAID transfers are spread over. */
const UNCONFIRMED_SHARDS = 4;

export const keys = {
  batch: (batchId: string) => ({ pk: `BATCH#${batchId}`, sk: 'BATCH' }),
  /** A province's batches, newest first (gsi2). */
  batchByProvince: (provinceCode: string, createdAt: string, batchId: string) => ({
    gsi2pk: `PROVINCE#${provinceCode}`,
    gsi2sk: `${createdAt}#${batchId}`,
  }),
  provinceBatchesPartition: (provinceCode: string) => `PROVINCE#${provinceCode}`,
  /** Uniqueness of a batchRef within a province; the ref enters as a keyed hash. */
  batchRef: (provinceCode: string, batchRefHash: string) => ({ pk: `BATCHREF#${provinceCode}#${batchRefHash}`, sk: 'BATCH_REF' }),
  /** Payments of a batch are spread over `shardCount` partitions so that no partition runs hot. */
  paymentShard: (batchId: string, shard: number) => `BATCH#${batchId}#S${String(shard).padStart(2, '0')}`,
  payment: (batchId: string, shard: number, refDigest: string) => ({
    pk: keys.paymentShard(batchId, shard),
    sk: `PAY#${refDigest}`,
  }),
  /** A person's current social security account. */
  currentAccount: (personHash: string) => ({ pk: `PERSON#${personHash}`, sk: 'ACCOUNT' }),
  /** One link a person ever made, newest last in sort order. */
  accountHistory: (personHash: string, linkedAt: string, linkId: string) => ({
    pk: `PERSON#${personHash}`,
    sk: `ACCOUNT#${linkedAt}#${linkId}`,
  }),
  personPaymentsPartition: (personHash: string) => `PERSON#${personHash}`,
  /** One entitlement: a person (hashed), a program, a month. */
  entitlement: (personHash: string, programCode: string, period: string) => ({
    pk: `ENT#${personHash}#${programCode}#${period}`,
    sk: 'ENT',
  }),
  /**
   * A PAID transfer no statement has confirmed yet (gsi3, sparse: from the PAID write until a
   * statement confirms or returns it), by the time it becomes overdue (paid + the provider's
   * settlement window). Spread over UNCONFIRMED_SHARDS partitions: every PAID write lands here.
   */
  unconfirmedPaid: (refDigest: string, dueAt: string, paymentId: string) => ({
    gsi3pk: `UNCONFIRMED#${refDigest.charCodeAt(refDigest.length - 1) % UNCONFIRMED_SHARDS}`,
    gsi3sk: `${dueAt}#${paymentId}`,
  }),
  unconfirmedPaidPartitions: Array.from({ length: UNCONFIRMED_SHARDS }, (_, shard) => `UNCONFIRMED#${shard}`),
  /** A batch the reconciler watches (gsi3, sparse: set while there may be something to finish or repair). */
  watchedBatch: (batchId: string) => ({ gsi3pk: 'WATCH', gsi3sk: batchId }),
  watchedBatchesPartition: 'WATCH',
  /** A payment ON_HOLD, in its batch's partition of gsi3, oldest hold first (sparse: only while held). */
  heldPayment: (batchId: string, heldAt: string, paymentId: string) => ({ gsi3pk: `HELD#${batchId}`, gsi3sk: `${heldAt}#${paymentId}` }),
  heldPaymentsPartition: (batchId: string) => `HELD#${batchId}`,
  /** An event of the population register, by the keyed hash of its eventId (the register's text never enters a key). */
  registerEvent: (eventKey: string) => ({ pk: `REGEVENT#${eventKey}`, sk: 'REGEVENT' }),
  /** A register event still being processed, in gsi3 (sparse: only while PENDING), oldest first: the reconciler finishes it. */
  pendingRegisterEvent: (receivedAt: string, eventKey: string) => ({ gsi3pk: 'REGEVENT_PENDING', gsi3sk: `${receivedAt}#${eventKey}` }),
  pendingRegisterEventsPartition: 'REGEVENT_PENDING',
  /** A person's death marker, in the person's partition (the disbursement worker reads it at hand-off). */
  death: (personHash: string) => ({ pk: `PERSON#${personHash}`, sk: 'DEATH' }),
  /** A province's webhook endpoint (one per province). */
  webhookEndpoint: (provinceCode: string) => ({ pk: `WEBHOOK#${provinceCode}`, sk: 'ENDPOINT' }),
  /** One event for a province and its delivery; eventIds start with the batchId (a ULID), so the partition reads newest batch first backwards. */
  webhookDelivery: (provinceCode: string, eventId: string) => ({ pk: `WEBHOOK#${provinceCode}`, sk: `${eventId.startsWith('g2p-') ? 'CALLBACK' : 'DELIVERY'}#${eventId}` }),
  webhookPartition: (provinceCode: string) => `WEBHOOK#${provinceCode}`,
  /** A delivery still RETRYING (gsi3, sparse, keys only): the reconciler re-queues one whose message was lost. */
  pendingDelivery: (provinceCode: string, eventId: string) => ({ gsi3pk: 'WEBHOOK_PENDING', gsi3sk: `${provinceCode}#${eventId}` }),
  pendingDeliveriesPartition: 'WEBHOOK_PENDING',
  /** A retry of some payments of a batch, next to its batch. */
  retry: (batchId: string, retryId: string) => ({ pk: `BATCH#${batchId}`, sk: `RETRY#${retryId}` }),
  /** An approved retry whose payments are not all moved to their new attempt yet (gsi3, sparse): the reconciler resumes it. */
  retryToDispatch: (batchId: string, retryId: string) => ({ gsi3pk: 'RETRY_DISPATCH', gsi3sk: `${batchId}#${retryId}` }),
  retriesToDispatchPartition: 'RETRY_DISPATCH',
  /** A provider's settlement statement, by a hash of (provider, statementId): its fingerprint and result. */
  statement: (statementKey: string) => ({ pk: `STATEMENT#${statementKey}`, sk: 'STATEMENT' }),
  /** A statement line naming a reference of the batch that no payment has. */
  unknownReference: (batchId: string, statementKey: string, index: number) => ({ pk: `BATCH#${batchId}`, sk: `UNKNOWN#${statementKey}#${String(index).padStart(5, '0')}` }),
  /** The once-guard of a beneficiary notice: one per (payment, event, attempt). */
  notice: (paymentId: string, event: string, attempt: number) => ({ pk: `NOTICE#${paymentId}`, sk: `${event}#${attempt}` }),
  /** A person's payments, newest first (gsi1, keys only). */
  paymentByPerson: (personHash: string, createdAt: string, paymentId: string) => ({
    gsi1pk: `PERSON#${personHash}`,
    gsi1sk: `${createdAt}#${paymentId}`,
  }),
};

/**
 * Keys of the audit table: a batch's own records, each payment shard's (the
 * shards of the core table, so that a large batch's audit writes spread as its
 * payments do), a person's (hashed). The sort key orders by time; its id is
 * ours (a ULID), never the client's request id.
 */
export const auditKeys = {
  partition: (scope: { kind: 'batch'; batchId: string; shard: number | null } | { kind: 'person'; personHash: string }) =>
    scope.kind === 'person' ? `PERSON#${scope.personHash}` : scope.shard === null ? `BATCH#${scope.batchId}` : keys.paymentShard(scope.batchId, scope.shard),
  record: (at: string, id: string) => `${at}#${id}`,
};
