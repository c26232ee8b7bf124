import { birthRegistrationProvinces, isBirthRegistrationPrefix } from '../shared/domain/catalogues.js';
import { daysInMonth } from '../shared/domain/dates.js';
import { encodeGenderCenturyDigit, type Gender } from '../shared/domain/personal-id.js';
import type { PaymentItem } from '../shared/domain/schemas.js';

/**
 * Deterministic synthetic payments for tests, demos and benchmarks: the same
 * options give the same payments on every machine. Made-up people, but shaped
 * like a province's real monthly social-allowance run:
 * - personal ID numbers that pass the offline check (domain.md): a real
 *   birth-registration prefix (mostly the submitting province's own), the
 *   gender/century digit and the two-digit year agreeing with the date of birth,
 *   six random digits; unique within one call;
 * - Vietnamese names with diacritics (family, middle and given name by gender);
 * - mostly elderly beneficiaries, some adults with disabilities, some children;
 * - amounts that are the standard social assistance level (500,000 VND) times a
 *   coefficient, 500,000 to 3,000,000 VND;
 * - unique paymentRefs.
 * These people are not in the sandbox population registry: post them with
 * `citizensOf()` to POST /local/population for payments that verify.
 */

export interface SyntheticOptions {
  count: number;
  /** Same seed, same payments (default 1). */
  seed?: number;
  /** Two-digit province code: most people were registered at birth there (default 79). */
  provinceCode?: string;
  /** paymentRef prefix (default `SA<province>-<seed>`). */
  refPrefix?: string;
}

export interface SyntheticPayment extends PaymentItem {
  gender: Gender;
}

/** mulberry32: a small, fast, well-distributed 32-bit PRNG; returns [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FAMILY_NAMES: readonly (readonly [string, number])[] = [
  ['Nguyễn', 38],
  ['Trần', 11],
  ['Lê', 9.5],
  ['Phạm', 7],
  ['Hoàng', 5],
  ['Huỳnh', 4],
  ['Phan', 4],
  ['Vũ', 4],
  ['Võ', 3.5],
  ['Đặng', 2],
  ['Bùi', 2],
  ['Đỗ', 1.5],
  ['Hồ', 1.5],
  ['Ngô', 1.5],
  ['Dương', 1],
  ['Lý', 0.5],
  ['Trương', 1],
  ['Đinh', 1],
];
const MIDDLE_NAMES: Record<Gender, readonly string[]> = {
  M: ['Văn', 'Văn', 'Văn', 'Hữu', 'Đức', 'Minh', 'Quốc', 'Công', 'Thanh', 'Xuân', 'Đình', 'Ngọc'],
  F: ['Thị', 'Thị', 'Thị', 'Thị', 'Ngọc', 'Thu', 'Kim', 'Thanh', 'Mỹ', 'Hồng', 'Bích', 'Diệu'],
};
const GIVEN_NAMES: Record<Gender, readonly string[]> = {
  M: ['An', 'Bình', 'Cường', 'Dũng', 'Đạt', 'Hải', 'Hùng', 'Khánh', 'Long', 'Nam', 'Phúc', 'Quang', 'Sơn', 'Thắng', 'Tuấn', 'Việt', 'Lộc', 'Hiếu', 'Trọng', 'Tâm', 'Thành', 'Hòa', 'Đông', 'Toàn'],
  F: ['Anh', 'Ánh', 'Bích', 'Châu', 'Dung', 'Hà', 'Hằng', 'Hoa', 'Hương', 'Lan', 'Liên', 'Linh', 'Mai', 'Nga', 'Ngân', 'Nhung', 'Phượng', 'Thảo', 'Trang', 'Tuyết', 'Yến', 'Xuân', 'Loan', 'Huệ'],
};
/** Coefficients of the standard level (500,000 VND) under Decree 20/2021/ND-CP, weighted: most people get 1 to 2.5. */
const COEFFICIENTS: readonly (readonly [number, number])[] = [
  [1, 30],
  [1.5, 25],
  [2, 15],
  [2.5, 12],
  [3, 8],
  [4, 5],
  [5, 3],
  [6, 2],
];
const STANDARD_LEVEL = 500_000;

