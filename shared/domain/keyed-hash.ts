import { createHmac } from 'node:crypto';

/**
 * Personal ID numbers never appear in a key, an index or a message: they are
 * replaced by HMAC-SHA256 under a secret pepper. Twelve digits with a known
 * structure are easy to enumerate, so a plain hash would not protect them; the
 * pepper lives in Secrets Manager when deployed (a development value locally).
 * The result is base32 (Crockford, lower-case): safe in keys, URLs and logs.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

function base32(bytes: Buffer): string {
  let output = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      output += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) output += ALPHABET[(buffer << (5 - bits)) & 31];
  return output;
}

/** The number a run of digest characters stands for (base32, most significant first). */
export function digestValue(digest: string): number {
  let value = 0;
  for (const character of digest) value = value * 32 + ALPHABET.indexOf(character);
  return value;
}

export type KeyedHash = (purpose: string, value: string) => string;

/**
 * A keyed hash bound to one pepper. `purpose` separates domains (a person's hash
 * and a payment reference's hash of the same text differ).
 */
export function keyedHasher(pepper: string): KeyedHash {
  if (pepper.length < 16) throw new Error('The hashing pepper must be at least 16 characters.');
  return (purpose, value) => base32(createHmac('sha256', pepper).update(`${purpose}\u0000${value}`).digest());
}
