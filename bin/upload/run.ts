import { readFile } from 'node:fs/promises';
import { EXIT, HELP, parseCommandLine, UsageError, type ExitCode, type UploadOptions } from './args.js';
import { ApiClient, HttpError, NetworkError, type Problem, type RetryPolicy } from './http.js';
import {
  chunkBody,
  chunkRanges,
  deriveBatchRef,
  findWarnings,
  InvalidFileError,
  readPaymentsFile,
  type ChunkRange,
  type ControlTotals,
  type FileProblem,
  type PaymentsFile,
} from './payments-file.js';
import { formatCount, formatDuration, Progress, type TextSink } from './progress.js';
import { loadConfirmedChunks, statePathFor, UploadStateFile } from './state.js';

/**
 * One run of the uploader: check the file, create (or find) the batch, upload
 * the chunks the server has not confirmed, seal, print the summary. Every step
 * is idempotent on the server, so a run that dies anywhere is finished by
 * running it again with the same file.
 */

export interface UploadIo {
  stdout: TextSink;
  stderr: TextSink;
  env: Readonly<Record<string, string | undefined>>;
  /** Milliseconds, monotonic. */
  now: () => number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  policy?: RetryPolicy;
}

/** The batch fields the uploader reads (api.md, Resources). */
interface BatchView {
  batchId: string;
  batchRef: string;
  provinceCode?: string;
  programCode?: string;
  period?: string;
  status: string;
  control: ControlTotals;
  received: ControlTotals;
  counts?: Record<string, number>;
  rejections?: Record<string, number>;
}

/** The server answered something that is not what api.md promises. */
class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

const MAX_LISTED = 50;
const SEALED_STATUSES = new Set(['SUBMITTED', 'AWAITING_APPROVAL', 'APPROVED', 'COMPLETED']);

const vnd = (amount: number) => `${formatCount(amount)} VND`;
const totals = (value: ControlTotals) => `${formatCount(value.itemCount)} payment${value.itemCount === 1 ? '' : 's'}, ${vnd(value.totalAmount)}`;
const sameTotals = (a: ControlTotals, b: ControlTotals) => a.itemCount === b.itemCount && a.totalAmount === b.totalAmount;

function isTotals(value: unknown): value is ControlTotals {
  const candidate = value as Partial<ControlTotals> | null;
  return typeof candidate === 'object' && candidate !== null && Number.isSafeInteger(candidate.itemCount) && Number.isSafeInteger(candidate.totalAmount);
}

function asBatch(value: unknown, what: string): BatchView {
  const candidate = value as Partial<BatchView> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.batchId !== 'string' ||
    typeof candidate.status !== 'string' ||
    !isTotals(candidate.control) ||
    !isTotals(candidate.received)
  ) {
    throw new ProtocolError(`${what}: the answer is not a batch (batchId, status, control, received).`);
  }
  return candidate as BatchView;
}

/** A location in the file for a problem: "line 12: ", or "" for the whole file. */
const at = (line: number) => (line > 0 ? `line ${line}: ` : '');

function printProblems(sink: TextSink, label: string, problems: readonly FileProblem[], limit: number): void {
  for (const problem of problems.slice(0, limit)) sink.write(`${label}${at(problem.line)}${problem.message}\n`);
  if (problems.length > limit) sink.write(`${label}... and ${formatCount(problems.length - limit)} more\n`);
}

