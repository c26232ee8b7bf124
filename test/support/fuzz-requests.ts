import { createHmac } from 'node:crypto';
import * as fc from 'fast-check';
import { routes, type OperationId } from '../../shared/http/routes.js';
import { printable, type FuzzRequest } from './fuzz-http.js';
import {
  anyJson,
  brokenJsonText,
  controlCharacter,
  decomposedText,
  deepNesting,
  invalidToken,
  isPlainObject,
  junkString,
  longString,
  loneSurrogate,
  Members,
  oddNumber,
  otherEncoding,
  Raw,
  serialize,
  utf8,
  wideShape,
  withInvalidUtf8,
  type JsonText,
} from './fuzz-json.js';

/**
 * Request generators for every route of shared/http/routes.ts, built against
 * the fixtures of a running sandbox (FuzzContext). Mutating requests are built
 * so that the contract (shared/spec/api.md) must refuse them: at least one
 * field is broken, or the target's state forbids the operation. Such requests
 * carry `mustReject`, and the test checks both the answer and that the store
 * did not change.
 */

export interface FuzzContext {
  tokens: {
    /** Province 79 (batches:write, batches:read, accounts:write); created every fixture batch. */
    province: string;
    /** Province 01; owns `batchIds.otherProvince`. */
    otherProvince: string;
    /** Province 79 approver that approved `batchIds.approved`. */
    approver: string;
    /** Province 79 approver that approved nothing (approving again would not be a no-op). */
    otherApprover: string;
    /** An approver whose sub is the creator's: maker-checker must refuse it. */
    creatorApprover: string;
    /** The beneficiary of `paymentId`, with a linked account. */
    beneficiary: string;
    /** A living beneficiary with no payments and no account. */
    otherBeneficiary: string;
    ops: string;
  };
  batchIds: { open: string; approved: string; cancelled: string; otherProvince: string };
  /** batchRefs of province 79's fixtures (a new body under one of them is a BATCH_REF_CONFLICT). */
  batchRefs: string[];
  /** A payment of `batchIds.approved`, SENT to the provider and waiting for a callback. */
  paymentId: string;
  /** The beneficiary's personal ID, whose account is linked (never unlinked here). */
  linkedPersonalId: string;
  linkedName: string;
  otherPersonalId: string;
  deceasedPersonalId: string;
  unknownPersonalId: string;
  /** Provider of the SENT payment's account. */
  payoutProviderCode: string;
  providerSecret: string;
  /** A real nextCursor of GET /v1/batches?limit=1 for `tokens.province`. */
  batchCursor: string;
}

// ---------------------------------------------------------------------------
// Encoding

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** UTF-8 percent-encoding of everything but unreserved characters (a lone surrogate becomes U+FFFD). */
export function percentEncode(text: string): string {
  let encoded = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    encoded += byte < 0x80 && UNRESERVED.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/** Escapes a client may send raw: invalid, overlong, surrogate, NUL, encoded slash and dots, double-encoded. */
const percentJunk = fc.constantFrom(
  '%',
  '%%',
  '%G1',
  '%1',
  '%FF',
  '%fe%ff',
  '%C0%AF',
  '%C0%80',
  '%ED%A0%80',
  '%E2%80%AE',
  '%00',
  '%0A',
  '%0D%0A',
  '%2F',
  '%5C',
  '%2e%2e',
  '%252F',
  '%u0041',
  '%F0%9F%98',
  '%EF%BB%BF',
  '%7F',
  '%C2%85',
);

/** A raw path segment: junk text percent-encoded, raw sub-delimiters, junk escapes, very long ids. */
const junkSegment: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: junkString.filter((text) => text !== '' && text !== '.' && text !== '..').map(percentEncode) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9!$&'()*+,;=:@._~-]{1,40}$/) },
  { weight: 2, arbitrary: fc.tuple(fc.stringMatching(/^[A-Za-z0-9]{0,8}$/), percentJunk, fc.stringMatching(/^[A-Za-z0-9]{0,8}$/)).map((parts) => parts.join('')) },
  // Long ids: at most 9 KB on the wire, so that the request head stays under the server's 16 KB header limit (see the report of over-long heads).
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('A', '0', 'é', '%FF', 'Z9'), fc.integer({ min: 64, max: 3_000 })).map(([unit, count]) => (unit === 'é' ? percentEncode(unit.repeat(Math.ceil(count / 2))) : unit.repeat(count))) },
);

// ---------------------------------------------------------------------------
// Field values: valid ones, and ones the contract must refuse

const ulidLike = fc.ulid();
const digits = (length: number) => fc.stringMatching(new RegExp(`^[0-9]{${length}}$`));

/** Strings that break a whole-number field with this minimum (everything in `oddNumber` that does not parse into [min, 2^53 - 1]). */
function badWhole(min: number): fc.Arbitrary<JsonText> {
  const odd = oddNumber.filter((raw) => {
    const value = JSON.parse(raw.text) as number;
    return !(Number.isSafeInteger(value) && value >= min);
  });
  return fc.oneof(odd, fc.constantFrom<JsonText>(String(min), `${min}`, null, true, [], {}, min - 1, min + 0.5, -min), fc.double({ noInteger: true }).filter((value) => Number.isFinite(value)));
}

/** Characters a name or reference must not hold: C0, DEL, C1, line/paragraph separators, bidi controls. */
const unsafeCharacter = fc.oneof(
  fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)),
  fc.integer({ min: 0x7f, max: 0x9f }).map((code) => String.fromCharCode(code)),
  fc.constantFrom('\u2028', '\u2029', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'),
);

const names = fc.constantFrom('Nguyễn Thị Ánh', 'Trần Văn Bình', 'Lê Thị Hồng, Hoa', 'O\'Brien "Bob"', '=HYPERLINK("x")', 'Đặng Văn Đức', 'A', 'x'.repeat(100));
const validName = fc.oneof(
  names,
  decomposedText,
  fc.tuple(fc.constantFrom(' ', '\t', '  \t'), names, fc.constantFrom('', ' ', '\t')).map(([before, name, after]) => `${before}${name}${after}`),
  fc.tuple(names, loneSurrogate).map(([name, half]) => `${name}${half}`),
);
/** Not a name: empty once trimmed, longer than 100 characters, an unsafe character inside, not a string. */
const invalidName: fc.Arbitrary<JsonText> = fc.oneof(
  fc.constantFrom<JsonText>('', '   ', '\t\n', 12, null, true, [], {}, ['Nguyễn']),
  fc.tuple(fc.constantFrom('x', 'ệ', 'Ánh '), fc.integer({ min: 101, max: 2_000 })).map(([unit, count]) => unit.repeat(Math.ceil(count / unit.length) + 101)),
  fc.tuple(names, unsafeCharacter, names).map(([before, char, after]) => `${before.trim()}${char}${after.trim()}`),
);

const validRef = fc.oneof(fc.stringMatching(/^[A-Za-z0-9 ._-]{1,64}$/), fc.constantFrom('P-1', 'Ánh-01', 'ref with spaces', '=1+1', '"quoted"', 'a,b'));
const invalidRef: fc.Arbitrary<JsonText> = fc.oneof(
  fc.constantFrom<JsonText>('', 1, null, false, ['P-1'], 'x'.repeat(65)),
  fc.tuple(validRef, unsafeCharacter).map(([ref, char]) => `${ref.slice(0, 60)}${char}`),
  longString,
);

const BATCH_REF = /^[A-Za-z0-9._-]{1,64}$/;
const validBatchRef = fc.stringMatching(BATCH_REF).map((ref) => `fz-${ref}`.slice(0, 64));
const invalidBatchRef: fc.Arbitrary<JsonText> = fc.oneof(
  fc.constantFrom<JsonText>('', 'a b', 'ref/1', 'ñ', 'ref\n', 'a+b', 12, null, true, [], 'x'.repeat(65), 'ref#1'),
  junkString.filter((text) => !BATCH_REF.test(text)),
  longString,
);

const PERIOD = /^[0-9]{4}-(0[1-9]|1[0-2])$/;
const validPeriod = fc.stringMatching(PERIOD);
const invalidPeriod: fc.Arbitrary<JsonText> = fc.oneof(
  fc.constantFrom<JsonText>('2025-13', '2025-00', '2025-1', '202507', '2025-07-01', ' 2025-07', '2025-07 ', '2025/07', '', 202507, null, '２０２５-07', '2025\u201107', '+2025-07', '99999-01'),
  junkString.filter((text) => !PERIOD.test(text)),
);

const validDate = fc.constantFrom('1985-03-02', '2000-02-29', '1930-12-31', '2019-01-01', '1948-01-20');
const invalidDate: fc.Arbitrary<JsonText> = fc.constantFrom<JsonText>(
  '2023-02-29',
  '1985-02-30',
  '1985-3-2',
  '85-03-02',
  '1985-03-02T00:00:00Z',
  '2999-01-01',
  '',
  19850302,
  null,
  '1985-13-01',
  ' 1985-03-02',
  '1985-00-10',
  '0000-00-00',
  '1985/03/02',
  '+01985-03-02',
  '1985-03-02\n',
  '１９８５-03-02',
);

const validPersonalId = fc.oneof(fc.constantFrom('079185000001', '001048000002', '048060000003', '079185999999'), digits(12));
const invalidPersonalId: fc.Arbitrary<JsonText> = fc.oneof(
  fc.constantFrom<JsonText>('07918500000', '0791850000011', 79185000001, null, '', '07918500000a', '079 185 000 001', '０７９１８５０００００１', '٠٧٩١٨٥٠٠٠٠٠١', '079185000001\n', ' 079185000001', new Raw('079185000001')),
  digits(11),
  digits(13),
);

const validAmount: fc.Arbitrary<JsonText> = fc.oneof(fc.integer({ min: 1_000, max: 3_000_000 }), fc.constantFrom(new Raw('1e3'), new Raw('1000.0'), new Raw('1.5e3'), new Raw('500000')));
const invalidAmount: fc.Arbitrary<JsonText> = fc.oneof(badWhole(1_000), fc.constantFrom<JsonText>('500000', '1,000', new Raw('"1e3"')));

const validGender = fc.constantFrom('M', 'F');
const invalidGender: fc.Arbitrary<JsonText> = fc.constantFrom<JsonText>('X', 'm', 'f', '', null, 1, 'MALE', 'M ', ['M']);

// ---------------------------------------------------------------------------
// Objects with broken fields

