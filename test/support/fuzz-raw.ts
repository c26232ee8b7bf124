import { connect } from 'node:net';
import * as fc from 'fast-check';
import { routes } from '../../shared/http/routes.js';
import { printable, type FuzzAnswer, type FuzzRequest } from './fuzz-http.js';
import type { FuzzContext } from './fuzz-requests.js';

/**
 * Requests written byte by byte on a socket: what fetch would normalise or
 * refuse to send (absolute-form and protocol-relative targets, `..` and `\`
 * left in the path, raw bytes, repeated headers, header values that are not
 * ASCII, chunked bodies, lower-case methods). One connection per request.
 */

const NO_ANSWER_MS = 10_000;

/** Parses an HTTP/1.1 answer read until the server closed the connection (chunked bodies decoded). */
export function parseAnswer(bytes: Buffer): FuzzAnswer {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`not an HTTP answer: ${JSON.stringify(bytes.subarray(0, 200).toString('latin1'))}`);
  const [statusLine = '', ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!Number.isInteger(status)) throw new Error(`not an HTTP status line: ${JSON.stringify(statusLine)}`);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  let body = bytes.subarray(end + 4);
  if ((headers.get('transfer-encoding') ?? '').toLowerCase().includes('chunked')) {
    const chunks: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = body.indexOf('\r\n', at);
      if (lineEnd < 0) break;
      const size = Number.parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
      if (!Number.isFinite(size) || size === 0) break;
      chunks.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(chunks);
  }
  return { status, headers, body };
}

/** Writes the bytes on a fresh connection and reads every byte until the server closes it. */
export function exchangeRaw(port: number, bytes: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.setTimeout(NO_ANSWER_MS, () => {
      socket.destroy();
      reject(new Error(`no answer within ${NO_ANSWER_MS} ms`));
    });
    socket.on('data', (data: Buffer) => received.push(data));
    socket.on('error', (error) => (received.length > 0 ? undefined : reject(error)));
    socket.on('close', () => resolve(Buffer.concat(received)));
    // Not end(): a half-closed connection makes Node's server drop an answer still being computed.
    socket.write(bytes);
  });
}

/** Writes the bytes on a fresh connection and reads the answer until the server closes it (the request asks for Connection: close). */
export async function sendRaw(port: number, bytes: Uint8Array): Promise<FuzzAnswer> {
  return parseAnswer(await exchangeRaw(port, bytes));
}

/** Splits answers written one after the other on one connection (framed by content-length or chunked). */
export function splitAnswers(bytes: Buffer): FuzzAnswer[] {
  const answers: FuzzAnswer[] = [];
  let rest = bytes;
  while (rest.byteLength > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new Error(`not an HTTP answer: ${JSON.stringify(rest.subarray(0, 200).toString('latin1'))}`);
    const head = rest.subarray(0, end).toString('latin1');
    let at = end + 4;
    if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      for (;;) {
        const lineEnd = rest.indexOf('\r\n', at);
        const size = Number.parseInt(rest.subarray(at, lineEnd).toString('latin1'), 16);
        if (lineEnd < 0 || !Number.isFinite(size)) throw new Error('a chunked answer cut short');
        at = lineEnd + 2 + size + 2;
        if (size === 0) break;
      }
    } else {
      at += Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    }
    answers.push(parseAnswer(rest.subarray(0, at)));
    rest = rest.subarray(at);
  }
  return answers;
}

// ---------------------------------------------------------------------------

const templates = routes.map((route) => ({ operationId: route.operationId, method: route.method, path: route.path }));

/**
 * Path parameters from the fixtures. Commands only get batches whose state
 * refuses them (cancelling the OPEN batch would really cancel it).
 */
function fill(operationId: string, path: string, ctx: FuzzContext, pick: number): string {
  const { open, approved, cancelled, otherProvince } = ctx.batchIds;
  const batches: Record<string, string[]> = { cancelBatch: [approved], sealBatch: [open, cancelled, otherProvince], approveBatch: [open, cancelled, otherProvince] };
  const values: Record<string, string[]> = {
    batchId: batches[operationId] ?? Object.values(ctx.batchIds),
    paymentId: [ctx.paymentId],
    personalId: [ctx.otherPersonalId, ctx.unknownPersonalId],
    providerCode: [ctx.payoutProviderCode],
  };
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const options = values[name] ?? ['x'];
    return options[pick % options.length]!;
  });
}

