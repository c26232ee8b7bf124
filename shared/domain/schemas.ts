import * as z from 'zod';
import { programCodes, provinceCodes, providers, providerTypes, findProvider } from './catalogues.js';
import { systemClock, vietnamDate, type Clock } from './dates.js';
import { problemCodes } from './errors.js';
import { batchStatuses, paymentStatuses, type PaymentStatus } from './lifecycle.js';
import { MIN_PAYMENT_AMOUNT } from './money.js';
import { PERSONAL_ID_PATTERN } from './personal-id.js';
import { allReasonCodes, failureReasonCodes, reasonActors, type ReasonCode } from './reason-codes.js';

export { parseCsv, parsePaymentsCsv, PAYMENT_CSV_COLUMNS, type PaymentCsvColumn, type PaymentCsvRecord } from './csv.js';

/**
 * The zod schemas of every request body of the API (api.md) and of the
 * resources it answers with. Handlers validate with these and the OpenAPI
 * document is generated from these, so the two cannot drift.
 *
 * Decisions:
 * - Request objects are strict: an unknown field is a 422 naming it. A typo such
 *   as `ammount` or `gendre` would otherwise be dropped silently and the payment
 *   stored without the value the province meant to send. Two exceptions, both
 *   documented where they are defined: provider callbacks and query strings.
 * - Response objects are not strict: clients must ignore fields they do not
 *   know, so that fields can be added without a new API version.
 * - Errors never carry submitted values: validation.ts writes every message from
 *   the issue's kind and limits, never from zod's default text (which can quote
 *   input such as unknown field names).
 * - "Not in the future" needs today's date: the schemas that check dates are
 *   built by `createRequestSchemas(clock)`; the exported constants use the
 *   system clock, and tests build their own with a fixed one.
 */

// ---------------------------------------------------------------------------
// Limits

/**
 * At most 5,000 payments per request (api.md). A chunk that size is about 1 MB
 * of JSON, far inside Lambda's 6 MB synchronous payload limit, is validated whole
 * (every bad item listed) in well under a second, and is stored in a few hundred
 * batched writes within one invocation. Larger batches arrive as several chunks.
 */
export const MAX_PAYMENTS_PER_REQUEST = 5_000;
/** The local population endpoint seeds test data; a bound keeps one call small. */
export const MAX_CITIZENS_PER_REQUEST = 10_000;
export const MAX_NAME_LENGTH = 100;
export const MAX_REF_LENGTH = 64;

// ---------------------------------------------------------------------------
// Formats with their own error code and message (validation.ts looks them up by pattern).

export interface FormatDescription {
  code: string;
  /** Completes "<field> ...": never mentions the submitted value. */
  message: string;
}

const formatsByPattern = new Map<string, FormatDescription>();

function format(pattern: RegExp, description: FormatDescription): RegExp {
  formatsByPattern.set(String(pattern), description);
  return pattern;
}

/** The code and message for a failed `.regex()` check, by the pattern's text as zod reports it. */
export function describeFormat(pattern: string): FormatDescription | undefined {
  return formatsByPattern.get(pattern);
}

/**
 * Refinements carry their stable code in `params.code`; their message is a
 * predicate ("must not ...") that validation.ts puts after the field's name.
 */
function codedIssue(code: string, predicate: string) {
  return { params: { code }, error: predicate };
}

const personalIdPattern = format(PERSONAL_ID_PATTERN, {
  code: 'invalid_personal_id_format',
  message: 'must be exactly 12 ASCII digits (0-9), sent as a string',
});
const batchRefPattern = format(/^[A-Za-z0-9._-]{1,64}$/, {
  code: 'invalid_format',
  message: 'must be 1-64 characters of A-Z, a-z, 0-9, ".", "_" and "-"',
});
const periodPattern = format(/^[0-9]{4}-(0[1-9]|1[0-2])$/, {
  code: 'invalid_period',
  message: 'must be a calendar month written YYYY-MM (month 01-12)',
});
/** Control characters (C0, DEL, C1), line/paragraph separators and bidi overrides: never part of a name or reference, and they spoof reports. */
const UNSAFE_TEXT = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;
const csvAmountPattern = format(/^[0-9]{1,16}$/, {
  code: 'invalid_amount',
  message: 'must be a whole number of VND written with digits only (no sign, spaces, separators or decimals)',
});
const bankAccountPattern = /^[0-9]{6,19}$/;
/** Viet Nam's mobile numbers since 2018: ten digits, 03x, 05x, 07x, 08x or 09x. */
const mobileNumberPattern = /^0[35789][0-9]{8}$/;
const transferRefPattern = format(/^[A-Za-z0-9._:-]{1,128}$/, {
  code: 'invalid_format',
  message: 'must be 1-128 characters of A-Z, a-z, 0-9, ".", "_", ":" and "-"',
});
const resourceIdPattern = format(/^[A-Za-z0-9_-]{1,64}$/, {
  code: 'invalid_format',
  message: 'must be 1-64 characters of A-Z, a-z, 0-9, "_" and "-"',
});
const paymentIdPattern = format(/^[0-9A-HJKMNP-TV-Z]{26}-[0-9]{2}[0-9a-z]{20}$/, {
  code: 'invalid_format',
  message: 'must be a paymentId as this API issues them',
});
const cursorPattern = format(/^[A-Za-z0-9_-]{1,2048}$/, { code: 'invalid_cursor', message: 'is not a cursor this API issued' });
const limitPattern = format(/^[0-9]{1,4}$/, { code: 'invalid_limit', message: 'must be a whole number from 1 to 1000' });
/**
 * What `limitSchema` accepts, as one pattern for the OpenAPI document: one to
 * four digits whose value is 1-1000 (leading zeros allowed, as the handler
 * allows them). The handler keeps two steps for its error codes (invalid_limit,
 * too_small, too_big).
 */
const LIMIT_DOCUMENT_PATTERN = '^(?:0{0,3}[1-9]|0{0,2}[1-9][0-9]|0?[1-9][0-9]{2}|1000)$';

