import { describe, expect, it } from 'vitest';
import { daysInMonth, isCalendarDate, isPeriod, periodStart, vietnamDate } from '../../../shared/domain/dates.js';

describe('dates', () => {
  it('accepts real calendar dates only, leap years included', () => {
    expect(isCalendarDate('2024-02-29')).toBe(true);
    expect(isCalendarDate('2000-02-29')).toBe(true);
    expect(isCalendarDate('2023-02-29')).toBe(false);
    expect(isCalendarDate('1900-02-29')).toBe(false);
    expect(isCalendarDate('2025-02-30')).toBe(false);
    expect(isCalendarDate('2025-04-31')).toBe(false);
    expect(isCalendarDate('2025-12-31')).toBe(true);
    expect(isCalendarDate('2025-13-01')).toBe(false);
    expect(isCalendarDate('2025-00-10')).toBe(false);
    expect(isCalendarDate('2025-1-01')).toBe(false);
    expect(isCalendarDate('2025-01-01T00:00:00Z')).toBe(false);
    expect(isCalendarDate('٢٠٢٥-٠١-٠١')).toBe(false);
  });

  it('counts days per month', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((month) => daysInMonth(2024, month))).toEqual([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]);
    expect(daysInMonth(2100, 2)).toBe(28);
  });

  it('takes today in Viet Nam (UTC+7): 17:00 UTC is already the next day', () => {
    expect(vietnamDate(new Date('2025-06-30T16:59:59Z'))).toBe('2025-06-30');
    expect(vietnamDate(new Date('2025-06-30T17:00:00Z'))).toBe('2025-07-01');
  });

  it('knows a period (YYYY-MM, month 01-12) and its first day', () => {
    expect(['2025-07', '2025-12', '2025-01'].every(isPeriod)).toBe(true);
    expect(['2025-13', '2025-00', '2025-7', '25-07', '2025-07-01', '0000-01'].some(isPeriod)).toBe(false);
    expect(periodStart('2025-07')).toBe('2025-07-01');
    expect(() => periodStart('2025-13')).toThrow(RangeError);
  });
});