interface FieldSpec {
  valid: fc.Arbitrary<JsonText>;
  invalid: fc.Arbitrary<JsonText>;
  /** Leaving it out is an error. */
  required: boolean;
}

type Choice = { kind: 'valid' | 'invalid'; value: JsonText } | { kind: 'omit' };

function choice(spec: FieldSpec, forced: boolean): fc.Arbitrary<Choice> {
  const invalid = spec.invalid.map((value): Choice => ({ kind: 'invalid', value }));
  const omit = fc.constant<Choice>({ kind: 'omit' });
  if (forced) return spec.required ? fc.oneof({ weight: 4, arbitrary: invalid }, { weight: 1, arbitrary: omit }) : invalid;
  return fc.oneof(
    { weight: 12, arbitrary: spec.valid.map((value): Choice => ({ kind: 'valid', value })) },
    { weight: 1, arbitrary: invalid },
    { weight: spec.required ? 1 : 4, arbitrary: omit },
  );
}

const unknownKey = fc.oneof(fc.constantFrom('ammount', 'gendre', 'extra', '__proto__', 'constructor', 'paymentref', 'Amount', ''), junkString);

/**
 * An object of these fields. With `mustBreak`, at least one field is invalid or a
 * required one is missing (or, on a strict object, an unknown field is added);
 * other fields are valid or broken at random. Members come in random order;
 * sometimes a key is repeated (JSON.parse keeps the last, which is the broken one).
 */
function objectOf(fields: Record<string, FieldSpec>, options: { strict: boolean; mustBreak: boolean }): fc.Arbitrary<JsonText> {
  const names = Object.keys(fields);
  const slots = names.length + (options.strict ? 1 : 0);
  return fc
    .nat({ max: slots - 1 })
    .chain((forcedSlot) => {
      const forced = options.mustBreak ? forcedSlot : -1;
      return fc.tuple(
        fc.tuple(...names.map((name, index) => choice(fields[name]!, index === forced))),
        options.strict && forced === names.length ? fc.array(unknownKey, { minLength: 1, maxLength: 3 }) : fc.array(unknownKey, { maxLength: options.strict ? 0 : 2 }),
        fc.array(anyJson, { minLength: 3, maxLength: 3 }),
        fc.array(fc.nat(), { minLength: names.length + 3, maxLength: names.length + 3 }),
        fc.boolean(),
        fc.nat({ max: 9 }),
      );
    })
    .map(([choices, extraKeys, extraValues, order, repeat, repeatSlot]) => {
      const entries: [string, JsonText][] = [];
      choices.forEach((picked, index) => {
        if (picked.kind !== 'omit') entries.push([names[index]!, picked.value]);
      });
      extraKeys.forEach((key, index) => {
        // An unknown key must stay unknown (and distinct from the real fields) to count as the break.
        const name = names.includes(key) || key === '' ? `${key}_x${index}` : key;
        entries.push([name, extraValues[index] ?? null]);
      });
      const shuffled = entries.map((entry, index) => ({ entry, rank: order[index] ?? index })).sort((a, b) => a.rank - b.rank).map(({ entry }) => entry);
      const broken = choices.findIndex((picked) => picked.kind === 'invalid');
      if (repeat && broken >= 0 && choices[broken]!.kind === 'invalid') {
        // The same member twice: a valid value first, the broken one last (the one that counts).
        const name = names[broken]!;
        const last = shuffled.findIndex(([key]) => key === name);
        const [entry] = shuffled.splice(last, 1);
        shuffled.splice(Math.min(repeatSlot, shuffled.length), 0, [name, 'decoy']);
        shuffled.push(entry!);
        return new Members(shuffled);
      }
      return new Members(shuffled);
    });
}

// Payment items and lists

const paymentItemFields: Record<string, FieldSpec> = {
  paymentRef: { valid: validRef, invalid: invalidRef, required: true },
  personalId: { valid: validPersonalId, invalid: invalidPersonalId, required: true },
  fullName: { valid: validName, invalid: invalidName, required: true },
  dateOfBirth: { valid: validDate, invalid: invalidDate, required: true },
  gender: { valid: validGender, invalid: invalidGender, required: false },
  amount: { valid: validAmount, invalid: invalidAmount, required: true },
};

export const paymentItem = (mustBreak: boolean) => objectOf(paymentItemFields, { strict: true, mustBreak });

/**
 * A list of payment items. With `mustBreak`: an item is broken, the list is
 * empty (when `allowEmpty` is false), a paymentRef repeats, or it is not a list.
 */
function paymentList(mustBreak: boolean, allowEmpty: boolean): fc.Arbitrary<JsonText> {
  const items = (forcedItem: boolean) =>
    fc.tuple(fc.array(paymentItem(false), { maxLength: 6 }), forcedItem ? paymentItem(true).map((item) => [item]) : fc.constant([]), fc.nat()).map(([list, extra, at]) => {
      const all = [...list];
      all.splice(at % (all.length + 1), 0, ...extra);
      return all;
    });
  if (!mustBreak) return items(false);
  const duplicated = fc.tuple(paymentItem(false), fc.array(paymentItem(false), { maxLength: 3 })).map(([item, others]) => [item, ...others, item]);
  const notAList = fc.oneof(fc.constantFrom<JsonText>(null, {}, 'payments', 0), paymentItem(false));
  return fc.oneof(
    { weight: 6, arbitrary: items(true) },
    { weight: 1, arbitrary: duplicated },
    { weight: 1, arbitrary: notAList },
    ...(allowEmpty ? [] : [{ weight: 1, arbitrary: fc.constant<JsonText>([]) }]),
  );
}

// ---------------------------------------------------------------------------
// Request bodies per route

const controlFields = (mustBreak: boolean) =>
  objectOf(
    {
      itemCount: { valid: fc.integer({ min: 1, max: 8 }), invalid: badWhole(1), required: true },
      totalAmount: { valid: fc.integer({ min: 1_000, max: 1_000_000_000 }), invalid: badWhole(1), required: true },
    },
    { strict: true, mustBreak },
  );

function createBatchBody(usedRefs: string[]): fc.Arbitrary<JsonText> {
  const fields = (control: fc.Arbitrary<JsonText>, payments: fc.Arbitrary<JsonText>, provinceInvalid: fc.Arbitrary<JsonText>): Record<string, FieldSpec> => ({
    batchRef: { valid: validBatchRef, invalid: invalidBatchRef, required: true },
    provinceCode: { valid: fc.constant('79'), invalid: provinceInvalid, required: true },
    programCode: {
      valid: fc.constantFrom('SOCIAL_ALLOWANCE', 'MERITORIOUS_SERVICE', 'TET_GIFT'),
      invalid: fc.constantFrom<JsonText>('social_allowance', 'UNKNOWN', '', 0, null, 'SOCIAL_ALLOWANCE ', 'ＳＯＣＩＡＬ_ALLOWANCE', 'TET_GIFT\u200b'),
      required: true,
    },
    period: { valid: validPeriod, invalid: invalidPeriod, required: true },
    control: { valid: control, invalid: fc.oneof(controlFields(true), fc.constantFrom<JsonText>(null, [], 1, 'control')), required: true },
    payments: { valid: payments, invalid: paymentList(true, true), required: false },
  });
  const provinceInvalid = fc.constantFrom<JsonText>('7', '079', 79, '7 9', '', null, 'XX', '99', '00', '01', '1', '７９');
  return fc.oneof(
    // Broken structurally (or another province's code: 403).
    { weight: 6, arbitrary: objectOf(fields(controlFields(false), paymentList(false, true), provinceInvalid), { strict: true, mustBreak: true }) },
    // Well-formed, but under a batchRef this province already used for another body: 409 BATCH_REF_CONFLICT.
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom(...usedRefs), fc.constantFrom('SOCIAL_ALLOWANCE', 'TET_GIFT'), fc.integer({ min: 1, max: 3 })).map(
        ([ref, programCode, itemCount]): JsonText => ({ batchRef: ref, provinceCode: '79', programCode, period: '1999-12', control: { itemCount, totalAmount: 123_457 } }),
      ),
    },
  );
}

function appendJsonBody(mustBreak: boolean): fc.Arbitrary<JsonText> {
  return objectOf({ payments: { valid: paymentList(false, false).filter((list) => Array.isArray(list) && list.length > 0), invalid: paymentList(true, false), required: true } }, { strict: true, mustBreak });
}

const banks = ['970405', '970415', '970418', '970436', '970422'];
const wallets = ['VIETTELMONEY', 'MOBIFONEPAY', 'VNPTMONEY'];

function linkBody(mustBreak: boolean, accountName: fc.Arbitrary<string>): fc.Arbitrary<JsonText> {
  const bank = fc.record({ type: fc.constant('BANK'), code: fc.constantFrom(...banks) });
  const wallet = fc.record({ type: fc.constant('EWALLET'), code: fc.constantFrom(...wallets) });
  const invalidProvider: fc.Arbitrary<JsonText> = fc.oneof(
    fc.constantFrom<JsonText>(
      { type: 'CARD', code: '970436' },
      { type: 'bank', code: '970436' },
      { type: 'BANK', code: '000000' },
      { type: 'BANK', code: 'VIETTELMONEY' },
      { type: 'EWALLET', code: '970436' },
      { type: 'BANK', code: '' },
      { type: 'BANK', code: 'x'.repeat(33) },
      { type: 'BANK', code: '970436', name: 'extra' },
      { type: 'BANK' },
      { code: '970436' },
      null,
      'BANK',
      [],
    ),
    anyJson.filter((value) => !isPlainObject(value)),
  );
  const invalidAccountNumber: fc.Arbitrary<JsonText> = fc.constantFrom<JsonText>('12345', '1'.repeat(20), 'abc123456', '', '０９１２３４５６７８', '091234567 x', 1234567890, null, '0912-345-678', '+84912345678');
  const invalidConsent: fc.Arbitrary<JsonText> = fc.oneof(fc.constantFrom<JsonText>('', 12, null, [], 'x'.repeat(129)), unsafeCharacter.map((char) => `consent${char}1`));
  return fc.oneof(bank, wallet).chain((provider) => {
    const number = provider.type === 'BANK' ? fc.stringMatching(/^[0-9]{6,19}$/) : fc.stringMatching(/^0[35789][0-9]{8}$/);
    return objectOf(
      {
        provider: { valid: fc.constant<JsonText>(provider), invalid: invalidProvider, required: true },
        accountNumber: { valid: number, invalid: invalidAccountNumber, required: true },
        accountName: { valid: accountName, invalid: invalidName, required: true },
        consentRef: { valid: fc.stringMatching(/^[A-Za-z0-9 -]{1,40}$/), invalid: invalidConsent, required: false },
      },
      { strict: true, mustBreak },
    );
  });
}