// ---------------------------------------------------------------------------
// Field schemas

/** Free text typed by people (names, references): no control characters, no bidi overrides. */
const isSafeText = (value: string) => !UNSAFE_TEXT.test(value);
const safeTextIssue = codedIssue('invalid_characters', 'must not contain control characters');

/**
 * The same rule as a JSON Schema pattern (ECMA-262 with the `u` flag), for the
 * OpenAPI document: zod renders `.regex()` checks but not refinements, and a
 * document that allowed what the handler refuses would lie to clients. The
 * pattern also leaves out characters beyond the Basic Multilingual Plane (emoji,
 * rare CJK): JSON Schema's maxLength counts them once, zod's max (UTF-16 code
 * units) twice, so a document allowing them could allow a length the handler
 * refuses. No Vietnamese name or reference needs them; the handler still takes
 * them within its limits.
 */
const SAFE_TEXT_PATTERN = '^[^\\p{Cc}\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u2069\\u{10000}-\\u{10FFFF}]*$';
/** Safe text holding at least one character that is not white space (what is left after trimming is not empty). */
const SAFE_NON_BLANK_PATTERN = '^(?=[\\s\\S]*\\S)[^\\p{Cc}\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u2069\\u{10000}-\\u{10FFFF}]*$';

function safeText() {
  return z.string().refine(isSafeText, safeTextIssue).meta({ pattern: SAFE_TEXT_PATTERN });
}

export const personalIdSchema = z.string().regex(personalIdPattern).meta({
  description: 'Personal identification number: exactly 12 ASCII digits, as a string (a number would lose leading zeros).',
  examples: ['079185012345'],
});

export const genderSchema = z.enum(['M', 'F']).meta({ description: 'M (male) or F (female), as on the personal ID.' });

/**
 * 1-100 characters after trimming (white space at either end, tabs included, is
 * dropped, not refused); stored in NFC so that one name has one spelling in storage.
 */
export const fullNameSchema = z
  .string()
  .trim()
  .overwrite((value) => value.normalize('NFC'))
  .refine(isSafeText, safeTextIssue)
  .min(1)
  .max(MAX_NAME_LENGTH)
  .meta({
    description:
      'Full name as registered, with Vietnamese diacritics: 1-100 characters after trimming white space at either end (the document asks for no control characters at all, a tab or line break at an end included, and counts the 100 before trimming), stored in Unicode NFC.',
    pattern: SAFE_NON_BLANK_PATTERN,
    examples: ['Nguyễn Thị Ánh'],
  });

export const paymentRefSchema = safeText()
  .min(1)
  .max(MAX_REF_LENGTH)
  .meta({ description: "The province's own reference of the payment, unique in the batch (1-64 characters)." });

export const batchRefSchema = z
  .string()
  .regex(batchRefPattern)
  .meta({ description: "The province's own reference of the batch, unique per province: 1-64 of [A-Za-z0-9._-].", examples: ['HCM-SA-2025-07'] });

const groupDigits = (value: number) => value.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/**
 * A whole number from min to max (at most 2^53 - 1), as a JSON number: strings,
 * fractions, NaN and Infinity are refused, and so is anything that is only an
 * integer because it is too large to hold a fraction (2^53, 1e21). One issue per
 * value. Not z.int(): its fraction check aborts the whole parse, which would
 * hide list-wide checks such as duplicate paymentRefs behind one bad amount.
 */
function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z
    .number()
    .superRefine((value, ctx) => {
      if (!Number.isInteger(value)) {
        ctx.addIssue({ code: 'custom', message: 'must be a whole number (no fraction)', params: { code: 'invalid_type' } });
      } else if (value < min) {
        ctx.addIssue({ code: 'custom', message: `must be at least ${groupDigits(min)}`, params: { code: 'too_small' } });
      } else if (value > max) {
        ctx.addIssue({ code: 'custom', message: `must be at most ${groupDigits(max)}`, params: { code: 'too_big' } });
      }
    })
    .meta({ type: 'integer', minimum: min, maximum: max });
}

/** Whole VND, 1,000 to 2^53 - 1. */
export const amountSchema = wholeNumber(MIN_PAYMENT_AMOUNT).meta({
  description: 'Whole Vietnamese dong (no minor unit), at least 1,000, as a JSON number.',
  examples: [500000],
});

export const periodSchema = z.string().regex(periodPattern).meta({ description: 'A calendar month, YYYY-MM.', examples: ['2025-07'] });

/** `enum` repeated in meta: zod keeps enum values in an object, where "11" sorts before "01" (integer-like keys first). */
export const provinceCodeSchema = z.enum(provinceCodes).meta({
  description: 'Two-digit code of one of the 34 provincial-level units (2025); see the provinces catalogue.',
  enum: [...provinceCodes],
  examples: ['79'],
});

export const programCodeSchema = z.enum(programCodes).meta({ description: 'A program code from GET /v1/programs.', examples: ['SOCIAL_ALLOWANCE'] });

export const providerTypeSchema = z.enum(providerTypes);

export const reasonCodeSchema = z.enum(allReasonCodes as [ReasonCode, ...ReasonCode[]]);

export const paymentStatusSchema = z.enum(paymentStatuses);
export const batchStatusSchema = z.enum(batchStatuses);

export const resourceIdSchema = z.string().regex(resourceIdPattern);

const positiveCount = wholeNumber(1);
const positiveTotal = wholeNumber(1);

/** Safe text of 1-128 characters that is an opaque reference (consent, subject). */
function reference(max = 128) {
  return safeText().min(1).max(max);
}

// ---------------------------------------------------------------------------
// Cross-item checks

/**
 * paymentRef is unique in a batch; a repeat inside one request is reported on
 * every later occurrence. It runs even when other items have errors (`when`), so
 * that a province gets every problem of a chunk in one answer.
 */
