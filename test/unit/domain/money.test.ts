import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addAmounts, AmountOverflowError, isAmount, isPaymentAmount, MAX_AMOUNT, sumAmounts } from '../../../shared/domain/money.js';

describe('money', () => {
  it('sums 500,000 payments past 2^31 exactly', () => {
    // Prepare: amounts between 500,000 and 15,000,000 VND, as a national run might carry
    const amounts = Array.from({ length: 500_000 }, (_, index) => 500_000 + ((index * 7_919) % 14_500_001));
    const expected = amounts.reduce((total, amount) => total + BigInt(amount), 0n);

    // Act
    const total = sumAmounts(amounts);

    // Assess
    expect(expected > 2n ** 31n).toBe(true);
    expect(BigInt(total)).toBe(expected);
  });

  it('sums 500,000 equal payments of the social allowance standard level', () => {
    expect(sumAmounts(new Array<number>(500_000).fill(500_000))).toBe(250_000_000_000);
  });

  it('agrees with a bigint sum for any list of amounts (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1_000, max: 2 ** 40 }), { maxLength: 200 }), (amounts) => {
        expect(BigInt(sumAmounts(amounts))).toBe(amounts.reduce((total, amount) => total + BigInt(amount), 0n));
      }),
    );
  });

  it('throws rather than round when a total would pass Number.MAX_SAFE_INTEGER', () => {
    expect(sumAmounts([MAX_AMOUNT - 1, 1])).toBe(MAX_AMOUNT);
    expect(() => sumAmounts([MAX_AMOUNT, 1])).toThrow(AmountOverflowError);
    expect(() => sumAmounts([2 ** 52, 2 ** 52])).toThrow(AmountOverflowError);
    expect(() => addAmounts(MAX_AMOUNT, 1)).toThrow(AmountOverflowError);
    expect(addAmounts(2_147_483_647, 1)).toBe(2_147_483_648);
  });

  it('refuses addends that are not whole, exact, non-negative numbers', () => {
    for (const bad of [1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => sumAmounts([1_000, bad])).toThrow(RangeError);
    }
    expect(sumAmounts([])).toBe(0);
    expect(sumAmounts([0, 0])).toBe(0);
  });

  it('knows an amount (positive safe integer) and a payment amount (at least 1,000)', () => {
    expect([isAmount(1), isAmount(MAX_AMOUNT), isAmount(0), isAmount(1.5), isAmount('1000'), isAmount(2 ** 53)]).toEqual([
      true, true, false, false, false, false,
    ]);
    expect([isPaymentAmount(1_000), isPaymentAmount(999), isPaymentAmount(500_000)]).toEqual([true, false, true]);
  });
});
