/**
 * Personal data never reaches a log line, whatever a caller passes: the logger
 * serialises every record through this replacer. Fields known to hold personal
 * data are dropped whole; any run of twelve digits or more left in any string
 * is masked: the shape of a personal ID number, and of one typed with a digit too
 * many or run into other digits (account numbers go with them; a long number in
 * a log message is a small loss next to an ID).
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

const TWELVE_OR_MORE_DIGITS = /\d{12,}/g;

export function redactString(value: string): string {
  return value.replace(TWELVE_OR_MORE_DIGITS, '[REDACTED-ID]');
}

export function redactingReplacer(key: string, value: unknown): unknown {
  if (personalFields.has(key)) return '[REDACTED]';
  if (typeof value === 'string') return redactString(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}