function uniquePaymentRefs(items: unknown, ctx: z.core.$RefinementCtx<unknown>) {
  if (!Array.isArray(items)) return;
  const firstIndex = new Map<string, number>();
  items.forEach((item: unknown, index) => {
    const ref = typeof item === 'object' && item !== null ? (item as { paymentRef?: unknown }).paymentRef : undefined;
    if (typeof ref !== 'string') return;
    const first = firstIndex.get(ref);
    if (first === undefined) {
      firstIndex.set(ref, index);
      return;
    }
    ctx.addIssue({
      code: 'custom',
      path: [index, 'paymentRef'],
      message: `is used more than once in this request (first at index ${first})`,
      params: { code: 'duplicate_payment_ref' },
    });
  });
}

const always = { when: () => true };

// ---------------------------------------------------------------------------
// Request bodies that depend on today's date

/** A date (YYYY-MM-DD) that exists and is not after today in Viet Nam. */
function pastDate(today: () => string) {
  return z.iso.date().refine((value) => value <= today(), codedIssue('date_in_future', 'must not be in the future'));
}

export function createRequestSchemas(clock: Clock = systemClock) {
  const today = () => vietnamDate(clock.now());

  const paymentItem = z
    .strictObject({
      paymentRef: paymentRefSchema,
      personalId: personalIdSchema,
      fullName: fullNameSchema,
      dateOfBirth: pastDate(today).meta({ description: 'Date of birth, YYYY-MM-DD, a real date not in the future.' }),
      gender: genderSchema.optional(),
      amount: amountSchema,
    })
    .meta({
      id: 'PaymentItem',
      description:
        'One payment of a batch. Structural errors fail the request; everything about the person (ID consistency, registry, name, duplicates, program limit) is checked later and ends in REJECTED with a reason code.',
    });

  const paymentList = z.array(paymentItem).max(MAX_PAYMENTS_PER_REQUEST).superRefine(uniquePaymentRefs, always);

  const createBatch = z
    .strictObject({
      batchRef: batchRefSchema,
      provinceCode: provinceCodeSchema,
      programCode: programCodeSchema,
      period: periodSchema,
      control: z
        .strictObject({
          itemCount: positiveCount.meta({ description: 'How many payments the batch will hold.' }),
          totalAmount: positiveTotal.meta({ description: 'Their total in VND.' }),
        })
        .meta({ id: 'ControlTotals', description: 'Given up front by the province; sealing fails unless the uploaded payments add up to them exactly.' }),
      payments: paymentList.optional(),
      scheduledFor: z.iso
        .datetime({ offset: true })
        .optional()
        .meta({ description: 'The payment date and time (ISO 8601 with Z or an offset). An approved batch sends nothing before it (its payments stay VERIFIED) and may be cancelled until then. Absent, or already past at approval: sent at approval.' }),
    })
    .superRefine((body, ctx) => {
      if (body.payments && body.payments.length > body.control.itemCount) {
        ctx.addIssue({
          code: 'custom',
          path: ['payments'],
          message: 'holds more items than control.itemCount, so the batch could never be sealed',
          params: { code: 'too_many_payments_for_control' },
        });
      }
    })
    .meta({
      id: 'CreateBatchRequest',
      description: 'A new batch. When payments holds control.itemCount items, the batch is sealed at once. At most 5,000 payments per request.',
    });

  const appendPayments = z
    .strictObject({ payments: paymentList.min(1) })
    .meta({ id: 'AppendPaymentsRequest', description: 'A chunk of 1-5,000 payments, validated whole: one bad item and nothing is stored.' });

  /**
   * One data row of the CSV form of a chunk (header
   * `paymentRef,personalId,fullName,dateOfBirth,gender,amount`): every field a
   * string. An empty gender means none; amount is digits only. The result is the
   * same typed payment item as the JSON form.
   */
  const csvPaymentRow = z
    .strictObject({
      paymentRef: paymentRefSchema,
      personalId: personalIdSchema,
      fullName: fullNameSchema,
      dateOfBirth: pastDate(today),
      gender: z.enum(['', 'M', 'F']),
      amount: z.string().regex(csvAmountPattern).transform(Number).pipe(amountSchema),
    })
    .transform(({ gender, ...item }): PaymentItem => (gender === '' ? item : { ...item, gender }));

  /** The rows of a CSV chunk, checked like the JSON form (same limits, same uniqueness). */
  const csvPayments = z.strictObject({
    payments: z.array(csvPaymentRow).min(1).max(MAX_PAYMENTS_PER_REQUEST).superRefine(uniquePaymentRefs, always),
  });

  const citizen = z
    .strictObject({
      personalId: personalIdSchema,
      fullName: fullNameSchema,
      dateOfBirth: pastDate(today),
      gender: genderSchema,
      dateOfDeath: pastDate(today).optional(),
      provinceCode: provinceCodeSchema.optional().meta({ description: 'Province of permanent residence (two-digit code of the 34 units); decides which province cares for the person.' }),
    })
    .superRefine((person, ctx) => {
      if (person.dateOfDeath !== undefined && person.dateOfDeath < person.dateOfBirth) {
        ctx.addIssue({
          code: 'custom',
          path: ['dateOfDeath'],
          message: 'must not be before dateOfBirth',
          params: { code: 'date_order' },
        });
      }
    })
    .meta({ id: 'Citizen', description: 'A person of the sandbox population registry.' });

  const localPopulationRequest = z
    .strictObject({
      citizens: z
        .array(citizen)
        .min(1)
        .max(MAX_CITIZENS_PER_REQUEST)
        .superRefine((people, ctx) => {
          if (!Array.isArray(people)) return;
          const firstIndex = new Map<string, number>();
          people.forEach((person: unknown, index) => {
            const id = typeof person === 'object' && person !== null ? (person as { personalId?: unknown }).personalId : undefined;
            if (typeof id !== 'string') return;
            const first = firstIndex.get(id);
            if (first === undefined) firstIndex.set(id, index);
            else
              ctx.addIssue({
                code: 'custom',
                path: [index, 'personalId'],
                message: `is listed more than once (first at index ${first})`,
                params: { code: 'duplicate_personal_id' },
              });
          });
        }, always),
    })
    .meta({ id: 'LocalPopulationRequest', description: 'Local server only: adds people to the sandbox population registry.' });

  return { paymentItem, createBatch, appendPayments, csvPaymentRow, csvPayments, localPopulationRequest } as const;
}

