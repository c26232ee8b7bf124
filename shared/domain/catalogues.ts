import * as z from 'zod';
import birthRegistrationProvincesJson from './catalogues/birth-registration-provinces.json' with { type: 'json' };
import programsJson from './catalogues/programs.json' with { type: 'json' };
import providersJson from './catalogues/providers.json' with { type: 'json' };
import provincesJson from './catalogues/provinces.json' with { type: 'json' };

/**
 * Reference data kept as JSON (catalogues/*.json), each file naming its source,
 * so that it can be corrected without touching code. The files are checked here
 * when the module loads: a bad edit (duplicate code, missing name, fractional
 * limit) fails every cold start and every test at once instead of misbehaving
 * later for one payment.
 */

export interface BirthRegistrationProvince {
  /** Digits 1-3 of a personal ID number. */
  readonly code: string;
  readonly nameEn: string;
  readonly nameVi: string;
}

export interface Province {
  /** Two-digit administrative code of one of the 34 provincial-level units (2025). */
  readonly code: string;
  readonly nameEn: string;
  readonly nameVi: string;
  readonly kind: 'province' | 'city';
}

export interface Program {
  readonly code: string;
  readonly nameVi: string;
  readonly nameEn: string;
  /** The largest amount (VND) one payment of this program may carry. */
  readonly maxAmount: number;
  /** Days a payment may wait ON_HOLD for an account after approval before it is cancelled (HOLD_EXPIRED). */
  readonly holdDays: number;
  /** The legal standard level (VND a month) the program's amounts are multiples of, when it has one. */
  readonly standardLevel?: number | undefined;
  readonly legalBasis: string;
  readonly maxAmountRationale: string;
}

export const providerTypes = ['BANK', 'EWALLET'] as const;
export type ProviderType = (typeof providerTypes)[number];

export interface Provider {
  /** Banks: six-digit interbank BIN. Mobile-money operators: an upper-case code. */
  readonly code: string;
  readonly type: ProviderType;
  readonly name: string;
  /** Hours within which its statement should confirm a PAID transfer (default DEFAULT_SETTLEMENT_WINDOW_HOURS). */
  readonly settlementWindowHours?: number | undefined;
}

export interface Catalogue<T> {
  readonly source: string;
  readonly note?: string | undefined;
  readonly items: readonly T[];
}

const text = z.string().trim().min(1);
const vnd = z.int().min(1000);

function catalogueSchema<T extends z.ZodObject>(item: T) {
  return z.strictObject({
    source: text,
    note: text.optional(),
    items: z
      .array(item)
      .min(1)
      .check((ctx) => {
        const seen = new Set<string>();
        for (const entry of ctx.value as { code: string }[]) {
          if (seen.has(entry.code)) ctx.issues.push({ code: 'custom', input: entry.code, message: `duplicate code ${entry.code}` });
          seen.add(entry.code);
        }
      }),
  });
}

const birthRegistrationProvinceSchema = z.strictObject({ code: z.string().regex(/^[0-9]{3}$/), nameEn: text, nameVi: text });
const provinceSchema = z.strictObject({
  code: z.string().regex(/^[0-9]{2}$/),
  nameEn: text,
  nameVi: text,
  kind: z.enum(['province', 'city']),
});
const programSchema = z
  .strictObject({
    code: z.string().regex(/^[A-Z][A-Z0-9_]{1,31}$/),
    nameVi: text,
    nameEn: text,
    maxAmount: vnd,
    holdDays: z.int().min(1).max(3650),
    standardLevel: vnd.optional(),
    legalBasis: text,
    maxAmountRationale: text,
  })
  .refine((program) => program.standardLevel === undefined || program.standardLevel <= program.maxAmount, {
    message: 'maxAmount is below the standard level',
  });
const providerSchema = z
  .strictObject({ code: z.string(), type: z.enum(providerTypes), name: text, settlementWindowHours: z.int().min(1).max(720).optional() })
  .refine((provider) => (provider.type === 'BANK' ? /^[0-9]{6}$/ : /^[A-Z][A-Z0-9]{1,31}$/).test(provider.code), {
    message: 'a bank code is a six-digit BIN; a mobile-money code is upper-case letters and digits',
  });

function load<T>(name: string, schema: z.ZodType<Catalogue<T>>, data: unknown): Catalogue<T> {
  const result = schema.safeParse(data);
  if (!result.success) throw new Error(`Catalogue ${name} is invalid: ${z.prettifyError(result.error)}`);
  for (const item of result.data.items) Object.freeze(item);
  Object.freeze(result.data.items);
  return Object.freeze(result.data);
}

export const birthRegistrationProvinceCatalogue: Catalogue<BirthRegistrationProvince> = load(
  'birth-registration-provinces.json',
  catalogueSchema(birthRegistrationProvinceSchema),
  birthRegistrationProvincesJson,
);
export const provinceCatalogue: Catalogue<Province> = load('provinces.json', catalogueSchema(provinceSchema), provincesJson);
export const programCatalogue: Catalogue<Program> = load('programs.json', catalogueSchema(programSchema), programsJson);
export const providerCatalogue: Catalogue<Provider> = load('providers.json', catalogueSchema(providerSchema), providersJson);

export const birthRegistrationProvinces: readonly BirthRegistrationProvince[] = birthRegistrationProvinceCatalogue.items;
export const provinces: readonly Province[] = provinceCatalogue.items;
export const programs: readonly Program[] = programCatalogue.items;
export const providers: readonly Provider[] = providerCatalogue.items;

/** Non-empty tuples, as z.enum wants them. */
export const provinceCodes = Object.freeze(provinces.map((province) => province.code)) as unknown as readonly [string, ...string[]];
export const programCodes = Object.freeze(programs.map((program) => program.code)) as unknown as readonly [string, ...string[]];

const birthRegistrationByCode = new Map(birthRegistrationProvinces.map((entry) => [entry.code, entry]));
const provinceByCode = new Map(provinces.map((province) => [province.code, province]));
const programByCode = new Map(programs.map((program) => [program.code, program]));
const providerByKey = new Map(providers.map((provider) => [`${provider.type}:${provider.code}`, provider]));

export function findBirthRegistrationProvince(prefix: string): BirthRegistrationProvince | undefined {
  return birthRegistrationByCode.get(prefix);
}

export function isBirthRegistrationPrefix(prefix: string): boolean {
  return birthRegistrationByCode.has(prefix);
}

export function findProvince(code: string): Province | undefined {
  return provinceByCode.get(code);
}

export function isProvinceCode(code: unknown): code is string {
  return typeof code === 'string' && provinceByCode.has(code);
}

export function findProgram(code: string): Program | undefined {
  return programByCode.get(code);
}

export function isProgramCode(code: unknown): code is string {
  return typeof code === 'string' && programByCode.has(code);
}

/** A provider is identified by its type and code together (a code is only unique within its type). */
export function findProvider(type: ProviderType, code: string): Provider | undefined {
  return providerByKey.get(`${type}:${code}`);
}

/** Hours within which a provider's statement is expected to confirm a PAID transfer, when its catalogue entry names none. */
export const DEFAULT_SETTLEMENT_WINDOW_HOURS = 48;

export function settlementWindowHours(code: string): number {
  return findProviderByCode(code)?.settlementWindowHours ?? DEFAULT_SETTLEMENT_WINDOW_HOURS;
}

/** A provider by its code alone (codes are unique across types). */
export function findProviderByCode(code: string): Provider | undefined {
  return providers.find((provider) => provider.code === code);
}
