import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The document client, created once per process. `DYNAMODB_ENDPOINT` is set
 * only by the local server and tests (dynalite, moto); deployed, the SDK's
 * regional endpoint is used.
 */
export function createDocumentClient(endpoint = process.env.DYNAMODB_ENDPOINT): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...(endpoint ? { endpoint } : {}),
    // Standard retry mode with more attempts: throttling on a busy table is retried, not surfaced.
    maxAttempts: 8,
  });
  if (process.env.DYNAMODB_REQUEST_COUNTER === '1') countRequestsOf(client); // --- request counter (opt-in)
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}

// --- request counter (opt-in: DYNAMODB_REQUEST_COUNTER=1, set by bench/pipeline.ts; never set deployed)
// Process-wide counts of the DynamoDB API calls made by every client of createDocumentClient: calls and
// errors by operation (one per logical call; the SDK's own retries are not counted again), calls by
// "<table> <operation>" (the first table a batch call names), and items written (in all and by table) by
// successful PutItem, UpdateItem, DeleteItem and BatchWriteItem (less its UnprocessedItems).

export interface DynamoRequestCounts {
  calls: Record<string, number>;
  errors: Record<string, number>;
  byTable: Record<string, number>;
  itemsWritten: number;
  itemsWrittenByTable: Record<string, number>;
}

const counted = {
  calls: new Map<string, number>(),
  errors: new Map<string, number>(),
  byTable: new Map<string, number>(),
  written: new Map<string, number>(),
};

export function dynamoRequestCounts(): DynamoRequestCounts {
  const { calls, errors, byTable, written } = counted;
  return {
    calls: Object.fromEntries(calls),
    errors: Object.fromEntries(errors),
    byTable: Object.fromEntries(byTable),
    itemsWritten: [...written.values()].reduce((sum, count) => sum + count, 0),
    itemsWrittenByTable: Object.fromEntries(written),
  };
}

export function resetDynamoRequestCounts(): void {
  counted.calls.clear();
  counted.errors.clear();
  counted.byTable.clear();
  counted.written.clear();
}

const increment = (map: Map<string, number>, key: string, by = 1) => map.set(key, (map.get(key) ?? 0) + by);

function writeRequests(requestItems: unknown): number {
  if (typeof requestItems !== 'object' || requestItems === null) return 0;
  return Object.values(requestItems).reduce((sum: number, requests: unknown) => sum + (Array.isArray(requests) ? requests.length : 0), 0);
}

function countRequestsOf(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const input = args.input as { TableName?: unknown; RequestItems?: object };
      const table = typeof input.TableName === 'string' ? input.TableName : Object.keys(input.RequestItems ?? {})[0];
      increment(counted.calls, operation);
      increment(counted.byTable, `${table ?? '-'} ${operation}`);
      try {
        const result = await next(args);
        if (operation === 'PutItem' || operation === 'UpdateItem' || operation === 'DeleteItem') increment(counted.written, table ?? '-');
        else if (operation === 'BatchWriteItem') {
          const unprocessed = (result.output as { UnprocessedItems?: Record<string, unknown> }).UnprocessedItems ?? {};
          for (const [name, requests] of Object.entries(input.RequestItems ?? {})) {
            increment(counted.written, name, writeRequests({ requests }) - writeRequests({ requests: unprocessed[name] }));
          }
        }
        return result;
      } catch (error) {
        increment(counted.errors, operation);
        throw error;
      }
    },
    { step: 'initialize', name: 'requestCounter' },
  );
}
// --- end request counter
