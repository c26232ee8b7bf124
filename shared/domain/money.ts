/**
 * Amounts are whole Vietnamese dong (VND has no minor unit): positive integers,
 * never floats. Numbers are exact up to 2^53 - 1 (about 9 * 10^15 VND, far above
 * any national budget line), so `number` is used and every sum is checked
 * against that bound instead of silently losing precision.
 */

/** The smallest amount one payment may carry (api.md: amount >= 1,000). */
export const MIN_PAYMENT_AMOUNT = 1_000;
export const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;

export class AmountOverflowError extends RangeError {
  constructor() {
    super(`The total exceeds ${MAX_AMOUNT} VND, the largest amount kept exactly.`);
    this.name = 'AmountOverflowError';
  }
}

/** A positive whole number of VND that is represented exactly. */
export function isAmount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** An amount one payment may carry (at least MIN_PAYMENT_AMOUNT). */
export function isPaymentAmount(value: unknown): value is number {
  return isAmount(value) && value >= MIN_PAYMENT_AMOUNT;
}

/** Sums also add totals, which may be 0: addends are non-negative safe integers. */
function assertAddend(value: unknown): asserts value is number {
  if (!(typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)) {
    throw new RangeError('An amount must be a non-negative safe integer (whole VND).');
  }
}

/** a + b, exactly, or AmountOverflowError. */
export function addAmounts(a: number, b: number): number {
  assertAddend(a);
  assertAddend(b);
  if (a > MAX_AMOUNT - b) throw new AmountOverflowError();
  return a + b;
}

/**
 * The exact sum of amounts (0 for none). Each step is checked before it is taken,
 * so the result is either exact or an AmountOverflowError, never a rounded total.
 */
export function sumAmounts(amounts: Iterable<number>): number {
  let total = 0;
  for (const amount of amounts) {
    assertAddend(amount);
    if (total > MAX_AMOUNT - amount) throw new AmountOverflowError();
    total += amount;
  }
  return total;
}
