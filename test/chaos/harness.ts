import { spawn, type ChildProcess } from 'node:child_process';
import { build, type Plugin } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalDynamo, type LocalDynamo } from '../../local/dynamodb.js';
import { startLocalQueues, type LocalQueues } from '../../local/queues.js';

/**
 * The parent side of the chaos suite: the store (dynalite) and the queues
 * (fauxqs) live here, for the whole suite, as DynamoDB and SQS outlive Lambda
 * environments; the system runs in a child process (test/chaos/child.ts) that
 * is killed with SIGKILL at the point a kill plan names and started again at
 * once, with the next kill armed, as Lambda starts a new environment.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The child, bundled once per suite with esbuild (ESM, the handlers split into chunks loaded at first
 * use, packages left to node): a start costs about a third of the CPU time of loading the TypeScript
 * sources through tsx, which on 2 cores is what a few hundred deaths cost. Written beside local/, at
 * the same depth, as the server finds the repository's files from its own path.
 */
const BUNDLE_DIR = join(root, '.chaos-child');

/**
 * The store's and the queues' servers (dynalite, fauxqs) run in the parent: the child imports them with
 * local/sandbox.ts but never starts them. Replaced in the bundle by a module that says so if called (loading
 * them, fastify and all, was about a third of a start's CPU).
 */
const parentOnly: Plugin = {
  name: 'chaos-parent-only',
  setup(build) {
    build.onResolve({ filter: /^(dynalite|fauxqs)$/ }, (args) => ({ path: args.path, namespace: 'chaos-parent-only' }));
    build.onLoad({ filter: /.*/, namespace: 'chaos-parent-only' }, (args) => {
      const refuse = `() => { throw new Error(${JSON.stringify(`${args.path} runs in the chaos suite's parent, not in its child`)}); }`;
      return { contents: `const refuse = ${refuse};\nexport default refuse;\nexport const buildApp = refuse;\n`, loader: 'js' };
    });
  },
};

export async function bundleChild(): Promise<string> {
  // Chunks of an earlier build are not reused: a fresh folder.
  rmSync(BUNDLE_DIR, { recursive: true, force: true });
  await build({
    entryPoints: { child: join(root, 'test/chaos/child.ts') },
    outdir: BUNDLE_DIR,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // The packages in the bundle too (node resolves and reads a few hundred files of them otherwise):
    // CommonJS ones reach `require` through the banner's.
    plugins: [parentOnly],
    banner: { js: "import { createRequire as __chaosCreateRequire } from 'node:module'; const require = __chaosCreateRequire(import.meta.url);" },
    outExtension: { '.js': '.mjs' },
    logLevel: 'error',
  });
  return join(BUNDLE_DIR, 'child.mjs');
}

/** Children kept loaded in advance: a kill is followed by a start at once, not by a load of a few seconds. */
const STANDBYS = Number(process.env.CHAOS_STANDBYS ?? 3);

export interface KillSpec {
  /** Dies at the first call of any of these, each `<point> <before|after>`. */
  anyOf?: string[];
  call?: number;
  when?: 'before' | 'after';
}

export interface Kill {
  point: string;
  when: 'before' | 'after';
  /** Which start of the child it ended (0 = the first). */
  generation: number;
  /** When (performance.now()). */
  at: number;
}

export interface ChaosWorld {
  dynamo: LocalDynamo;
  queues: LocalQueues;
  stop(): Promise<void>;
}

