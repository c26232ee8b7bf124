/**
 * Comparing Vietnamese names across systems that disagree about diacritics,
 * composition and spacing (domain.md, "Names"). The same rule decides payment
 * verification and account-holder matching.
 */

export type NameMatch = 'EXACT' | 'ASCII_FOLDED' | 'MISMATCH';

/** Every Unicode space separator, tab, line break, NBSP (U+00A0), U+3000, U+FEFF...: `\s` with `u` covers them. */
const WHITE_SPACE = /\s+/gu;
/** Invisible characters that editors and copy-paste leave inside names; never meaningful in one. */
const INVISIBLE = /[\u200B-\u200D\u2060\u00AD]/gu;
const COMBINING_MARKS = /\p{M}/gu;
/**
 * Đ/đ have no decomposition, so NFD keeps them: fold them by hand. Ð/ð (U+00D0/
 * U+00F0, Icelandic eth) look the same and appear when Windows-1258 text was
 * decoded as Latin-1, so they fold to D as well.
 */
const D_WITH_STROKE = /[\u0110\u0111\u00D0\u00F0]/gu;

/** NFC, invisible characters removed, white space collapsed and trimmed, upper-case. */
export function normalizeName(name: string): string {
  return name
    .normalize('NFC')
    .replace(INVISIBLE, '')
    .replace(WHITE_SPACE, ' ')
    .trim()
    .toUpperCase()
    .normalize('NFC');
}

/** The name without diacritics: NFD, combining marks dropped, Đ/đ to D, then normalised. */
export function foldName(name: string): string {
  return normalizeName(name.normalize('NFD').replace(COMBINING_MARKS, '').replace(D_WITH_STROKE, 'D'));
}

/**
 * EXACT when equal after normalisation, ASCII_FOLDED when equal only once
 * diacritics are folded (the province gets to see that), MISMATCH otherwise.
 * An empty name matches nothing.
 */
export function matchNames(submitted: string, reference: string): NameMatch {
  const a = normalizeName(submitted);
  const b = normalizeName(reference);
  if (a === '' || b === '') return 'MISMATCH';
  if (a === b) return 'EXACT';
  return foldName(a) === foldName(b) ? 'ASCII_FOLDED' : 'MISMATCH';
}
