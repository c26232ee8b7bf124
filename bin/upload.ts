/**
 * `npm run upload -- <file.csv> --program CODE --period YYYY-MM --province NN`:
 * uploads a province's payment batch from a CSV file (see --help, and
 * bin/upload/run.ts for how a rerun resumes safely).
 */
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { runUpload } from './upload/run.js';

export { runUpload };

/** 70 (EX_SOFTWARE): a bug of the uploader itself, never a verdict on the file or the server. */
const EXIT_INTERNAL = 70;

async function main(): Promise<void> {
  let interrupted = false;
  process.once('SIGINT', () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write('\ninterrupted: run the same command again to resume (chunks already stored are not sent twice).\n');
    process.exit(130);
  });
  try {
    process.exitCode = await runUpload(process.argv.slice(2), {
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      now: () => performance.now(),
    });
  } catch (error) {
    process.stderr.write(`internal error of the uploader (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = EXIT_INTERNAL;
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) await main();
