import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldName, matchNames, normalizeName } from '../../../shared/domain/names.js';

/** "Nguyễn" typed with combining marks: e + U+0302 (circumflex) + U+0303 (tilde). */
const DECOMPOSED_NGUYEN = 'Nguye\u0302\u0303n';

/** Letters, Vietnamese letters in both forms, marks and odd spaces: what names are made of, and what breaks them. */
const nameCharacter = fc.constantFrom(
  ...'abcdeghiklmnopqrstuvxyABCDEGHIKLMNOPQRSTUVXY',
  ...'ăâđêôơưĂÂĐÊÔƠƯáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ',
  '\u0300', '\u0301', '\u0303', '\u0309', '\u0323', '\u0302', '\u0306', '\u031B',
  ' ', '  ', '\t', '\u00A0', '\u3000', '\u2009', '\n', '\u200B', 'Ð', 'ð',
);
const nameLike = fc.array(nameCharacter, { maxLength: 30 }).map((parts) => parts.join(''));

describe('normalizeName', () => {
  it('applies NFC, trims, collapses inner white space (tabs, NBSP, other Unicode spaces) and upper-cases', () => {
    // Prepare
    const messy = `\u00A0 ${DECOMPOSED_NGUYEN}\t\tThị\u3000\u2003Ánh \n`;

    // Act
    const normalized = normalizeName(messy);

    // Assess
    expect(normalized).toBe('NGUYỄN THỊ ÁNH');
    expect(normalized).toBe(normalized.normalize('NFC'));
  });

  it('drops zero-width characters left by copy and paste', () => {
    expect(normalizeName('Nguy\u200Bễn\u2060 Văn')).toBe('NGUYỄN VĂN');
  });

  it('is idempotent (property)', () => {
    fc.assert(fc.property(nameLike, (name) => {
      expect(normalizeName(normalizeName(name))).toBe(normalizeName(name));
    }));
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (name) => {
      expect(normalizeName(normalizeName(name))).toBe(normalizeName(name));
    }));
  });
});

describe('foldName', () => {
  it('removes diacritics and folds Đ/đ to D', () => {
    expect(foldName('Đặng Thị Ánh Đào')).toBe('DANG THI ANH DAO');
    expect(foldName('đỗ đức')).toBe('DO DUC');
    expect(foldName(DECOMPOSED_NGUYEN)).toBe('NGUYEN');
  });

  it('folds Ð/ð (U+00D0/U+00F0, left by Windows-1258 text read as Latin-1) to D as well', () => {
    expect(foldName('Ðặng ðức')).toBe('DANG DUC');
  });

  it('gives plain ASCII letters for Vietnamese names (property)', () => {
    fc.assert(fc.property(nameLike, (name) => {
      expect(foldName(name)).toMatch(/^[A-Z ]*$/);
    }));
  });

  it('is idempotent (property)', () => {
    fc.assert(fc.property(nameLike, (name) => {
      expect(foldName(foldName(name))).toBe(foldName(name));
    }));
  });
});

describe('matchNames', () => {
  it('is EXACT for a decomposed "Nguyễn" against the composed one', () => {
    // Prepare
    const composed = 'Nguyễn Thị Ánh';
    const decomposed = composed.normalize('NFD');

    // Act / Assess
    expect(decomposed).not.toBe(composed);
    expect(matchNames(decomposed, composed)).toBe('EXACT');
    expect(matchNames(`${DECOMPOSED_NGUYEN} Thị Ánh`, composed)).toBe('EXACT');
  });

  it('is EXACT across extra spaces, tabs, NBSP and mixed case', () => {
    expect(matchNames('  nguyễn   THỊ\tánh ', 'Nguyễn Thị Ánh')).toBe('EXACT');
    expect(matchNames('Nguyễn\u00A0Thị\u00A0Ánh', 'NGUYỄN THỊ ÁNH')).toBe('EXACT');
    expect(matchNames('nGuYễN tHị ÁnH', 'Nguyễn Thị Ánh')).toBe('EXACT');
  });

  it('is ASCII_FOLDED when the names differ only by diacritics', () => {
    expect(matchNames('NGUYEN THI ANH', 'Nguyễn Thị Ánh')).toBe('ASCII_FOLDED');
    expect(matchNames('Dang Van Duc', 'Đặng Văn Đức')).toBe('ASCII_FOLDED');
    expect(matchNames('đặng văn đức', 'ĐẶNG VĂN ĐỨC')).toBe('EXACT');
  });

  it('is ASCII_FOLDED when every word matches and some only because one side wrote it without any diacritics', () => {
    expect(matchNames('Nguyễn Thị Anh', 'Nguyễn Thị Ánh')).toBe('ASCII_FOLDED');
    expect(matchNames('Nguyen Thị Ánh', 'Nguyễn Thị Ánh')).toBe('ASCII_FOLDED');
    expect(matchNames('Nguyễn Thị Ánh', 'NGUYEN THI ANH')).toBe('ASCII_FOLDED');
  });

  it('is MISMATCH for two words that both carry diacritics but different ones: tone marks distinguish names (domain.md)', () => {
    // Found by the accepted-work fuzzer (test/e2e/fuzz-accepted.test.ts): these were ASCII_FOLDED, i.e. paid.
    expect(matchNames('Phạm Văn Bính', 'Phạm Văn Bình')).toBe('MISMATCH');
    expect(matchNames('Trần Văn Hưng', 'Trần Văn Hùng')).toBe('MISMATCH');
    expect(matchNames('Lê Văn Tâm', 'Lễ Văn Tâm')).toBe('MISMATCH');
    expect(matchNames('Đỗ Minh Tuần'.normalize('NFD'), 'Đỗ Minh Tuấn')).toBe('MISMATCH');
  });

  it('is MISMATCH for different names, a missing or extra word, and empty names', () => {
    expect(matchNames('Trần Văn Bình', 'Nguyễn Thị Ánh')).toBe('MISMATCH');
    expect(matchNames('Nguyễn Ánh', 'Nguyễn Thị Ánh')).toBe('MISMATCH');
    expect(matchNames('Nguyễn Thị Ánh Hồng', 'Nguyễn Thị Ánh')).toBe('MISMATCH');
    expect(matchNames('NguyễnThịÁnh', 'Nguyễn Thị Ánh')).toBe('MISMATCH');
    expect(matchNames('', '')).toBe('MISMATCH');
    expect(matchNames(' \u00A0 ', '')).toBe('MISMATCH');
  });

  it('is symmetric (property)', () => {
    fc.assert(
      fc.property(nameLike, nameLike, (a, b) => {
        expect(matchNames(a, b)).toBe(matchNames(b, a));
      }),
      { numRuns: 2_000 },
    );
  });

  it('matches every non-empty name EXACT with itself and its normal form, and at least ASCII_FOLDED with its folded form (property)', () => {
    fc.assert(
      fc.property(
        // A "name" of combining marks alone folds to nothing, and nothing matches an empty name.
        nameLike.filter((name) => foldName(name) !== ''),
        (name) => {
          expect(matchNames(name, name)).toBe('EXACT');
          expect(matchNames(name.normalize('NFD'), normalizeName(name))).toBe('EXACT');
          expect(['EXACT', 'ASCII_FOLDED']).toContain(matchNames(name, foldName(name)));
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
