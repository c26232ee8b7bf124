import * as fc from 'fast-check';

/**
 * JSON as text, for fuzzing: values that JSON.stringify cannot write (1e400,
 * -0, 2^53 + 1 exactly, duplicate keys, invalid tokens) are kept as raw text,
 * so that the server's parser sees exactly what a careless client could send.
 */

/** Text written as is (a number literal such as 1e400, or deliberately invalid JSON). */
export class Raw {
  constructor(readonly text: string) {}
}

/** An object written with these members in this order (duplicates allowed). */
export class Members {
  constructor(readonly entries: readonly (readonly [string, JsonText])[]) {}
}

export type JsonText = null | boolean | number | string | Raw | Members | readonly JsonText[] | { readonly [key: string]: JsonText };

export function isPlainObject(value: JsonText): value is { readonly [key: string]: JsonText } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Raw) && !(value instanceof Members);
}

/** JSON text; `gap` goes between tokens (white space a parser must skip, or junk). */
export function serialize(value: JsonText, gap = ''): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : Number.isFinite(value) ? String(value) : 'null';
  // JSON.stringify escapes lone surrogates (\ud800), so that the text stays well-formed UTF-8.
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return `[${gap}${value.map((item: JsonText) => serialize(item, gap)).join(`${gap},${gap}`)}${gap}]`;
  const entries = value instanceof Members ? value.entries : Object.entries(value as Record<string, JsonText>);
  return `{${gap}${entries.map(([key, item]) => `${JSON.stringify(key)}${gap}:${gap}${serialize(item, gap)}`).join(`${gap},${gap}`)}${gap}}`;
}

export const utf8 = (text: string): Uint8Array => Buffer.from(text, 'utf8');

// ---------------------------------------------------------------------------
// Strings a client can send

/** C0 and C1 controls, DEL, line/paragraph separators, bidi overrides and isolates, BOM, NUL. */
export const controlCharacter = fc.oneof(
  fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)),
  fc.constantFrom('\u007f', '\u0085', '\u009b', '\u2028', '\u2029', '\u202a', '\u202e', '\u2066', '\u2069', '\u200b', '\ufeff', '\u0000'),
);

/** Unpaired UTF-16 halves: valid in a JS string and in escaped JSON, not in UTF-8. */
export const loneSurrogate = fc.oneof(
  fc.integer({ min: 0xd800, max: 0xdbff }).map((code) => String.fromCharCode(code)),
  fc.integer({ min: 0xdc00, max: 0xdfff }).map((code) => String.fromCharCode(code)),
  fc.constantFrom('\udbff\ud800', '\udc00\ud800'),
);

/** Vietnamese names written decomposed (NFD), with stacked or odd combining marks. */
export const decomposedText = fc.constantFrom(
  'Nguyễn Thị Ánh'.normalize('NFD'),
  'Trần Văn Bình'.normalize('NFD'),
  'Đặng Văn Đức'.normalize('NFD'),
  'Nguye\u0302\u0303n',
  'A\u0301\u0301\u0301\u0301',
  '\u0301\u0303Ánh',
  'e\u0308\u0304\u0301\u0300\u0303\u0309\u0323',
  'Hoàng'.normalize('NFKD'),
  'ﬁ ﬂ Ⅻ ｱ',
);

/** Strings that look like the expected value to a person but not to a parser. */
export const confusable = fc.constantFrom(
  '０７９１８５０００００１', // full-width digits
  '٠٧٩١٨٥٠٠٠٠٠١', // Arabic-Indic digits
  '079185000001\n',
  ' 079185000001',
  '079185000001\u0000',
  '2025\u201107', // non-breaking hyphen
  '2025–07',
  'SOCIAL_ALLOWANCE\u200b',
  'ＳＯＣＩＡＬ_ALLOWANCE',
);

/** A short random string of any kind: printable, full Unicode, controls, surrogates, decomposed. */
export const junkString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: fc.oneof(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }), controlCharacter, loneSurrogate), maxLength: 12 }) },
  { weight: 1, arbitrary: decomposedText },
  { weight: 1, arbitrary: confusable },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t', '\r\n', 'null', 'undefined', 'NaN', '[]', '{}', '__proto__', 'constructor', '"', "'", '\\', '%00', '%', '${x}', '<script>', "' OR 1=1 --", '=HYPERLINK("x")') },
);

/** A long string: from just over common limits to megabytes (kept well inside the 6 MB body limit). */
export const longString = fc.oneof(
  fc.tuple(fc.constantFrom('x', 'é', 'ệ', '\u0301', '😀', 'ab"\\'), fc.integer({ min: 65, max: 5_000 })).map(([unit, count]) => unit.repeat(count)),
  fc.tuple(fc.constantFrom('x', 'ẫ', '0'), fc.integer({ min: 100_000, max: 1_200_000 })).map(([unit, count]) => unit.repeat(count)),
);

// ---------------------------------------------------------------------------
// Numbers as text

/** Number literals that parse but hold no sensible whole VND or count. */
export const oddNumber = fc.constantFrom(
  new Raw('1e400'), // Infinity once parsed
  new Raw('-1e400'),
  new Raw('-0'),
  new Raw('-0.0'),
  new Raw('9007199254740993'), // 2^53 + 1: parses to 2^53
  new Raw('9007199254740992'),
  new Raw('18446744073709551616'),
  new Raw('1e21'),
  new Raw('1e-400'), // 0 once parsed
  new Raw('5e-324'),
  new Raw('0.5'),
  new Raw('1000.5'),
  new Raw('-1000'),
  new Raw('0'),
  new Raw('999'),
  new Raw('-9007199254740993'),
);