/** Runs the command line; resolves with the exit code (never calls process.exit). */
export async function runUpload(argv: readonly string[], io: UploadIo): Promise<ExitCode> {
  const { stdout, stderr } = io;
  let options: UploadOptions;
  try {
    const parsed = parseCommandLine(argv, io.env);
    if (parsed.kind === 'help') {
      stdout.write(HELP);
      return EXIT.OK;
    }
    options = parsed.options;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    stderr.write(`error: ${error.message}\nRun with --help for usage.\n`);
    return EXIT.USAGE;
  }

  const started = io.now();
  // 1. The file, checked whole before the server hears of it.
  let file: PaymentsFile;
  try {
    const bytes = await readFile(options.file);
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    file = readPaymentsFile(text);
  } catch (error) {
    if (error instanceof InvalidFileError) {
      const rows = error.badRows > 0 ? ` in ${formatCount(error.badRows)} row${error.badRows === 1 ? '' : 's'}` : '';
      stderr.write(`error: ${options.file} is not a valid payments file: ${formatCount(error.problems.length)} problem${error.problems.length === 1 ? '' : 's'}${rows}. Nothing was sent.\n`);
      printProblems(stderr, '  ', error.problems, Number.POSITIVE_INFINITY);
      return EXIT.INVALID_FILE;
    }
    if (error instanceof TypeError && (error as { code?: string }).code === 'ERR_ENCODING_INVALID_ENCODED_DATA') {
      stderr.write(`error: ${options.file} is not UTF-8 text; save it as CSV UTF-8. Nothing was sent.\n`);
      return EXIT.INVALID_FILE;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('E')) {
      stderr.write(`error: cannot read ${options.file} (${code}). Nothing was sent.\n`);
      return EXIT.INVALID_FILE;
    }
    throw error;
  }
  const warnings = findWarnings(file, options.programCode);
  if (warnings.length > 0) {
    stderr.write(`${formatCount(warnings.length)} warning${warnings.length === 1 ? '' : 's'} (uploaded anyway; the server rejects these payments one by one):\n`);
    printProblems(stderr, '  warning: ', warnings, 20);
  }
  const checkedAt = io.now();
  const batchRef = options.batchRef ?? deriveBatchRef({ ...options, digest: file.digest });
  stdout.write(`file       ${options.file}: ${totals(file.control)}, checked in ${formatDuration(checkedAt - started)}\n`);

  let progress: Progress | undefined;
  let sentRows = 0;
  let uploadMs = 0;
  const client = new ApiClient({
    baseUrl: options.url,
    token: options.token,
    ...(io.policy ? { policy: io.policy } : {}),
    ...(io.fetch ? { fetch: io.fetch } : {}),
    ...(io.sleep ? { sleep: io.sleep } : {}),
    ...(io.random ? { random: io.random } : {}),
    runId: `upload-${file.digest.slice(0, 8)}-${Date.now().toString(36)}`,
    onRetry: ({ method, path, attempt, delayMs, reason }) => {
      const message = `retry: ${method} ${path} failed (${reason}); attempt ${attempt + 1} in ${formatDuration(delayMs)}`;
      if (progress) progress.line(message);
      else stderr.write(`${message}\n`);
    },
  });

  const finish = (code: ExitCode) => {
    progress?.finish();
    const elapsed = io.now() - started;
    const rate = uploadMs > 0 ? Math.round(sentRows / (uploadMs / 1000)) : 0;
    const sent = sentRows > 0 ? `${formatCount(sentRows)} rows sent in ${formatDuration(uploadMs)} (${formatCount(rate)} rows/s)` : 'no rows sent';
    const requests = `${formatCount(client.requests)} HTTP request${client.requests === 1 ? '' : 's'} (${formatCount(client.retries)} retr${client.retries === 1 ? 'y' : 'ies'})`;
    stdout.write(`done in ${formatDuration(elapsed)}: ${sent}, ${requests}\n`);
    return code;
  };

  try {
    // 2. Create, or find again: same batchRef and body answer the existing batch.
    const createBody = { batchRef, provinceCode: options.provinceCode, programCode: options.programCode, period: options.period, control: file.control };
    const created = await client.post<unknown>('/v1/batches', { json: createBody });
    let batch = asBatch(created.body, 'POST /v1/batches');
    if (!sameTotals(batch.control, file.control)) {
      throw new ProtocolError(`the server's batch ${batch.batchId} has control totals ${totals(batch.control)}, not the file's ${totals(file.control)}.`);
    }
    stdout.write(`batch      ${batch.batchId} (batchRef ${batchRef}) ${created.status === 201 ? 'created' : `found, ${batch.status}`}\n`);

    const statePath = statePathFor(options.file);
    if (batch.status === 'CANCELLED') {
      stderr.write(`error: batch ${batch.batchId} was cancelled and takes no more payments. To upload this file as a new batch, pass a new --batch-ref.\n`);
      return finish(EXIT.SERVER_REFUSED);
    }
    if (SEALED_STATUSES.has(batch.status)) {
      stdout.write(`The batch is already sealed; nothing to upload.\n`);
      await new UploadStateFile(statePath, { batchRef, batchId: batch.batchId, digest: file.digest, chunkSize: options.chunkSize }, [], () => undefined).remove();
      printSummary(stdout, batch);
      return finish(EXIT.OK);
    }
    if (batch.status !== 'OPEN') throw new ProtocolError(`batch ${batch.batchId} has the unknown status ${batch.status}.`);

    // 3. The chunks the server has not confirmed.
    const ranges = chunkRanges(file.rows.length, options.chunkSize);
    const key = { batchRef, batchId: batch.batchId, digest: file.digest, chunkSize: options.chunkSize };
    let confirmed = await loadConfirmedChunks(statePath, key);
    const rowsOf = (indexes: Iterable<number>) => [...indexes].reduce((sum, index) => sum + (ranges[index] ? ranges[index].end - ranges[index].start : 0), 0);
    if (rowsOf(confirmed) > batch.received.itemCount) {
      stderr.write(`note: ${statePath} records more rows than the server holds; ignoring it.\n`);
      confirmed = new Set();
    }
    let stateWarned = false;
    const state = new UploadStateFile(statePath, key, confirmed, (error) => {
      if (stateWarned) return;
      stateWarned = true;
      progress?.line(`note: cannot write ${statePath} (${(error as NodeJS.ErrnoException).code ?? 'error'}); a rerun will resend every chunk (harmless).`);
    });

    const bar = new Progress(stderr, file.rows.length, { now: io.now });
    progress = bar;
    const uploadStarted = io.now();
    bar.start(rowsOf(confirmed));
    const upload = async (pending: ChunkRange[]) => {
      await uploadChunks(client, file, batch.batchId, pending, options.concurrency, async (range) => {
        sentRows += range.end - range.start;
        await state.confirm(range.index);
        bar.advance(range.end - range.start);
      });
    };
    try {
      await upload(ranges.filter((range) => !confirmed.has(range.index)));
    } finally {
      uploadMs = io.now() - uploadStarted;
    }

    // 4. Seal. If the record of an earlier run was wrong, the server's totals say so: resend what was skipped.
    let sealed: unknown;
    try {
      sealed = (await client.post<unknown>(`/v1/batches/${encodeURIComponent(batch.batchId)}/seal`)).body;
    } catch (error) {
      const mismatch = error instanceof HttpError && error.problem?.code === 'CONTROL_TOTALS_MISMATCH';
      if (!mismatch || confirmed.size === 0) throw error;
      bar.line(`note: the server's totals do not match; resending the ${formatCount(confirmed.size)} chunk(s) an earlier run recorded as confirmed.`);
      const skipped = ranges.filter((range) => confirmed.has(range.index));
      await state.reset();
      const resendStarted = io.now();
      try {
        await upload(skipped);
      } finally {
        uploadMs += io.now() - resendStarted;
      }
      sealed = (await client.post<unknown>(`/v1/batches/${encodeURIComponent(batch.batchId)}/seal`)).body;
    }
    bar.finish();
    await state.remove();
    try {
      batch = asBatch(sealed, 'seal');
    } catch {
      batch = asBatch((await client.get<unknown>(`/v1/batches/${encodeURIComponent(batch.batchId)}`)).body, 'GET batch');
    }
    stdout.write(`sealed     ${batch.batchId}: ${batch.status}\n`);
    printSummary(stdout, batch);
    return finish(EXIT.OK);
  } catch (thrown) {
    progress?.finish();
    const chunk = thrown instanceof ChunkFailure ? thrown.range : undefined;
    const error = thrown instanceof ChunkFailure ? thrown.cause : thrown;
    if (error instanceof HttpError) {
      reportHttpError(stderr, error, file, options, chunk);
      return finish(error.exhausted ? EXIT.UNAVAILABLE : EXIT.SERVER_REFUSED);
    }
    if (error instanceof NetworkError) {
      stderr.write(`error: ${error.message}. The server at ${options.url} could not be reached; rerun later to resume.\n`);
      return finish(EXIT.UNAVAILABLE);
    }
    if (error instanceof ProtocolError) {
      stderr.write(`error: unexpected answer from the server: ${error.message}\n`);
      return finish(EXIT.SERVER_REFUSED);
    }
    throw error;
  }
}

