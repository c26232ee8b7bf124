/**
 * Writes a deterministic synthetic payments CSV (see synthetic.ts):
 *
 *   npx tsx bench/generate-csv.ts --rows 100000 --province 79 --out /tmp/x.csv [--seed 1]
 *
 * Without --out the CSV goes to stdout. A summary (rows, total, bytes) goes to stderr.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatPaymentsCsv } from '../bin/upload/csv-format.js';
import { isProvinceCode } from '../shared/domain/catalogues.js';
import { sumAmounts } from '../shared/domain/money.js';
import { syntheticPayments } from './synthetic.js';

const USAGE = 'Usage: npx tsx bench/generate-csv.ts --rows N [--province NN] [--seed N] [--out FILE]';

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(1);
}

function wholeNumber(name: string, raw: string | undefined, fallback: number | undefined): number {
  if (raw === undefined) {
    if (fallback === undefined) fail(`--${name} is required.`);
    return fallback;
  }
  if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(Number(raw))) fail(`--${name} must be a whole number.`);
  return Number(raw);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      rows: { type: 'string' },
      province: { type: 'string', default: '79' },
      seed: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }));
} catch (error) {
  fail((error as Error).message);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const count = wholeNumber('rows', values.rows, undefined);
const seed = wholeNumber('seed', values.seed, 1);
const provinceCode = values.province;
if (!isProvinceCode(provinceCode)) fail('--province must be a two-digit province code (for example 79).');

const started = performance.now();
const payments = syntheticPayments({ count, seed, provinceCode });
const csv = formatPaymentsCsv(payments);
if (values.out) await writeFile(values.out, csv);
else process.stdout.write(csv);
const total = sumAmounts(payments.map((payment) => payment.amount));
console.error(
  `${count.toLocaleString('en-US')} rows, total ${total.toLocaleString('en-US')} VND, ${Buffer.byteLength(csv).toLocaleString('en-US')} bytes` +
    `${values.out ? ` -> ${values.out}` : ''} (seed ${seed}, province ${provinceCode}, ${(performance.now() - started).toFixed(0)} ms)`,
);
