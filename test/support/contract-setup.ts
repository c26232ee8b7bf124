import { appendFileSync, mkdirSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, expect } from 'vitest';
import { checkedFetch, contractStats } from './contract.js';
import { CONTRACT_TALLY_FILE } from './contract-tally.js';

/**
 * Setup of every e2e test file (vitest.config.ts): the global fetch checks
 * each answer against openapi.json (test/support/contract.ts), so that no suite
 * can observe an answer the document does not describe. At the end of the file:
 * the count is printed and added to the run's tally (contract-tally.ts prints
 * the total), and a violation that a test caught and swallowed still fails it.
 */
globalThis.fetch = checkedFetch;

// eslint-disable-next-line no-empty-pattern -- vitest reads the first argument as a fixture and requires a destructuring pattern; the file is in the second.
afterAll(({}, suite) => {
  const { validated, skipped, violations } = contractStats();
  const name = basename(suite.file.filepath);
  console.log(`openapi.json conformance (${name}): ${validated} responses validated, ${skipped} local-only skipped, ${violations.length} violations`);
  mkdirSync(CONTRACT_TALLY_FILE.replace(/\/[^/]+$/, ''), { recursive: true });
  appendFileSync(CONTRACT_TALLY_FILE, `${JSON.stringify({ file: name, validated, skipped, violations: violations.length })}\n`);
  expect(violations, 'answers off openapi.json').toEqual([]);
});
