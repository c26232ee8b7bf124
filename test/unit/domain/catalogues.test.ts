import { describe, expect, it } from 'vitest';
import {
  birthRegistrationProvinceCatalogue,
  birthRegistrationProvinces,
  findBirthRegistrationProvince,
  findProgram,
  findProvider,
  findProvince,
  isProgramCode,
  isProvinceCode,
  programCatalogue,
  programs,
  provinceCatalogue,
  provinceCodes,
  provinces,
  providerCatalogue,
  providers,
} from '../../../shared/domain/catalogues.js';

/** Copied from domain.md, "Birth-registration province prefixes". */
const DOMAIN_PREFIXES = `001 Ha Noi · 002 Ha Giang · 004 Cao Bang · 006 Bac Kan · 008 Tuyen Quang · 010 Lao Cai ·
011 Dien Bien · 012 Lai Chau · 014 Son La · 015 Yen Bai · 017 Hoa Binh · 019 Thai Nguyen ·
020 Lang Son · 022 Quang Ninh · 024 Bac Giang · 025 Phu Tho · 026 Vinh Phuc · 027 Bac Ninh ·
030 Hai Duong · 031 Hai Phong · 033 Hung Yen · 034 Thai Binh · 035 Ha Nam · 036 Nam Dinh ·
037 Ninh Binh · 038 Thanh Hoa · 040 Nghe An · 042 Ha Tinh · 044 Quang Binh · 045 Quang Tri ·
046 Thua Thien Hue · 048 Da Nang · 049 Quang Nam · 051 Quang Ngai · 052 Binh Dinh · 054 Phu Yen ·
056 Khanh Hoa · 058 Ninh Thuan · 060 Binh Thuan · 062 Kon Tum · 064 Gia Lai · 066 Dak Lak ·
067 Dak Nong · 068 Lam Dong · 070 Binh Phuoc · 072 Tay Ninh · 074 Binh Duong · 075 Dong Nai ·
077 Ba Ria - Vung Tau · 079 Ho Chi Minh City · 080 Long An · 082 Tien Giang · 083 Ben Tre ·
084 Tra Vinh · 086 Vinh Long · 087 Dong Thap · 089 An Giang · 091 Kien Giang · 092 Can Tho ·
093 Hau Giang · 094 Soc Trang · 095 Bac Lieu · 096 Ca Mau`;

/** Copied from domain.md, "Provinces that submit batches". */
const DOMAIN_PROVINCES = `01 Ha Noi · 04 Cao Bang · 08 Tuyen Quang · 11 Dien Bien · 12 Lai Chau · 14 Son La · 15 Lao Cai ·
19 Thai Nguyen · 20 Lang Son · 22 Quang Ninh · 24 Bac Ninh · 25 Phu Tho · 31 Hai Phong ·
33 Hung Yen · 37 Ninh Binh · 38 Thanh Hoa · 40 Nghe An · 42 Ha Tinh · 44 Quang Tri · 46 Hue ·
48 Da Nang · 51 Quang Ngai · 52 Gia Lai · 56 Khanh Hoa · 66 Dak Lak · 68 Lam Dong · 75 Dong Nai ·
79 Ho Chi Minh City · 80 Tay Ninh · 82 Dong Thap · 86 Vinh Long · 91 An Giang · 92 Can Tho · 96 Ca Mau`;

function parseList(text: string): [string, string][] {
  return text
    .split('·')
    .map((entry) => entry.trim())
    .map((entry) => [entry.slice(0, entry.indexOf(' ')), entry.slice(entry.indexOf(' ') + 1)]);
}

/** Vietnamese without diacritics, to compare nameVi with the ASCII names of domain.md. */
const ascii = (text: string) => text.normalize('NFD').replace(/\p{M}/gu, '').replace(/[Đđ]/g, 'D');

describe('birth-registration provinces', () => {
  it('holds exactly the 63 prefixes and names of domain.md', () => {
    // Prepare
    const expected = parseList(DOMAIN_PREFIXES);

    // Act
    const actual = birthRegistrationProvinces.map((province) => [province.code, province.nameEn]);

    // Assess
    expect(expected).toHaveLength(63);
    expect(actual).toEqual(expected);
  });

  it('names its source, Circular 07/2016/TT-BCA kept by Circular 59/2021/TT-BCA', () => {
    expect(birthRegistrationProvinceCatalogue.source).toContain('07/2016/TT-BCA');
    expect(birthRegistrationProvinceCatalogue.source).toContain('59/2021/TT-BCA');
  });

  it('gives each a Vietnamese name with diacritics, in NFC, that folds to the English one', () => {
    for (const province of birthRegistrationProvinces) {
      expect(province.nameVi).toBe(province.nameVi.normalize('NFC'));
      expect(ascii(province.nameVi).replace(/^Thanh pho /, '')).toBe(province.nameEn.replace(/ City$/, ''));
    }
  });

  it('finds a prefix', () => {
    expect(findBirthRegistrationProvince('079')?.nameVi).toBe('Thành phố Hồ Chí Minh');
    expect(findBirthRegistrationProvince('003')).toBeUndefined();
  });
});

