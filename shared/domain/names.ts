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
 * EXACT when equal after normalisation. Otherwise word by word (same number of
 * words, same order): a word matches when it is equal, or when one side wrote
 * it with no diacritics at all and it equals the other side's word folded;
 * every word matching, some only by folding, is ASCII_FOLDED (the province gets
 * to see that). Anything else is MISMATCH: two words that both carry
 * diacritics, but different ones, are different names ("Bình" and "Bính",
 * "Hùng" and "Hưng"), however alike they fold. An empty name matches nothing.
 */
export function matchNames(submitted: string, reference: string): NameMatch {
  const a = normalizeName(submitted);
  const b = normalizeName(reference);
  if (a === '' || b === '') return 'MISMATCH';
  if (a === b) return 'EXACT';
  // A "word" of combining marks alone (a stray accent typed between spaces) holds no letter: not a word.
  const words = (name: string) => name.split(' ').filter((word) => foldName(word) !== '');
  const left = words(a);
  const right = words(b);
  if (left.length === 0 || left.length !== right.length) return 'MISMATCH';
  const wordsMatch = left.every((word, index) => {
    const other = right[index] ?? '';
    if (word === other) return true;
    const folded = foldName(word);
    const otherFolded = foldName(other);
    // One side without any diacritics (it is its own folding), equal to the other side folded.
    return (word === folded && word === otherFolded) || (other === otherFolded && other === folded);
  });
  return wordsMatch ? 'ASCII_FOLDED' : 'MISMATCH';
}
