/**
 * The DynamoDB tables, described once. The CDK stack (infra/) and the local
 * server (local/) both build their tables from this list, so the two cannot drift.
 * Access patterns and key shapes are written down in docs/data-model.md.
 */

export interface IndexDefinition {
  indexName: string;
  partitionKey: string;
  sortKey: string;
  /** KEYS_ONLY where the index only finds items (no write amplification on updates), ALL where it serves reads. */
  projection: 'ALL' | 'KEYS_ONLY';
}

export interface TableDefinition {
  /** Construct id in CDK and name suffix locally. */
  id: string;
  /** Environment variable through which functions receive the table name. */
  envVar: string;
  partitionKey: string;
  sortKey?: string;
  indexes: IndexDefinition[];
  /** Attribute holding an epoch-seconds expiry, where items expire. */
  timeToLiveAttribute?: string;
  /** Only in the sandbox stage and locally (never holds production data). */
  sandboxOnly?: boolean;
}

export const tableDefinitions = {
  /** Batches, payments, entitlements, account links: the system of record. */
  core: {
    id: 'Core',
    envVar: 'CORE_TABLE_NAME',
    partitionKey: 'pk',
    sortKey: 'sk',
    indexes: [
      // A person's payments, newest first (beneficiary reads, release of held payments).
      { indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk', projection: 'KEYS_ONLY' },
      // A province's batches, newest first.
      { indexName: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk', projection: 'ALL' },
      // Sparse: the batches the reconciler watches (work in flight, an upload lease, a cancel to finish,
      // payments on hold) and each batch's held payments by the time they were held. Keys only, and keys
      // that change only when an item enters or leaves: counter updates never write to it.
      { indexName: 'gsi3', partitionKey: 'gsi3pk', sortKey: 'gsi3sk', projection: 'KEYS_ONLY' },
    ],
  },
  /** Append-only audit trail of state changes. */
  audit: {
    id: 'Audit',
    envVar: 'AUDIT_TABLE_NAME',
    partitionKey: 'pk',
    sortKey: 'sk',
    indexes: [],
  },
  /** Sandbox population register (stands in for the national database). */
  registry: {
    id: 'SandboxRegistry',
    envVar: 'REGISTRY_TABLE_NAME',
    partitionKey: 'pk',
    indexes: [],
    sandboxOnly: true,
  },
  /** The sandbox payment provider's transfers (stands in for a bank's ledger). */
  sandboxProvider: {
    id: 'SandboxProvider',
    envVar: 'SANDBOX_PROVIDER_TABLE_NAME',
    partitionKey: 'pk',
    indexes: [],
    sandboxOnly: true,
  },
} as const satisfies Record<string, TableDefinition>;

export type TableKey = keyof typeof tableDefinitions;
