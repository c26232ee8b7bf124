import { birthRegistrationProvinces, isProvinceCode, provinceCodes } from '../../domain/catalogues.js';
import { daysInMonth } from '../../domain/dates.js';
import { encodeGenderCenturyDigit, type Gender } from '../../domain/personal-id.js';
import type { Citizen } from '../../ports/population-registry.js';

/**
 * Made-up people for the sandbox population register (local server, sandbox
 * stage, tests, demos). Nobody here is real, and nothing here reads the clock:
 * the same options give the same people on every machine.
 *
 * Two parts:
 * - `sandboxPeople`: a short fixed list of named people with documented IDs,
 *   for the README walk-through, docs and demos (each shows one rule);
 * - `syntheticPopulation({ size, seed })`: many generated people, shaped like
 *   the register (births 1930-2019, about 3% deceased, Vietnamese names with
 *   diacritics), with valid structured ID numbers.
 *
 * Digits 7-12 of an ID are random. Here they are drawn from reserved ranges so
 * that the seeded register never collides with anything else:
 * - `sandboxPeople` use 000001-000099;
 * - `syntheticPopulation` uses 900000-999999;
 * - tests and the benchmark make up their own people with other tails and add
 *   them through POST /local/population (an ID they expect to be unknown stays
 *   unknown).
 */

/** One of the fixed sandbox people, with what it demonstrates. */
export interface SandboxPerson extends Citizen {
  /** What a demo of this person shows (not stored in the register). */
  readonly demonstrates: string;
}

/**
 * The named sandbox people. Their IDs are stable: docs and the README use them.
 *
 * | personalId   | name               | born       | sex | died       | birth registered     | lives in (provinceCode) |
 * |--------------|--------------------|------------|-----|------------|----------------------|-------------------------|
 * | 079185000001 | Nguyễn Thị Ánh     | 1985-03-02 | F   |            | 079 Ho Chi Minh City | 79 Ho Chi Minh City |
 * | 001048000002 | Trần Văn Bình      | 1948-01-20 | M   | 2025-06-01 | 001 Ha Noi           | 01 Ha Noi |
 * | 048060000003 | Đặng Văn Đức       | 1960-12-31 | M   |            | 048 Da Nang          | 48 Da Nang |
 * | 040132000004 | Phạm Thị Hạnh      | 1932-11-15 | F   |            | 040 Nghe An          | 40 Nghe An |
 * | 092212000005 | Hoàng Minh Khánh   | 2012-09-05 | M   |            | 092 Can Tho          | 92 Can Tho |
 * | 056308000006 | Võ Ngọc Yến        | 2008-04-30 | F   |            | 056 Khanh Hoa        | 56 Khanh Hoa |
 * | 079041000007 | Huỳnh Văn Lộc      | 1941-02-10 | M   | 2026-03-15 | 079 Ho Chi Minh City | 79 Ho Chi Minh City |
 * | 031195000008 | Dương Thị Mỹ Uyên  | 1995-07-07 | F   |            | 031 Hai Phong        | 79 Ho Chi Minh City (moved) |
 *
 * "Lives in" is the permanent residence the register gives (`provinceCode`):
 * the province that cares for the person, and may act on their account with
 * their consent (domain.md, "Social security accounts").
 */
