import { describe, expect, it } from 'vitest';
import { formatPaymentsCsv } from '../../../bin/upload/csv-format.js';
import { InvalidFileError, readPaymentsFile } from '../../../bin/upload/payments-file.js';
import { syntheticPayments } from '../../../bench/synthetic.js';

describe('control totals', () => {
  it('counts and sums exactly past 2^31 VND', () => {
    // Prepare: 2,000 payments of 1,500,000 to 3,000,000 VND, about 4.5 billion in all
    const payments = syntheticPayments({ count: 2_000, seed: 11 }).map((payment, index) => ({ ...payment, amount: 1_500_000 + (index % 1_501) * 1_000 }));
    const expected = payments.reduce((total, payment) => total + BigInt(payment.amount), 0n);

    // Act
    const { control } = readPaymentsFile(formatPaymentsCsv(payments));

    // Assess
    expect(expected > 2n ** 31n).toBe(true);
    expect(control.itemCount).toBe(2_000);
    expect(BigInt(control.totalAmount)).toBe(expected);
  });

  it('sums amounts near 2^53 exactly and refuses a file whose total cannot be carried exactly', () => {
    const [a, b] = syntheticPayments({ count: 2, seed: 1 });
    const exact = readPaymentsFile(formatPaymentsCsv([{ ...a!, amount: 2 ** 52 }, { ...b!, amount: 2 ** 52 - 1 }]));
    expect(exact.control.totalAmount).toBe(2 ** 53 - 1);

    let error: unknown;
    try {
      readPaymentsFile(formatPaymentsCsv([{ ...a!, amount: 2 ** 52 }, { ...b!, amount: 2 ** 52 }]));
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(InvalidFileError);
    expect((error as InvalidFileError).problems).toEqual([expect.objectContaining({ code: 'total_overflow' })]);
  });
});
