import { describe, expect, it } from 'vitest';
import { redactingReplacer, redactString } from '../../../shared/observability/redact.js';

describe('log redaction', () => {
  it('masks any run of exactly twelve digits in a string', () => {
    expect(redactString('lookup of 079185012345 failed')).toBe('lookup of [REDACTED-ID] failed');
    expect(redactString('ids 001090000001,079185012345.')).toBe('ids [REDACTED-ID],[REDACTED-ID].');
  });

  it('leaves shorter and longer digit runs alone (amounts, timestamps)', () => {
    expect(redactString('amount 500000 at 1795241520000')).toBe('amount 500000 at 1795241520000');
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