function weighted<T>(random: () => number, table: readonly (readonly [T, number])[]): T {
  const total = table.reduce((sum, [, weight]) => sum + weight, 0);
  let left = random() * total;
  let chosen = table[0];
  for (const entry of table) {
    chosen = entry;
    left -= entry[1];
    if (left < 0) break;
  }
  if (chosen === undefined) throw new RangeError('An empty table.');
  return chosen[0];
}

function pick<T>(random: () => number, values: readonly T[]): T {
  const value = values[Math.floor(random() * values.length)];
  if (value === undefined) throw new RangeError('Nothing to pick from.');
  return value;
}
const between = (random: () => number, min: number, max: number) => min + Math.floor(random() * (max - min + 1));

function birthYear(random: () => number): number {
  const group = random();
  if (group < 0.65) return between(random, 1926, 1966); // elderly (80+ or poor elderly 60+)
  if (group < 0.85) return between(random, 1967, 2007); // adults with disabilities, single parents
  return between(random, 2008, 2024); // orphans and children with disabilities
}

/** `count` payments, the same for the same options. */
export function syntheticPayments(options: SyntheticOptions): SyntheticPayment[] {
  const { count } = options;
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError('count is a non-negative whole number.');
  const seed = options.seed ?? 1;
  const provinceCode = options.provinceCode ?? '79';
  const refPrefix = options.refPrefix ?? `SA${provinceCode}-${seed}`;
  const random = mulberry32(seed);
  const ownPrefix = `0${provinceCode}`;
  const hasOwnPrefix = isBirthRegistrationPrefix(ownPrefix);
  const prefixes = birthRegistrationProvinces.map((province) => province.code);
  const width = Math.max(6, String(count).length);
  const usedIds = new Set<string>();
  const payments: SyntheticPayment[] = [];

  for (let index = 0; index < count; index++) {
    const gender: Gender = random() < 0.56 ? 'F' : 'M'; // more elderly women than men
    const year = birthYear(random);
    const month = between(random, 1, 12);
    const day = between(random, 1, daysInMonth(year, month));
    const dateOfBirth = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
    const genderCentury = encodeGenderCenturyDigit(gender, year);
    let personalId: string;
    do {
      const prefix = hasOwnPrefix && random() < 0.7 ? ownPrefix : pick(random, prefixes);
      const serial = String(Math.floor(random() * 1_000_000)).padStart(6, '0');
      personalId = `${prefix}${genderCentury}${String(year % 100).padStart(2, '0')}${serial}`;
    } while (usedIds.has(personalId));
    usedIds.add(personalId);

    const family = weighted(random, FAMILY_NAMES);
    const middle = pick(random, MIDDLE_NAMES[gender]);
    const given = pick(random, GIVEN_NAMES[gender]);
    // One in five has a second given name ("Nguyễn Thị Thu Hà").
    const fullName = random() < 0.2 ? `${family} ${middle} ${pick(random, GIVEN_NAMES[gender])} ${given}` : `${family} ${middle} ${given}`;
    const amount = Math.round(STANDARD_LEVEL * weighted(random, COEFFICIENTS));

    payments.push({
      paymentRef: `${refPrefix}-${String(index + 1).padStart(width, '0')}`,
      personalId,
      fullName,
      dateOfBirth,
      gender,
      amount,
    });
  }
  return payments;
}

/**
 * The people of some payments, as POST /local/population wants them; with
 * `provinceCode`, living in that province (so that its system may link their
 * accounts before any payment of theirs is stored: domain.md, accounts).
 */
export function citizensOf(
  payments: readonly SyntheticPayment[],
  provinceCode?: string,
): { personalId: string; fullName: string; dateOfBirth: string; gender: Gender; provinceCode?: string }[] {
  return payments.map(({ personalId, fullName, dateOfBirth, gender }) => ({ personalId, fullName, dateOfBirth, gender, ...(provinceCode ? { provinceCode } : {}) }));
}
