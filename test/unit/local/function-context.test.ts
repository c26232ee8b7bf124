/** Which function is running, and what the recorder writes (local/function-context.ts). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { asFunction, currentFunction, recordFunctionActivity, runAsFunction, touchedResources } from '../../../local/function-context.js';
import { observed } from '../../../shared/adapters/aws-call-observers.js';

describe('function context', () => {
  it('follows the work of a function through awaits and timers, and nothing else', async () => {
    expect(currentFunction()).toBeUndefined();
    const seen = await runAsFunction('fn-a', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return currentFunction();
    });
    expect(seen).toBe('fn-a');
    const handler = asFunction('fn-b', async () => {
      await null;
      return currentFunction();
    });
    expect(await handler()).toBe('fn-b');
    expect(currentFunction()).toBeUndefined();
  });
});

describe('recording', () => {
  let stop: (() => void) | undefined;
  afterEach(() => {
    stop?.();
    vi.unstubAllEnvs();
  });

  it('names the variable holding each table, queue (or its dead-letter queue) and secret a call names', () => {
    vi.stubEnv('T_CORE', 'local-Core');
    vi.stubEnv('Q_WORK', 'http://sqs.local/000/local-Work');
    vi.stubEnv('S_PEPPER', 'arn:aws:secretsmanager:x:0:secret:p');
    expect(touchedResources({ service: 'DynamoDB', operation: 'Query', input: { TableName: 'local-Core', IndexName: 'gsi1' } })).toEqual([
      { type: 'table', name: 'local-Core', variable: 'T_CORE', index: 'gsi1' },
    ]);
    expect(touchedResources({ service: 'DynamoDB', operation: 'BatchWriteItem', input: { RequestItems: { 'local-Core': [], other: [] } } })).toEqual([
      { type: 'table', name: 'local-Core', variable: 'T_CORE' },
      { type: 'table', name: 'other', variable: null },
    ]);
    expect(touchedResources({ service: 'SQS', operation: 'ReceiveMessage', input: { QueueUrl: 'http://sqs.local/000/local-Work-dlq' } })).toEqual([
      { type: 'queue', url: 'http://sqs.local/000/local-Work-dlq', variable: 'Q_WORK', deadLetter: true },
    ]);
    expect(touchedResources({ service: 'SecretsManager', operation: 'GetSecretValue', input: { SecretId: 'arn:aws:secretsmanager:x:0:secret:p' } })).toEqual([
      { type: 'secret', id: 'arn:aws:secretsmanager:x:0:secret:p', variable: 'S_PEPPER' },
    ]);
  });

  it("writes each function's calls and variable reads once, and nothing read outside a function", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'function-context-'));
    const file = join(dir, 'records.jsonl');
    vi.stubEnv('FC_TABLE', 'fc-table');
    stop = recordFunctionActivity(file);
    // A client whose every call answers at once, through the product's observers.
    const client = observed({
      middlewareStack: {
        add: (middleware: (next: unknown, context: unknown) => (args: unknown) => Promise<unknown>) => {
          fake.send = (input) => middleware(async () => ({ output: {} }), { clientName: 'DynamoDBClient', commandName: 'GetItemCommand' })({ input });
        },
      },
    } as never);
    expect(client).toBeDefined();
    void process.env.FC_TABLE; // outside any function: not recorded
    await runAsFunction('reader', async () => {
      void process.env.FC_TABLE;
      void process.env.FC_TABLE;
      void process.env.FC_UNSET;
      await fake.send({ TableName: 'fc-table', Key: {} });
    });
    await asFunction('http-fn', async () => undefined)();
    stop();
    stop = undefined;
    const records = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as unknown);
    rmSync(dir, { recursive: true, force: true });
    expect(records).toEqual([
      { kind: 'env', function: 'reader', variable: 'FC_TABLE' },
      { kind: 'call', function: 'reader', service: 'DynamoDB', operation: 'GetItem', resources: [{ type: 'table', name: 'fc-table', variable: 'FC_TABLE' }] },
      { kind: 'invoked', function: 'http-fn' },
    ]);
  });
});

const fake: { send: (input: Record<string, unknown>) => Promise<unknown> } = { send: async () => undefined };
