/**
 * Checks what functions did locally (local/function-context.ts records)
 * against what the synthesized template lets each of them do when deployed:
 * the IAM action and resource of every AWS call, the key use the service
 * needs on the caller's behalf, and every environment variable the code read.
 *
 * Template values are compared in a rendered form: `{ Ref: X }` is `<X>`,
 * `{ Fn::GetAtt: [X, Arn] }` is `<X.Arn>`, `Fn::Join` is joined, so that a
 * table's ARN is `<CoreTable1234.Arn>` in a policy and in the expectation
 * alike, and `*` in a policy matches as IAM matches it.
 */
import type { FunctionRecord, TouchedResource } from '../../local/function-context.js';

export type { FunctionRecord, TouchedResource };

export interface PolicyStatement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** A CloudFormation value rendered as a string (see the module comment). */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const object = (value ?? {}) as Record<string, unknown>;
  if (typeof object.Ref === 'string') return `<${object.Ref}>`;
  const getAtt = object['Fn::GetAtt'] as [string, string] | undefined;
  if (Array.isArray(getAtt)) return `<${getAtt[0]}.${getAtt[1]}>`;
  const join = object['Fn::Join'] as [string, unknown[]] | undefined;
  if (Array.isArray(join)) return join[1].map(render).join(join[0]);
  throw new Error(`Cannot render ${JSON.stringify(value)}`);
}

const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** IAM's wildcard match: `*` any run of characters, `?` one. */
export function globMatches(pattern: string, value: string, caseInsensitive = false): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, caseInsensitive ? 'i' : '').test(value);
}

/** The IAM action a call needs: batch SQS operations need their single-message action. */
export function iamActionOf(service: string, operation: string): string {
  switch (service) {
    case 'DynamoDB':
      return `dynamodb:${operation}`;
    case 'SQS':
      return `sqs:${operation.replace(/Batch$/, '')}`;
    case 'SecretsManager':
      return `secretsmanager:${operation}`;
    default:
      throw new Error(`No IAM action known for ${service}.${operation}`);
  }
}

export interface Need {
  action: string;
  /** Rendered resource ARN. */
  resource: string;
  /** Condition values the request carries (kms:ViaService, kms:EncryptionContext:SecretARN), rendered. */
  context?: Record<string, string>;
}

/**
 * Whether the statements allow the need: an Allow whose action and resource
 * match and whose conditions (StringEquals on keys the request carries) hold,
 * and no matching Deny.
 */
export function allows(statements: readonly PolicyStatement[], need: Need): boolean {
  const matches = (statement: PolicyStatement) =>
    asList(statement.Action).some((action) => globMatches(action, need.action, true)) &&
    asList(statement.Resource).some((resource) => globMatches(render(resource), need.resource));
  const conditionsHold = (statement: PolicyStatement) =>
    Object.entries(statement.Condition ?? {}).every(
      ([operator, entries]) =>
        operator === 'StringEquals' &&
        Object.entries(entries).every(([key, expected]) => need.context?.[key] !== undefined && asList(expected).map(render).includes(need.context[key])),
    );
  if (statements.some((statement) => statement.Effect === 'Deny' && matches(statement))) return false;
  return statements.some((statement) => statement.Effect === 'Allow' && matches(statement) && conditionsHold(statement));
}

/** Where a recorded resource is in the template: its rendered ARN and its key, or why it cannot be placed. */
export interface ResourceLocator {
  /** `{ arn, keyArn }` of the table, queue or secret the record names, or an error message. */
  locate(resource: TouchedResource): { arn: string; keyArn: string | undefined } | string;
  /** The region placeholder in rendered ARNs (`<AWS::Region>`). */
  region: string;
}

export interface CallCheck {
  function: string;
  call: string;
  needs: Need[];
  missing: Need[];
}

/**
 * What one recorded call needs of its function's role: the action on each
 * resource it names (a Query on an index: the index ARN), and the use of the
 * resource's KMS key the service makes on the caller's behalf (DynamoDB:
 * Decrypt; SQS: GenerateDataKey and Decrypt to send, Decrypt to receive;
 * Secrets Manager: Decrypt for that secret), through that service only.
 */
