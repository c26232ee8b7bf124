/**
 * The chaos suite's child process: the whole local server (every handler, the
 * queue pollers, the reconciler) on a store and queues that live in the parent
 * (test/chaos/harness.ts), so that they outlive this process as DynamoDB and SQS
 * outlive a Lambda environment. It dies by SIGKILL at the point CHAOS_KILL names:
 * a real death, with no finally block, no flush and no answer.
 *
 * CHAOS_CONFIG (JSON): { port, dataDir, external } (see SandboxOptions.external).
 * A kill spec (JSON): { anyOf: ['<point> before', ...] } kills at the first call
 * of any of those; { call, when } at the call-th counted call of any point (or the first after it
 * that succeeded, for `after`). Before dying it writes `CHAOS-KILL <point> <when>` on stderr;
 * every point's first call is written as `CHAOS-POINT <point>`, its first call that succeeded as
 * `CHAOS-DONE <point>`. A kill can also be
 * armed while the child runs: one JSON line on stdin.
 */
import '../../local/environment.js';
import { writeSync } from 'node:fs';
import { observeAwsCalls } from '../../shared/adapters/aws-call-observers.js';
import { currentFunction, runAsFunction } from '../../local/function-context.js';
import { functionModules } from '../../local/function-modules.js';
import { setQueueEnvironment, setStoreEnvironment, startSandbox, type SandboxOptions } from '../../local/sandbox.js';
import { pointOf } from './points.js';

interface KillSpec {
  /** Dies at the first call of any of these, each `<point> <before|after>`. */
  anyOf?: string[];
  call?: number;
  when?: 'before' | 'after';
}

const config = JSON.parse(process.env.CHAOS_CONFIG ?? '{}') as { port: number; dataDir: string; external: NonNullable<SandboxOptions['external']> };
let kill = process.env.CHAOS_KILL ? (JSON.parse(process.env.CHAOS_KILL) as KillSpec) : undefined;

const say = (line: string) => writeSync(2, `${line}\n`);
const seen = new Set<string>();
/** Points whose call succeeded at least once (only those have an `after`). */
const succeeded = new Set<string>();
let counted = 0;

function maybeDie(point: string, when: 'before' | 'after', call: number): void {
  if (!kill) return;
  // `call`: the first call from the call-th on (a call that failed has no `after`: the next one's is taken).
  const matches = kill.anyOf !== undefined ? kill.anyOf.includes(`${point} ${when}`) : kill.when === when && kill.call !== undefined && call >= kill.call;
  if (!matches) return;
  say(`CHAOS-KILL ${point} ${when}`);
  process.kill(process.pid, 'SIGKILL');
}

observeAwsCalls({
  before(call) {
    const named = pointOf(call);
    if (!named) return;
    // Qualified by the function whose code makes the call: the same write in another flow is another point.
    const point = `${currentFunction() ?? 'server'}:${named}`;
    (call as { chaosPoint?: string }).chaosPoint = point;
    counted++;
    if (!seen.has(point)) {
      seen.add(point);
      say(`CHAOS-POINT ${point}`);
    }
    (call as { chaosCall?: number }).chaosCall = counted;
    maybeDie(point, 'before', counted);
  },
  after(call, outcome) {
    const point = (call as { chaosPoint?: string }).chaosPoint;
    // A call that failed wrote nothing: dying after it is dying before it.
    if (!point || outcome.error) return;
    if (!succeeded.has(point)) {
      succeeded.add(point);
      say(`CHAOS-DONE ${point}`);
    }
    maybeDie(point, 'after', (call as { chaosCall?: number }).chaosCall ?? 0);
  },
});

// A kill armed while this child runs arrives as one JSON line on stdin (`null` disarms); calls count anew from it.
// A standby child (CHAOS_STANDBY=1: loaded, not started, as a warm Lambda environment waits) starts at its first line.
const standby = process.env.CHAOS_STANDBY === '1';
let startNow: () => void = () => undefined;
const go = new Promise<void>((resolve) => (startNow = resolve));
let stdinPending = '';
process.stdin.on('data', (data: Buffer) => {
  stdinPending += data.toString();
  const lines = stdinPending.split('\n');
  stdinPending = lines.pop() ?? '';
  for (const line of lines) {
    if (!line.trim()) continue;
    kill = (JSON.parse(line) as KillSpec | null) ?? undefined;
    counted = 0;
    startNow();
  }
});
// A standby whose supervisor is gone (stdin closed) has nothing to wait for.
process.stdin.on('end', () => {
  if (standby) process.exit(0);
});
if (standby) {
  // The handlers' cold starts, while waiting (as a warm Lambda environment has run its init): the variables
  // set first, exactly as startSandbox sets them before any handler loads; each module loaded as its function.
  const preload = (process.env.CHAOS_PRELOAD ?? '').split(',').filter((name) => name in functionModules);
  if (preload.length > 0) {
    setStoreEnvironment(config.external.dynamo);
    setQueueEnvironment(config.external.queues);
    for (const name of preload) await runAsFunction(name, () => functionModules[name]!());
  }
  await go;
}

await startSandbox({ port: config.port, dataDir: config.dataDir, external: config.external, repairIntervalMs: Number(process.env.LOCAL_REPAIR_INTERVAL_MS ?? 300) });
say('CHAOS-READY');
