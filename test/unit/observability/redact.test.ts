import { describe, expect, it } from 'vitest';
import { redactingReplacer, redactString } from '../../../shared/observability/redact.js';

describe('log redaction', () => {
  it('masks any run of exactly twelve digits in a string', () => {
    expect(redactString('lookup of 079185012345 failed')).toBe('lookup of [REDACTED-ID] failed');
    expect(redactString('ids 001090000001,079185012345.')).toBe('ids [REDACTED-ID],[REDACTED-ID].');
  });

  it('masks longer runs too: an ID typed with a digit too many, or run into other digits', () => {
    expect(redactString('ref 0791850123456 and 079185012345999')).toBe('ref [REDACTED-ID] and [REDACTED-ID]');
  });

  it('leaves shorter digit runs alone (amounts, codes)', () => {
    expect(redactString('amount 500000 bank 970436 period 202611')).toBe('amount 500000 bank 970436 period 202611');
  });

  it('drops fields that hold personal data whatever their value', () => {
    const line = JSON.stringify(
      { message: 'verified', personalId: '079185012345', fullName: 'Nguyễn Thị Ánh', nested: { pid: 'x', note: 'id 079185012345' } },
      redactingReplacer,
    );

    expect(line).not.toMatch(/\d{12}/);
    expect(line).not.toContain('Nguyễn');
    expect(JSON.parse(line)).toEqual({
      message: 'verified',
      personalId: '[REDACTED]',
      fullName: '[REDACTED]',
      nested: { pid: '[REDACTED]', note: 'id [REDACTED-ID]' },
    });
  });
});
