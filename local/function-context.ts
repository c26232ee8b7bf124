/**
 * Which function is running, in the one process of the local server, and (on
 * request) a record of what each function's code touches: every AWS call
 * (service, operation, table / queue / secret) and every environment variable
 * it reads that has a value. test/infra/observed-calls.test.ts checks the
 * record against each function's role and variables in the synthesized
 * template: a missing grant or variable shows offline instead of in the cloud.
 *
 * The local server marks where it runs a function's code, and nothing more:
 * - sandbox.ts, where it loads and invokes an HTTP handler (`runAsFunction`
 *   around the import, so that the module's cold start counts, and
 *   `asFunction` around the handler);
 * - queue-poller.ts, around each consumer's poller: the handler's calls and
 *   the poller's own (receive, delete, visibility, queue attributes), which
 *   Lambda's event source mapping makes with the function's role too.
 * AsyncLocalStorage carries the name through every await of that work.
 *
 * Recording is on in the local server's process when AWS_CALL_RECORD_FILE names a file: one JSON object per
 * line, appended (several server processes may share a file), each distinct
 * record once per process. Calls come from the observers of
 * shared/adapters/aws-call-observers.ts (every product SDK client passes
 * through them); variable reads from a Proxy over process.env installed only
 * while recording. Code that runs outside any function (the server itself,
 * seeding the register) is not recorded. Deployed, none of this module exists.
 *
 * A module-scope read in a module several functions share is attributed to
 * the first function that loads it (the module is evaluated once per process):
 * `npm run bench:bundles` loads each bundle in a fresh process with only its
 * own template variables, which covers that case.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync } from 'node:fs';
import { observeAwsCalls, type AwsCall } from '../shared/adapters/aws-call-observers.js';

/** The variable naming the record file. */
export const RECORD_FILE_VARIABLE = 'AWS_CALL_RECORD_FILE';

/** What a call names: the value as sent, and the variable whose value it is (or that + `-dlq` for a dead-letter queue). */
export type TouchedResource =
  | { type: 'table'; name: string; variable: string | null; index?: string }
  | { type: 'queue'; url: string; variable: string | null; deadLetter: boolean }
  | { type: 'secret'; id: string; variable: string | null };

export type FunctionRecord =
  | { kind: 'call'; function: string; service: string; operation: string; resources: TouchedResource[]; failed?: true }
  | { kind: 'env'; function: string; variable: string }
  /** An HTTP handler was invoked (consumers show by their calls: see test/support/deployed-permissions.ts). */
  | { kind: 'invoked'; function: string };

const running = new AsyncLocalStorage<string>();

/** The function whose code is running, if any. */
export function currentFunction(): string | undefined {
  return running.getStore();
}

/** Runs `work` (and everything it awaits or starts) as `functionName`'s code. */
export function runAsFunction<T>(functionName: string, work: () => T): T {
  return running.run(functionName, work);
}

/** The handler, each invocation run as `functionName`'s code. */
export function asFunction<A extends unknown[], R>(functionName: string, handler: (...args: A) => R): (...args: A) => R {
  return (...args: A) => {
    recorder?.({ kind: 'invoked', function: functionName });
    return running.run(functionName, () => handler(...args));
  };
}

/** Where records go while recording. */
let recorder: ((record: FunctionRecord) => void) | undefined;

// ---------------------------------------------------------------------------
// Recording

/** The environment as it was before the recording Proxy: reads from here are never recorded. */
const realEnv: NodeJS.ProcessEnv = process.env;

/** The variable whose value `value` is (`suffix` appended), or null. */
function variableHolding(value: string, suffix = ''): string | null {
  for (const [name, held] of Object.entries(realEnv)) {
    if (held !== undefined && held !== '' && `${held}${suffix}` === value) return name;
  }
  return null;
}

const asString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The tables, queues and secrets a call names, in its wire-form input. */
export function touchedResources(call: AwsCall): TouchedResource[] {
  const input = call.input;
  const found: TouchedResource[] = [];
  const table = (name: string | undefined, index?: string) => {
    if (name) found.push({ type: 'table', name, variable: variableHolding(name), ...(index ? { index } : {}) });
  };
  if (call.service === 'DynamoDB') {
    table(asString(input.TableName), asString(input.IndexName));
    for (const name of Object.keys((input.RequestItems as Record<string, unknown> | undefined) ?? {})) table(name);
    for (const item of (input.TransactItems as Record<string, { TableName?: unknown }>[] | undefined) ?? []) {
      for (const request of Object.values(item)) table(asString(request.TableName));
    }
  } else if (call.service === 'SQS') {
    const url = asString(input.QueueUrl);
    if (url) {
      const variable = variableHolding(url);
      const deadLetterOf = variable ? null : variableHolding(url, '-dlq');
      found.push({ type: 'queue', url, variable: variable ?? deadLetterOf, deadLetter: variable === null && deadLetterOf !== null });
    }
  } else if (call.service === 'SecretsManager') {
    const id = asString(input.SecretId);
    if (id) found.push({ type: 'secret', id, variable: variableHolding(id) });
  }
  return found;
}

/**
 * Starts recording to `file`: AWS calls and variable reads of the running
 * function. Returns the function that stops it (and restores process.env).
 */
export function recordFunctionActivity(file: string): () => void {
  const seen = new Set<string>();
  const write = (record: FunctionRecord) => {
    const line = JSON.stringify(record);
    if (seen.has(line)) return;
    seen.add(line);
    appendFileSync(file, `${line}\n`);
  };
  recorder = write;
  const stopObserving = observeAwsCalls({
    after(call, outcome) {
      const fn = running.getStore();
      if (!fn) return;
      write({
        kind: 'call',
        function: fn,
        service: call.service,
        operation: call.operation,
        resources: touchedResources(call),
        ...(outcome.error === undefined ? {} : { failed: true as const }),
      });
    },
  });
  const recording = new Proxy(realEnv, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof property === 'string' && value !== undefined && value !== '') {
        const fn = running.getStore();
        if (fn) write({ kind: 'env', function: fn, variable: property });
      }
      return value;
    },
  });
  process.env = recording;
  return () => {
    recorder = undefined;
    stopObserving();
    if (process.env === recording) process.env = realEnv;
  };
}

// Recording belongs to the local server process (`npm start`, test/support/local-server.ts): not to
// every process that imports this module (test workers running pollers in process would otherwise
// record their own test handlers' calls into the same file).
const recordFile = realEnv[RECORD_FILE_VARIABLE];
const isLocalServer = /[\\/]local[\\/]main\.(ts|js|mjs)$/.test(process.argv[1] ?? '');
if (recordFile && isLocalServer) recordFunctionActivity(recordFile);