export type RequestSchemas = ReturnType<typeof createRequestSchemas>;

const systemSchemas = createRequestSchemas(systemClock);

export const paymentItemSchema = systemSchemas.paymentItem;
export const createBatchRequestSchema = systemSchemas.createBatch;
export const appendPaymentsRequestSchema = systemSchemas.appendPayments;
export const csvPaymentRowSchema = systemSchemas.csvPaymentRow;
export const csvPaymentsSchema = systemSchemas.csvPayments;
export const localPopulationRequestSchema = systemSchemas.localPopulationRequest;

export interface PaymentItem {
  paymentRef: string;
  personalId: string;
  fullName: string;
  dateOfBirth: string;
  gender?: 'M' | 'F' | undefined;
  amount: number;
}
export type CreateBatchRequest = z.output<RequestSchemas['createBatch']>;
export type AppendPaymentsRequest = z.output<RequestSchemas['appendPayments']>;
export type LocalPopulationRequest = z.output<RequestSchemas['localPopulationRequest']>;

// ---------------------------------------------------------------------------
// Request bodies that do not depend on the date

const providerCodesOf = (type: (typeof providerTypes)[number]) => providers.filter((provider) => provider.type === type).map((provider) => provider.code);

export const providerRefSchema = z
  .strictObject({
    type: providerTypeSchema,
    code: z
      .string()
      .min(1)
      .max(32)
      .meta({ enum: providers.map((provider) => provider.code), description: 'A provider code of GET /v1/providers (of the type given).' }),
  })
  .meta({ id: 'ProviderRef', description: 'A provider of GET /v1/providers: a bank by its six-digit BIN, or a mobile-money operator.' });

/**
 * Link (or replace) a social security account. The provider must exist with
 * that type; a bank account number is 6-19 digits, a mobile-money account is the
 * holder's Vietnamese mobile number (10 digits, 03x/05x/07x/08x/09x).
 *
 * The document says the same (`anyOf` per provider type, from the providers
 * catalogue); the checks themselves stay in `superRefine`, whose errors name
 * the field and the rule (a failed `oneOf` would not).
 */
export const accountLinkRequestSchema = z
  .strictObject({
    provider: providerRefSchema,
    accountNumber: z
      .string()
      .min(1)
      .max(19)
      .meta({ pattern: '^[0-9]{6,19}$', description: 'Bank: 6-19 digits. Mobile money: the 10-digit mobile number (03x, 05x, 07x, 08x or 09x).' }),
    accountName: fullNameSchema.meta({ description: "The account holder's name; it must match the registry's name (domain.md, Names)." }),
    consentRef: reference()
      .optional()
      .meta({ description: "Reference of the beneficiary's consent, kept with the link's history; required when a province links on their behalf (accounts:write)." }),
  })
  .superRefine((body, ctx) => {
    const provider = typeof body === 'object' && body !== null ? (body as { provider?: unknown }).provider : undefined;
    if (typeof provider !== 'object' || provider === null) return;
    const { type, code } = provider as { type?: unknown; code?: unknown };
    if (type !== 'BANK' && type !== 'EWALLET') return;
    if (typeof code === 'string' && !findProvider(type, code)) {
      ctx.addIssue({
        code: 'custom',
        path: ['provider', 'code'],
        message: `is not a known ${type === 'BANK' ? 'bank BIN' : 'mobile-money operator'} (see GET /v1/providers)`,
        params: { code: 'unknown_provider' },
      });
    }
    const accountNumber = (body as { accountNumber?: unknown }).accountNumber;
    // Missing, empty or too long is already reported by the field itself.
    if (typeof accountNumber !== 'string' || accountNumber.length === 0 || accountNumber.length > 19) return;
    const valid = type === 'BANK' ? bankAccountPattern.test(accountNumber) : mobileNumberPattern.test(accountNumber);
    if (!valid) {
      ctx.addIssue({
        code: 'custom',
        path: ['accountNumber'],
        message:
          type === 'BANK'
            ? 'must be 6-19 digits for a bank account'
            : 'must be a Vietnamese mobile number: 10 digits starting 03, 05, 07, 08 or 09',
        params: { code: 'invalid_account_number' },
      });
    }
  }, always)
  .meta({
    id: 'AccountLinkRequest',
    description: 'Link or replace the social security account of a person.',
    // anyOf, not oneOf: the branches exclude each other by provider.type, which linters cannot see through the nesting.
    anyOf: [
      {
        title: 'Bank account',
        properties: {
          provider: { properties: { type: { const: 'BANK' }, code: { enum: providerCodesOf('BANK') } } },
          accountNumber: { pattern: bankAccountPattern.source },
        },
      },
      {
        title: 'Mobile money',
        properties: {
          provider: { properties: { type: { const: 'EWALLET' }, code: { enum: providerCodesOf('EWALLET') } } },
          accountNumber: { pattern: mobileNumberPattern.source },
        },
      },
    ],
  });

/** `DELETE /v1/accounts/{personalId}?consentRef=`: the consent a province names to unlink (required for accounts:write). */
export const unlinkAccountQuerySchema = z.object({
  consentRef: reference()
    .optional()
    .meta({ description: "Reference of the beneficiary's consent to unlink, kept with the link's history; required when a province unlinks on their behalf (accounts:write)." }),
});

export const providerOutcomes = ['PAID', 'FAILED', 'RETURNED'] as const;

/**
 * A provider's settlement report. Not strict, unlike the other bodies: providers
 * add fields of their own, the body is authenticated by its signature, and a
 * callback refused for an extra field would be retried for ever while the
 * payment stayed SENT. Unknown fields are dropped.
 */
