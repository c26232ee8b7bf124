import { ConditionalCheckFailedException, DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo } from '../../../local/dynamodb.js';
import { DynamoAuditLog } from '../../../shared/adapters/dynamodb/audit-log.js';
import type { AuditRecord } from '../../../shared/ports/audit-log.js';
import { MOTO_CREDENTIALS, MOTO_REGION, motoAvailable, startMoto } from '../../support/moto.js';

/**
 * DynamoAuditLog on the real wire protocol: dynalite always, moto where
 * installed (CI). Records are created only, never replaced; a batch's records
 * read back batch scope first, then shard by shard, each in time order, over
 * pages of any size.
 */

interface Backend {
  name: string;
  start(): Promise<{ endpoint: string; tableName: string; region: string; credentials: typeof MOTO_CREDENTIALS; stop(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'dynalite',
    start: async () => {
      const dynamo = await startLocalDynamo(`audit-${ulid().slice(-6).toLowerCase()}`);
      return { endpoint: dynamo.endpoint, tableName: dynamo.tableNames.audit, region: MOTO_REGION, credentials: MOTO_CREDENTIALS, stop: () => dynamo.stop() };
    },
  },
  ...(motoAvailable
    ? [
        {
          name: 'moto_server',
          start: async () => {
            const moto = await startMoto({ prefix: 'audit' });
            if (!moto) throw new Error('moto_server is on the PATH but did not start');
            return { endpoint: moto.endpoint, tableName: moto.tableNames.audit, region: MOTO_REGION, credentials: MOTO_CREDENTIALS, stop: () => moto.stop() };
          },
        },
      ]
    : []),
];

const batchId = '01JE0000000000000000000000';

function record(shard: number | null, at: string, changes = 1): AuditRecord {
  return {
    scope: { kind: 'batch', batchId, shard },
    actor: shard === null ? 'hcm-system' : 'system:verify-worker',
    requestId: `req-${at}`,
    action: shard === null ? 'createBatch' : 'verifyPage',
    at,
    changes: Array.from({ length: changes }, (_, index) => ({
      subject: 'payment' as const,
      paymentId: `${batchId}-0${shard ?? 0}${String(index).padStart(20, 'a')}`,
      from: 'RECEIVED',
      to: 'VERIFIED',
      reasonCode: null,
      at,
    })),
  };
}

describe.each(backends)('DynamoAuditLog on $name', (backend) => {
  let running: Awaited<ReturnType<Backend['start']>>;
  let client: DynamoDBDocumentClient;
  let raw: DynamoDBClient;

  beforeAll(async () => {
    running = await backend.start();
    raw = new DynamoDBClient({ endpoint: running.endpoint, region: running.region, credentials: running.credentials });
    client = DynamoDBDocumentClient.from(raw);
  });
  afterAll(async () => {
    raw?.destroy();
    await running?.stop();
  });

  it('reads a batch back: batch records first, then each shard, each in time order, over pages of any size', async () => {
    // Prepare: written out of order, over the batch scope and two shards
    const log = new DynamoAuditLog(client, running.tableName);
    const written = [
      record(1, '2026-11-30T01:00:03.000Z'),
      record(null, '2026-11-30T01:00:00.000Z'),
      record(0, '2026-11-30T01:00:02.000Z', 3),
      record(null, '2026-11-30T01:00:05.000Z'),
      record(0, '2026-11-30T01:00:01.000Z'),
      record(1, '2026-11-30T01:00:04.000Z'),
    ];
    await log.append(written);
    const expected = [written[1], written[3], written[4], written[2], written[0], written[5]];

    // Act: one page, then pages of two
    const whole = await log.listForBatch({ batchId, shardCount: 2 }, { limit: 100 });
    const paged: AuditRecord[] = [];
    let after;
    let pages = 0;
    do {
      const page = await log.listForBatch({ batchId, shardCount: 2 }, { limit: 2, after });
      paged.push(...page.items);
      after = page.next;
      pages += 1;
    } while (after && pages < 10);

    // Assess
    expect(whole.items).toEqual(expected);
    expect(whole.next).toBeUndefined();
    expect(paged).toEqual(expected);
  });

  it('never replaces a record: the same key written twice is refused, and the first stays', async () => {
    const log = new DynamoAuditLog(client, running.tableName, () => 'FIXEDID');
    const first = { ...record(null, '2026-11-30T02:00:00.000Z'), requestId: 'first' };

    await log.append([first]);
    const second = log.append([{ ...first, requestId: 'second' }]);

    await expect(second).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    const stored = await raw.send(new QueryCommand({ TableName: running.tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :at)', ExpressionAttributeValues: { ':pk': { S: `BATCH#${batchId}` }, ':at': { S: '2026-11-30T02:00:00.000Z' } } }));
    expect(stored.Items?.map((item) => item.requestId?.S)).toEqual(['first']);
  });

  it('keeps personal-data-free keys: partition by batch and shard, sort key = time and our own id', async () => {
    const log = new DynamoAuditLog(client, running.tableName, () => '01JE0000000000000000000001');
    await log.append([{ ...record(3, '2026-11-30T03:00:00.000Z'), requestId: 'client-chosen-079185000001' }]);

    const stored = await raw.send(new QueryCommand({ TableName: running.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: `BATCH#${batchId}#S03` } } }));
    expect(stored.Items?.map((item) => item.sk?.S)).toEqual(['2026-11-30T03:00:00.000Z#01JE0000000000000000000001']);
  });
});