const callbackReasonCodes = ['ACCOUNT_CLOSED', 'ACCOUNT_NOT_FOUND', 'PROVIDER_REJECTED', 'RETRIES_EXHAUSTED'];

function callbackBody(ctx: FuzzContext): fc.Arbitrary<{ body: JsonText; providerCode: string }> {
  const transferRefValid = fc.oneof(fc.constant(ctx.paymentId), fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/), ulidLike.map((id) => `${id}-00${'a'.repeat(20)}`));
  const settledValid = fc.constantFrom('2025-07-01T09:30:00Z', '2025-07-01T09:30:00+07:00', '2025-07-01T09:30:00.123Z', new Date().toISOString());
  const fields = (outcome: fc.Arbitrary<JsonText>, reason: fc.Arbitrary<JsonText>, mustBreak: boolean) =>
    objectOf(
      {
        transferRef: { valid: transferRefValid, invalid: fc.oneof(fc.constantFrom<JsonText>('', 'x'.repeat(129), 'a b', 'x/y', 12, null), junkString.filter((text) => !/^[A-Za-z0-9._:-]{1,128}$/.test(text))), required: true },
        outcome: { valid: outcome, invalid: fc.constantFrom<JsonText>('paid', 'SETTLED', '', null, 1, ['PAID']), required: true },
        reasonCode: { valid: reason, invalid: fc.constantFrom<JsonText>('NOT_A_CODE', 'ID_NOT_FOUND', '', null, 5), required: false },
        settledAt: { valid: settledValid, invalid: fc.constantFrom<JsonText>('2025-07-01T09:30:00', '2025-07-01', 'yesterday', '', 1751362200, '2025-13-01T00:00:00Z', '2025-07-01 09:30:00Z', null), required: true },
      },
      { strict: false, mustBreak },
    );
  return fc.oneof(
    // Broken fields, to any provider.
    { weight: 4, arbitrary: fc.tuple(fields(fc.constantFrom('PAID', 'FAILED', 'RETURNED'), fc.constantFrom(...callbackReasonCodes), true), fc.constantFrom(ctx.payoutProviderCode, '970405', 'VIETTELMONEY')).map(([body, providerCode]) => ({ body, providerCode })) },
    // Well-formed, but RETURNED from SENT (409) or a reason with PAID (422).
    { weight: 1, arbitrary: fields(fc.constant('RETURNED'), fc.constantFrom(...callbackReasonCodes), false).map((body) => ({ body: withMember(body, 'transferRef', ctx.paymentId), providerCode: ctx.payoutProviderCode })) },
    { weight: 1, arbitrary: fields(fc.constant('PAID'), fc.constantFrom(...callbackReasonCodes), false).map((body) => ({ body: withMember(withMember(body, 'outcome', 'PAID'), 'reasonCode', 'ACCOUNT_CLOSED'), providerCode: ctx.payoutProviderCode })) },
    // Well-formed, about a transfer another provider made, or none: 404.
    { weight: 1, arbitrary: fc.tuple(fields(fc.constantFrom('PAID', 'FAILED'), fc.constantFrom('ACCOUNT_CLOSED'), false), fc.constantFrom('970405', 'VIETTELMONEY', 'MOBIFONEPAY')).map(([body, providerCode]) => ({ body: withMember(body, 'transferRef', ctx.paymentId), providerCode })) },
    { weight: 1, arbitrary: fields(fc.constantFrom('PAID', 'FAILED'), fc.constant('ACCOUNT_CLOSED'), false).map((body) => ({ body: withMember(body, 'transferRef', `${ctx.paymentId.slice(0, -1)}${ctx.paymentId.endsWith('z') ? 'y' : 'z'}`), providerCode: ctx.payoutProviderCode })) },
  );
}

function membersOf(value: JsonText): readonly (readonly [string, JsonText])[] {
  return value instanceof Members ? value.entries : isPlainObject(value) ? Object.entries(value) : [];
}

/** The object with this member set (replacing every occurrence). */
function withMember(value: JsonText, name: string, member: JsonText): JsonText {
  return new Members([...membersOf(value).filter(([key]) => key !== name), [name, member]]);
}

/** The object without this member. */
function withoutMember(value: JsonText, name: string): JsonText {
  return new Members(membersOf(value).filter(([key]) => key !== name));
}

// ---------------------------------------------------------------------------
// Bodies on the wire

type Body = { bytes: Uint8Array; kind: string };

const gapArb = fc.constantFrom('', '', '', ' ', '\n', '\r\n\t ');

/** A JSON body from a document: as is (with odd white space), as damaged text, as bytes that are not UTF-8, or in another encoding. */
function jsonBody(document: fc.Arbitrary<JsonText>): fc.Arbitrary<Body> {
  return fc.tuple(document, gapArb).chain(([value, gap]) => {
    const text = serialize(value, gap);
    return fc.oneof(
      { weight: 9, arbitrary: fc.constant<Body>({ bytes: utf8(text), kind: 'json' }) },
      // One leading BOM: the server's UTF-8 decoder drops it, so the document is read as it is.
      { weight: 1, arbitrary: fc.constant<Body>({ bytes: utf8(`\ufeff${text}`), kind: 'json-bom' }) },
      { weight: 2, arbitrary: brokenJsonText(text).map((broken): Body => ({ bytes: utf8(broken), kind: 'json-damaged' })) },
      { weight: 1, arbitrary: withInvalidUtf8(text).map((bytes): Body => ({ bytes, kind: 'bytes-not-utf8' })) },
      // Only encodings that are refused by themselves: decoded, the others could mend a broken field.
      { weight: 1, arbitrary: otherEncoding(text).filter((bytes) => !isUtf8Json(bytes)).map((bytes): Body => ({ bytes, kind: 'bytes-other-encoding' })) },
    );
  });
}

function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function isUtf8Json(bytes: Uint8Array): boolean {
  try {
    JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return true;
  } catch {
    return false;
  }
}

/** Anything at all: random JSON, odd scalars, invalid tokens, empty, random bytes. */
const anyBody: fc.Arbitrary<Body> = fc.oneof(
  { weight: 4, arbitrary: anyJson.map((value): Body => ({ bytes: utf8(serialize(value)), kind: 'json-any' })) },
  { weight: 1, arbitrary: invalidToken.map((token): Body => ({ bytes: utf8(token.text), kind: 'json-invalid-token' })) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\n', 'null', '[]', '{}', '""', '0', '-0', '1e400', 'true', '\ufeff{}', '{"payments":[]}').map((text): Body => ({ bytes: utf8(text), kind: 'json-scalar' })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes): Body => ({ bytes, kind: 'bytes-random' })) },
  { weight: 1, arbitrary: fc.string({ unit: fc.oneof(controlCharacter, loneSurrogate, fc.string({ minLength: 1, maxLength: 1 })), maxLength: 40 }).map((text): Body => ({ bytes: utf8(text), kind: 'text-controls' })) },
);

/** Media types: accepted as JSON by every JSON route, and ones no JSON route accepts. */
const jsonMediaTypes = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'Application/Json;charset=UTF-8', 'application/json;', 'application/json ; charset=utf-16'];
const plusJsonMediaTypes = ['application/problem+json', 'application/vnd.api+json', 'application/merge-patch+json'];
const refusedMediaTypes = [
  'text/plain',
  'text/plain; charset=utf-8',
  'application/xml',
  'text/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/jsonp',
  'application/json-seq',
  'text/json',
  'application/*',
  '*/*',
  'json',
  'application/json, text/csv',
  'application/octet-stream',
  'text/html',
  ';',
  'application/ json',
];

type ContentType = { header: string | undefined; accepted: boolean };

/** The content-type header for a JSON route (`plusJson`: whether `+json` types are accepted there). */
function jsonContentType(plusJson: boolean): fc.Arbitrary<ContentType> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...jsonMediaTypes).map((header): ContentType => ({ header, accepted: true })) },
    { weight: 1, arbitrary: fc.constantFrom(...plusJsonMediaTypes).map((header): ContentType => ({ header, accepted: plusJson })) },
    { weight: 2, arbitrary: fc.constantFrom<string | undefined>(...refusedMediaTypes, 'text/csv', undefined).map((header): ContentType => ({ header, accepted: false })) },
  );
}

// ---------------------------------------------------------------------------
// Auth, headers, query strings

type Auth = { headers: Record<string, string>; refused: boolean; kind: string };

function bearer(token: string, kind = 'token'): Auth {
  return { headers: { authorization: `Bearer ${token}` }, refused: false, kind };
}

function tamper(token: string): string {
  const parts = token.split('.');
  const signature = parts[2] ?? '';
  const flipped = `${signature.slice(0, 5)}${signature[5] === 'A' ? 'B' : 'A'}${signature.slice(6)}`;
  return [parts[0], parts[1], flipped].join('.');
}

/** Authorization that API Gateway's authorizer would refuse (401). */
function badAuth(ctx: FuzzContext): fc.Arbitrary<Auth> {
  const token = ctx.tokens.province;
  return fc
    .constantFrom<Record<string, string>>(
      {},
      { authorization: '' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer x.y.z' },
      { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      { authorization: `Bearer ${tamper(token)}` },
      { authorization: `Bearer ${token}x` },
      { authorization: `Bearer ${token.split('.').slice(0, 2).join('.')}.` },
      { authorization: `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${token.split('.')[1]}.` },
      { authorization: `Bearer ${token} ${token}` },
      { authorization: `Token ${token}` },
      { authorization: `Bearer\t${token}x` },
    )
    .map((headers) => ({ headers, refused: true, kind: 'auth-refused' }));
}

/** Tokens of the roles the route allows (most of the time), a refused token, or a valid token without the scope. */
function authFor(ctx: FuzzContext, allowed: string[], wrongRole: string[]): fc.Arbitrary<Auth> {
  return fc.oneof(
    { weight: 24, arbitrary: fc.constantFrom(...allowed).map((token) => bearer(token)) },
    { weight: 1, arbitrary: fc.constantFrom(...allowed).map((token): Auth => ({ headers: { authorization: `bearer ${token}` }, refused: false, kind: 'token-lowercase-scheme' })) },
    { weight: 1, arbitrary: badAuth(ctx) },
    ...(wrongRole.length > 0 ? [{ weight: 1, arbitrary: fc.constantFrom(...wrongRole).map((token): Auth => ({ ...bearer(token, 'auth-wrong-scope'), refused: true })) }] : []),
  );
}

const printableAscii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 200 });