export function needsOf(record: Extract<FunctionRecord, { kind: 'call' }>, locator: ResourceLocator): Need[] | string {
  const action = iamActionOf(record.service, record.operation);
  const needs: Need[] = [];
  for (const resource of record.resources) {
    const located = locator.locate(resource);
    if (typeof located === 'string') return located;
    const arn = resource.type === 'table' && resource.index ? `${located.arn}/index/${resource.index}` : located.arn;
    needs.push({ action, resource: arn });
    if (!located.keyArn) continue;
    const via = (service: string) => `${service}.${locator.region}.amazonaws.com`;
    if (resource.type === 'table') {
      needs.push({ action: 'kms:Decrypt', resource: located.keyArn, context: { 'kms:ViaService': via('dynamodb') } });
    } else if (resource.type === 'queue') {
      const keyUses = record.operation.startsWith('SendMessage') ? ['kms:GenerateDataKey', 'kms:Decrypt'] : record.operation === 'ReceiveMessage' ? ['kms:Decrypt'] : [];
      for (const use of keyUses) needs.push({ action: use, resource: located.keyArn, context: { 'kms:ViaService': via('sqs') } });
    } else {
      needs.push({ action: 'kms:Decrypt', resource: located.keyArn, context: { 'kms:ViaService': via('secretsmanager'), 'kms:EncryptionContext:SecretARN': located.arn } });
    }
  }
  if (needs.length === 0) return `${record.service}.${record.operation} names no table, queue or secret`;
  return needs;
}

/**
 * Variables a function may read without the stack setting them, and why.
 * Anything else it read with a value locally must be in its template environment.
 */
export const variablesNotFromTheStack: readonly { pattern: RegExp; why: string }[] = [
  { pattern: /^AWS_/, why: 'set by the Lambda runtime (region, credentials, AWS_LAMBDA_*) or optional AWS SDK settings; the stack sets no AWS_ variable' },
  { pattern: /^(_HANDLER|_X_AMZN_TRACE_ID|LAMBDA_TASK_ROOT|LAMBDA_RUNTIME_DIR|TZ|LANG|PATH|LD_LIBRARY_PATH|NODE_PATH)$/, why: 'set by the Lambda runtime' },
  { pattern: /^(HOME|USERPROFILE|TERM|FORCE_COLOR|NO_COLOR|CI)$/, why: 'host and tool variables libraries look at, optional for them' },
  { pattern: /^(DYNAMODB_ENDPOINT|SQS_ENDPOINT)$/, why: 'local stores (dynalite, fauxqs); deployed, the SDK uses the regional endpoint' },
  { pattern: /^HASH_PEPPER$/, why: 'development pepper; deployed, HASH_PEPPER_SECRET_ARN' },
  { pattern: /^LOCAL_/, why: 'local server settings (LOCAL_PROVIDER_SECRET: deployed, PROVIDER_SECRETS_ARN)' },
  { pattern: /^NOTIFIER$/, why: 'the notification channel switch (docs/decisions.md 107, 144): `sandbox` locally; deployed, `sns` where the stage has the channel (set by the stack with NOTICES_TOPIC_ARN), else unset' },
  { pattern: /^(DYNAMODB_REQUEST_COUNTER|NATIONAL_REGISTRY_API_KEY|PAYMENT_PROVIDER_SECRET)$/, why: 'benchmark and test switches, never set deployed' },
];

export function notFromTheStack(variable: string): string | undefined {
  return variablesNotFromTheStack.find(({ pattern }) => pattern.test(variable))?.why;
}

/** Records of a JSON-lines file (blank lines skipped). */
export function parseRecords(text: string): FunctionRecord[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as FunctionRecord);
}

/** Operations the local poller makes on a consumer's source whatever the handler does. */
const POLLING = new Set(['GetQueueAttributes', 'ReceiveMessage', 'ChangeMessageVisibilityBatch']);

/**
 * Functions whose handler ran: an HTTP function is loaded on its first
 * request, so any record means it served one; a consumer is loaded when the
 * server starts, so it counts once it made a call other than polling its
 * queue and reading its secrets at cold start (a write, a delete of handled
 * messages).
 */
export function exercisedFunctions(records: readonly FunctionRecord[], httpFunctions: ReadonlySet<string>): Set<string> {
  const exercised = new Set<string>();
  for (const record of records) {
    if (httpFunctions.has(record.function)) exercised.add(record.function);
    else if (record.kind === 'call' && !POLLING.has(record.operation) && record.service !== 'SecretsManager') exercised.add(record.function);
  }
  return exercised;
}
