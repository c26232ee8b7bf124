import { describe, expect, it } from 'vitest';
import { formatPaymentsCsv } from '../../../bin/upload/csv-format.js';
import { findWarnings, readPaymentsFile } from '../../../bin/upload/payments-file.js';
import { citizensOf, syntheticPayments } from '../../../bench/synthetic.js';
import { checkPersonalId } from '../../../shared/domain/personal-id.js';
import { localPopulationRequestSchema } from '../../../shared/domain/schemas.js';

describe('synthetic payments', () => {
  const payments = syntheticPayments({ count: 5_000, seed: 5 });

  it('is deterministic: the same options give the same payments, another seed others', () => {
    expect(syntheticPayments({ count: 5_000, seed: 5 })).toEqual(payments);
    expect(syntheticPayments({ count: 50, seed: 6 })).not.toEqual(payments.slice(0, 50));
    expect(syntheticPayments({ count: 10 })).toEqual(syntheticPayments({ count: 10, seed: 1 }));
  });

  it('makes structurally valid personal IDs, consistent with date of birth and gender, unique, mostly from the province', () => {
    for (const payment of payments) expect(checkPersonalId(payment.personalId, payment)).toMatchObject({ ok: true });
    expect(new Set(payments.map((payment) => payment.personalId)).size).toBe(payments.length);
    const own = payments.filter((payment) => payment.personalId.startsWith('079')).length;
    expect(own / payments.length).toBeGreaterThan(0.6);
  });

  it('makes unique paymentRefs, Vietnamese names with diacritics, and amounts of 500,000-3,000,000 VND', () => {
    expect(new Set(payments.map((payment) => payment.paymentRef)).size).toBe(payments.length);
    expect(payments.filter((payment) => /[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùý]/iu.test(payment.fullName)).length / payments.length).toBeGreaterThan(0.9);
    for (const payment of payments) {
      expect(payment.amount).toBeGreaterThanOrEqual(500_000);
      expect(payment.amount).toBeLessThanOrEqual(3_000_000);
      expect(payment.amount % 1_000).toBe(0);
    }
  });

  it('gives a file the uploader accepts without warnings, and people the sandbox registry accepts', () => {
    const file = readPaymentsFile(formatPaymentsCsv(payments));

    expect(file.rows).toHaveLength(5_000);
    expect(findWarnings(file, 'SOCIAL_ALLOWANCE')).toEqual([]);
    expect(localPopulationRequestSchema.safeParse({ citizens: citizensOf(payments) }).success).toBe(true);
  });
});