export const providerCallbackSchema = z
  .object({
    transferRef: z.string().regex(transferRefPattern).meta({ description: 'The reference the system sent the provider (the paymentId).' }),
    outcome: z.enum(providerOutcomes),
    reasonCode: z
      .enum([...failureReasonCodes, 'RETURNED_BY_PROVIDER'])
      .optional()
      .meta({
        description:
          'Why the transfer failed or came back; not allowed with PAID. A FAILED outcome without one is recorded as PROVIDER_REJECTED, a RETURNED one as RETURNED_BY_PROVIDER (RETURNED_BY_PROVIDER with FAILED is recorded as PROVIDER_REJECTED).',
      }),
    settledAt: z.iso.datetime({ offset: true }).meta({ description: 'When the provider settled, ISO 8601 with a time zone.' }),
  })
  .superRefine((body, ctx) => {
    if (body.outcome === 'PAID' && body.reasonCode !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['reasonCode'], message: 'is not allowed when outcome is PAID', params: { code: 'reason_code_not_allowed' } });
    }
  })
  .meta({ id: 'ProviderCallback', description: 'Signed with x-timestamp and x-signature (HMAC-SHA256 of timestamp + "." + raw body).' });

export const localRoles = ['province', 'approver', 'beneficiary', 'ops'] as const;

const subSchema = reference().optional().meta({ description: 'The token subject; generated when left out.' });

/** Local server only: a token for one role; which claims each role needs is checked per role. */
export const localTokenRequestSchema = z
  .discriminatedUnion('role', [
    z.strictObject({ role: z.literal('province'), provinceCode: provinceCodeSchema, sub: subSchema }),
    z.strictObject({ role: z.literal('approver'), provinceCode: provinceCodeSchema.optional(), sub: subSchema }),
    z.strictObject({ role: z.literal('beneficiary'), personalId: personalIdSchema, sub: subSchema }),
    z.strictObject({ role: z.literal('ops'), sub: subSchema }),
  ])
  .meta({ id: 'LocalTokenRequest', description: 'Local server only: a signed token for one role.' });

/** A retry request (api.md 1.1): the payments to pay again, or none for every eligible one of the batch. */
export const createRetryRequestSchema = z
  .strictObject({
    paymentIds: z
      .array(z.string().regex(paymentIdPattern))
      .min(1)
      .max(1000)
      .optional()
      .meta({ description: 'The payments to pay again (at most 1,000). Left out: every FAILED payment with a recoverable reason and every RETURNED payment of the batch.' }),
  })
  .meta({ id: 'CreateRetryRequest' });

const statementIdPattern = format(/^[A-Za-z0-9._:-]{1,64}$/, {
  code: 'invalid_format',
  message: 'must be 1-64 characters of A-Z, a-z, 0-9, ".", "_", ":" and "-"',
});

/**
 * A provider's settlement statement (api.md 1.1). Not strict, as callbacks are
 * not: signed by the provider, whose extra fields are dropped.
 */
export const statementSchema = z
  .object({
    statementId: z.string().regex(statementIdPattern).meta({ description: "The provider's id of the statement: importing it again is a no-op." }),
    valueDate: z.iso.date().meta({ description: 'The day the statement covers (YYYY-MM-DD).' }),
    lines: z
      .array(
        z.object({
          transferRef: z.string().regex(transferRefPattern).meta({ description: 'The reference the system sent: the paymentId for attempt 1, `<paymentId>-<n>` for attempt n.' }),
          amount: z.int().min(1).max(Number.MAX_SAFE_INTEGER).meta({ description: 'VND the provider settled or returned.' }),
          status: z.enum(['SETTLED', 'RETURNED']),
          reasonCode: z.enum([...failureReasonCodes, 'RETURNED_BY_PROVIDER']).optional().meta({ description: 'Why a RETURNED transfer came back.' }),
        }),
      )
      .max(10_000),
  })
  .meta({ id: 'SettlementStatement', description: 'Signed with x-timestamp and x-signature, as provider callbacks are.' });

export type AccountLinkRequest = z.output<typeof accountLinkRequestSchema>;
export type ProviderCallback = z.output<typeof providerCallbackSchema>;
export type LocalTokenRequest = z.output<typeof localTokenRequestSchema>;

// ---------------------------------------------------------------------------
// Query strings. Not strict: browsers, proxies and tools add parameters (cache
// busters, tracking), and an ignored parameter changes nothing.

/** `?limit=` 1-1000, default 100, given as a string. */
export const limitSchema = z
  .string()
  .regex(limitPattern)
  .transform(Number)
  .pipe(z.int().min(1).max(1000))
  .optional()
  .transform((value) => value ?? 100);

export const listQuerySchema = z.object({
  limit: limitSchema.meta({ description: 'Page size, 1-1000 (default 100).', pattern: LIMIT_DOCUMENT_PATTERN }),
  cursor: z.string().regex(cursorPattern).optional().meta({ description: 'The nextCursor of the previous page, unchanged.' }),
});

export const listBatchesQuerySchema = listQuerySchema.extend({
  period: periodSchema.optional().meta({ description: 'Only batches of this month (YYYY-MM).' }),
  status: batchStatusSchema.optional().meta({ description: 'Only batches in this status.' }),
});

export const listBatchPaymentsQuerySchema = listQuerySchema.extend({
  status: paymentStatusSchema.optional().meta({ description: 'Only payments in this status.' }),
  reasonCode: reasonCodeSchema.optional().meta({ description: 'Only payments with this reason code.' }),
});

// ---------------------------------------------------------------------------
// Responses

const timestamp = z.iso.datetime().meta({ description: 'ISO 8601, UTC.' });
const count = z.int().min(0);
const vnd = z.int().min(0);

