import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { birthRegistrationProvinces } from '../../../shared/domain/catalogues.js';
import {
  checkPersonalId,
  decodeGenderCenturyDigit,
  encodeGenderCenturyDigit,
  maskPersonalId,
  parsePersonalId,
  type CheckPersonalIdResult,
} from '../../../shared/domain/personal-id.js';
import { makePersonalId } from '../../support/personal-ids.js';

/** The problem of a failed check (fails the test when the check passed). */
function problemOf(result: CheckPersonalIdResult) {
  if (result.ok) throw new Error('expected the check to fail');
  return result;
}

/** A failure's detail must not contain the number, nor any long run of its digits. */
function expectNoIdIn(text: string, personalId: string) {
  if (personalId !== '') expect(text).not.toContain(personalId);
  expect(text).not.toMatch(/[0-9]{6,}/);
  if (personalId.length >= 6) expect(text).not.toContain(personalId.slice(-6));
}

describe('personal ID: the number agrees with the person', () => {
  it('accepts a valid number for every one of the 63 prefixes and every gender/century digit 0-9', () => {
    // Prepare
    const digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    let checked = 0;

    for (const province of birthRegistrationProvinces) {
      for (const digit of digits) {
        const { gender, century } = decodeGenderCenturyDigit(digit);
        const birthYear = century + 85;
        const personalId = `${province.code}${digit}85${String(checked % 1_000_000).padStart(6, '0')}`;

        // Act
        const result = checkPersonalId(personalId, { dateOfBirth: `${birthYear}-03-14`, gender });

        // Assess
        expect(result).toEqual({ ok: true, birthRegistrationProvince: province, gender, birthYear });
        checked++;
      }
    }
    expect(checked).toBe(630);
  });

  it('decodes digit 4: even male, odd female; 0/1 1900s, 2/3 2000s, 4/5 2100s, 6/7 2200s, 8/9 2300s', () => {
    // Prepare
    const expected = [
      ['M', 1900], ['F', 1900], ['M', 2000], ['F', 2000], ['M', 2100],
      ['F', 2100], ['M', 2200], ['F', 2200], ['M', 2300], ['F', 2300],
    ] as const;

    // Act
    const decoded = expected.map((_, digit) => decodeGenderCenturyDigit(digit));

    // Assess
    expect(decoded).toEqual(expected.map(([gender, century]) => ({ gender, century })));
    expect(() => decodeGenderCenturyDigit(10)).toThrow(RangeError);
    expect(() => encodeGenderCenturyDigit('M', 1899)).toThrow(RangeError);
    expect(() => encodeGenderCenturyDigit('F', 2400)).toThrow(RangeError);
  });

  it('reads the example of domain.md: 079 1 85 012345 is a woman born in 1985, registered in Ho Chi Minh City', () => {
    // Act
    const parsed = parsePersonalId('079185012345');

    // Assess
    expect(parsed).toMatchObject({ ok: true, gender: 'F', century: 1900, birthYear: 1985 });
    expect(parsed.ok && parsed.birthRegistrationProvince.nameEn).toBe('Ho Chi Minh City');
  });

  it('accepts a number without a stated gender', () => {
    expect(checkPersonalId('079185012345', { dateOfBirth: '1985-01-01' })).toMatchObject({ ok: true, gender: 'F' });
  });

  it('rejects a wrong century (CENTURY_MISMATCH), whatever the two year digits say', () => {
    // Prepare: digit 1 = a woman born in the 1900s
    const personalId = '079185012345';

    // Act
    const inThe2000s = checkPersonalId(personalId, { dateOfBirth: '2085-01-01', gender: 'F' });
    const inThe1800s = checkPersonalId(personalId, { dateOfBirth: '1885-01-01', gender: 'F' });

    // Assess
    expect(problemOf(inThe2000s)).toMatchObject({ reason: 'INVALID_ID', problem: 'CENTURY_MISMATCH' });
    expect(problemOf(inThe1800s).problem).toBe('CENTURY_MISMATCH');
    expectNoIdIn(problemOf(inThe2000s).detail, personalId);
  });

  it('rejects a wrong year within the right century (YEAR_MISMATCH)', () => {
    // Act
    const result = checkPersonalId('079185012345', { dateOfBirth: '1986-01-01', gender: 'F' });

    // Assess
    expect(problemOf(result)).toMatchObject({ reason: 'INVALID_ID', problem: 'YEAR_MISMATCH' });
    expectNoIdIn(problemOf(result).detail, '079185012345');
  });

  it('rejects a wrong gender when one is stated (GENDER_MISMATCH)', () => {
    // Prepare
    const man = makePersonalId({ prefix: '001', gender: 'M', birthYear: 2003 });

    // Act
    const result = checkPersonalId(man, { dateOfBirth: '2003-05-06', gender: 'F' });

    // Assess
    expect(problemOf(result)).toMatchObject({ reason: 'INVALID_ID', problem: 'GENDER_MISMATCH' });
    expectNoIdIn(problemOf(result).detail, man);
  });

  it.each(['003', '100', '000', '007', '099', '999'])('rejects the unknown prefix %s (UNKNOWN_PROVINCE_PREFIX)', (prefix) => {
    // Prepare
    const personalId = `${prefix}185012345`;

    // Act
    const result = checkPersonalId(personalId, { dateOfBirth: '1985-01-01' });

    // Assess
    expect(problemOf(result)).toMatchObject({ reason: 'INVALID_ID', problem: 'UNKNOWN_PROVINCE_PREFIX' });
    expectNoIdIn(problemOf(result).detail, personalId);
  });

  it.each([
    ['Arabic-Indic digits', '٠٧٩١٨٥٠١٢٣٤٥'],
    ['Extended Arabic-Indic digits', '۰۷۹۱۸۵۰۱۲۳۴۵'],
    ['full-width digits', '０７９１８５０１２３４５'],
    ['Devanagari digits', '०७९१८५०१२३४५'],
    ['11 digits', '07918501234'],
    ['13 digits', '0791850123456'],
    ['a leading space', ' 079185012345'],
    ['a trailing space', '079185012345 '],
    ['a trailing newline', '079185012345\n'],
    ['a letter', '07918501234X'],
    ['a dash', '079-185012345'],
    ['an empty string', ''],
  ])('rejects %s (NOT_12_DIGITS)', (_label, personalId) => {
    // Act
    const result = checkPersonalId(personalId, { dateOfBirth: '1985-01-01' });

    // Assess
    expect(problemOf(result)).toMatchObject({ reason: 'INVALID_ID', problem: 'NOT_12_DIGITS' });
    expectNoIdIn(problemOf(result).detail, personalId.trim());
  });

  it('reports an impossible date of birth instead of guessing (INVALID_BIRTH_DATE)', () => {
    expect(problemOf(checkPersonalId('079185012345', { dateOfBirth: '1985-02-30' })).problem).toBe('INVALID_BIRTH_DATE');
    expect(problemOf(checkPersonalId('079185012345', { dateOfBirth: '85-01-01' })).problem).toBe('INVALID_BIRTH_DATE');
  });

  it('passes any generated valid number (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...birthRegistrationProvinces),
        fc.constantFrom<'M' | 'F'>('M', 'F'),
        fc.integer({ min: 1900, max: 2399 }),
        fc.integer({ min: 0, max: 999_999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 28 }),
        (province, gender, birthYear, serial, month, day) => {
          const personalId = makePersonalId({ prefix: province.code, gender, birthYear, serial });
          const dateOfBirth = `${birthYear}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;

          const result = checkPersonalId(personalId, { dateOfBirth, gender });

          expect(result).toEqual({ ok: true, birthRegistrationProvince: province, gender, birthYear });
        },
      ),
    );
  });

  it('never puts the number into a failure detail (property)', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{12}$/),
        fc.integer({ min: 1850, max: 2450 }),
        fc.constantFrom<'M' | 'F' | undefined>('M', 'F', undefined),
        (personalId, year, gender) => {
          const result = checkPersonalId(personalId, { dateOfBirth: `${year}-06-15`, gender });
          if (!result.ok) expectNoIdIn(result.detail, personalId);
        },
      ),
    );
  });
});

describe('maskPersonalId', () => {
  it('shows the last three digits only', () => {
    expect(maskPersonalId('079185012345')).toBe('*********345');
  });

  it('masks anything that is not a well-formed number whole', () => {
    expect(maskPersonalId('07918501234')).toBe('************');
    expect(maskPersonalId('٠٧٩١٨٥٠١٢٣٤٥')).toBe('************');
  });
});