/** x-request-id (valid, echoed; or junk, replaced), accept, and unknown headers. */
const extraHeaders: fc.Arbitrary<Record<string, string>> = fc
  .tuple(
    fc.option(fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/), printableAscii.filter((value) => value.trim() !== '')), { freq: 3 }),
    fc.option(fc.constantFrom('application/json', 'text/csv', 'text/csv; q=0.1', '*/*', 'application/xml', 'text/csv, application/json', 'x/y;;;'), { freq: 3 }),
    fc.option(printableAscii, { freq: 4 }),
  )
  .map(([requestId, accept, junk]) => ({
    ...(requestId !== null ? { 'x-request-id': requestId.trim() } : {}),
    ...(accept !== null ? { accept } : {}),
    ...(junk !== null ? { 'x-fuzz': junk.trim() } : {}),
  }));

const limitValues = fc.oneof(
  fc.constantFrom('', '0', '1', '1000', '1001', '-1', '1.5', '1e3', '01', '0001', '10 ', ' 10', '+5', '０1', '100,200', '99999999999999999999', '9007199254740993', 'NaN', 'Infinity', '0x10', 'null'),
  fc.integer({ min: -5, max: 20_000 }).map(String),
);

/** A query string of known and unknown parameters, values valid or junk, encoded properly or not, keys repeated. */
function queryString(values: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
  const keys = Object.keys(values);
  const pair = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...keys).chain((key) => fc.tuple(fc.constant(key), fc.oneof({ weight: 3, arbitrary: values[key]! }, { weight: 1, arbitrary: junkString }))) },
    { weight: 1, arbitrary: fc.tuple(junkString, junkString) },
  );
  const encoded = fc.tuple(pair, fc.constantFrom('encoded', 'encoded', 'encoded', 'raw-junk', 'no-value', 'plus')).chain(([[key, value], style]) => {
    if (style === 'no-value') return fc.constant(percentEncode(key));
    if (style === 'plus') return fc.constant(`${percentEncode(key)}=${percentEncode(value).replaceAll('%20', '+')}`);
    if (style === 'raw-junk') return percentJunk.map((junk) => `${percentEncode(key)}=${percentEncode(value.slice(0, 4))}${junk}`);
    return fc.constant(`${percentEncode(key)}=${percentEncode(value)}`);
  });
  return fc.tuple(fc.array(encoded, { maxLength: 5 }), fc.constantFrom('&', '&', '&', '&&', ';')).map(([pairs, separator]) => pairs.join(separator));
}

const paymentStatusValues = fc.constantFrom('RECEIVED', 'VERIFIED', 'REJECTED', 'QUEUED', 'SENT', 'PAID', 'FAILED', 'ON_HOLD', 'CANCELLED', 'RETURNED', 'paid', 'DONE', '');
const batchStatusValues = fc.constantFrom('OPEN', 'SUBMITTED', 'AWAITING_APPROVAL', 'APPROVED', 'COMPLETED', 'CANCELLED', 'open', 'DONE', 'OPEN,APPROVED', '');
const reasonValues = fc.constantFrom('ID_NOT_FOUND', 'DECEASED', 'NAME_MISMATCH', 'ACCOUNT_CLOSED', 'RETRIES_EXHAUSTED', 'id_not_found', 'NOPE', '');

function cursorValues(ctx: FuzzContext): fc.Arbitrary<string> {
  const real = ctx.batchCursor;
  return fc.oneof(
    fc.constant(real),
    fc.nat({ max: real.length - 1 }).map((at) => `${real.slice(0, at)}${real[at] === 'A' ? 'B' : 'A'}${real.slice(at + 1)}`),
    fc.nat({ max: real.length - 1 }).map((at) => real.slice(0, at)),
    fc.constantFrom(`${real}A`, real.toLowerCase(), `${real}=`, real.replaceAll('-', '+'), 'A'.repeat(2049), 'e30', ''),
    fc.stringMatching(/^[A-Za-z0-9_-]{1,120}$/),
    fc.base64String({ maxLength: 120 }),
  );
}

// ---------------------------------------------------------------------------
// Requests

function pathOf(operationId: OperationId, parameters: Record<string, string> = {}): string {
  const route = routes.find((candidate) => candidate.operationId === operationId);
  if (!route) throw new Error(`no route ${operationId}`);
  return route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = parameters[name];
    if (value === undefined) throw new Error(`no value for {${name}} of ${operationId}`);
    return value;
  });
}

function methodOf(operationId: OperationId): string {
  return routes.find((route) => route.operationId === operationId)!.method;
}

interface Parts {
  path?: Record<string, string>;
  query?: string;
  auth: Auth;
  headers?: Record<string, string>;
  contentType?: string | undefined;
  body?: Uint8Array | undefined;
  mustReject: boolean;
  kind: string;
}

function build(operationId: OperationId | 'unrouted', parts: Parts, method?: string, rawPath?: string): FuzzRequest {
  const headers: Record<string, string> = { ...parts.headers, ...parts.auth.headers };
  if (parts.contentType !== undefined) headers['content-type'] = parts.contentType;
  return printable({
    operationId,
    method: method ?? methodOf(operationId as OperationId),
    path: rawPath ?? pathOf(operationId as OperationId, parts.path),
    query: parts.query ?? '',
    headers,
    body: parts.body,
    mustReject: parts.mustReject || parts.auth.refused,
    kind: parts.auth.refused ? parts.auth.kind : parts.kind,
  });
}

/** A batchId: a fixture's, another ULID, a damaged one, or junk (raw, as it goes in the path). */
function batchIdParam(fixtures: string[]): fc.Arbitrary<string> {
  const damaged = fc.tuple(fc.constantFrom(...fixtures), fc.nat({ max: 25 }), fc.constantFrom('0', 'Z', 'I', 'L', 'O', 'U', 'a', '%00', '%20')).map(([id, at, char]) => `${id.slice(0, at)}${char}${id.slice(at + 1)}`);
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...fixtures) },
    { weight: 2, arbitrary: ulidLike },
    { weight: 2, arbitrary: fc.oneof(damaged, fc.constantFrom(...fixtures).map((id) => id.toLowerCase()), fc.constantFrom(...fixtures).map((id) => `${id}0`)) },
    { weight: 3, arbitrary: junkSegment },
  );
}

/** The path segment as the server decodes it (undefined when it is not valid percent-encoding). */
function decoded(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

function batchReads(ctx: FuzzContext, operationId: 'getBatch' | 'listBatchPayments' | 'getBatchReport' | 'listBatchAudit' | 'getBatchReconciliation'): fc.Arbitrary<FuzzRequest> {
  const { tokens, batchIds } = ctx;
  const query =
    operationId === 'getBatch'
      ? fc.oneof({ weight: 3, arbitrary: fc.constant('') }, { weight: 1, arbitrary: queryString({ limit: limitValues, x: junkString }) })
      : operationId === 'listBatchAudit'
        ? queryString({ limit: limitValues, cursor: cursorValues(ctx), x: junkString })
        : queryString({ limit: limitValues, cursor: cursorValues(ctx), status: paymentStatusValues, reasonCode: reasonValues });
  return fc
    .record({
      auth: authFor(ctx, [tokens.province, tokens.approver, tokens.otherProvince], [tokens.beneficiary, tokens.ops]),
      id: batchIdParam(Object.values(batchIds)),
      query,
      headers: extraHeaders,
    })
    .map(({ auth, id, query: q, headers }) => build(operationId, { auth, path: { batchId: id }, query: q, headers, mustReject: false, kind: 'read' }));
}

/** A retry of a batch (none exists in the fuzz world: every call is refused), read, approved or cancelled. */
function retryCall(ctx: FuzzContext, operationId: 'getRetry' | 'approveRetry' | 'cancelRetry', allowed: string[], wrongRole: string[]): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      auth: authFor(ctx, allowed, wrongRole),
      id: batchIdParam(Object.values(ctx.batchIds)),
      retryId: fc.oneof(ulidLike, junkSegment),
      body: fc.option(anyBody, { freq: 2 }),
      headers: extraHeaders,
    })
    .map(({ auth, id, retryId, body, headers }) =>
      build(operationId, {
        auth,
        path: { batchId: id, retryId },
        headers,
        ...(operationId !== 'getRetry' && body ? { body: body.bytes, contentType: 'application/json' } : {}),
        mustReject: true,
        kind: operationId === 'getRetry' ? 'read' : 'command',
      }),
    );
}

/** A POST to a batch that must be refused: a state that forbids it, another province's batch, or no such batch. Body: anything. */
function batchCommand(ctx: FuzzContext, operationId: 'sealBatch' | 'cancelBatch' | 'approveBatch' | 'createRetry', refusingFixtures: string[], allowed: string[], wrongRole: string[]): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      auth: authFor(ctx, allowed, wrongRole),
      id: batchIdParam(refusingFixtures),
      body: fc.option(anyBody, { freq: 2 }),
      contentType: fc.option(fc.constantFrom(...jsonMediaTypes, ...refusedMediaTypes, 'text/csv'), { freq: 3 }),
      headers: extraHeaders,
    })
    .map(({ auth, id, body, contentType, headers }) =>
      build(operationId, {
        auth,
        path: { batchId: id },
        headers,
        contentType: contentType ?? undefined,
        body: body?.bytes,
        mustReject: true,
        kind: body ? `command+${body.kind}` : 'command',
      }),
    );
}

function createBatchRequest(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const { tokens } = ctx;
  return fc
    .record({
      // Province 79 only: the broken provinceCode values include '01', which is a break only for another province's token.
      auth: authFor(ctx, [tokens.province], [tokens.approver, tokens.beneficiary]),
      body: fc.oneof({ weight: 5, arbitrary: jsonBody(createBatchBody(ctx.batchRefs)) }, { weight: 1, arbitrary: anyBody }),
      contentType: jsonContentType(true),
      query: fc.oneof({ weight: 6, arbitrary: fc.constant('') }, { weight: 1, arbitrary: queryString({ batchRef: junkString, dryRun: junkString }) }),
      headers: extraHeaders,
    })
    .map(({ auth, body, contentType, query, headers }) =>
      build('createBatch', { auth, body: body.bytes, contentType: contentType.header, query, headers, mustReject: true, kind: `${body.kind}${contentType.accepted ? '' : '+media-type'}` }),
    );
}