export const itemErrorSchema = z
  .object({
    index: z.int().min(0).optional().meta({ description: 'Position of the item in the request (0-based), for errors inside a list.' }),
    paymentRef: z.string().optional().meta({ description: 'The paymentRef of that item, when it had one.' }),
    path: z.string().meta({ description: 'Where: `payments[3].amount`; empty for the whole body.' }),
    code: z.string().meta({ description: 'Stable machine code (invalid_type, too_small, invalid_date, invalid_personal_id_format, ...).' }),
    message: z.string().meta({ description: 'English explanation; never contains submitted personal data.' }),
  })
  .meta({ id: 'ItemError' });

export const problemSchema = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    code: z.enum(problemCodes),
    requestId: z.string(),
    errors: z.array(itemErrorSchema).optional(),
    errorCount: z.int().min(0).optional().meta({ description: 'How many errors were found; at most 1,000 are listed.' }),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details (application/problem+json), with a stable code and the request id.' });

export const healthSchema = z.object({ status: z.literal('ok'), version: z.string() }).meta({ id: 'Health' });

export const programSchema = z
  .object({
    code: z.string(),
    nameVi: z.string(),
    nameEn: z.string(),
    maxAmount: z.int().min(1),
    holdDays: z.int().min(1).meta({ description: 'Days a payment may wait ON_HOLD for a linked account after approval before it is CANCELLED HOLD_EXPIRED.' }),
  })
  .meta({ id: 'Program', description: 'A payment program and the largest amount one payment may carry (VND).' });

export const providerSchema = z
  .object({ code: z.string(), type: providerTypeSchema, name: z.string() })
  .meta({ id: 'Provider', description: 'A bank (code = six-digit BIN) or mobile-money operator.' });

export const programListSchema = z.object({ items: z.array(programSchema) }).meta({ id: 'ProgramList' });

export const reasonActorSchema = z.enum(reasonActors).meta({ id: 'ReasonActor', description: 'Who must act for the payment to go through.' });

export const reasonCodeEntrySchema = z
  .object({
    code: reasonCodeSchema,
    status: paymentStatusSchema.meta({ description: 'The payment status this code explains.' }),
    messageVi: z.string(),
    messageEn: z.string(),
    actor: reasonActorSchema,
    recoverable: z.boolean().meta({ description: 'Whether a new attempt of the payment can succeed once the actor has acted.' }),
    nextStepVi: z.string(),
    nextStepEn: z.string(),
  })
  .meta({ id: 'ReasonCode', description: 'A reason code with its messages, who must act, and what to do next.' });
export const reasonCodeListSchema = z.object({ items: z.array(reasonCodeEntrySchema) }).meta({ id: 'ReasonCodeList' });

/** Who acts and what to do next, in both languages (null without a reason code). */
export const nextStepSchema = z
  .object({ actor: reasonActorSchema, vi: z.string(), en: z.string() })
  .nullable()
  .meta({ id: 'NextStep', description: 'Who must act on the reason code, and what to do next; null when there is no reason.' });
export const providerListSchema = z.object({ items: z.array(providerSchema) }).meta({ id: 'ProviderList' });

/** `{ items, nextCursor }`: the envelope of every paginated list. */
export function listEnvelope<T extends z.ZodType>(item: T, id: string) {
  return z
    .object({
      items: z.array(item),
      nextCursor: z.string().nullable().meta({ description: 'Pass as ?cursor= for the next page; null on the last page.' }),
    })
    .meta({ id, description: 'One page of a list.' });
}

const totalsSchema = z.object({ itemCount: count, totalAmount: vnd });

function everyKey<K extends string>(keys: readonly K[], value: z.ZodType) {
  return z.object(Object.fromEntries(keys.map((key) => [key, value])) as Record<K, z.ZodType>);
}

function someKeys<K extends string>(keys: readonly K[], value: z.ZodType) {
  return z.object(Object.fromEntries(keys.map((key) => [key, value.optional()])) as Record<K, z.ZodOptional<z.ZodType>>);
}

