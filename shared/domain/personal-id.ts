import { findBirthRegistrationProvince, type BirthRegistrationProvince } from './catalogues.js';
import { isCalendarDate } from './dates.js';

/**
 * The 12-digit personal identification number (Circular 07/2016/TT-BCA, kept by
 * Circular 59/2021/TT-BCA): digits 1-3 the province where the birth was
 * registered, digit 4 gender and century, digits 5-6 the last two digits of the
 * year of birth, digits 7-12 random. Checked offline, before any registry call.
 *
 * The number is personal data: no result, detail or error produced here ever
 * contains it (nor any of its digits beyond what `maskPersonalId` shows).
 */

export type Gender = 'M' | 'F';

export type PersonalIdProblem =
  | 'NOT_12_DIGITS'
  | 'UNKNOWN_PROVINCE_PREFIX'
  | 'INVALID_BIRTH_DATE'
  | 'CENTURY_MISMATCH'
  | 'YEAR_MISMATCH'
  | 'GENDER_MISMATCH';

export interface ParsedPersonalId {
  birthRegistrationProvince: BirthRegistrationProvince;
  gender: Gender;
  /** First year of the century of birth: 1900, 2000, ..., 2300. */
  century: number;
  /** The year of birth the number encodes. */
  birthYear: number;
}

export type ParsePersonalIdResult =
  | ({ ok: true } & ParsedPersonalId)
  | { ok: false; reason: 'INVALID_ID'; problem: 'NOT_12_DIGITS' | 'UNKNOWN_PROVINCE_PREFIX'; detail: string };

export type CheckPersonalIdResult =
  | { ok: true; birthRegistrationProvince: BirthRegistrationProvince; gender: Gender; birthYear: number }
  | { ok: false; reason: 'INVALID_ID'; problem: PersonalIdProblem; detail: string };

/** ASCII digits only: `\d` with the `u` flag and Unicode digit classes are deliberately not used. */
export const PERSONAL_ID_PATTERN = /^[0-9]{12}$/;

export function isPersonalIdFormat(value: unknown): value is string {
  return typeof value === 'string' && PERSONAL_ID_PATTERN.test(value);
}

/**
 * Digit 4: 0/1 for 1900-1999, 2/3 for 2000-2099, 4/5 for 2100-2199, 6/7, 8/9 for
 * the next centuries; even is male, odd is female.
 */
export function decodeGenderCenturyDigit(digit: number): { gender: Gender; century: number } {
  if (!Number.isInteger(digit) || digit < 0 || digit > 9) throw new RangeError('The gender/century digit is 0-9.');
  return { gender: digit % 2 === 0 ? 'M' : 'F', century: 1900 + Math.floor(digit / 2) * 100 };
}

/** The gender/century digit for a person (the inverse of decodeGenderCenturyDigit). */
export function encodeGenderCenturyDigit(gender: Gender, birthYear: number): number {
  const centuryIndex = Math.floor((birthYear - 1900) / 100);
  if (!Number.isInteger(birthYear) || centuryIndex < 0 || centuryIndex > 4) {
    throw new RangeError('A personal ID number encodes birth years 1900-2399 only.');
  }
  return centuryIndex * 2 + (gender === 'F' ? 1 : 0);
}

/** What the number itself says, without a date of birth to compare with. */
export function parsePersonalId(personalId: string): ParsePersonalIdResult {
  if (!isPersonalIdFormat(personalId)) {
    return { ok: false, reason: 'INVALID_ID', problem: 'NOT_12_DIGITS', detail: 'The personal ID number must be exactly 12 ASCII digits (0-9).' };
  }
  const birthRegistrationProvince = findBirthRegistrationProvince(personalId.slice(0, 3));
  if (!birthRegistrationProvince) {
    return {
      ok: false,
      reason: 'INVALID_ID',
      problem: 'UNKNOWN_PROVINCE_PREFIX',
      detail: 'The first three digits of the personal ID number are not a known birth-registration province code.',
    };
  }
  const { gender, century } = decodeGenderCenturyDigit(Number(personalId[3]));
  return { ok: true, birthRegistrationProvince, gender, century, birthYear: century + Number(personalId.slice(4, 6)) };
}

/**
 * Checks a number against the person it is said to belong to: digits 4-6 must
 * agree with the date of birth (century, then year) and, when given, the gender.
 * A failure is a reason (`INVALID_ID`) with the precise problem, never a bare
 * boolean, so that a province can see what to fix.
 */
export function checkPersonalId(personalId: string, person: { dateOfBirth: string; gender?: Gender | undefined }): CheckPersonalIdResult {
  const parsed = parsePersonalId(personalId);
  if (!parsed.ok) return parsed;
  if (!isCalendarDate(person.dateOfBirth)) {
    return { ok: false, reason: 'INVALID_ID', problem: 'INVALID_BIRTH_DATE', detail: 'The date of birth is not a calendar date (YYYY-MM-DD).' };
  }
  const statedYear = Number(person.dateOfBirth.slice(0, 4));
  const statedCentury = Math.floor(statedYear / 100) * 100;
  if (statedCentury !== parsed.century) {
    return {
      ok: false,
      reason: 'INVALID_ID',
      problem: 'CENTURY_MISMATCH',
      detail: `The 4th digit of the personal ID number encodes a birth in ${parsed.century}-${parsed.century + 99}, but the date of birth is in ${statedCentury}-${statedCentury + 99}.`,
    };
  }
  if (statedYear !== parsed.birthYear) {
    return {
      ok: false,
      reason: 'INVALID_ID',
      problem: 'YEAR_MISMATCH',
      detail: 'Digits 5-6 of the personal ID number do not match the year of birth.',
    };
  }
  if (person.gender !== undefined && person.gender !== parsed.gender) {
    return {
      ok: false,
      reason: 'INVALID_ID',
      problem: 'GENDER_MISMATCH',
      detail: `The 4th digit of the personal ID number encodes gender ${parsed.gender}, but the stated gender is ${person.gender}.`,
    };
  }
  return { ok: true, birthRegistrationProvince: parsed.birthRegistrationProvince, gender: parsed.gender, birthYear: parsed.birthYear };
}

/**
 * The last three digits only (`*********345`), for the rare place a person needs
 * a hint of which number is meant. Anything that is not a well-formed number is
 * masked whole: its tail would hint at nothing useful.
 */
export function maskPersonalId(personalId: string): string {
  return isPersonalIdFormat(personalId) ? `*********${personalId.slice(9)}` : '************';
}
