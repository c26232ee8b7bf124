/**
 * Upload progress on stderr: a one-line bar redrawn in place on a terminal
 * (rows, rate, ETA), plain lines every few seconds otherwise (CI logs, files),
 * so a log is never flooded with carriage returns. Hand-written (about sixty
 * lines) rather than a dependency: the need is one bar, and the package.json is
 * shared with engineers installing other things at the same time.
 */

export interface TextSink {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

export interface ProgressOptions {
  now: () => number;
  /** Plain mode: at most one line per this many ms (the last line always comes). */
  intervalMs?: number;
  /** Terminal mode: at most one redraw per this many ms. */
  redrawMs?: number;
}

export const formatCount = (value: number): string => value.toLocaleString('en-US');

/** 4.2 s, 1:05, 1:02:03. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const total = Math.round(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

export class Progress {
  private done = 0;
  private sentThisRun = 0;
  private started = 0;
  private lastDraw = -Infinity;
  private drawn = false;
  private readonly tty: boolean;

  constructor(
    private readonly sink: TextSink,
    private readonly total: number,
    private readonly options: ProgressOptions,
  ) {
    this.tty = sink.isTTY === true;
  }

  /** `skipped` rows were confirmed by an earlier run. */
  start(skipped: number): void {
    this.done = skipped;
    this.started = this.options.now();
    if (skipped > 0) this.line(`resuming: ${formatCount(skipped)} of ${formatCount(this.total)} rows already confirmed by the server`);
    this.draw(true);
  }

  advance(rows: number): void {
    this.done = Math.min(this.total, this.done + rows);
    this.sentThisRun += rows;
    this.draw(this.done >= this.total);
  }

  /** A message between redraws (a retry, a warning). */
  line(message: string): void {
    if (this.tty && this.drawn) this.sink.write('\r\x1b[K');
    this.sink.write(`${message}\n`);
    this.drawn = false;
    if (this.tty && this.started > 0 && this.done < this.total) this.draw(true);
  }

  /** Leaves the terminal on a fresh line. */
  finish(): void {
    if (this.tty && this.drawn) this.sink.write('\n');
    this.drawn = false;
  }

  rowsPerSecond(): number {
    const seconds = (this.options.now() - this.started) / 1000;
    return seconds > 0 ? this.sentThisRun / seconds : 0;
  }

  private draw(force: boolean): void {
    const now = this.options.now();
    const interval = this.tty ? (this.options.redrawMs ?? 100) : (this.options.intervalMs ?? 2000);
    if (!force && now - this.lastDraw < interval) return;
    if (!this.tty && this.done === 0 && this.lastDraw === -Infinity) {
      this.lastDraw = now; // nothing to say yet
      return;
    }
    this.lastDraw = now;
    const rate = this.rowsPerSecond();
    const remaining = this.total - this.done;
    const eta = remaining === 0 ? 0 : rate > 0 ? (remaining / rate) * 1000 : Number.POSITIVE_INFINITY;
    const percent = this.total === 0 ? 100 : Math.floor((this.done / this.total) * 100);
    const stats = `${formatCount(this.done)}/${formatCount(this.total)} rows  ${formatCount(Math.round(rate))} rows/s  ETA ${formatDuration(eta)}`;
    if (this.tty) {
      const width = Math.max(10, Math.min(40, (this.sink.columns ?? 80) - stats.length - 18));
      const filled = Math.round((width * percent) / 100);
      this.sink.write(`\r\x1b[Kuploading [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(percent).padStart(3)}% ${stats}`);
      this.drawn = true;
    } else {
      this.sink.write(`progress: ${String(percent).padStart(3)}% ${stats}\n`);
    }
  }
}