export const batchSchema = z
  .object({
    batchId: z.string(),
    batchRef: batchRefSchema,
    provinceCode: provinceCodeSchema,
    programCode: programCodeSchema,
    period: periodSchema,
    status: batchStatusSchema,
    control: totalsSchema.meta({ description: 'Control totals given by the province.' }),
    received: totalsSchema.meta({ description: 'What has been uploaded so far.' }),
    counts: everyKey(paymentStatuses, count).meta({ description: 'Number of payments per status; every status present.' }),
    amounts: everyKey(paymentStatuses, vnd).meta({ description: 'Total VND per payment status; every status present.' }),
    rejections: someKeys(allReasonCodes, count).meta({ description: 'Number of payments per reason code.' }),
    createdBy: z.string(),
    approvedBy: z.string().nullable(),
    scheduledFor: timestamp.nullable().meta({ description: 'Nothing is sent before this time (UTC); null: sent at approval.' }),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Batch' });

export const maskedAccountSchema = z
  .object({
    provider: z.object({ type: providerTypeSchema, code: z.string() }),
    accountNumberMasked: z.string().meta({ description: 'The last four characters only.', examples: ['****6789'] }),
  })
  .meta({ id: 'MaskedAccount' });

export const paymentHistoryEntrySchema = z
  .object({
    status: paymentStatusSchema,
    reasonCode: reasonCodeSchema.nullable(),
    at: timestamp,
    attempt: z.int().min(1).optional().meta({ description: 'The attempt this change belongs to.' }),
  })
  .meta({ id: 'PaymentHistoryEntry' });

export const paymentSchema = z
  .object({
    paymentId: z.string(),
    batchId: z.string(),
    paymentRef: z.string(),
    personalId: personalIdSchema.optional().meta({ description: 'Shown to the payment\'s province and to its beneficiary only.' }),
    fullName: z.string(),
    dateOfBirth: z.iso.date(),
    gender: genderSchema.nullable().optional().meta({ description: 'As submitted; absent or null when the province gave none.' }),
    amount: z.int().min(1),
    programCode: programCodeSchema,
    period: periodSchema,
    status: paymentStatusSchema,
    reasonCode: reasonCodeSchema.nullable(),
    nameMatch: z.enum(['EXACT', 'ASCII_FOLDED']).nullable().meta({ description: 'How the name matched the registry; null before verification.' }),
    account: maskedAccountSchema.nullable().meta({ description: 'The account the payment was queued with (masked); null before it is queued.' }),
    nextStep: nextStepSchema.optional(),
    attempt: z.int().min(1).optional().meta({ description: 'The attempt the payment is on (1 for the first; a retry starts the next).' }),
    transferRef: z.string().optional().meta({ description: "The current attempt's transfer reference: the paymentId for attempt 1, `<paymentId>-<n>` for attempt n." }),
    updatedAt: timestamp.optional(),
    history: z.array(paymentHistoryEntrySchema).optional().meta({ description: 'Every status change, oldest first (single-payment reads).' }),
  })
  .meta({ id: 'Payment' });

export const accountLinkHistoryEntrySchema = z
  .object({
    provider: z.object({ type: providerTypeSchema, code: z.string() }),
    accountNumberMasked: z.string(),
    linkedAt: timestamp,
    unlinkedAt: timestamp.nullable(),
    consentRef: z.string().nullable().meta({ description: 'The consent a province named to make this link; null when the beneficiary linked it.' }),
    unlinkConsentRef: z
      .string()
      .nullable()
      .meta({ description: 'The consent a province named to unlink it; null while linked, when the beneficiary unlinked it, or when a newer link replaced it.' }),
  })
  .meta({ id: 'AccountLinkHistoryEntry', description: 'One link the person ever had, newest first.' });

export const accountLinkSchema = z
  .object({
    personalId: personalIdSchema,
    provider: z.object({ type: providerTypeSchema, code: z.string() }),
    accountNumberMasked: z.string(),
    accountName: z.string(),
    linkedAt: timestamp,
    status: z.literal('LINKED'),
    history: z.array(accountLinkHistoryEntrySchema).optional(),
    releasedPayments: z
      .int()
      .min(0)
      .optional()
      .meta({ description: 'On a link: how many ON_HOLD payments of approved batches it released to disbursement.' }),
  })
  .meta({ id: 'AccountLink' });

export const batchListSchema = listEnvelope(batchSchema, 'BatchList');

export const reportRowSchema = z
  .object({
    paymentId: z.string(),
    paymentRef: z.string(),
    personalId: z.string(),
    fullName: z.string(),
    dateOfBirth: z.string(),
    amount: z.int().min(1),
    status: paymentStatusSchema,
    reasonCode: reasonCodeSchema.nullable(),
    nameMatch: z.enum(['EXACT', 'ASCII_FOLDED']).nullable(),
    account: z.string().nullable().meta({ description: 'Provider code and masked account number, once queued.' }),
    updatedAt: timestamp.optional(),
    nextStep: nextStepSchema.optional(),
    attempt: z.int().min(1).optional(),
    transferRef: z.string().optional(),
    statementStatus: z
      .enum(['CONFIRMED', 'RETURNED', 'AMOUNT_MISMATCH', 'STATUS_MISMATCH', 'UNCONFIRMED', 'OVERDUE'])
      .nullable()
      .optional()
      .meta({ description: "What the provider's statements said; for a PAID transfer none confirmed yet, UNCONFIRMED or (past the settlement window) OVERDUE." }),
  })
  .meta({ id: 'ReportRow' });

export const batchReportSchema = z
  .object({
    batch: batchSchema,
    totals: z.object({
      control: totalsSchema,
      received: totalsSchema,
      byStatus: everyKey(paymentStatuses, z.object({ count, amount: vnd })),
    }),
    items: z.array(reportRowSchema),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: 'BatchReport', description: 'Reconciliation report: one row per payment, and totals per status to reconcile with the control totals.' });
export const paymentListSchema = listEnvelope(paymentSchema, 'PaymentList');

export const statementResultSchema = z
  .object({
    statementId: z.string(),
    lineCount: count,
    matched: count.meta({ description: 'Lines that confirm a transfer recorded PAID (or settle one still SENT).' }),
    returned: count.meta({ description: 'Lines that return a transfer (it is RETURNED now).' }),
    amountMismatches: z.array(z.object({ transferRef: z.string(), expected: vnd, actual: vnd })),
    unknownReferences: z.array(z.string()).meta({ description: "References this provider was never sent (or an attempt that is not the payment's current one)." }),
    statusMismatches: z
      .array(z.object({ transferRef: z.string(), recorded: z.string(), stated: z.enum(['SETTLED', 'RETURNED']) }))
      .meta({ description: 'Lines that contradict what was recorded (SETTLED for a FAILED transfer, RETURNED for one never paid).' }),
  })
  .meta({ id: 'StatementResult' });

export const reconciliationSchema = z
  .object({
    batchId: z.string(),
    at: timestamp,
    confirmed: z.object({ count, amount: vnd }).meta({ description: 'PAID payments a statement confirmed.' }),
    returned: z.object({ count, amount: vnd }).meta({ description: 'Payments a statement (or callback reported in one) returned.' }),
    amountMismatches: z.array(z.object({ paymentId: z.string(), transferRef: z.string(), expected: vnd })),
    statusMismatches: z.array(z.object({ paymentId: z.string(), transferRef: z.string(), status: paymentStatusSchema })),
    unconfirmedPaid: z
      .array(z.object({ paymentId: z.string(), transferRef: z.string(), amount: vnd, paidAt: timestamp, hoursSincePaid: count, overdue: z.boolean() }))
      .meta({ description: "PAID payments no statement has confirmed yet, how long since, and whether the provider's settlement window has passed." }),
    unknownReferences: z
      .array(z.object({ transferRef: z.string(), amount: vnd, status: z.enum(['SETTLED', 'RETURNED']), statementId: z.string(), valueDate: z.string() }))
      .meta({ description: 'Statement lines naming a reference of this batch that no payment has.' }),
  })
  .meta({ id: 'Reconciliation', description: 'The three-way match of instructions, callbacks and statements for one batch.' });

export const retrySchema = z
  .object({
    retryId: z.string(),
    batchId: z.string(),
    status: z.enum(['AWAITING_APPROVAL', 'APPROVED', 'COMPLETED', 'CANCELLED']),
    itemCount: count,
    totalAmount: vnd,
    paymentIds: z.array(z.string()),
    requestedBy: z.string(),
    approvedBy: z.string().nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
    payments: z
      .array(
        z.object({
          paymentId: z.string(),
          status: paymentStatusSchema.nullable(),
          reasonCode: reasonCodeSchema.nullable(),
          attempt: z.int().min(1).nullable(),
          amount: z.int().min(1).nullable(),
          skipped: z
            .enum(['CLAIMED_BY_ANOTHER_RETRY', 'DUPLICATE_ENTITLEMENT', 'CHANGED_MEANWHILE'])
            .optional()
            .meta({ description: 'Why the approval did not start a new attempt of this payment.' }),
        }),
      )
      .meta({ description: "The retry's payments with their current status and attempt." }),
  })
  .meta({ id: 'Retry', description: 'A new attempt of failed or returned payments, approved by a second official. COMPLETED once none of its payments is QUEUED or SENT.' });

/** A beneficiary's view of one of their own payments (`/v1/me/payments`). */
export const ownPaymentSchema = z
  .object({
    paymentId: z.string(),
    program: z.object({ code: programCodeSchema, nameVi: z.string(), nameEn: z.string() }),
    period: periodSchema,
    amount: z.int().min(1),
    status: paymentStatusSchema,
    reasonCode: reasonCodeSchema.nullable(),
    reason: z.object({ vi: z.string(), en: z.string() }).nullable().meta({ description: 'The reason code explained, in Vietnamese and English.' }),
    nextStep: nextStepSchema.optional(),
    attempt: z.int().min(1).optional(),
    account: maskedAccountSchema.nullable(),
    updatedAt: timestamp,
    history: z.array(paymentHistoryEntrySchema).optional().meta({ description: 'Every status change, oldest first (single-payment reads).' }),
  })
  .meta({ id: 'OwnPayment', description: "One of the caller's own payments." });
export const ownPaymentListSchema = listEnvelope(ownPaymentSchema, 'OwnPaymentList');

const auditDetailsSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));
export const auditChangeSchema = z
  .discriminatedUnion('subject', [
    z.object({ subject: z.literal('batch'), batchId: z.string(), from: z.string().nullable(), to: z.string(), at: z.iso.datetime(), details: auditDetailsSchema.optional() }),
    z.object({ subject: z.literal('payment'), paymentId: z.string(), from: z.string().nullable(), to: z.string(), reasonCode: z.string().nullable(), at: z.iso.datetime() }),
  ])
  .meta({ id: 'AuditChange', description: 'A state change: of the batch (created, chunk received, sealed, ...) or of one of its payments.' });
