import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { findWarnings, readPaymentsFile } from '../../../bin/upload/payments-file.js';
import { createBatchRequestSchema } from '../../../shared/domain/schemas.js';

const csvUrl = new URL('../../../events/batches/sample-batch.csv', import.meta.url);
const jsonUrl = new URL('../../../events/batches/sample-batch.json', import.meta.url);

describe('events/batches sample batch', () => {
  it('is a valid CSV with CRLF line ends and a quoted name holding a comma', async () => {
    const text = await readFile(csvUrl, 'utf8');

    const file = readPaymentsFile(text);

    expect(file.rows).toHaveLength(30);
    expect(text.split('\r\n')).toHaveLength(32); // header, 30 rows, and the empty string after the last CRLF
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(text).toMatch(/,"[^"]*, [^"]*",/);
    expect(findWarnings(file, 'SOCIAL_ALLOWANCE')).toEqual([]);
  });

  it('has a JSON twin: a valid create-batch body with the same payments and their control totals', async () => {
    const csv = readPaymentsFile(await readFile(csvUrl, 'utf8'));
    const json: unknown = JSON.parse(await readFile(jsonUrl, 'utf8'));

    const body = createBatchRequestSchema.parse(json);

    expect(body.payments).toEqual(csv.rows.map((row) => row.payment));
    expect(body.control).toEqual(csv.control);
    expect(body).toMatchObject({ provinceCode: '79', programCode: 'SOCIAL_ALLOWANCE', period: '2026-11' });
  });
});
