import { CreateTableCommand, DynamoDBClient, type AttributeDefinition } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { AddressInfo } from 'node:net';
import { tableDefinitions, type TableDefinition, type TableKey } from '../shared/adapters/dynamodb/tables.js';

export interface LocalDynamo {
  endpoint: string;
  tableNames: Record<TableKey, string>;
  stop(): Promise<void>;
}

function attributeDefinitions(table: TableDefinition): AttributeDefinition[] {
  const names = new Set<string>([table.partitionKey]);
  if (table.sortKey) names.add(table.sortKey);
  for (const index of table.indexes) {
    names.add(index.partitionKey);
    names.add(index.sortKey);
  }
  return [...names].map((AttributeName) => ({ AttributeName, AttributeType: 'S' }));
}

/** Creates every table of tables.ts (or those of `only`), exactly as the CDK stack defines them. */
export async function createTables(client: DynamoDBClient, prefix: string, only?: readonly TableKey[]): Promise<Record<TableKey, string>> {
  const entries = await Promise.all(
    (Object.entries(tableDefinitions) as [TableKey, TableDefinition][]).filter(([key]) => !only || only.includes(key)).map(async ([key, table]) => {
      const TableName = `${prefix}-${table.id}`;
      await client.send(
        new CreateTableCommand({
          TableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: attributeDefinitions(table),
          KeySchema: [
            { AttributeName: table.partitionKey, KeyType: 'HASH' },
            ...(table.sortKey ? [{ AttributeName: table.sortKey, KeyType: 'RANGE' as const }] : []),
          ],
          ...(table.indexes.length > 0
            ? {
                GlobalSecondaryIndexes: table.indexes.map((index) => ({
                  IndexName: index.indexName,
                  KeySchema: [
                    { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
                    { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
                  ],
                  Projection: { ProjectionType: index.projection },
                })),
              }
            : {}),
        }),
      );
      return [key, TableName] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<TableKey, string>;
}

/** An in-memory dynalite on a free loopback port, with the tables ready at once. */
export async function startLocalDynamo(prefix = 'local'): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: 'ap-southeast-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const tableNames = await createTables(client, prefix);
  client.destroy();
  return {
    endpoint,
    tableNames,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