/**
 * Request heads written as bytes: targets that keep to the characters HTTP
 * allows but not to the shape fetch would send, targets whose authority is not
 * a valid host (`new URL()` throws on them), and heads Node's HTTP parser
 * refuses before any handler runs (a lower-case method, a target that is not a
 * path, bytes outside ASCII or controls in the target, a header line without a
 * colon, a control in a header value, a head over 16 KB, two different
 * Content-Length headers, Content-Length together with chunked, a chunk size
 * that is not hex, bare LF line ends): the local server answers those from its
 * `clientError` hook (local/http-server.ts), within the contract too.
 */
export function rawRequest(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const shapes = ['path', 'protocol-relative', 'absolute', 'dot-segments', 'backslash', 'asterisk', 'fragment', 'semicolon', 'double-slash', 'encoded-slash', 'raw-ascii', 'raw-query'];
  const unparsable = [
    'bad-authority',
    'raw-bytes',
    'lowercase-method',
    'not-a-path',
    'leading-backslash',
    'header-without-colon',
    'header-control',
    'head-over-16kb',
    'header-over-16kb',
    'control-in-target',
    'two-content-lengths',
    'length-and-chunked',
    'bad-chunk-size',
    'bare-lf',
  ];
  return fc
    .record({
      template: fc.constantFrom(...templates),
      pick: fc.nat(),
      shape: fc.constantFrom(...shapes, ...unparsable),
      host: fc.constantFrom('localhost', 'example.com', '127.0.0.1:1', '[::1]', 'user@localhost', 'LOCALHOST'),
      badHost: fc.constantFrom('[', '[::1', 'a:b@', '%zz', 'exa mple', 'a:99999', '[::g]', '\u00ff'),
      token: fc.constantFrom(ctx.tokens.province, ctx.tokens.beneficiary, ctx.tokens.approver),
      headerStyle: fc.constantFrom('plain', 'plain', 'repeated-content-type', 'repeated-authorization', 'latin1-values', 'many-headers', 'chunked', 'folded-case'),
      body: fc.option(fc.constantFrom('{}', '{"payments":[]}', 'paymentRef,personalId\r\n', '[', 'null'), { freq: 2 }),
      junkByte: fc.constantFrom(0x80, 0xc3, 0xe9, 0xff, 0x01, 0x7f),
      // Printable ASCII that fetch would percent-encode but HTTP/1.1 parsers let through.
      asciiJunk: fc.string({ unit: fc.constantFrom("'", '"', '<', '>', '{', '}', '|', '^', '`', '%', '[', ']', '\\', '!', '$', '(', ')', '*', '+', ',', ';', '=', ':', '@'), minLength: 1, maxLength: 12 }),
    })
    .map(({ template, pick, shape, host, badHost, token, headerStyle, body, junkByte, asciiJunk }) => {
      const path = fill(template.operationId, template.path, ctx, pick);
      let method: string = template.method;
      let target: Buffer;
      switch (shape) {
        case 'protocol-relative':
          target = Buffer.from(`//${host}${path}`);
          break;
        case 'absolute':
          target = Buffer.from(`http://${host}${path}`);
          break;
        case 'dot-segments':
          target = Buffer.from(`/v1/x/..${path.slice(3)}/./`);
          break;
        case 'backslash':
          target = Buffer.from(`/${path.slice(1).replaceAll('/', '\\')}`);
          break;
        case 'leading-backslash':
          target = Buffer.from(path.replaceAll('/', '\\'));
          break;
        case 'raw-ascii':
          target = Buffer.from(`${path}${asciiJunk}`);
          break;
        case 'raw-query':
          target = Buffer.from(`${path}?limit=${asciiJunk}&status=${asciiJunk}&${asciiJunk}`);
          break;
        case 'asterisk':
          target = Buffer.from('*');
          break;
        case 'fragment':
          target = Buffer.from(`${path}#frag?x=1`);
          break;
        case 'semicolon':
          target = Buffer.from(`${path};jsessionid=1`);
          break;
        case 'double-slash':
          target = Buffer.from(path.replaceAll('/', '//').slice(1));
          break;
        case 'encoded-slash':
          target = Buffer.from(path.replace(/\/([^/]*)$/, '%2F$1'));
          break;
        case 'bad-authority':
          target = Buffer.from(pick % 2 === 0 ? `//${badHost}${path}` : `http://${badHost}${path}`, 'latin1');
          break;
        case 'raw-bytes':
          target = Buffer.concat([Buffer.from(path), Buffer.from([junkByte])]);
          break;
        case 'control-in-target':
          target = Buffer.concat([Buffer.from(path), Buffer.from([0x01])]);
          break;
        case 'lowercase-method':
          method = method.toLowerCase();
          target = Buffer.from(path);
          break;
        case 'not-a-path':
          target = Buffer.from(path.slice(1));
          break;
        case 'head-over-16kb':
          target = Buffer.from(`${path}?q=${'A'.repeat(17_000)}`);
          break;
        default:
          target = Buffer.from(path);
      }
      const headerLines: string[] = ['Host: localhost', 'Connection: close', `Authorization: Bearer ${token}`];
      const bodyBytes = body !== null && method !== 'GET' ? Buffer.from(body) : undefined;
      const contentType = body?.startsWith('payment') ? 'text/csv' : 'application/json';
      if (headerStyle === 'repeated-content-type') headerLines.push(`Content-Type: ${contentType}`, 'Content-Type: text/plain');
      else if (headerStyle === 'repeated-authorization') headerLines.push(`Authorization: Bearer ${token}`, `Content-Type: ${contentType}`);
      else if (headerStyle === 'latin1-values') headerLines.push(`Content-Type: ${contentType}; charset=\u00e9`, 'X-Request-Id: r\u00e9q', 'Accept: text/csv\u00ff');
      else if (headerStyle === 'many-headers') headerLines.push(`Content-Type: ${contentType}`, ...Array.from({ length: 300 }, (_, index) => `X-H${index}: ${index}`));
      else if (headerStyle === 'folded-case') headerLines.push(`cOnTeNt-TyPe: ${contentType.toUpperCase()}`);
      else headerLines.push(`Content-Type: ${contentType}`);
      if (shape === 'header-without-colon') headerLines.push('X-Broken header');
      if (shape === 'header-control') headerLines.push('X-Control: a\u0001b');
      if (shape === 'header-over-16kb') headerLines.push(`X-Big: ${'B'.repeat(17_000)}`);
      let payload = Buffer.alloc(0);
      // Framing the parser refuses needs a body: these shapes always send one, on any method.
      const framed = bodyBytes ?? (['two-content-lengths', 'length-and-chunked', 'bad-chunk-size'].includes(shape) ? Buffer.from('{}') : undefined);
      if (framed) {
        if (shape === 'bad-chunk-size') {
          headerLines.push('Transfer-Encoding: chunked');
          payload = Buffer.concat([Buffer.from('zz\r\n'), framed, Buffer.from('\r\n0\r\n\r\n')]);
        } else if (shape === 'length-and-chunked') {
          headerLines.push('Transfer-Encoding: chunked', `Content-Length: ${framed.byteLength}`);
          payload = Buffer.concat([Buffer.from(`${framed.byteLength.toString(16)}\r\n`), framed, Buffer.from('\r\n0\r\n\r\n')]);
        } else if (shape === 'two-content-lengths') {
          headerLines.push(`Content-Length: ${framed.byteLength}`, `Content-Length: ${framed.byteLength + 1}`);
          payload = framed;
        } else if (headerStyle === 'chunked') {
          headerLines.push('Transfer-Encoding: chunked');
          payload = Buffer.concat([Buffer.from(`${framed.byteLength.toString(16)}\r\n`), framed, Buffer.from('\r\n0\r\n\r\n')]);
        } else {
          headerLines.push(`Content-Length: ${framed.byteLength}`);
          payload = framed;
        }
      }
      const eol = shape === 'bare-lf' ? '\n' : '\r\n';
      const head = Buffer.concat([Buffer.from(`${method} `), target, Buffer.from(` HTTP/1.1${eol}${headerLines.join(eol)}${eol}${eol}`, 'latin1')]);
      const raw = Buffer.concat([head, payload]);
      return printable({
        operationId: template.operationId,
        method,
        path: target.toString('latin1'),
        query: '',
        headers: {},
        body: bodyBytes,
        raw,
        // Every body here is malformed and every command targets a state that refuses it.
        mustReject: template.method !== 'GET',
        kind: `raw-${shape}+${headerStyle}`,
      });
    });
}