/** Tokens that are not JSON at all. */
export const invalidToken = fc.constantFrom(
  new Raw('NaN'),
  new Raw('Infinity'),
  new Raw('-Infinity'),
  new Raw('01'),
  new Raw('+1'),
  new Raw('.5'),
  new Raw('1.'),
  new Raw('0x10'),
  new Raw('1e'),
  new Raw('--1'),
  new Raw('1_000'),
  new Raw('undefined'),
  new Raw("'single'"),
  new Raw('"unterminated'),
  new Raw('"raw \u0001 control"'),
  new Raw('"bad escape \\x41"'),
  new Raw('"\\u12"'),
  new Raw('True'),
  new Raw('nul'),
  new Raw('[1,]'),
  new Raw('{"a":1,}'),
  new Raw('{a:1}'),
  new Raw('//c\n1'),
  new Raw('/*c*/1'),
);

// ---------------------------------------------------------------------------
// Any JSON value

const leaf: fc.Arbitrary<JsonText> = fc.oneof(
  { weight: 3, arbitrary: junkString },
  { weight: 2, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constant(null), fc.boolean()) },
  { weight: 1, arbitrary: oddNumber },
);

/** A random JSON document (objects with odd keys, arrays, leaves of every kind), valid as JSON. */
export const anyJson: fc.Arbitrary<JsonText> = fc.letrec<{ value: JsonText }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: leaf },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 5 }) },
    { weight: 1, arbitrary: fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), junkString), tie('value'), { maxKeys: 5 }) as fc.Arbitrary<JsonText> },
  ),
})).value;

// ---------------------------------------------------------------------------
// Large shapes (all inside the 6 MB body limit)

/** Deeply nested arrays or objects: `[[[...]]]`, `{"a":{"a":...}}`. */
export const deepNesting = fc
  .tuple(fc.constantFrom('array', 'object', 'mixed'), fc.integer({ min: 1_000, max: 400_000 }))
  .map(([shape, depth]) => {
    if (shape === 'array') return new Raw(`${'['.repeat(depth)}${']'.repeat(depth)}`);
    if (shape === 'object') return new Raw(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
    return new Raw(`${'[{"a":'.repeat(depth / 2)}0${'}]'.repeat(depth / 2)}`);
  });

/** Wide arrays and objects: many elements or many keys. */
export const wideShape = fc.oneof(
  fc.integer({ min: 5_001, max: 300_000 }).map((count) => new Raw(`[${new Array(count).fill('0').join(',')}]`)),
  fc.integer({ min: 1_000, max: 100_000 }).map((count) => new Raw(`{${Array.from({ length: count }, (_, index) => `"k${index}":${index}`).join(',')}}`)),
  fc.integer({ min: 1_000, max: 60_000 }).map((count) => new Raw(`[${new Array(count).fill('{"a":[{},[],null,"x"]}').join(',')}]`)),
);

// ---------------------------------------------------------------------------
// Bytes

/** Byte sequences that are not UTF-8: stray continuation bytes, overlongs, CESU-8 surrogates, truncated sequences, 0xFF. */
export const invalidUtf8 = fc.constantFrom(
  [0xff],
  [0xfe, 0xff],
  [0x80],
  [0xbf],
  [0xc0, 0x80],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0x80],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
  [0xc3],
);

/** Inserts invalid UTF-8 at a position of the text (so the body as a whole is not UTF-8). */
export function withInvalidUtf8(text: string): fc.Arbitrary<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  return fc.tuple(invalidUtf8, fc.nat({ max: bytes.byteLength })).map(([bad, at]) => Buffer.concat([bytes.subarray(0, at), Buffer.from(bad), bytes.subarray(at)]));
}

/** Latin-1 or UTF-16 encodings of a text (what a misconfigured client sends). */
export function otherEncoding(text: string): fc.Arbitrary<Uint8Array> {
  return fc.constantFrom<Uint8Array>(Buffer.from(text, 'utf16le'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), Buffer.from(text, 'latin1'));
}

/** Text-level damage to a JSON document that always leaves it invalid JSON. */
export function brokenJsonText(text: string): fc.Arbitrary<string> {
  return fc.oneof(
    // A proper prefix of an object or array text is never valid JSON.
    fc.integer({ min: 0, max: Math.max(0, text.length - 1) }).map((at) => text.slice(0, at)),
    fc.tuple(invalidToken, fc.nat({ max: text.length })).map(([token, at]) => `${text.slice(0, at)}${token.text}${text.slice(at)}`),
    fc.constantFrom(`${text}${text}`, `${text},`, `[${text}`, `${text}}`, `\ufeff\ufeff${text}`, `\u0000${text}`, `${text}\u0000`, `"${text}`, text.replaceAll('"', "'"), text.replaceAll(':', '=')),
  ).filter((candidate) => !isJson(candidate));
}

/** Whether the server reads this as JSON: its UTF-8 decoder drops one leading BOM before JSON.parse sees the text. */
export function isJson(text: string): boolean {
  try {
    JSON.parse(text.startsWith('\ufeff') ? text.slice(1) : text);
    return true;
  } catch {
    return false;
  }
}
