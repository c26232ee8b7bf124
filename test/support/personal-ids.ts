import { encodeGenderCenturyDigit, type Gender } from '../../shared/domain/personal-id.js';

/**
 * A personal ID number consistent with a person: birth-registration prefix,
 * gender/century digit, two digits of the birth year, six "random" digits.
 * Test data only: the numbers are made up.
 */
export function makePersonalId(options: { prefix?: string; gender: Gender; birthYear: number; serial?: number }): string {
  const prefix = options.prefix ?? '079';
  const digit = encodeGenderCenturyDigit(options.gender, options.birthYear);
  const yy = String(options.birthYear % 100).padStart(2, '0');
  const serial = String(options.serial ?? 12345).padStart(6, '0');
  return `${prefix}${digit}${yy}${serial}`;
}
