import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPaymentsCsv, PAYMENT_CSV_HEADER } from '../../../bin/upload/csv-format.js';
import { chunkBody, chunkRanges, deriveBatchRef, readPaymentsFile } from '../../../bin/upload/payments-file.js';
import { paymentsFromCsv } from '../../../shared/domain/validation.js';
import { batchRefSchema } from '../../../shared/domain/schemas.js';
import { syntheticPayments } from '../../../bench/synthetic.js';

describe('chunking', () => {
  it('cuts fixed, contiguous, complete ranges (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 1, max: 5_000 }), (rows, size) => {
        const ranges = chunkRanges(rows, size);

        expect(ranges.length).toBe(Math.ceil(rows / size));
        ranges.forEach((range, index) => {
          expect(range.index).toBe(index);
          expect(range.start).toBe(index * size);
          expect(range.end - range.start).toBe(index === ranges.length - 1 ? rows - range.start : size);
        });
        expect(chunkRanges(rows, size)).toEqual(ranges);
      }),
    );
  });

  it('refuses a chunk size that is not a positive whole number', () => {
    expect(() => chunkRanges(10, 0)).toThrow(RangeError);
    expect(() => chunkRanges(10, 1.5)).toThrow(RangeError);
  });

  it('sends the same bytes for a chunk on every run, each with the header, and they read back as the file rows', () => {
    // Prepare
    const payments = syntheticPayments({ count: 1_234, seed: 7 });
    const text = formatPaymentsCsv(payments);

    // Act
    const first = readPaymentsFile(text);
    const second = readPaymentsFile(text);
    const bodies = chunkRanges(first.rows.length, 500).map((range) => chunkBody(first.rows, range));
    const again = chunkRanges(second.rows.length, 500).map((range) => chunkBody(second.rows, range));

    // Assess
    expect(bodies).toEqual(again);
    expect(bodies).toHaveLength(3);
    for (const body of bodies) expect(body.startsWith(`${PAYMENT_CSV_HEADER}\r\n`)).toBe(true);
    expect(bodies.flatMap((body) => paymentsFromCsv(body))).toEqual(payments);
  });

  it('derives the same batchRef from the same payments whatever the BOM, line ends or quoting, and another from other payments', () => {
    // Prepare
    const payments = syntheticPayments({ count: 50, seed: 3 });
    const canonical = formatPaymentsCsv(payments);
    const lf = `\uFEFF${canonical.replace(/\r\n/g, '\n')}`;
    const quotedEverywhere = canonical
      .split('\r\n')
      .map((line, index) => (index === 0 || line === '' ? line : line.split(',').map((field) => `"${field}"`).join(',')))
      .join('\r\n');
    const changed = formatPaymentsCsv(payments.map((payment, index) => (index === 10 ? { ...payment, amount: payment.amount + 1_000 } : payment)));
    const ref = (text: string) => deriveBatchRef({ provinceCode: '79', programCode: 'SOCIAL_ALLOWANCE', period: '2026-11', digest: readPaymentsFile(text).digest });

    // Act
    const refs = [canonical, lf, quotedEverywhere].map(ref);

    // Assess
    expect(new Set(refs).size).toBe(1);
    expect(refs[0]).toMatch(/^79-SOCIAL_ALLOWANCE-2026-11-[0-9a-f]{16}$/);
    expect(batchRefSchema.safeParse(refs[0]).success).toBe(true);
    expect(ref(changed)).not.toBe(refs[0]);
  });

  it('keeps a derived batchRef within 64 characters for the longest program code', () => {
    const ref = deriveBatchRef({ provinceCode: '79', programCode: 'A'.repeat(32), period: '2026-11', digest: 'f'.repeat(64) });
    expect(ref.length).toBeLessThanOrEqual(64);
  });
});
