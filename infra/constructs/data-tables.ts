import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { tableDefinitions, type TableDefinition, type TableKey } from '../../shared/adapters/dynamodb/tables.js';
import type { StageConfig } from '../stages.js';
import type { Grantee } from './service-function.js';

/**
 * Exactly the operations the adapters issue (shared/adapters/dynamodb/), nothing
 * broader than that (no CDK grantReadData/grantReadWriteData). No Scan: every
 * access pattern is a Query (docs/data-model.md). No ConditionCheckItem and no
 * Transact*: nothing runs a transaction (toolchain.md). A function that comes
 * to need another operation gets a new access level, not a wider existing one.
 */
export const tableActions = {
  /** On the table: reads by key, and Query on the base table. */
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
  /** Single-item put (a new item, or a replace). */
  put: ['dynamodb:PutItem'],
  /** Single-item update (the conditional state transitions and counters). */
  update: ['dynamodb:UpdateItem'],
  /** Single-item delete (entitlement release, unlinking an account: conditional on the holder). */
  delete: ['dynamodb:DeleteItem'],
  /**
   * BatchWriteItem: only the chunk upload needs it. It can delete as well as put
   * (a DeleteRequest needs no DeleteItem), unconditionally, so it is granted
   * to that one access level only.
   */
  batchWrite: ['dynamodb:BatchWriteItem'],
  /** On each index ARN: an index can only be queried (or scanned, which we never do). */
  index: ['dynamodb:Query'],
} as const;

type TableOperation = Exclude<keyof typeof tableActions, 'index'>;

/**
 * Access levels: which operations each grants on the table (every level but
 * `append` and `load` reads, and may Query each named index). Named after what they allow, so that a
 * wiring entry reads as its permissions.
 */
export const accessLevels = {
  /** Reads only. */
  read: ['read'],
  /**
   * The audit trail's writers: single-item puts only (conditional on the key being
   * new, shared/adapters/dynamodb/audit-log.ts), no read, and never UpdateItem,
   * DeleteItem or BatchWriteItem, so no function can change or remove a record.
   */
  append: ['put'],
  /** The batch upload: puts, updates and BatchWriteItem; never a single delete. */
  readWrite: ['read', 'put', 'update', 'batchWrite'],
  /** Conditional transitions of existing items only (approval). */
  readUpdate: ['read', 'update'],
  /** Puts and updates, no delete and no batch write (the sandbox provider's ledger). */
  readPutUpdate: ['read', 'put', 'update'],
  /** Transitions and conditional deletes (entitlement release), no put, no batch write. */
  readUpdateDelete: ['read', 'update', 'delete'],
  /** The batch upload and cancellation: batch writes, and conditional deletes of entitlements. */
  readWriteDelete: ['read', 'put', 'update', 'batchWrite', 'delete'],
  /** Single-item puts, updates and conditional deletes; no batch write. */
  readPutUpdateDelete: ['read', 'put', 'update', 'delete'],
  /** Bulk load, BatchWriteItem only, no read: seeding the sandbox register at deploy. */
  load: ['batchWrite'],
} as const satisfies Record<string, readonly TableOperation[]>;

export type TableAccess = keyof typeof accessLevels;

/** The DynamoDB actions an access level grants on the table itself. */
export function actionsOf(access: TableAccess): string[] {
  return accessLevels[access].flatMap((operation: TableOperation) => [...tableActions[operation]]);
}

/** Whether a level writes (and so needs the key to encrypt, not only to decrypt). */
function writes(access: TableAccess): boolean {
  return access !== 'read';
}

/**
 * The DynamoDB tables of shared/adapters/dynamodb/tables.ts, encrypted with one
 * customer-managed key. On-demand, point-in-time recovery; in production deletion
 * protection and RETAIN, in the sandbox DESTROY (a sandbox is disposable).
 * Sandbox-only tables exist only in the sandbox stage.
 */
export class DataTables extends Construct {
  readonly key: kms.Key;
  private readonly tables = new Map<TableKey, dynamodb.TableV2>();
  private readonly stage: StageConfig;
  private readonly keyGrants = new Map<Grantee, Set<'read' | 'write'>>();

