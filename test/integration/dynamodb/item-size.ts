import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The size DynamoDB gives an item (what a write is billed by, in 1 KB steps), from its raw
 * attribute values, after the rules of the developer guide ("Item sizes and formats"):
 * attribute names and strings count their UTF-8 bytes; a number about 1 byte per two significant
 * digits plus 1 (counted here as 1 + ceil((digits + 1) / 2), the most an alignment of the digit
 * pairs can take, plus 1 when negative); binary its bytes; null and boolean 1 byte; a list or
 * map 3 bytes plus 1 per element plus its elements (a map's element also counts its name); a set
 * the sum of its elements. Conservative where the guide is approximate (numbers).
 */
export function itemSize(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueSize(value), 0);
}

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

export function numberSize(text: string): number {
  const negative = text.trim().startsWith('-');
  const digits = text
    .trim()
    .replace(/^[-+]/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  if (digits === '') return 1; // zero
  return 1 + Math.ceil((digits.length + 1) / 2) + (negative ? 1 : 0);
}

export function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, element) => sum + utf8(element), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, element) => sum + numberSize(element), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, element) => sum + element.byteLength, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((sum, element) => sum + 1 + valueSize(element), 0);
  if (value.M !== undefined) return 3 + Object.entries(value.M).reduce((sum, [name, element]) => sum + 1 + utf8(name) + valueSize(element), 0);
  throw new Error(`Unknown attribute value type: ${Object.keys(value).join(', ')}`);
}

/** Each attribute's share of the item size (name and value), largest first: where the bytes go. */
export function sizeByAttribute(item: Record<string, AttributeValue>): [string, number][] {
  return Object.entries(item)
    .map(([name, value]): [string, number] => [name, utf8(name) + valueSize(value)])
    .sort((a, b) => b[1] - a[1]);
}
