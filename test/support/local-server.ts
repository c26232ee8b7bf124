import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface RunningServer {
  url: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Starts the local server as `npm start` does, in its own process on a free
 * port, and waits for it to say where it listens.
 */
export async function startLocalServer(env: Record<string, string> = {}): Promise<RunningServer> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts'], {
    cwd: root,
    // In memory unless a test gives a data folder: suites must not share the developer's .data/.
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'INFO', LOCAL_DATA: 'memory', ...env },
    stdio: 'pipe',
  });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr.on('data', (data: Buffer) => (output += data.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local server did not start:\n${output}`)), 30_000);
    const check = () => {
      const found = /listening on (http:\/\/localhost:\d+)/.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]!);
      }
    };
    child.stdout.on('data', check);
    void exited.then(() => reject(new Error(`local server exited:\n${output}`)));
  });

  return {
    url,
    output: () => output,
    stop: async (signal = 'SIGINT') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function tokenFor(url: string, body: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${url}/local/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { accessToken: string }).accessToken;
}