/** Whether the path segment names one of the OPEN fixture batches (province 79's or province 01's). */
function isOpenBatch(ctx: FuzzContext, raw: string): boolean {
  const id = decoded(raw);
  return id === ctx.batchIds.open || id === ctx.batchIds.otherProvince;
}

function appendPaymentsJsonRequest(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const { tokens, batchIds } = ctx;
  return fc
    .record({
      auth: authFor(ctx, [tokens.province, tokens.otherProvince], [tokens.approver, tokens.beneficiary]),
      id: batchIdParam(Object.values(batchIds)),
      contentType: fc.oneof(
        { weight: 12, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;').map((header): ContentType => ({ header, accepted: true })) },
        { weight: 2, arbitrary: fc.constantFrom<string | undefined>(...refusedMediaTypes, ...plusJsonMediaTypes, undefined).map((header): ContentType => ({ header, accepted: false })) },
      ),
      mustBreak: fc.boolean(),
      headers: extraHeaders,
    })
    .chain(({ auth, id, contentType, mustBreak, headers }) => {
      // Only an OPEN batch would store a well-formed chunk: to those the chunk is always broken.
      const open = isOpenBatch(ctx, id);
      const body = fc.oneof({ weight: 5, arbitrary: jsonBody(appendJsonBody(open || mustBreak)) }, { weight: 1, arbitrary: anyBody });
      return body.map((chosen) =>
        build('appendPayments', {
          auth,
          path: { batchId: id },
          body: chosen.bytes,
          contentType: contentType.header,
          headers,
          mustReject: true,
          kind: `${chosen.kind}${contentType.accepted ? '' : '+media-type'}`,
        }),
      );
    });
}

function personalIdParam(ctx: FuzzContext, options: { excludeLinked: boolean }): fc.Arbitrary<string> {
  const ids = [ctx.otherPersonalId, ctx.deceasedPersonalId, ctx.unknownPersonalId, ...(options.excludeLinked ? [] : [ctx.linkedPersonalId])];
  const linked = ctx.linkedPersonalId;
  const candidates = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...ids) },
    { weight: 1, arbitrary: digits(12) },
    { weight: 2, arbitrary: fc.constantFrom(`${linked}0`, linked.slice(1), ` ${linked}`, `${linked}%00`, `${linked}%0A`, '０７９１８５０００００１', `${linked.slice(0, 6)}%FF${linked.slice(6)}`).map((value) => (value.includes('%') ? value : percentEncode(value))) },
    { weight: 3, arbitrary: junkSegment },
  );
  if (!options.excludeLinked) return candidates;
  return candidates.filter((raw) => {
    try {
      return decodeURIComponent(raw) !== linked;
    } catch {
      return true;
    }
  });
}

function linkAccountRequest(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const { tokens } = ctx;
  const matchingName = fc.constantFrom(ctx.linkedName, ctx.linkedName.normalize('NFD'), ` ${ctx.linkedName} `, 'NGUYEN THI ANH', 'nguyen thi anh');
  const anyName = fc.oneof(validName, matchingName);
  // Refused because of who or what, with a well-formed body: a dead or unknown person, another person's ID,
  // a province without consent, a name that does not match. `consent`: add a consentRef, drop it, or leave it as generated.
  type LinkCase = { token: string; id: string; name: fc.Arbitrary<string>; consent: 'add' | 'drop' | 'any' };
  const semantic = fc.oneof(
    fc.constantFrom(ctx.deceasedPersonalId, ctx.unknownPersonalId).map((id): LinkCase => ({ token: tokens.beneficiary, id, name: anyName, consent: 'any' })),
    fc.constantFrom(ctx.deceasedPersonalId, ctx.unknownPersonalId).map((id): LinkCase => ({ token: tokens.province, id, name: anyName, consent: 'add' })),
    fc.constantFrom(ctx.otherPersonalId, ctx.linkedPersonalId).map((id): LinkCase => ({ token: tokens.province, id, name: anyName, consent: 'drop' })),
    fc.constant<LinkCase>({ token: tokens.beneficiary, id: ctx.otherPersonalId, name: anyName, consent: 'any' }),
    fc.constant<LinkCase>({ token: tokens.otherBeneficiary, id: ctx.linkedPersonalId, name: matchingName, consent: 'any' }),
    fc.constant<LinkCase>({ token: tokens.beneficiary, id: ctx.linkedPersonalId, name: fc.constantFrom('Trần Văn Bình', 'Nguyễn Thị Anh Ánh', 'Nguyen', 'Ánh Thị Nguyễn'), consent: 'any' }),
  );
  return fc.oneof(
    // A broken body (or junk), for any person.
    {
      weight: 5,
      arbitrary: fc
        .record({
          auth: authFor(ctx, [tokens.beneficiary, tokens.province], [tokens.approver, tokens.ops]),
          id: personalIdParam(ctx, { excludeLinked: false }),
          body: fc.oneof({ weight: 5, arbitrary: jsonBody(linkBody(true, anyName)) }, { weight: 1, arbitrary: anyBody }),
          contentType: jsonContentType(true),
          headers: extraHeaders,
        })
        .map(({ auth, id, body, contentType, headers }) =>
          build('linkAccount', { auth, path: { personalId: id }, body: body.bytes, contentType: contentType.header, headers, mustReject: true, kind: `${body.kind}${contentType.accepted ? '' : '+media-type'}` }),
        ),
    },
    {
      weight: 2,
      arbitrary: semantic.chain(({ token, id, name, consent }) =>
        fc.record({ body: linkBody(false, name), headers: extraHeaders, consentRef: fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/) }).map(({ body, headers, consentRef }) => {
          const document = consent === 'add' ? withMember(body, 'consentRef', consentRef) : consent === 'drop' ? withoutMember(body, 'consentRef') : body;
          return build('linkAccount', {
            auth: bearer(token),
            path: { personalId: percentEncode(id) },
            body: utf8(serialize(document)),
            contentType: 'application/json',
            headers,
            mustReject: true,
            kind: 'json-semantic',
          });
        }),
      ),
    },
  );
}

function accountReads(ctx: FuzzContext, operationId: 'getAccount' | 'unlinkAccount'): fc.Arbitrary<FuzzRequest> {
  const { tokens } = ctx;
  const unlink = operationId === 'unlinkAccount';
  return fc
    .record({
      auth: authFor(ctx, [tokens.beneficiary, tokens.province, tokens.otherBeneficiary], [tokens.approver, tokens.ops]),
      id: personalIdParam(ctx, { excludeLinked: unlink }),
      query: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: queryString({ limit: limitValues, x: junkString }) }),
      body: unlink ? fc.option(anyBody, { freq: 3 }) : fc.constant(null),
      headers: extraHeaders,
    })
    .map(({ auth, id, query, body, headers }) =>
      build(operationId, {
        auth,
        path: { personalId: id },
        query,
        body: body?.bytes,
        contentType: body ? 'application/json' : undefined,
        headers,
        // Every ID here has no account linked (the linked one is excluded): DELETE finds nothing to unlink.
        mustReject: unlink,
        kind: unlink ? 'unlink-nothing' : 'read',
      }),
    );
}

function paymentIdParam(ctx: FuzzContext): fc.Arbitrary<string> {
  const id = ctx.paymentId;
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant(id) },
    {
      weight: 3,
      arbitrary: fc.oneof(
        fc.tuple(fc.nat({ max: id.length - 1 }), fc.constantFrom('0', 'a', 'Z', '-', 'z')).map(([at, char]) => `${id.slice(0, at)}${char}${id.slice(at + 1)}`),
        fc.constantFrom(id.toUpperCase(), id.toLowerCase(), `${id}0`, id.slice(0, -1), id.replace('-', ''), id.replace(/-\d\d/, '-99'), `${ctx.batchIds.open}-00${'0'.repeat(20)}`),
      ),
    },
    { weight: 1, arbitrary: ulidLike.map((ulid) => `${ulid}-00${'a'.repeat(20)}`) },
    { weight: 3, arbitrary: junkSegment },
  );
}

function paymentReads(ctx: FuzzContext, operationId: 'getPayment' | 'getMyPayment'): fc.Arbitrary<FuzzRequest> {
  const { tokens } = ctx;
  const allowed = operationId === 'getPayment' ? [tokens.province, tokens.approver, tokens.beneficiary, tokens.otherProvince, tokens.otherBeneficiary] : [tokens.beneficiary, tokens.otherBeneficiary];
  const wrong = operationId === 'getPayment' ? [tokens.ops] : [tokens.province, tokens.ops];
  return fc
    .record({ auth: authFor(ctx, allowed, wrong), id: paymentIdParam(ctx), query: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: queryString({ x: junkString }) }), headers: extraHeaders })
    .map(({ auth, id, query, headers }) => build(operationId, { auth, path: { paymentId: id }, query, headers, mustReject: false, kind: 'read' }));
}

function simpleRead(ctx: FuzzContext, operationId: OperationId, allowed: string[], wrongRole: string[], values: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({ auth: authFor(ctx, allowed, wrongRole), query: queryString(values), headers: extraHeaders })
    .map(({ auth, query, headers }) => build(operationId, { auth, query, headers, mustReject: false, kind: 'read' }));
}

function publicRead(ctx: FuzzContext, operationId: 'getHealth' | 'getOpenApi'): fc.Arbitrary<FuzzRequest> {
  const auth = fc.oneof(fc.constant<Auth>({ headers: {}, refused: false, kind: 'none' }), fc.constant(bearer(ctx.tokens.ops)), badAuth(ctx).map((bad) => ({ ...bad, refused: false })));
  return fc
    .record({ auth, query: queryString({ x: junkString, version: junkString }), headers: extraHeaders })
    .map(({ auth: chosen, query, headers }) => build(operationId, { auth: chosen, query, headers, mustReject: false, kind: 'public' }));
}