describe('provinces (2025)', () => {
  it('holds exactly the 34 codes and names of domain.md', () => {
    // Prepare
    const expected = parseList(DOMAIN_PROVINCES);

    // Act
    const actual = provinces.map((province) => [province.code, province.nameEn]);

    // Assess
    expect(expected).toHaveLength(34);
    expect(actual).toEqual(expected);
    expect([...provinceCodes]).toEqual(expected.map(([code]) => code));
  });

  it('names its source and says it is the one place to correct the list', () => {
    expect(provinceCatalogue.source).toContain('202/2025/QH15');
    expect(provinceCatalogue.source).toContain('19/2025/QD-TTg');
    expect(provinceCatalogue.source).toContain('2025-07-01');
    expect(provinceCatalogue.note).toMatch(/one place to correct/);
  });

  it('gives each a Vietnamese name that folds to the English one, and marks the six centrally-run cities', () => {
    for (const province of provinces) {
      expect(ascii(province.nameVi).replace(/^Thanh pho /, '')).toBe(province.nameEn.replace(/ City$/, ''));
    }
    expect(provinces.filter((province) => province.kind === 'city').map((province) => province.code)).toEqual(['01', '31', '46', '48', '79', '92']);
  });

  it('recognises provincial codes and nothing else', () => {
    expect(isProvinceCode('79')).toBe(true);
    expect(isProvinceCode('02')).toBe(false);
    expect(isProvinceCode('079')).toBe(false);
    expect(isProvinceCode(79)).toBe(false);
    expect(findProvince('46')?.nameVi).toBe('Huế');
  });
});

describe('programs', () => {
  it('ships the three sandbox programs with their legal basis and a limit that covers the standard level', () => {
    expect(programs.map((program) => program.code)).toEqual(['SOCIAL_ALLOWANCE', 'MERITORIOUS_SERVICE', 'TET_GIFT', 'FUNERAL_ALLOWANCE']);
    expect(findProgram('SOCIAL_ALLOWANCE')).toMatchObject({ maxAmount: 3_000_000, standardLevel: 500_000 });
    expect(findProgram('SOCIAL_ALLOWANCE')?.legalBasis).toMatch(/20\/2021\/ND-CP[\s\S]*76\/2024\/ND-CP/);
    expect(findProgram('MERITORIOUS_SERVICE')).toMatchObject({ maxAmount: 15_000_000, standardLevel: 2_789_000 });
    expect(findProgram('MERITORIOUS_SERVICE')?.legalBasis).toContain('77/2024/ND-CP');
    expect(findProgram('TET_GIFT')?.maxAmount).toBe(2_000_000);
    expect(programCatalogue.source.length).toBeGreaterThan(0);
  });

  it('gives every program names in both languages, an integer limit and the reason for it', () => {
    for (const program of programs) {
      expect(program.nameVi).toMatch(/\P{ASCII}/u);
      expect(program.nameEn).toMatch(/^[\x20-\x7E]+$/);
      expect(Number.isSafeInteger(program.maxAmount)).toBe(true);
      expect(program.maxAmountRationale.length).toBeGreaterThan(20);
    }
    expect(isProgramCode('TET_GIFT')).toBe(true);
    expect(isProgramCode('UNKNOWN')).toBe(false);
    expect(findProgram('UNKNOWN')).toBeUndefined();
  });

  it('is read-only', () => {
    expect(Object.isFrozen(programs)).toBe(true);
    expect(Object.isFrozen(programs[0])).toBe(true);
  });
});

describe('providers', () => {
  it('has the big banks by BIN and the mobile-money operators', () => {
    const banks = ['970405', '970415', '970418', '970436', '970422', '970407'];
    for (const code of banks) expect(findProvider('BANK', code)?.type).toBe('BANK');
    expect(findProvider('BANK', '970405')?.name).toBe('Agribank');
    for (const code of ['VIETTELMONEY', 'MOBIFONEPAY', 'VNPTMONEY']) expect(findProvider('EWALLET', code)?.type).toBe('EWALLET');
    expect(providerCatalogue.source).toMatch(/BIN/);
  });

  it('looks a provider up by type and code together', () => {
    expect(findProvider('EWALLET', '970405')).toBeUndefined();
    expect(findProvider('BANK', 'VIETTELMONEY')).toBeUndefined();
  });

  it('gives banks six-digit codes and operators upper-case ones, each once', () => {
    for (const provider of providers) {
      expect(provider.code).toMatch(provider.type === 'BANK' ? /^[0-9]{6}$/ : /^[A-Z][A-Z0-9]+$/);
    }
    expect(new Set(providers.map((provider) => `${provider.type}:${provider.code}`)).size).toBe(providers.length);
  });
});
