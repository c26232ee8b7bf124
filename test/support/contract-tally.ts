import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where each e2e file adds its count of answers checked against openapi.json (contract-setup.ts). */
export const CONTRACT_TALLY_FILE = fileURLToPath(new URL('../../build/contract-validations.jsonl', import.meta.url));

/**
 * Global setup of the e2e project: starts the tally empty, and at the end of the
 * run prints how many answers all the suites checked against the document.
 */
export default function setup(): () => void {
  rmSync(CONTRACT_TALLY_FILE, { force: true });
  return () => {
    if (!existsSync(CONTRACT_TALLY_FILE)) return;
    const lines = readFileSync(CONTRACT_TALLY_FILE, 'utf8').trim().split('\n').filter(Boolean);
    const files = lines.map((line) => JSON.parse(line) as { file: string; validated: number; skipped: number; violations: number });
    const total = files.reduce((sum, entry) => sum + entry.validated, 0);
    const violations = files.reduce((sum, entry) => sum + entry.violations, 0);
    const perFile = files
      .sort((a, b) => b.validated - a.validated)
      .map((entry) => `${entry.file} ${entry.validated}`)
      .join(', ');
    console.log(`openapi.json conformance: ${total} responses validated against the document in ${files.length} e2e files, ${violations} violations (${perFile})`);
  };
}