export async function startChaosWorld(prefix: string): Promise<ChaosWorld> {
  const dynamo = await startLocalDynamo(prefix);
  // A 1 s visibility timeout: a message of a killed consumer comes back after a second (deployed: 6 minutes).
  // consumerDeaths: a dead child's long polls give back what they receive, and releaseInFlight() after a death.
  const queues = await startLocalQueues({ prefix, visibilityTimeoutSeconds: 1, consumerDeaths: true });
  return {
    dynamo,
    queues,
    stop: async () => {
      await queues.stop();
      await dynamo.stop();
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The child's settings: the reconciler at test speed (its units take milliseconds, its queues a 1 s visibility timeout). */
export const chaosChildEnvironment: Record<string, string> = {
  LOG_LEVEL: 'ERROR',
  LOCAL_DATA: 'disk',
  REPAIR_QUIET_SECONDS: '1',
  // Longer than a failing message's whole life here: 5 receives x 1 s, then the dead-letter queue's handler.
  REPAIR_REDRIVE_AFTER_SECONDS: '10',
  REPAIR_RECHECK_SECONDS: '2',
  LOCAL_REPAIR_INTERVAL_MS: '300',
  // A create or upload that died frees its batchRef after 2 s, not 35 (its requests take milliseconds here).
  BATCH_LEASE_SECONDS: '2',
  // The handlers the workload reaches, loaded by a standby child while it waits (test/chaos/child.ts).
  CHAOS_PRELOAD: ['reconciler', 'verify-worker', 'disburse-worker', 'disburse-exhausted', 'register-events-consumer', 'webhook-worker', 'webhook-exhausted', 'batches-write', 'batches-approve', 'batches-read', 'accounts', 'me', 'provider-callbacks'].join(','),
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  NODE_NO_WARNINGS: '1',
};

/**
 * Keeps one child running: when it dies the next one starts at once, with the
 * kill the plan gives for that start (or none). The next child is always
 * spawned ahead and waits loaded but not started (CHAOS_STANDBY), as a warm
 * Lambda environment does, so that a death costs a start, not a module load.
 * `ready()` waits for a child that listens.
 */
export class Supervisor {
  readonly kills: Kill[] = [];
  readonly points = new Set<string>();
  /** Points whose call succeeded at least once (a conditional write that always fails has no `after`). */
  readonly succeeded = new Set<string>();
  /** Starts of the child, and how long each took to listen (ms). */
  readonly startTimes: number[] = [];
  /** From a death to the next child listening (ms): the dead child's messages released, then the start. */
  readonly restartTimes: number[] = [];
  /** Messages the dead children held, made visible at their death. */
  released = 0;
  private child: ChildProcess | undefined;
  /** Children loaded and waiting to be started, oldest first (a pool, as Lambda keeps environments warm). */
  private readonly standbys: ChildProcess[] = [];
  private generation = -1;
  private readyPromise: Promise<void> = Promise.resolve();
  private resolveReady: () => void = () => undefined;
  private stopping = false;
  private plan: (generation: number) => KillSpec | undefined = () => undefined;
  private output = '';
  private readonly dataDir = mkdtempSync(join(tmpdir(), 'chaos-child-'));
  private readonly generationOf = new Map<ChildProcess, { generation: number; started: number; died?: number }>();

  private constructor(
    private readonly world: ChaosWorld,
    readonly port: number,
    private readonly entry: string,
  ) {}

  static async start(world: ChaosWorld): Promise<Supervisor> {
    const supervisor = new Supervisor(world, await freePort(), await bundleChild());
    supervisor.awaitNext();
    supervisor.startNext();
    await supervisor.ready();
    return supervisor;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * What the running child and each next start of it arm: the plan is called
   * at once for the running child (sent on its stdin), then once per start.
   */
  setPlan(plan: (generation: number) => KillSpec | undefined): void {
    this.plan = plan;
    const child = this.child;
    if (child && alive(child)) this.send(child, plan(this.generation));
  }

  /** Resolves once a child listens (after a death: the new one). */
  async ready(): Promise<void> {
    for (;;) {
      const current = this.readyPromise;
      await current;
      if (current === this.readyPromise && this.child && alive(this.child)) return;
    }
  }

  /** The last lines the children printed (for a failure's message). */
  tail(lines = 40): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }

  private send(child: ChildProcess, kill: KillSpec | undefined): void {
    if (child.stdin?.writable) child.stdin.write(`${JSON.stringify(kill ?? null)}\n`);
  }

  /** A child, loaded and waiting for its first stdin line to start. */
  private launch(): ChildProcess {
    const child = spawn(process.execPath, [this.entry], {
      cwd: root,
      env: {
        ...process.env,
        ...chaosChildEnvironment,
        CHAOS_STANDBY: '1',
        CHAOS_CONFIG: JSON.stringify({
          port: this.port,
          dataDir: this.dataDir,
          external: {
            dynamo: { endpoint: this.world.dynamo.endpoint, tableNames: this.world.dynamo.tableNames },
            queues: {
              endpoint: this.world.queues.endpoint,
              region: this.world.queues.region,
              queueNames: this.world.queues.queueNames,
              queueUrls: this.world.queues.queueUrls,
              queueArns: this.world.queues.queueArns,
              dlqNames: this.world.queues.dlqNames,
              dlqUrls: this.world.queues.dlqUrls,
              dlqArns: this.world.queues.dlqArns,
              visibilityTimeoutSeconds: this.world.queues.visibilityTimeoutSeconds,
            },
          },
        }),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // A dead child's stdin may be written to before its exit is seen: the error is of no interest.
    child.stdin?.on('error', () => undefined);
    let pending = '';
    const onData = (data: Buffer) => {
      const text = data.toString();
      this.output = (this.output + text).slice(-200_000);
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      const meta = this.generationOf.get(child);
      for (const line of lines) {
        if (line.startsWith('CHAOS-READY') && meta && child === this.child) {
          this.startTimes.push(performance.now() - meta.started);
          if (meta.died !== undefined) this.restartTimes.push(performance.now() - meta.died);
          this.resolveReady();
        } else if (line.startsWith('CHAOS-POINT ')) this.points.add(line.slice('CHAOS-POINT '.length));
        else if (line.startsWith('CHAOS-DONE ')) this.succeeded.add(line.slice('CHAOS-DONE '.length));
        else if (line.startsWith('CHAOS-KILL ')) {
          const [point = '', when = 'before'] = line.slice('CHAOS-KILL '.length).split(' ');
          this.kills.push({ point, when: when as 'before' | 'after', generation: meta?.generation ?? -1, at: performance.now() });
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      if (this.standbys.includes(child)) {
        this.output += `\n[chaos] standby child exited with ${code ?? signal}\n`;
        this.standbys.splice(this.standbys.indexOf(child), 1);
        return;
      }
      if (child !== this.child) return;
      const meta = this.generationOf.get(child);
      if (signal !== 'SIGKILL') this.output += `\n[chaos] child ${meta?.generation} exited with ${code ?? signal}\n`;
      const died = performance.now();
      this.awaitNext();
      // The messages the dead child had received are held by nobody now (one child runs at a time, and the
      // next starts only after this): visible at once, as they would be after the visibility timeout, not a
      // second later. The messages a live consumer holds are never touched.
      void (this.world.queues.releaseInFlight?.() ?? Promise.resolve(0))
        .then(
          (released) => (this.released += released),
          (error: unknown) => (this.output += `\n[chaos] releasing the dead child's messages failed: ${String(error)}\n`),
        )
        // A new environment at once, as Lambda starts one for the next event.
        .then(() => {
          if (!this.stopping) this.startNext(died);
        });
    });
    return child;
  }

  /** Whoever waits for a child that listens (on the dead child's start, say) waits for the next one's. */
  private awaitNext(): void {
    const previous = this.resolveReady;
    this.readyPromise = new Promise<void>((resolve) => (this.resolveReady = resolve));
    void this.readyPromise.then(previous);
  }

  /** Starts the standby (or a new child) as the next generation, and spawns the next standby. */
  private startNext(died?: number): void {
    this.generation++;
    const child = this.standbys.shift() ?? this.launch();
    this.child = child;
    this.generationOf.set(child, { generation: this.generation, started: performance.now(), ...(died === undefined ? {} : { died }) });
    this.send(child, this.plan(this.generation));
    while (this.standbys.length < STANDBYS) this.standbys.push(this.launch());
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const child of [this.child, ...this.standbys]) {
      if (child && alive(child)) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        });
      }
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}
