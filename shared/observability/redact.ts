/**
 * Personal data never reaches a log line, whatever a caller passes: the logger
 * serialises every record through this replacer. Fields known to hold personal
 * data are dropped whole; any run of exactly twelve digits (the shape of a
 * personal ID number) left in any string is masked.
 */

const personalFields = new Set([
  'personalId',
  'pid',
  'fullName',
  'accountName',
  'accountNumber',
  'dateOfBirth',
  'dateOfDeath',
  'authorization',
  'Authorization',
]);

const TWELVE_DIGITS = /(?<!\d)\d{12}(?!\d)/g;

export function redactString(value: string): string {
  return value.replace(TWELVE_DIGITS, '[REDACTED-ID]');
}

export function redactingReplacer(key: string, value: unknown): unknown {
  if (personalFields.has(key)) return '[REDACTED]';
  if (typeof value === 'string') return redactString(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}
