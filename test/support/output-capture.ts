import { format } from 'node:util';

/**
 * Everything this process writes as log output, captured line by line: what
 * goes to process.stdout and process.stderr (Powertools' Logger and Metrics
 * write there through their own Console), and what goes through the global
 * console (the local server's and the queue poller's messages; vitest replaces
 * that console, so it is captured on its own). Nothing is passed on while
 * capturing: DEBUG-level logs of a whole flow would drown the test report.
 */

export interface CapturedLine {
  stream: 'stdout' | 'stderr' | `console.${ConsoleMethod}`;
  text: string;
}

const consoleMethods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
type ConsoleMethod = (typeof consoleMethods)[number];

export interface OutputCapture {
  /** Complete lines so far, and any unterminated rest of each stream. */
  lines(): CapturedLine[];
  /** Restores the streams and the console. */
  stop(): void;
}

export function captureOutput(): OutputCapture {
  const complete: CapturedLine[] = [];
  const pending = { stdout: '', stderr: '' };

  const take = (stream: 'stdout' | 'stderr', chunk: unknown, encoding?: unknown) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    const parts = (pending[stream] + text).split('\n');
    pending[stream] = parts.pop() ?? '';
    for (const line of parts) complete.push({ stream, text: line });
  };

  const originalWrites = { stdout: process.stdout.write, stderr: process.stderr.write };
  for (const stream of ['stdout', 'stderr'] as const) {
    process[stream].write = ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
      take(stream, chunk, encoding);
      const done = typeof encoding === 'function' ? encoding : callback;
      if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
      return true;
    }) as typeof process.stdout.write;
  }

  const originalConsole = new Map<ConsoleMethod, (...args: unknown[]) => void>();
  for (const method of consoleMethods) {
    originalConsole.set(method, console[method]);
    console[method] = (...args: unknown[]) => {
      for (const line of format(...args).split('\n')) complete.push({ stream: `console.${method}`, text: line });
    };
  }

  return {
    lines: () => [
      ...complete,
      ...(['stdout', 'stderr'] as const).filter((stream) => pending[stream] !== '').map((stream) => ({ stream, text: pending[stream] })),
    ],
    stop: () => {
      process.stdout.write = originalWrites.stdout;
      process.stderr.write = originalWrites.stderr;
      for (const [method, original] of originalConsole) console[method] = original;
    },
  };
}
