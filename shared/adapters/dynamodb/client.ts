import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { observed } from '../aws-call-observers.js';

/**
 * The document client, created once per process. `DYNAMODB_ENDPOINT` is set
 * only by the local server and tests (dynalite, moto); deployed, the SDK's
 * regional endpoint is used.
 */
export function createDocumentClient(endpoint = process.env.DYNAMODB_ENDPOINT): DynamoDBDocumentClient {
  const client = observed(
    new DynamoDBClient({
      ...(endpoint ? { endpoint } : {}),
      // Standard retry mode with more attempts: throttling on a busy table is retried, not surfaced.
      maxAttempts: 8,
    }),
  );
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
// For the benchmark's floors and cost model, also: calls by request kind (requestKind: conditional or
// not; batch and Query calls with the items they carried or returned), the requests in flight (a
// time-weighted integral, so that any window's mean can be taken from two snapshots, and the maximum), and
// the capacity units DynamoDB reports as consumed (ReturnConsumedCapacity TOTAL is asked for on every call
// that accepts it and did not ask itself), by table, read and write apart.

export interface DynamoRequestCounts {
  calls: Record<string, number>;
  errors: Record<string, number>;
  byTable: Record<string, number>;
  itemsWritten: number;
  itemsWrittenByTable: Record<string, number>;
  /** Calls by requestKind(). */
  kinds: Record<string, number>;
  /** By kind: write requests of BatchWriteItem, keys of BatchGetItem, items returned by Query and Scan. */
  kindItems: Record<string, number>;
  /** Consumed capacity units as the store reported them, by table name. */
  capacity: { read: Record<string, number>; write: Record<string, number> };
  /** Requests in flight now, the most seen since the last reset, and their integral over time (request-ms) up to `at` (performance.now()). */
  inFlight: { now: number; max: number; area: number; at: number };
}

const counted = {
  calls: new Map<string, number>(),
  errors: new Map<string, number>(),
  byTable: new Map<string, number>(),
  written: new Map<string, number>(),
  kinds: new Map<string, number>(),
  kindItems: new Map<string, number>(),
  readUnits: new Map<string, number>(),
  writeUnits: new Map<string, number>(),
};
const flight = { now: 0, max: 0, area: 0, at: performance.now() };

/** Brings the in-flight integral up to now (call before every change of `flight.now`). */
function advanceFlight(): void {
  const now = performance.now();
  flight.area += flight.now * (now - flight.at);
  flight.at = now;
}

export function dynamoRequestCounts(): DynamoRequestCounts {
  const { calls, errors, byTable, written, kinds, kindItems, readUnits, writeUnits } = counted;
  advanceFlight();
  return {
    calls: Object.fromEntries(calls),
    errors: Object.fromEntries(errors),
    byTable: Object.fromEntries(byTable),
    itemsWritten: [...written.values()].reduce((sum, count) => sum + count, 0),
    itemsWrittenByTable: Object.fromEntries(written),
    kinds: Object.fromEntries(kinds),
    kindItems: Object.fromEntries(kindItems),
    capacity: { read: Object.fromEntries(readUnits), write: Object.fromEntries(writeUnits) },
    inFlight: { ...flight },
  };
}

export function resetDynamoRequestCounts(): void {
  for (const map of Object.values(counted)) map.clear();
  advanceFlight();
  flight.area = 0;
  flight.max = flight.now;
}

const increment = (map: Map<string, number>, key: string, by = 1) => map.set(key, (map.get(key) ?? 0) + by);

function writeRequests(requestItems: unknown): number {
  if (typeof requestItems !== 'object' || requestItems === null) return 0;
  return Object.values(requestItems).reduce((sum: number, requests: unknown) => sum + (Array.isArray(requests) ? requests.length : 0), 0);
}

function batchGetKeys(requestItems: unknown): number {
  if (typeof requestItems !== 'object' || requestItems === null) return 0;
  return Object.values(requestItems).reduce((sum: number, request: unknown) => {
    const keys = (request as { Keys?: unknown } | null)?.Keys;
    return sum + (Array.isArray(keys) ? keys.length : 0);
  }, 0);
}

/**
 * The kind of a request, as the floors tell them apart (they cost the store differently): single writes
 * with and without a condition ("PutItem conditional", "UpdateItem", ...), and every other operation by
 * its name (GetItem, BatchWriteItem, BatchGetItem, Query, ...).
 */
export function requestKind(operation: string, input: unknown): string {
  const given = (input ?? {}) as { ConditionExpression?: unknown; Expected?: unknown };
  if (operation === 'PutItem' || operation === 'UpdateItem' || operation === 'DeleteItem') {
    const conditional = (typeof given.ConditionExpression === 'string' && given.ConditionExpression !== '') || given.Expected !== undefined;
    return conditional ? `${operation} conditional` : operation;
  }
  return operation;
}

/** Items a request carried (BatchWriteItem write requests, BatchGetItem keys), or 0 for single-item and read-page calls. */
export function requestItems(operation: string, input: unknown): number {
  const requestItems = (input as { RequestItems?: unknown } | null)?.RequestItems;
  if (operation === 'BatchWriteItem') return writeRequests(requestItems);
  if (operation === 'BatchGetItem') return batchGetKeys(requestItems);
  return 0;
}

const CAPACITY_OPERATIONS = new Set(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchGetItem', 'BatchWriteItem', 'Query', 'Scan', 'TransactGetItems', 'TransactWriteItems']);
const READ_OPERATIONS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);

/** Adds an output's ConsumedCapacity (one object, or one per table for batch and transactional calls). */
function addConsumedCapacity(operation: string, consumed: unknown): void {
  const units = READ_OPERATIONS.has(operation) ? counted.readUnits : counted.writeUnits;
  for (const entry of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
    const { TableName, CapacityUnits } = entry as { TableName?: string; CapacityUnits?: number };
    if (typeof CapacityUnits === 'number') increment(units, TableName ?? '-', CapacityUnits);
  }
}

function countRequestsOf(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const input = args.input as { TableName?: unknown; RequestItems?: object; ReturnConsumedCapacity?: unknown };
      const table = typeof input.TableName === 'string' ? input.TableName : Object.keys(input.RequestItems ?? {})[0];
      const kind = requestKind(operation, input);
      increment(counted.calls, operation);
      increment(counted.byTable, `${table ?? '-'} ${operation}`);
      increment(counted.kinds, kind);
      const carried = requestItems(operation, input);
      if (carried > 0) increment(counted.kindItems, kind, carried);
      const askCapacity = CAPACITY_OPERATIONS.has(operation) && input.ReturnConsumedCapacity === undefined;
      advanceFlight();
      flight.now++;
      if (flight.now > flight.max) flight.max = flight.now;
      try {
        // A copy: the caller's command input is left as it was.
        const result = await next(askCapacity ? { ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } } : args);
        const output = result.output as { UnprocessedItems?: Record<string, unknown>; ConsumedCapacity?: unknown; Count?: number };
        addConsumedCapacity(operation, output.ConsumedCapacity);
        if ((operation === 'Query' || operation === 'Scan') && typeof output.Count === 'number') increment(counted.kindItems, kind, output.Count);
        if (operation === 'PutItem' || operation === 'UpdateItem' || operation === 'DeleteItem') increment(counted.written, table ?? '-');
        else if (operation === 'BatchWriteItem') {
          const unprocessed = output.UnprocessedItems ?? {};
          for (const [name, requests] of Object.entries(input.RequestItems ?? {})) {
            increment(counted.written, name, writeRequests({ requests }) - writeRequests({ requests: unprocessed[name] }));
          }
        }
        return result;
      } catch (error) {
        increment(counted.errors, operation);
        throw error;
      } finally {
        advanceFlight();
        flight.now--;
      }
    },
    { step: 'initialize', name: 'requestCounter' },
  );
}
// --- end request counter