const namedPeople: readonly SandboxPerson[] = [
  {
    personalId: '079185000001',
    fullName: 'Nguyễn Thị Ánh',
    dateOfBirth: '1985-03-02',
    gender: 'F',
    dateOfDeath: null,
    provinceCode: '79',
    demonstrates:
      'A living woman born in 1985 in Ho Chi Minh City (079 1 85 ...: the structure of domain.md). Her name matches exactly; "NGUYEN THI ANH" matches as ASCII_FOLDED.',
  },
  {
    personalId: '001048000002',
    fullName: 'Trần Văn Bình',
    dateOfBirth: '1948-01-20',
    gender: 'M',
    dateOfDeath: '2025-06-01',
    provinceCode: '01',
    demonstrates:
      'A deceased man (died 2025-06-01): payments for 2025-07 or later are REJECTED DECEASED (2025-06 still passes: he died on, not before, its first day); linking an account is refused DECEASED.',
  },
  {
    personalId: '048060000003',
    fullName: 'Đặng Văn Đức',
    dateOfBirth: '1960-12-31',
    gender: 'M',
    dateOfDeath: null,
    provinceCode: '48',
    demonstrates: 'Đ/đ folding: "DANG VAN DUC" matches as ASCII_FOLDED (Đ folds to D); born on the last day of a year.',
  },
  {
    personalId: '040132000004',
    fullName: 'Phạm Thị Hạnh',
    dateOfBirth: '1932-11-15',
    gender: 'F',
    dateOfDeath: null,
    provinceCode: '40',
    demonstrates: 'A very old beneficiary (born in the 1930s, gender/century digit 1).',
  },
  {
    personalId: '092212000005',
    fullName: 'Hoàng Minh Khánh',
    dateOfBirth: '2012-09-05',
    gender: 'M',
    dateOfDeath: null,
    provinceCode: '92',
    demonstrates: 'A boy born in the 21st century: gender/century digit 2 (male, 2000-2099).',
  },
  {
    personalId: '056308000006',
    fullName: 'Võ Ngọc Yến',
    dateOfBirth: '2008-04-30',
    gender: 'F',
    dateOfDeath: null,
    provinceCode: '56',
    demonstrates: 'A girl born in the 21st century: gender/century digit 3 (female, 2000-2099); year digits "08" keep their leading zero.',
  },
  {
    personalId: '079041000007',
    fullName: 'Huỳnh Văn Lộc',
    dateOfBirth: '1941-02-10',
    gender: 'M',
    dateOfDeath: '2026-03-15',
    provinceCode: '79',
    demonstrates: 'The DECEASED boundary: died 2026-03-15, so a 2026-03 payment verifies and a 2026-04 payment is REJECTED DECEASED.',
  },
  {
    personalId: '031195000008',
    fullName: 'Dương Thị Mỹ Uyên',
    dateOfBirth: '1995-07-07',
    gender: 'F',
    dateOfDeath: null,
    provinceCode: '79',
    demonstrates: 'A four-word name (two middle names) for account linking: "DUONG THI MY UYEN" matches as ASCII_FOLDED, "Dương Thị Uyên" is ACCOUNT_NAME_MISMATCH.',
  },
];
export const sandboxPeople: readonly SandboxPerson[] = Object.freeze(namedPeople.map((person) => Object.freeze({ ...person })));

/**
 * The synthetic part of the sandbox register's seed (local server and deployed
 * sandbox, shared/adapters/population/sandbox-seed.ts): 2,000 people, seed 1.
 * Enough for demos and sample batches of realistic names, small enough to
 * write in a second (about 80 BatchWriteItem requests).
 */
export const SANDBOX_REGISTER_SEED = { size: 2_000, seed: 1 } as const;