/** The chunk being sent when a request failed, to name file lines in the report. */
class ChunkFailure extends Error {
  override readonly name = 'ChunkFailure';
  constructor(
    readonly range: ChunkRange,
    override readonly cause: unknown,
  ) {
    super('A chunk failed.', { cause });
  }
}

/**
 * Sends the chunks with at most `concurrency` requests in flight, in file order.
 * On the first failure no further chunk is started; the ones in flight finish
 * (each is idempotent), then the failure is thrown.
 */
async function uploadChunks(
  client: ApiClient,
  file: PaymentsFile,
  batchId: string,
  pending: readonly ChunkRange[],
  concurrency: number,
  onConfirmed: (range: ChunkRange) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: ChunkFailure | undefined;
  const path = `/v1/batches/${encodeURIComponent(batchId)}/payments`;
  const worker = async () => {
    for (let range = pending[next++]; failure === undefined && range !== undefined; range = pending[next++]) {
      try {
        await client.post(path, { csv: chunkBody(file.rows, range) });
      } catch (error) {
        failure ??= new ChunkFailure(range, error);
        return;
      }
      await onConfirmed(range);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, worker));
  if (failure) throw failure;
}

const HINTS: Record<string, string> = {
  UNAUTHENTICATED: 'The token was refused (missing, expired or not for this API): get a new one.',
  FORBIDDEN: 'The token does not allow this: it needs the scope batches:write, and --province must be the token\'s province.',
  NOT_FOUND: 'The batch was not found for this token (another province\'s batch answers 404).',
  BATCH_REF_CONFLICT:
    'This batchRef is already used by a batch with a different program, period or control totals. If the file changed on purpose, upload it under a new --batch-ref.',
  CONFLICT: 'The batch is busy or changed meanwhile (see the message above); rerun to resume.',
  CONTROL_TOTALS_MISMATCH: 'The payments stored in the batch do not add up to its control totals.',
  INVALID_STATE: 'The batch is not in a state that allows this (cancelled, or sealed by someone else?).',
  PAYLOAD_TOO_LARGE: 'A chunk is too large for the server: lower --chunk-size.',
  RATE_LIMITED: 'The server kept asking to slow down: lower --concurrency and rerun.',
};