function sign(secret: string, timestamp: string, body: Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

function providerCallbackRequest(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const providerJunk = fc.oneof(fc.constantFrom('970436 ', 'viettelmoney', '000000', 'BANK', percentEncode('970436\n')), junkSegment);
  const body = fc.oneof(
    { weight: 5, arbitrary: callbackBody(ctx).chain(({ body: document, providerCode }) => jsonBody(fc.constant(document)).map((chosen) => ({ body: chosen, providerCode }))) },
    { weight: 1, arbitrary: fc.tuple(anyBody, fc.constantFrom(ctx.payoutProviderCode, 'VIETTELMONEY')).map(([chosen, providerCode]) => ({ body: chosen, providerCode })) },
    { weight: 1, arbitrary: fc.tuple(anyBody, providerJunk).map(([chosen, providerCode]) => ({ body: chosen, providerCode })) },
  );
  // The signature: right (so the body is judged), or wrong in one of the ways a replay or a forgery is.
  const signature = fc.oneof(
    { weight: 12, arbitrary: fc.constant('valid') },
    { weight: 1, arbitrary: fc.constantFrom('stale', 'future', 'no-timestamp', 'no-signature', 'timestamp-junk', 'signature-junk', 'wrong-secret', 'uppercase-hex', 'other-body', 'milliseconds') },
  );
  return fc
    .record({ body, signature, contentType: jsonContentType(true), headers: extraHeaders, timestampJunk: fc.constantFrom('1e9', '-1', ' 1', '\u00b9', '0x10', '', '99999999999999', '1.5', '1 2') })
    .map(({ body: { body: chosen, providerCode }, signature: how, contentType, headers, timestampJunk }) => {
      const now = Math.floor(Date.now() / 1000);
      const timestamp = how === 'stale' ? String(now - 400) : how === 'future' ? String(now + 400) : how === 'milliseconds' ? String(Date.now()) : how === 'timestamp-junk' ? timestampJunk : String(now);
      const secret = how === 'wrong-secret' ? `${ctx.providerSecret}x` : ctx.providerSecret;
      let mac = sign(secret, timestamp, how === 'other-body' ? utf8('{}') : chosen.bytes);
      if (how === 'uppercase-hex') mac = mac.toUpperCase();
      if (how === 'signature-junk') mac = mac.slice(0, 63);
      const signed: Record<string, string> = {
        ...(how === 'no-timestamp' ? {} : { 'x-timestamp': timestamp }),
        ...(how === 'no-signature' ? {} : { 'x-signature': mac }),
      };
      return build('providerCallback', {
        auth: { headers: signed, refused: false, kind: 'signature' },
        path: { providerCode },
        body: chosen.bytes,
        contentType: contentType.header,
        headers,
        mustReject: true,
        kind: `${chosen.kind}+signature-${how}${contentType.accepted ? '' : '+media-type'}`,
      });
    });
}

/**
 * Register events (api.md 1.1): any body, signed wrongly in one of the ways a
 * replay or a forgery is (a valid signature would change state, which the
 * register-events suite covers): always refused, nothing changed.
 */
function registerEventRequest(): fc.Arbitrary<FuzzRequest> {
  const registerSecret = 'local-register-secret';
  const how = fc.constantFrom('stale', 'future', 'no-timestamp', 'no-signature', 'signature-junk', 'wrong-secret', 'provider-secret', 'other-body');
  return fc.record({ body: anyBody, how, contentType: jsonContentType(true), headers: extraHeaders }).map(({ body: chosen, how: way, contentType, headers }) => {
    const now = Math.floor(Date.now() / 1000);
    const timestamp = way === 'stale' ? String(now - 400) : way === 'future' ? String(now + 400) : String(now);
    const secret = way === 'wrong-secret' ? `${registerSecret}x` : way === 'provider-secret' ? 'local-provider-secret' : registerSecret;
    let mac = sign(secret, timestamp, way === 'other-body' ? utf8('{}') : chosen.bytes);
    if (way === 'signature-junk') mac = mac.slice(0, 63);
    const signed: Record<string, string> = {
      ...(way === 'no-timestamp' ? {} : { 'x-timestamp': timestamp }),
      ...(way === 'no-signature' ? {} : { 'x-signature': mac }),
    };
    return build('receiveRegisterEvent', {
      auth: { headers: signed, refused: false, kind: 'signature' },
      body: chosen.bytes,
      contentType: contentType.header,
      headers,
      mustReject: true,
      kind: `${chosen.kind}+signature-${way}`,
    });
  });
}

/** A signed statement whose body is junk (never a valid statement): refused with 400, 413, 415 or 422; or a forged signature: 401. */
function statementRequest(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({ body: anyBody, providerCode: fc.constantFrom(ctx.payoutProviderCode, 'VIETTELMONEY'), forged: fc.boolean(), headers: extraHeaders })
    .map(({ body, providerCode, forged, headers }) => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const mac = sign(forged ? `${ctx.providerSecret}x` : ctx.providerSecret, timestamp, body.bytes);
      return build('importStatement', {
        auth: { headers: { 'x-timestamp': timestamp, 'x-signature': mac }, refused: false, kind: 'signature' },
        path: { providerCode },
        body: body.bytes,
        contentType: 'application/json',
        headers,
        mustReject: true,
        kind: `${body.kind}+signature-${forged ? 'forged' : 'valid'}`,
      });
    });
}

/** Requests for paths and methods no route serves: unknown paths, and known paths with a method they do not serve (405). */
export function unroutedRequest(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const fixtures: Record<string, string> = { batchId: ctx.batchIds.open, paymentId: ctx.paymentId, personalId: ctx.linkedPersonalId, providerCode: ctx.payoutProviderCode };
  const otherMethod = fc
    .record({
      route: fc.constantFrom(...routes),
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
      auth: fc.oneof(fc.constant(bearer(ctx.tokens.province)), fc.constant<Auth>({ headers: {}, refused: false, kind: 'none' })),
      headers: extraHeaders,
    })
    .filter(({ route, method }) => !routes.some((other) => other.path === route.path && other.method === method))
    .map(({ route, method, auth, headers }) =>
      build('unrouted', { auth, headers, mustReject: false, kind: 'other-method' }, method, route.path.replace(/\{(\w+)\}/g, (_, name: string) => fixtures[name] ?? 'x')),
    );
  const unknownPath = fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
      prefix: fc.constantFrom('/', '/v1/', '/v2/', '/v1/batches/', '/v1/me/', '/local/', '/V1/', '/v1//', '/v1/health/'),
      segments: fc.array(junkSegment, { minLength: 1, maxLength: 3 }),
      auth: fc.oneof(fc.constant(bearer(ctx.tokens.province)), fc.constant<Auth>({ headers: {}, refused: false, kind: 'none' })),
      body: fc.option(anyBody, { freq: 2 }),
      headers: extraHeaders,
    })
    .map(({ method, prefix, segments, auth, body, headers }) => {
      const withBody = method !== 'GET' && method !== 'HEAD' && body !== null;
      return build(
        'unrouted',
        { auth, headers, body: withBody ? body.bytes : undefined, contentType: withBody ? 'application/json' : undefined, mustReject: false, kind: 'unrouted' },
        method,
        `${prefix}${segments.join('/')}`,
      );
    });
  return fc.oneof(unknownPath, otherMethod);
}

// ---------------------------------------------------------------------------
// CSV chunks

const COLUMNS = ['paymentRef', 'personalId', 'fullName', 'dateOfBirth', 'gender', 'amount'] as const;
type Column = (typeof COLUMNS)[number];

const csvValid: Record<Column, fc.Arbitrary<string>> = {
  paymentRef: validRef,
  personalId: fc.oneof(fc.constantFrom('079185000001', '001048000002'), digits(12)),
  fullName: validName,
  dateOfBirth: validDate,
  gender: fc.constantFrom('', 'M', 'F'),
  amount: fc.oneof(fc.integer({ min: 1_000, max: 3_000_000 }).map(String), fc.constantFrom('0001000', '1000')),
};

const csvInvalid: Record<Column, fc.Arbitrary<string>> = {
  paymentRef: fc.oneof(fc.constantFrom('', 'x'.repeat(65), 'ref\nwith newline', 'ref\r\n', 'tab\tref'), unsafeCharacter.map((char) => `P${char}1`)),
  personalId: fc.constantFrom('79185000001', '0791850000011', '０７９１８５０００００１', '079185000001 ', '', '7.9185E+10', '079-185-000-001'),
  fullName: fc.oneof(fc.constantFrom('', '   ', 'Nguyễn\nThị Ánh', 'Nguyễn\r\nThị', 'A\u0000B', 'A\u202eB', 'x'.repeat(101)), unsafeCharacter.map((char) => `Lê${char}Hoa`)),
  dateOfBirth: fc.constantFrom('2023-02-29', '02/03/1985', '1985-3-2', '2999-01-01', '', '1985-03-02 ', '31/12/1930', '1985-13-01'),
  gender: fc.constantFrom('X', 'm', ' M', 'MALE', 'F ', 'Nữ'),
  amount: fc.constantFrom('999', '0', '-1000', '+1000', '1,000', '1000.0', '1e3', ' 1000', '1000 ', '１０００', '', '99999999999999999', '9999999999999999', '1 000', '1.000', '0x3E8', 'NaN'),
};

type CsvField = { text: string; quote: 'minimal' | 'always' | 'never' };

