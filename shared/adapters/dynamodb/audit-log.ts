import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import type { AuditLog, AuditRecord } from '../../ports/audit-log.js';
import type { Page, PagePosition } from '../../ports/batch-store.js';
import { auditKeys, entity } from './keys.js';

/** Records written at once by one append. */
const PARALLEL = 8;

/**
 * The audit table. Every record is a conditional PutItem on a key no other
 * record has (`attribute_not_exists`), so an append can never replace a
 * record, and the functions' IAM policies allow no UpdateItem or DeleteItem
 * on this table (asserted in test/infra).
 */
export class DynamoAuditLog implements AuditLog {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly newId: () => string = ulid,
  ) {}

  async append(records: readonly AuditRecord[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      for (let record = records[next++]; record !== undefined; record = records[next++]) {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              pk: auditKeys.partition(record.scope),
              sk: auditKeys.record(record.at, this.newId()),
              entity: entity.auditRecord,
              ...record,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, records.length) }, worker));
  }

  async listForBatch(batch: { batchId: string; shardCount: number }, query: { limit: number; after?: PagePosition | undefined }): Promise<Page<AuditRecord>> {
    // Partitions in order: the batch's own (-1), then shard 0, 1, ...; the position is (partition, last key in it).
    let part = typeof query.after?.part === 'number' ? query.after.part : -1;
    let start = query.after?.key as Record<string, unknown> | undefined;
    const items: AuditRecord[] = [];
    while (part < batch.shardCount && items.length < query.limit) {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': auditKeys.partition({ kind: 'batch', batchId: batch.batchId, shard: part < 0 ? null : part }) },
          Limit: query.limit - items.length,
          ExclusiveStartKey: start,
        }),
      );
      for (const { pk: _pk, sk: _sk, entity: _entity, ...record } of result.Items ?? []) items.push(record as AuditRecord);
      start = result.LastEvaluatedKey;
      if (!start) part += 1;
    }
    return { items, next: part < batch.shardCount ? { part, ...(start ? { key: start } : {}) } : undefined };
  }
}
