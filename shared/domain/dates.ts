/**
 * Calendar dates and months as the API carries them (`YYYY-MM-DD`, `YYYY-MM`),
 * and the one way the domain learns what day it is: a Clock passed in. Nothing
 * here reads the system time except `systemClock`, which callers inject.
 */

export interface Clock {
  now(): Date;
}

/** The real clock; pass a fixed one in tests. */
export const systemClock: Clock = { now: () => new Date() };

/** Viet Nam is UTC+7 all year (no daylight saving). */
const VIETNAM_OFFSET_MS = 7 * 60 * 60 * 1000;

/**
 * The calendar date in Viet Nam at an instant. "Not in the future" is judged on
 * the local date: a child born at 06:00 in Ha Noi is born "today" although UTC is
 * still on the previous day.
 */
export function vietnamDate(instant: Date): string {
  return new Date(instant.getTime() + VIETNAM_OFFSET_MS).toISOString().slice(0, 10);
}

const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const PERIOD = /^([0-9]{4})-(0[1-9]|1[0-2])$/;

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** A real Gregorian date written `YYYY-MM-DD` with ASCII digits (2023-02-29 is not one). */
export function isCalendarDate(value: string): boolean {
  const match = DATE.exec(value);
  if (!match) return false;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/** A calendar month written `YYYY-MM`, month 01-12. */
export function isPeriod(value: string): boolean {
  return PERIOD.test(value) && value.slice(0, 4) !== '0000';
}

/** The first day of a period (`2025-07` -> `2025-07-01`): a beneficiary who died before it is not paid. */
export function periodStart(period: string): string {
  if (!isPeriod(period)) throw new RangeError('Not a period (YYYY-MM).');
  return `${period}-01`;
}