function writeField({ text, quote }: CsvField): string {
  const needs = /[",\r\n]/.test(text) || text.startsWith('\uFEFF');
  if (quote === 'always' || (quote === 'minimal' && needs)) return `"${text.replaceAll('"', '""')}"`;
  return text;
}

/** A row of the given columns: valid values, or (with `broken`) one value broken. */
function csvRow(columns: readonly Column[], broken: boolean): fc.Arbitrary<CsvField[]> {
  return fc
    .tuple(
      fc.tuple(...columns.map((column) => csvValid[column])),
      broken ? fc.nat().chain((index) => csvInvalid[columns[index % columns.length]!].map((text) => ({ index: index % columns.length, text }))) : fc.constant(undefined),
      fc.constantFrom<CsvField['quote']>('minimal', 'minimal', 'always'),
    )
    .map(([values, bad, quote]) => values.map((text, index): CsvField => ({ text: bad && bad.index === index ? bad.text : text, quote })));
}

type CsvBreak = 'none' | 'header' | 'value' | 'too-many-fields' | 'too-few-fields' | 'syntax' | 'duplicate-ref' | 'no-rows' | 'bom-in-header';

/**
 * A CSV chunk: header in any column order (quoted or not), CRLF/LF/CR, BOM,
 * blank lines, quoted fields with commas, quotes and line breaks. With
 * `mustBreak`, one thing the contract refuses is always in it.
 */
export function csvChunk(mustBreak: boolean): fc.Arbitrary<{ text: string; broken: CsvBreak }> {
  const breaks: CsvBreak[] = ['header', 'value', 'value', 'value', 'too-many-fields', 'too-few-fields', 'syntax', 'duplicate-ref', 'no-rows', 'bom-in-header'];
  return fc
    .record({
      order: fc.shuffledSubarray([...COLUMNS], { minLength: 6, maxLength: 6 }),
      broken: mustBreak ? fc.constantFrom(...breaks) : fc.constantFrom<CsvBreak>('none', 'none', 'none', ...breaks),
      rowCount: fc.integer({ min: 1, max: 8 }),
      // Leading BOMs: the UTF-8 decoder drops one and the CSV reader another, so up to two are read as nothing.
      boms: fc.constantFrom('', '', '\ufeff', '\ufeff', '\ufeff\ufeff'),
      quoteHeader: fc.boolean(),
      endings: fc.array(fc.constantFrom('\r\n', '\r\n', '\n', '\r', '\r\n\r\n', '\n\n'), { minLength: 12, maxLength: 12 }),
      trailing: fc.constantFrom('', '\r\n', '\n', '\r\n\r\n'),
      headerBreak: fc.constantFrom('rename', 'drop', 'duplicate', 'extra', 'case', 'space', 'empty-name', 'semicolons'),
      syntaxBreak: fc.constantFrom('quote-inside', 'text-after-quote', 'unclosed'),
      breakRow: fc.nat(),
    })
    .chain((plan) => {
      const columns = plan.order as Column[];
      const rows = fc.tuple(...Array.from({ length: plan.rowCount }, (_, index) => csvRow(columns, plan.broken === 'value' && index === plan.breakRow % plan.rowCount)));
      return rows.map((generated) => {
        let header = columns.map((name) => (plan.quoteHeader ? `"${name}"` : name));
        let body = generated.map((row) => row.map(writeField));
        // An unclosed quote goes in the last row, so that no later quote can close it.
        const at = plan.broken === 'syntax' && plan.syntaxBreak === 'unclosed' ? body.length - 1 : plan.breakRow % plan.rowCount;
        switch (plan.broken) {
          case 'header':
            if (plan.headerBreak === 'rename') header[0] = 'paymentReference';
            else if (plan.headerBreak === 'drop') header = header.slice(1);
            else if (plan.headerBreak === 'duplicate') header = [...header, header[0]!];
            else if (plan.headerBreak === 'extra') header = [...header, 'note'];
            else if (plan.headerBreak === 'case') header = header.map((name) => name.toUpperCase());
            else if (plan.headerBreak === 'space') header = header.map((name, index) => (index === 0 ? ` ${name}` : name));
            else if (plan.headerBreak === 'empty-name') header = [...header.slice(0, 2), '', ...header.slice(2)];
            else header = [header.join(';')];
            break;
          case 'bom-in-header':
            header[1] = `\ufeff${header[1]!}`;
            break;
          case 'too-many-fields':
            body[at] = [...body[at]!, 'extra'];
            break;
          case 'too-few-fields':
            body[at] = body[at]!.slice(0, -1);
            break;
          case 'syntax': {
            const row = body[at]!;
            if (plan.syntaxBreak === 'quote-inside') row[0] = `x"${row[0]!.replaceAll('"', '')}`;
            else if (plan.syntaxBreak === 'text-after-quote') row[0] = `"${row[0]!.replaceAll('"', '')}"x`;
            else row[row.length - 1] = `"${row[row.length - 1]!.replaceAll('"', '')}`;
            break;
          }
          case 'duplicate-ref':
            body = [...body, body[0]!];
            break;
          case 'no-rows':
            body = [];
            break;
          default:
            break;
        }
        const lines = [header.join(','), ...body.map((row) => row.join(','))];
        let text = lines.map((line, index) => `${line}${index < lines.length - 1 ? plan.endings[index % plan.endings.length]! : ''}`).join('');
        // A lone CR ending before a line that starts with LF would merge with it into one CRLF: harmless.
        text = `${plan.boms}${text}${plan.broken === 'syntax' && plan.syntaxBreak === 'unclosed' ? '' : plan.trailing}`;
        return { text, broken: plan.broken };
      });
    });
}

const csvMediaTypes = ['text/csv', 'text/csv; charset=utf-8', 'TEXT/CSV', 'text/csv;header=present', 'Text/Csv ;'];

/** CSV chunks to every kind of batch. To the OPEN batch the chunk is always broken. */
export function appendCsvRequest(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const { tokens, batchIds } = ctx;
  return fc
    .record({
      auth: authFor(ctx, [tokens.province, tokens.otherProvince], [tokens.approver]),
      id: batchIdParam(Object.values(batchIds)),
      contentType: fc.oneof(
        { weight: 10, arbitrary: fc.constantFrom(...csvMediaTypes).map((header): ContentType => ({ header, accepted: true })) },
        { weight: 1, arbitrary: fc.constantFrom<string | undefined>('text/plain', 'application/csv', 'text/comma-separated-values', 'application/vnd.ms-excel', 'text/csvx', undefined).map((header): ContentType => ({ header, accepted: false })) },
      ),
      mustBreak: fc.boolean(),
      encoding: fc.constantFrom('utf8', 'utf8', 'utf8', 'utf8', 'utf8', 'utf8', 'not-utf8', 'latin1'),
      headers: extraHeaders,
    })
    .chain(({ auth, id, contentType, mustBreak, encoding, headers }) => {
      const open = isOpenBatch(ctx, id);
      return csvChunk(open || mustBreak).chain(({ text, broken }) => {
        const latin1 = Buffer.from(text, 'latin1');
        const bytes: fc.Arbitrary<{ bytes: Uint8Array; kind: string }> =
          encoding === 'not-utf8'
            ? withInvalidUtf8(text).map((raw) => ({ bytes: raw, kind: 'csv-not-utf8' }))
            : // Latin-1 bytes are used only when they are not UTF-8 (refused as such): decoded, they could mend the break.
              encoding === 'latin1' && !isUtf8(latin1)
              ? fc.constant({ bytes: latin1, kind: 'csv-latin1' })
              : fc.constant({ bytes: utf8(text), kind: `csv-${broken}` });
        return bytes.map(({ bytes: raw, kind }) =>
          build('appendPayments', { auth, path: { batchId: id }, body: raw, contentType: contentType.header, headers, mustReject: true, kind: `${kind}${contentType.accepted ? '' : '+media-type'}` }),
        );
      });
    });
}

// ---------------------------------------------------------------------------
// Every route

/** One generator per route of the table; the Record type makes a missing route a compile error. */
export function routeFuzzers(ctx: FuzzContext): Record<OperationId, fc.Arbitrary<FuzzRequest>> {
  const { tokens, batchIds } = ctx;
  const everyone = [tokens.province, tokens.otherProvince, tokens.approver, tokens.beneficiary, tokens.ops];
  return {
    getHealth: publicRead(ctx, 'getHealth'),
    getOpenApi: publicRead(ctx, 'getOpenApi'),
    listPrograms: simpleRead(ctx, 'listPrograms', everyone, [], { limit: limitValues, code: junkString }),
    listReasonCodes: simpleRead(ctx, 'listReasonCodes', everyone, [], { limit: limitValues, code: junkString }),
    listProviders: simpleRead(ctx, 'listProviders', everyone, [], { type: fc.constantFrom('BANK', 'EWALLET', 'bank'), limit: limitValues }),
    createBatch: createBatchRequest(ctx),
    listBatches: simpleRead(ctx, 'listBatches', [tokens.province, tokens.approver, tokens.otherProvince], [tokens.beneficiary, tokens.ops], {
      limit: limitValues,
      cursor: cursorValues(ctx),
      status: batchStatusValues,
      period: fc.oneof(validPeriod, invalidPeriod.filter((value): value is string => typeof value === 'string')),
    }),
    getBatch: batchReads(ctx, 'getBatch'),
    appendPayments: fc.oneof(appendPaymentsJsonRequest(ctx), appendCsvRequest(ctx)),
    listBatchPayments: batchReads(ctx, 'listBatchPayments'),
    // The OPEN batch cannot be sealed (its control totals are not met), the cancelled one cannot be, the other province's is not found.
    sealBatch: batchCommand(ctx, 'sealBatch', [batchIds.open, batchIds.cancelled, batchIds.otherProvince], [tokens.province, tokens.otherProvince], [tokens.approver, tokens.beneficiary]),
    getBatchReport: batchReads(ctx, 'getBatchReport'),
    listBatchAudit: batchReads(ctx, 'listBatchAudit'),
    // Only the approved batch of province 79 is beyond cancelling; the others would be cancelled for real.
    cancelBatch: batchCommand(ctx, 'cancelBatch', [batchIds.approved, batchIds.otherProvince], [tokens.province], [tokens.approver, tokens.beneficiary]),
    getPayment: paymentReads(ctx, 'getPayment'),
    linkAccount: linkAccountRequest(ctx),
    getAccount: accountReads(ctx, 'getAccount'),
    unlinkAccount: accountReads(ctx, 'unlinkAccount'),
    listMyPayments: simpleRead(ctx, 'listMyPayments', [tokens.beneficiary, tokens.otherBeneficiary], [tokens.province, tokens.ops], { limit: limitValues, cursor: cursorValues(ctx), status: paymentStatusValues }),
    getMyPayment: paymentReads(ctx, 'getMyPayment'),
    getMyAccount: simpleRead(ctx, 'getMyAccount', [tokens.beneficiary, tokens.otherBeneficiary], [tokens.province, tokens.ops], { x: junkString }),
    // No batch is AWAITING_APPROVAL; the creator's own sub is refused (403); the one who approved is left out (a retry is a no-op).
    approveBatch: batchCommand(ctx, 'approveBatch', Object.values(batchIds), [tokens.otherApprover, tokens.creatorApprover], [tokens.province, tokens.beneficiary]),
    providerCallback: providerCallbackRequest(ctx),
    receiveRegisterEvent: registerEventRequest(),
    putWebhook: putWebhookRequest(ctx),
    // G2P Connect: any body (a junk envelope is refused whole; link, unlink and update refuse whatever they get, as RJCT).
    g2pDisburse: g2pRequest(ctx, 'g2pDisburse', [tokens.province, tokens.otherProvince], true),
    g2pDisburseSync: g2pRequest(ctx, 'g2pDisburseSync', [tokens.province, tokens.otherProvince], true),
    g2pTxnStatus: g2pRequest(ctx, 'g2pTxnStatus', [tokens.province, tokens.approver], true),
    g2pTxnStatusSync: g2pRequest(ctx, 'g2pTxnStatusSync', [tokens.province, tokens.approver], true),
    g2pMapperResolve: g2pRequest(ctx, 'g2pMapperResolve', [tokens.province, tokens.otherProvince], true),
    g2pMapperLink: g2pRequest(ctx, 'g2pMapperLink', [tokens.province], false),
    g2pMapperUnlink: g2pRequest(ctx, 'g2pMapperUnlink', [tokens.province], false),
    g2pMapperUpdate: g2pRequest(ctx, 'g2pMapperUpdate', [tokens.province], false),
    getWebhook: simpleRead(ctx, 'getWebhook', [tokens.province, tokens.otherProvince, tokens.approver], [tokens.beneficiary, tokens.ops], { x: junkString }),
    deleteWebhook: simpleRead(ctx, 'deleteWebhook', [tokens.province, tokens.otherProvince], [tokens.approver, tokens.beneficiary, tokens.ops], { x: junkString }),
    listWebhookDeliveries: simpleRead(ctx, 'listWebhookDeliveries', [tokens.province, tokens.otherProvince, tokens.approver], [tokens.beneficiary, tokens.ops], { limit: limitValues, cursor: cursorValues(ctx) }),
    // No event of this shape exists (or the id is junk): refused either way.
    redeliverWebhookEvent: fc
      .record({
        auth: authFor(ctx, [tokens.province, tokens.otherProvince], [tokens.approver, tokens.beneficiary]),
        id: fc.oneof(ulidLike.map((id) => `${id}-approved`), ulidLike.map((id) => `${id}-progress-25`), junkSegment),
        headers: extraHeaders,
      })
      .map(({ auth, id, headers }) => build('redeliverWebhookEvent', { auth, path: { eventId: id }, headers, mustReject: true, kind: 'command' })),
    // No fixture batch has a FAILED or RETURNED payment: every retry request is refused (404, 409, 415, 422, ...).
    createRetry: batchCommand(ctx, 'createRetry', Object.values(batchIds), [tokens.province, tokens.otherProvince], [tokens.approver, tokens.beneficiary]),
    getBatchReconciliation: batchReads(ctx, 'getBatchReconciliation'),
    importStatement: statementRequest(ctx),
    getRetry: retryCall(ctx, 'getRetry', [tokens.province, tokens.approver, tokens.otherProvince], [tokens.beneficiary, tokens.ops]),
    approveRetry: retryCall(ctx, 'approveRetry', [tokens.otherApprover, tokens.creatorApprover], [tokens.province, tokens.beneficiary]),
    cancelRetry: retryCall(ctx, 'cancelRetry', [tokens.province, tokens.otherProvince], [tokens.approver, tokens.beneficiary]),
  };
}

function g2pRequest(ctx: FuzzContext, operationId: OperationId, allowed: string[], mustReject: boolean): fc.Arbitrary<FuzzRequest> {
  const { tokens } = ctx;
  return fc
    .record({ auth: authFor(ctx, allowed, [tokens.beneficiary, tokens.ops]), body: anyBody, contentType: jsonContentType(true), headers: extraHeaders })
    .map(({ auth, body, contentType, headers }) =>
      build(operationId, { auth, body: body.bytes, contentType: contentType.header, headers, mustReject: mustReject || !contentType.accepted, kind: body.kind }),
    );
}

/** Set the webhook: any body, or a url allowed or refused locally (a loopback one is accepted). */
function putWebhookRequest(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const { tokens } = ctx;
  const urls = fc.constantFrom('http://127.0.0.1:9/hook', 'http://localhost:9/h', 'https://example.com/hook', 'http://10.0.0.1/', 'http://169.254.169.254/latest', 'ftp://127.0.0.1/', '', 'not a url', 'http://user:pw@127.0.0.1/');
  const body = fc.oneof(
    { weight: 3, arbitrary: urls.map((url): Body => ({ bytes: utf8(JSON.stringify({ url })), kind: 'json-url' })) },
    { weight: 2, arbitrary: anyBody },
  );
  return fc
    .record({ auth: authFor(ctx, [tokens.province, tokens.otherProvince], [tokens.approver, tokens.beneficiary, tokens.ops]), body, contentType: jsonContentType(true), headers: extraHeaders })
    .map(({ auth, body: chosen, contentType, headers }) =>
      build('putWebhook', { auth, body: chosen.bytes, contentType: contentType.header, headers, mustReject: !contentType.accepted, kind: chosen.kind }),
    );
}

// ---------------------------------------------------------------------------
// Large requests (all but the last kind inside the 6 MB body limit)

const validItemText = (index: number) =>
  `{"paymentRef":"P-${index}","personalId":"079185000001","fullName":"Nguyễn Thị Ánh","dateOfBirth":"1985-03-02","gender":"F","amount":500000}`;

export function largeRequest(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const { tokens, batchIds } = ctx;
  const auth = bearer(tokens.province);
  const json = (operationId: OperationId, text: string, path: Record<string, string> = {}, kind = 'large') =>
    build(operationId, { auth, path, body: utf8(text), contentType: 'application/json', mustReject: true, kind });
  const batchTarget = fc.constantFrom(batchIds.open, batchIds.approved, batchIds.cancelled);
  return fc.oneof(
    // More than 5,000 items (each valid): too many for one chunk.
    fc.tuple(fc.integer({ min: 5_001, max: 12_000 }), batchTarget).map(([count, batchId]) =>
      json('appendPayments', `{"payments":[${Array.from({ length: count }, (_, index) => validItemText(index)).join(',')}]}`, { batchId }, 'large-5001-items'),
    ),
    fc.tuple(fc.integer({ min: 5_001, max: 20_000 }), batchTarget, fc.constantFrom('\r\n', '\n')).map(([count, batchId, eol]) =>
      build('appendPayments', {
        auth,
        path: { batchId },
        contentType: 'text/csv',
        body: utf8(`\ufeffpaymentRef,personalId,fullName,dateOfBirth,gender,amount${eol}${Array.from({ length: count }, (_, index) => `P-${index},079185000001,"Nguyễn Thị Ánh",1985-03-02,F,500000`).join(eol)}${eol}`),
        mustReject: true,
        kind: 'large-csv-rows',
      }),
    ),
    // Huge strings in fields, huge nesting and width in and instead of the document.
    fc.tuple(longString, fc.constantFrom('batchRef', 'period', 'programCode')).map(([text, field]) =>
      json('createBatch', serialize({ batchRef: 'fz-large', provinceCode: '79', programCode: 'SOCIAL_ALLOWANCE', period: '2026-01', control: { itemCount: 1, totalAmount: 1000 }, [field]: text }), {}, `large-string-${field}`),
    ),
    fc.tuple(longString, batchTarget).map(([text, batchId]) => json('appendPayments', `{"payments":[${validItemText(0).replace('"Nguyễn Thị Ánh"', JSON.stringify(`${text}\u0000`))}]}`, { batchId }, 'large-string-name')),
    fc.tuple(fc.oneof(deepNesting, wideShape), fc.constantFrom('document', 'payments', 'control', 'item')).map(([shape, where]) => {
      const text = where === 'document' ? shape.text : where === 'payments' ? `{"payments":${shape.text}}` : where === 'control' ? `{"batchRef":"fz-x","provinceCode":"79","programCode":"TET_GIFT","period":"2026-01","control":${shape.text}}` : `{"payments":[${shape.text}]}`;
      return where === 'control' ? json('createBatch', text, {}, `large-shape-${where}`) : json('appendPayments', text, { batchId: batchIds.open }, `large-shape-${where}`);
    }),
    fc.tuple(fc.oneof(deepNesting, wideShape), fc.constantFrom<OperationId>('createBatch', 'linkAccount', 'providerCallback')).map(([shape, operationId]) => {
      if (operationId === 'providerCallback') {
        const bytes = utf8(shape.text);
        const timestamp = String(Math.floor(Date.now() / 1000));
        return build(operationId, {
          auth: { headers: { 'x-timestamp': timestamp, 'x-signature': sign(ctx.providerSecret, timestamp, bytes) }, refused: false, kind: 'signature' },
          path: { providerCode: ctx.payoutProviderCode },
          body: bytes,
          contentType: 'application/json',
          mustReject: true,
          kind: 'large-shape-signed',
        });
      }
      return json(operationId, shape.text, operationId === 'linkAccount' ? { personalId: ctx.linkedPersonalId } : {}, 'large-shape');
    }),
    fc.tuple(longString, fc.constantFrom('accountName', 'consentRef', 'accountNumber')).map(([text, field]) =>
      build('linkAccount', {
        auth: bearer(tokens.beneficiary),
        path: { personalId: ctx.linkedPersonalId },
        body: utf8(serialize({ provider: { type: 'BANK', code: '970436' }, accountNumber: '12345678', accountName: ctx.linkedName, [field]: text })),
        contentType: 'application/json',
        mustReject: true,
        kind: `large-string-${field}`,
      }),
    ),
    // Over the limit: 413 on any route that takes a body.
    fc.tuple(fc.integer({ min: 6 * 1024 * 1024 + 1, max: 6 * 1024 * 1024 + 600_000 }), fc.constantFrom<OperationId>('createBatch', 'appendPayments', 'linkAccount', 'providerCallback', 'sealBatch')).map(([size, operationId]) => {
      const path: Record<string, string> = operationId === 'appendPayments' || operationId === 'sealBatch' ? { batchId: batchIds.open } : operationId === 'linkAccount' ? { personalId: ctx.linkedPersonalId } : operationId === 'providerCallback' ? { providerCode: ctx.payoutProviderCode } : {};
      const body = Buffer.alloc(size, 0x20);
      body.write('{"payments":[');
      return build(operationId, { auth, path, body, contentType: 'application/json', mustReject: true, kind: 'over-6MB' });
    }),
    // Long ids and query strings (the request head stays under the server's 16 KB header limit).
    fc.tuple(fc.integer({ min: 2_000, max: 13_000 }), fc.constantFrom('A', '%FF', 'é')).map(([length, unit]) => {
      const id = unit === 'é' ? percentEncode('é'.repeat(Math.floor(length / 6))) : unit.repeat(Math.floor(length / unit.length));
      return build('getBatch', { auth, path: { batchId: id }, mustReject: false, kind: 'long-id' });
    }),
    fc.integer({ min: 2_000, max: 13_000 }).map((length) => build('listBatches', { auth, query: `cursor=${'A'.repeat(length)}&limit=1`, mustReject: false, kind: 'long-query' })),
    fc.integer({ min: 500, max: 1_500 }).map((count) => build('listBatchPayments', { auth, path: { batchId: batchIds.approved }, query: Array.from({ length: count }, (_, index) => `s${index}=1`).join('&'), mustReject: false, kind: 'many-query-keys' })),
  );
}