/** A 409 that lists items: paymentRefs stored with other content. */
const PAYMENT_CONFLICT_HINT =
  'A paymentRef of this file is already stored in the batch with different content. Payments cannot be changed once uploaded: fix the file, or cancel the batch and upload under a new --batch-ref.';

function reportHttpError(sink: TextSink, error: HttpError, file: PaymentsFile, options: UploadOptions, chunk: ChunkRange | undefined): void {
  const problem: Problem | undefined = error.problem;
  const code = problem?.code ? ` ${problem.code}` : '';
  const detail = typeof problem?.detail === 'string' ? `: ${problem.detail}` : problem ? '' : ' (no problem document)';
  const retried = error.exhausted ? ' after every retry' : '';
  sink.write(`error: ${error.method} ${error.path} answered ${error.status}${code}${retried}${detail}\n`);
  if (chunk) {
    const first = file.rows[chunk.start]?.line ?? 0;
    const last = file.rows[chunk.end - 1]?.line ?? 0;
    sink.write(`  in chunk ${chunk.index + 1} (file lines ${first}-${last})\n`);
  }
  const problems: FileProblem[] = (problem?.errors ?? []).map((item) => {
    // The server numbers lines and items within the chunk; name the file's line instead.
    const index = typeof item.index === 'number' && chunk ? chunk.start + item.index : undefined;
    const line = index !== undefined ? (file.rows[index]?.line ?? 0) : 0;
    const message = String(item.message ?? item.code ?? 'invalid').replace(/^CSV line \d+: /, '');
    return { line, code: String(item.code ?? ''), message };
  });
  printProblems(sink, '  ', problems, MAX_LISTED);
  if (typeof problem?.errorCount === 'number' && problem.errorCount > problems.length) {
    sink.write(`  (${formatCount(problem.errorCount)} errors in all; the server lists the first ${formatCount(problems.length)})\n`);
  }
  const expected = problem?.expected;
  const actual = problem?.actual;
  if (isTotals(expected) && isTotals(actual)) sink.write(`  expected ${totals(expected)}; stored ${totals(actual)}\n`);
  const hint = problem?.code === 'CONFLICT' && problems.length > 0 ? PAYMENT_CONFLICT_HINT : problem?.code ? HINTS[problem.code] : undefined;
  if (hint) sink.write(`  ${hint}\n`);
  if (problem?.code === 'FORBIDDEN' || error.status === 403) sink.write(`  (--province is ${options.provinceCode})\n`);
  const requestId = error.requestId;
  if (requestId) sink.write(`  request id ${requestId}\n`);
}

function nonZero(record: Record<string, number> | undefined): string {
  const entries = Object.entries(record ?? {}).filter(([, value]) => typeof value === 'number' && value > 0);
  return entries.length === 0 ? 'none' : entries.map(([key, value]) => `${key} ${formatCount(value)}`).join(', ');
}

export function printSummary(sink: TextSink, batch: BatchView): void {
  const match = sameTotals(batch.control, batch.received) ? 'matches control' : 'DOES NOT match control';
  sink.write(
    [
      `batchId    ${batch.batchId}`,
      `batchRef   ${batch.batchRef}`,
      `status     ${batch.status}`,
      ...(batch.provinceCode ? [`batch of   province ${batch.provinceCode}, ${batch.programCode ?? '?'}, period ${batch.period ?? '?'}`] : []),
      `control    ${totals(batch.control)}`,
      `received   ${totals(batch.received)} (${match})`,
      `counts     ${nonZero(batch.counts)}`,
      `rejections ${nonZero(batch.rejections)}`,
    ].join('\n') + '\n',
  );
}
