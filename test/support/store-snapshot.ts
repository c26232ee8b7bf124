import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * A whole-store snapshot for tests: every item of every table, read with a
 * consistent Scan and kept as canonical JSON (map keys sorted, sets sorted, so
 * that one stored state has one text). Nothing is ignored: two snapshots are
 * equal only when every attribute of every item is.
 */
export type StoreSnapshot = Map<string, Map<string, string>>;

export function storeClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'ap-southeast-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

function canonical(value: AttributeValue): unknown {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.SS !== undefined) return { SS: [...value.SS].sort() };
  if (value.NS !== undefined) return { NS: [...value.NS].sort() };
  if (value.BS !== undefined) return { BS: value.BS.map((bytes) => Buffer.from(bytes).toString('base64')).sort() };
  if (value.L !== undefined) return { L: value.L.map(canonical) };
  if (value.M !== undefined) return { M: canonicalItem(value.M) };
  throw new Error(`unknown attribute value ${JSON.stringify(Object.keys(value))}`);
}

function canonicalItem(item: Record<string, AttributeValue>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(item)
      .sort()
      .map((name) => [name, canonical(item[name]!)]),
  );
}

/** Every item of every table (tableNames: key -> physical table name). */
export async function snapshotStore(client: DynamoDBClient, tableNames: Record<string, string>): Promise<StoreSnapshot> {
  const snapshot: StoreSnapshot = new Map();
  await Promise.all(
    Object.entries(tableNames).map(async ([key, TableName]) => {
      const items = new Map<string, string>();
      let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
      do {
        const page = await client.send(new ScanCommand({ TableName, ConsistentRead: true, ...(ExclusiveStartKey ? { ExclusiveStartKey } : {}) }));
        for (const item of page.Items ?? []) {
          const text = JSON.stringify(canonicalItem(item));
          // The item's identity: its key attributes (pk, and sk where the table has one).
          const identity = JSON.stringify([item.pk ? canonical(item.pk) : null, item.sk ? canonical(item.sk) : null]);
          items.set(identity, text);
        }
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      snapshot.set(key, items);
    }),
  );
  return snapshot;
}

export function countItems(snapshot: StoreSnapshot): number {
  let total = 0;
  for (const items of snapshot.values()) total += items.size;
  return total;
}

/** What differs, one line per added, removed or changed item (at most `limit` lines). */
export function diffSnapshots(before: StoreSnapshot, after: StoreSnapshot, limit = 20): string[] {
  const lines: string[] = [];
  const tables = new Set([...before.keys(), ...after.keys()]);
  for (const table of tables) {
    const old = before.get(table) ?? new Map<string, string>();
    const now = after.get(table) ?? new Map<string, string>();
    for (const [key, text] of now) {
      if (!old.has(key)) lines.push(`${table}: added ${key}: ${text.slice(0, 400)}`);
      else if (old.get(key) !== text) lines.push(`${table}: changed ${key}:\n  before ${old.get(key)!.slice(0, 400)}\n  after  ${text.slice(0, 400)}`);
    }
    for (const key of old.keys()) if (!now.has(key)) lines.push(`${table}: removed ${key}`);
  }
  return lines.length > limit ? [...lines.slice(0, limit), `... and ${lines.length - limit} more`] : lines;
}
