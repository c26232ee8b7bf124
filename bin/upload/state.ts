import { readFile, rename, rm, writeFile } from 'node:fs/promises';

/**
 * `<file.csv>.upload.json`: the chunks the server confirmed, so that a rerun
 * after an interruption does not send them again. An optimisation only: the
 * server's idempotency is the source of truth (a resent chunk is a no-op), the
 * record is ignored unless it is for the same batch, payments and chunk size,
 * and the upload checks the server's totals before it trusts it (see run.ts).
 * It holds no personal data: a batchRef, a batchId, a digest, chunk numbers.
 */

export interface UploadStateKey {
  batchRef: string;
  batchId: string;
  /** SHA-256 of the payments' canonical CSV. */
  digest: string;
  chunkSize: number;
}

interface UploadStateDocument extends UploadStateKey {
  version: 1;
  confirmed: number[];
  updatedAt: string;
}

export const statePathFor = (csvPath: string): string => `${csvPath}.upload.json`;

/** The chunks an earlier run confirmed for this very batch, file and chunk size; empty otherwise. */
export async function loadConfirmedChunks(path: string, key: UploadStateKey): Promise<Set<number>> {
  let document: Partial<UploadStateDocument>;
  try {
    document = JSON.parse(await readFile(path, 'utf8')) as Partial<UploadStateDocument>;
  } catch {
    return new Set(); // absent or unreadable: start from the server's answers alone
  }
  const same =
    document.version === 1 &&
    document.batchRef === key.batchRef &&
    document.batchId === key.batchId &&
    document.digest === key.digest &&
    document.chunkSize === key.chunkSize &&
    Array.isArray(document.confirmed);
  if (!same || !document.confirmed) return new Set();
  return new Set(document.confirmed.filter((value): value is number => Number.isInteger(value) && value >= 0));
}

export class UploadStateFile {
  private readonly confirmed: Set<number>;
  private writing: Promise<void> = Promise.resolve();
  private failed = false;

  constructor(
    private readonly path: string,
    private readonly key: UploadStateKey,
    confirmed: Iterable<number>,
    /** Told once if the file cannot be written (the upload goes on without it). */
    private readonly onWriteError: (error: unknown) => void,
  ) {
    this.confirmed = new Set(confirmed);
  }

  /** Records a confirmed chunk. Writes are serialised and atomic (write, then rename). */
  confirm(index: number): Promise<void> {
    this.confirmed.add(index);
    this.writing = this.writing.then(() => this.write());
    return this.writing;
  }

  /** Forgets every confirmation (the server disagreed with them). */
  reset(): Promise<void> {
    this.confirmed.clear();
    this.writing = this.writing.then(() => this.write());
    return this.writing;
  }

  async remove(): Promise<void> {
    await this.writing;
    await rm(this.path, { force: true }).catch(() => undefined);
  }

  private async write(): Promise<void> {
    if (this.failed) return;
    const document: UploadStateDocument = {
      version: 1,
      ...this.key,
      confirmed: [...this.confirmed].sort((a, b) => a - b),
      updatedAt: new Date().toISOString(),
    };
    const temporary = `${this.path}.${process.pid}.tmp`;
    try {
      await writeFile(temporary, `${JSON.stringify(document, null, 2)}\n`);
      await rename(temporary, this.path);
    } catch (error) {
      this.failed = true;
      await rm(temporary, { force: true }).catch(() => undefined);
      this.onWriteError(error);
    }
  }
}
