import type { AwsCall } from '../../shared/adapters/aws-call-observers.js';

/**
 * The named points of the chaos suite: every write and external call the
 * system makes, named by what it does (a payment's status write by its target
 * status, a batch update by its clause, a queue send by its queue). Reads and
 * the pollers' receives are not points (dying before or after a read leaves
 * nothing a read could have changed); everything else is.
 */

type Attribute = { S?: string; N?: string; BOOL?: boolean; M?: Record<string, Attribute>; L?: Attribute[] };
type Input = {
  TableName?: string;
  Key?: Record<string, Attribute>;
  Item?: Record<string, Attribute>;
  UpdateExpression?: string;
  ExpressionAttributeValues?: Record<string, Attribute>;
  RequestItems?: Record<string, unknown>;
  QueueUrl?: string;
};

/** Reads (but the external ones: the register's lookup, the provider's) and the pollers' own traffic. */
const NOT_POINTS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'ReceiveMessage', 'GetQueueAttributes', 'ChangeMessageVisibilityBatch', 'ChangeMessageVisibility', 'ListTables', 'DescribeTable']);

/** The table's role, from its name (`<prefix>-Core`, `-Audit`, `-SandboxRegistry`, `-SandboxProvider`). */
function tableOf(name: string | undefined): string {
  const suffix = name?.slice(name.lastIndexOf('-') + 1) ?? '';
  return { Core: 'core', Audit: 'audit', SandboxRegistry: 'register', SandboxProvider: 'provider' }[suffix] ?? suffix;
}

/** What an UpdateItem on a batch item does, from its expression. */
function batchUpdate(expression: string, values: Record<string, Attribute>): string {
  if (expression.includes('createLease = :lease')) return 'create.take-over';
  if (expression.includes('REMOVE createLease')) return 'create.finish';
  if (expression.includes('uploadLease = :lease')) return 'upload.lease';
  if (expression.includes('received.itemCount :n')) return 'upload.complete';
  if (expression.includes('received = :received')) return 'upload.recount';
  if (/REMOVE (recountNeeded = :t )?uploadLease|SET recountNeeded = :t REMOVE uploadLease/.test(expression) && !expression.includes('#status')) return 'upload.release';
  if (values[':submitted']) return 'seal';
  if (expression.includes('verifiedShards')) return 'verify.shard-done';
  if (expression.includes('REMOVE cancelPending')) return 'cancel.finish';
  if (expression.includes('counts = :counts')) return 'repair.recount';
  if (expression.includes('recountDue = :t')) return 'callback.watch-batch';
  if (expression.trim() === 'SET checkedAt = :now') return 'repair.checked';
  if (expression.startsWith('ADD ') && expression.includes('counts.')) return 'batch.counters';
  const to = values[':to']?.S;
  if (to) return `batch.${to}`;
  if (expression.includes('recountNeeded = :t')) return 'upload.mark-recount';
  return 'batch.update';
}

export function pointOf(call: AwsCall): string | undefined {
  const input = call.input as Input;
  if (call.service === 'DynamoDB' && tableOf(input.TableName ?? Object.keys(input.RequestItems ?? {})[0]) === 'register' && call.operation === 'BatchGetItem') return 'register.lookup';
  if (call.service === 'DynamoDB' && tableOf(input.TableName) === 'provider' && call.operation === 'GetItem') return 'provider.lookup';
  if (NOT_POINTS.has(call.operation)) return undefined;
  if (call.service === 'SQS') {
    // The queue's role, without the run's prefix: `<prefix>-disbursement-dlq` is `disbursement-dlq`.
    const queue = /([a-z]+(?:-dlq)?)$/i.exec(input.QueueUrl ?? '')?.[1]?.toLowerCase() ?? 'queue';
    return call.operation === 'SendMessageBatch' || call.operation === 'SendMessage' ? `queue.${queue}.send` : `queue.${queue}.${call.operation === 'DeleteMessageBatch' ? 'delete' : call.operation}`;
  }
  if (call.service !== 'DynamoDB') return `${call.service}.${call.operation}`;
  if (call.operation === 'BatchWriteItem') {
    const table = tableOf(Object.keys(input.RequestItems ?? {})[0]);
    return table === 'core' ? 'upload.payments' : `${table}.batch-write`;
  }
  const table = tableOf(input.TableName);
  const pk = input.Key?.pk?.S ?? input.Item?.pk?.S ?? '';
  const sk = input.Key?.sk?.S ?? input.Item?.sk?.S ?? '';
  if (table === 'audit') return 'audit.record';
  if (table === 'register') return 'register.write';
  if (table === 'provider') {
    if (pk.startsWith('INSTRUCTION#')) return 'provider.receive';
    if (pk.startsWith('TRANSFER#')) return 'provider.book';
    if (pk.startsWith('ATTEMPTS#')) return 'provider.attempt';
    return 'provider.write';
  }
  // The core table, by the item's key.
  if (pk.startsWith('BATCHREF#')) return call.operation === 'PutItem' ? 'create.claim' : batchUpdate(input.UpdateExpression ?? '', input.ExpressionAttributeValues ?? {});
  if (pk.startsWith('ENT#')) return call.operation === 'DeleteItem' ? 'entitlement.release' : 'entitlement.claim';
  if (pk.startsWith('REGEVENT#')) return call.operation === 'PutItem' ? 'register-event.claim' : 'register-event.done';
  if (pk.startsWith('PERSON#') && sk === 'DEATH') return 'death.marker';
  if (pk.startsWith('PERSON#')) return `account.${call.operation === 'DeleteItem' ? 'unlink' : sk === 'ACCOUNT' ? 'current' : 'history'}`;
  if (pk.startsWith('BATCH#') && sk === 'BATCH') {
    if (call.operation === 'PutItem') return 'create.batch';
    return batchUpdate(input.UpdateExpression ?? '', input.ExpressionAttributeValues ?? {});
  }
  if (pk.startsWith('BATCH#') && sk.startsWith('RETRY#')) {
    if (call.operation === 'PutItem') return 'retry.request';
    const values = input.ExpressionAttributeValues ?? {};
    const to = values[':c_status']?.S;
    return to ? `retry.${to}` : values[':c_dispatched'] ? 'retry.dispatched' : 'retry.update';
  }
  if (pk.startsWith('BATCH#') && sk.startsWith('PAY#')) {
    const expression = input.UpdateExpression ?? '';
    if (expression.includes('#retryId = :retry')) return 'payment.retry-claim';
    if (expression.startsWith('REMOVE #retryId')) return 'payment.retry-release';
    return `payment.${input.ExpressionAttributeValues?.[':to']?.S ?? call.operation}`;
  }
  return `core.${call.operation}`;
}