export const auditRecordSchema = z
  .object({
    at: z.iso.datetime().meta({ description: 'When the unit of work (a request, a queue message) ended.' }),
    actor: z.string().meta({ description: "Who: the token's sub, `system:<function>` for the platform's own workers, `provider:<code>` for a signed provider callback." }),
    action: z.string().meta({ description: 'The API operationId, or the worker step (verifyPage, disburse, retriesExhausted, ...).' }),
    requestId: z.string().meta({ description: 'The request id (x-request-id) or queue message id.' }),
    changes: z.array(auditChangeSchema),
  })
  .meta({ id: 'AuditRecord' });
export const auditListSchema = listEnvelope(auditRecordSchema, 'AuditList');

export const localTokenResponseSchema = z
  .object({ accessToken: z.string(), tokenType: z.literal('Bearer'), expiresIn: z.int().min(1) })
  .meta({ id: 'LocalTokenResponse' });

export type Problem = z.output<typeof problemSchema>;
export type Batch = z.output<typeof batchSchema>;
export type Payment = z.output<typeof paymentSchema>;
export type AccountLink = z.output<typeof accountLinkSchema>;
export type PaymentCounts = Record<PaymentStatus, number>;

// ---------------------------------------------------------------------------
// Webhooks (api.md "Version 1.1 additions", signed notifications to provincial systems)

export const webhookEventTypeSchema = z.enum(['batch.awaiting_approval', 'batch.approved', 'batch.progress', 'batch.completed', 'batch.cancelled']);

export const putWebhookRequestSchema = z
  .strictObject({
    url: z
      .string()
      .min(1)
      .max(2048)
      .meta({ description: 'The receiver: https deployed (a public host; resolving to a private, loopback or link-local address is refused); http://127.0.0.1:<port> or http://localhost:<port> on the local server.' }),
  })
  .meta({ id: 'PutWebhookRequest' });

export const webhookSecretSchema = z
  .object({ url: z.string(), secret: z.string().meta({ description: 'Signs every event (x-signature). Shown on this answer only; PUT again to rotate it.' }), createdAt: timestamp })
  .meta({ id: 'WebhookWithSecret' });

export const webhookSchema = z.object({ url: z.string(), createdAt: timestamp }).meta({ id: 'Webhook' });

export const webhookDeliverySchema = z
  .object({
    eventId: z.string().meta({ description: 'The event; the receiver deduplicates by it (also sent as x-event-id).' }),
    type: webhookEventTypeSchema,
    batchId: z.string(),
    attempts: count,
    status: z.enum(['DELIVERED', 'RETRYING', 'FAILED']),
    lastStatusCode: z.int().nullable().meta({ description: 'The HTTP status of the last attempt; null when none answered (timeout, refused connection, refused address).' }),
    lastAttemptAt: timestamp.nullable(),
  })
  .meta({ id: 'WebhookDelivery' });

export const webhookDeliveryListSchema = listEnvelope(webhookDeliverySchema, 'WebhookDeliveryList');