  constructor(scope: Construct, id: string, props: { stage: StageConfig }) {
    super(scope, id);
    this.stage = props.stage;
    const removalPolicy = props.stage.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.key = new kms.Key(this, 'Key', {
      description: `DynamoDB tables of social-payments (${props.stage.name})`,
      enableKeyRotation: true,
      removalPolicy,
    });

    for (const [tableKey, definition] of Object.entries(tableDefinitions) as [TableKey, TableDefinition][]) {
      if (definition.sandboxOnly && props.stage.name !== 'sandbox') continue;
      const table = new dynamodb.TableV2(this, definition.id, {
        partitionKey: { name: definition.partitionKey, type: dynamodb.AttributeType.STRING },
        ...(definition.sortKey ? { sortKey: { name: definition.sortKey, type: dynamodb.AttributeType.STRING } } : {}),
        globalSecondaryIndexes: definition.indexes.map((index) => ({
          indexName: index.indexName,
          partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
          sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
          projectionType: dynamodb.ProjectionType[index.projection],
        })),
        billing: dynamodb.Billing.onDemand(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryptionV2.customerManagedKey(this.key),
        deletionProtection: props.stage.production,
        removalPolicy,
        ...(definition.timeToLiveAttribute ? { timeToLiveAttribute: definition.timeToLiveAttribute } : {}),
      });
      this.tables.set(tableKey, table);
    }
  }

  /** Whether the table exists in this stage (sandbox-only tables do not in prod). */
  has(tableKey: TableKey): boolean {
    return this.tables.has(tableKey);
  }

  table(tableKey: TableKey): dynamodb.TableV2 {
    const table = this.tables.get(tableKey);
    if (!table) {
      throw new Error(`Table "${tableKey}" does not exist in stage "${this.stage.name}" (it is sandbox-only).`);
    }
    return table;
  }

  /** Tables of this stage, in definition order. */
  entries(): [TableKey, dynamodb.TableV2][] {
    return [...this.tables.entries()];
  }

  /**
   * Grants `access` to one table and Query on each of its indexes (each named,
   * no `index/*`), the key use DynamoDB needs on the caller's behalf, and sets
   * the table-name variable of the definition. A sandbox-only table is skipped
   * outside the sandbox: the function's configuration must treat its variable
   * as optional.
   */
  grant(grantee: Grantee, tableKey: TableKey, access: TableAccess): void {
    const definition: TableDefinition = tableDefinitions[tableKey];
    if (definition.sandboxOnly && !this.has(tableKey)) return;
    const table = this.table(tableKey);
    grantee.addToRolePolicy(
      new iam.PolicyStatement({
        sid: sid(`${definition.id}${access.charAt(0).toUpperCase()}${access.slice(1)}`),
        actions: actionsOf(access),
        resources: [table.tableArn],
      }),
    );
    if (definition.indexes.length > 0) {
      grantee.addToRolePolicy(
        new iam.PolicyStatement({
          sid: sid(`${definition.id}IndexQuery`),
          actions: [...tableActions.index],
          resources: definition.indexes.map((index) => `${table.tableArn}/index/${index.indexName}`),
        }),
      );
    }
    this.grantKey(grantee, access);
    grantee.addEnvironment(definition.envVar, table.tableName);
  }

  grantRead(grantee: Grantee, tableKey: TableKey): void {
    this.grant(grantee, tableKey, 'read');
  }

  grantReadWrite(grantee: Grantee, tableKey: TableKey): void {
    this.grant(grantee, tableKey, 'readWrite');
  }

  private grantKey(grantee: Grantee, access: TableAccess): void {
    // One statement per key use (read, or read and write) per function, however many tables share the key.
    const use = writes(access) ? 'write' : 'read';
    const granted = this.keyGrants.get(grantee) ?? new Set<'read' | 'write'>();
    if (granted.has(use)) return;
    granted.add(use);
    this.keyGrants.set(grantee, granted);
    grantee.addToRolePolicy(
      new iam.PolicyStatement({
        sid: use === 'write' ? 'TableKeyReadWrite' : 'TableKeyRead',
        actions: use === 'write' ? ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt', 'kms:DescribeKey'],
        resources: [this.key.keyArn],
        // Only through DynamoDB: the function cannot decrypt with this key directly.
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Aws.REGION}.amazonaws.com` } },
      }),
    );
  }
}

function sid(name: string): string {
  return name.replace(/[^A-Za-z0-9]/g, '');
}