export interface SyntheticPopulationOptions {
  /** How many people (0-900,000: one per reserved tail at most, far more than a sandbox needs). */
  size: number;
  /** Same seed, same people (a 32-bit integer). */
  seed: number;
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

type Random = () => number;
type Weighted<T> = readonly (readonly [T, number])[];

function weighted<T>(random: Random, table: Weighted<T>): T {
  const total = table.reduce((sum, [, weight]) => sum + weight, 0);
  let left = random() * total;
  for (const [value, weight] of table) {
    left -= weight;
    if (left < 0) return value;
  }
  const last = table.at(-1);
  if (last === undefined) throw new RangeError('An empty table.');
  return last[0];
}

function pick<T>(random: Random, values: readonly T[]): T {
  const value = values[Math.floor(random() * values.length)];
  if (value === undefined) throw new RangeError('Nothing to pick from.');
  return value;
}

const between = (random: Random, min: number, max: number) => min + Math.floor(random() * (max - min + 1));

/** The commonest Vietnamese family names, roughly by frequency. */
const FAMILY_NAMES: Weighted<string> = [
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
];

const MIDDLE_NAMES: Record<Gender, Weighted<string>> = {
  M: [
    ['Văn', 45],
    ['Hữu', 12],
    ['Đức', 12],
    ['Minh', 12],
    ['Quốc', 7],
    ['Ngọc', 4],
    ['Xuân', 4],
    ['Đình', 4],
  ],
  F: [
    ['Thị', 60],
    ['Ngọc', 12],
    ['Minh', 6],
    ['Thu', 8],
    ['Mỹ', 7],
    ['Thanh', 7],
  ],
};

const GIVEN_NAMES: Record<Gender, readonly string[]> = {
  M: ['Bình', 'Cường', 'Dũng', 'Đạt', 'Khánh', 'Lộc', 'Phúc', 'Quý', 'Sơn', 'Tuấn', 'Vĩnh', 'Xuân', 'Hùng', 'Thắng', 'Đông', 'Hiếu', 'Trọng', 'Tâm', 'Lâm', 'Việt'],
  F: ['Ánh', 'Bình', 'Hạnh', 'Hương', 'Khánh', 'Mỹ', 'Nhung', 'Quý', 'Thảo', 'Uyên', 'Xuân', 'Yến', 'Hằng', 'Phượng', 'Thủy', 'Huệ', 'Ngân', 'Liên', 'Tuyết', 'Nguyệt'],
};

/** Births by decade: weighted towards the elderly, who are most beneficiaries. */
const BIRTH_DECADES: Weighted<number> = [
  [1930, 8],
  [1940, 16],
  [1950, 18],
  [1960, 14],
  [1970, 10],
  [1980, 10],
  [1990, 9],
  [2000, 8],
  [2010, 7],
];

/** Births registered in the two big cities are commoner than elsewhere. */
const PREFIXES: Weighted<string> = [
  ['079', 25],
  ['001', 15],
  ...birthRegistrationProvinces.filter((province) => province.code !== '079' && province.code !== '001').map((province) => [province.code, 1] as const),
];

export const DECEASED_SHARE = 0.03;
/**
 * Deaths fall in 2020-01-01 .. 2026-06-30: recent enough to matter for current
 * periods, and never in the future of the register's users (fixed, so that the
 * output does not depend on the day it is generated).
 */
const DEATHS_FROM = Date.UTC(2020, 0, 1);
const DEATHS_TO = Date.UTC(2026, 5, 30);
const DAY_MS = 86_400_000;

/**
 * Where a synthetic person lives (permanent residence): the 2025 unit whose
 * code is the birth-registration code's last two digits when there is one (the
 * merged units kept one former code: 079 -> 79, 001 -> 01), else one picked by
 * the ID's tail. No random draw, so that adding residence changed no one else.
 */
function residenceOf(prefix: string, tail: number): string {
  const code = prefix.slice(1);
  return isProvinceCode(code) ? code : (provinceCodes[tail % provinceCodes.length] ?? '79');
}

const TAIL_FROM = 900_000;
const TAIL_COUNT = 100_000;
const MAX_SIZE = 900_000;

const two = (value: number) => String(value).padStart(2, '0');

function dateOfBirth(random: Random): string {
  const year = weighted(random, BIRTH_DECADES) + between(random, 0, 9);
  const month = between(random, 1, 12);
  return `${year}-${two(month)}-${two(between(random, 1, daysInMonth(year, month)))}`;
}

function dateOfDeath(random: Random, born: string): string {
  const from = Math.max(DEATHS_FROM, Date.parse(`${born}T00:00:00Z`));
  const days = Math.floor((DEATHS_TO - from) / DAY_MS);
  return new Date(from + between(random, 0, days) * DAY_MS).toISOString().slice(0, 10);
}

function fullName(random: Random, gender: Gender): string {
  const family = weighted(random, FAMILY_NAMES);
  const middle = weighted(random, MIDDLE_NAMES[gender]);
  const given = pick(random, GIVEN_NAMES[gender]);
  // About one in six has a second middle name ("Nguyễn Thị Ngọc Ánh").
  if (random() < 0.16) {
    const second = weighted(random, MIDDLE_NAMES[gender]);
    if (second !== middle) return `${family} ${middle} ${second} ${given}`;
  }
  return `${family} ${middle} ${given}`;
}

/**
 * `size` made-up people, the same for the same seed: valid structured IDs
 * (known birth-registration prefix, gender/century digit and two-digit year
 * agreeing with the date of birth, tails 900000-999999, unique), births
 * 1930-2019, about 3% deceased (deaths 2020-01-01 .. 2026-06-30, never before
 * birth), names NFC-normalised with diacritics, a residence (`residenceOf`).
 */
export function syntheticPopulation(options: SyntheticPopulationOptions): Citizen[] {
  const { size, seed } = options;
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_SIZE) throw new RangeError(`size is a whole number from 0 to ${MAX_SIZE}.`);
  if (!Number.isSafeInteger(seed)) throw new RangeError('seed is a whole number.');
  const random = mulberry32(seed);
  const used = new Set<string>();
  const people: Citizen[] = [];
  while (people.length < size) {
    const gender: Gender = random() < 0.52 ? 'F' : 'M';
    const born = dateOfBirth(random);
    const year = Number(born.slice(0, 4));
    const prefix = weighted(random, PREFIXES);
    const tail = TAIL_FROM + Math.floor(random() * TAIL_COUNT);
    const personalId = `${prefix}${encodeGenderCenturyDigit(gender, year)}${two(year % 100)}${tail}`;
    const name = fullName(random, gender).normalize('NFC');
    const died = random() < DECEASED_SHARE ? dateOfDeath(random, born) : null;
    // A repeated ID (rare) is drawn again; the draws above keep the sequence deterministic.
    if (used.has(personalId)) continue;
    used.add(personalId);
    people.push({ personalId, fullName: name, dateOfBirth: born, gender, dateOfDeath: died, provinceCode: residenceOf(prefix, tail) });
  }
  return people;
}
