import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { isLoopbackAddress, isPublicAddress, receiverUrlProblem, type ReceiverPolicy } from '../../domain/webhooks.js';
import type { ReceiverAnswer, WebhookSender } from '../../ports/webhook-store.js';

export interface HttpWebhookSenderOptions {
  policy: ReceiverPolicy;
  /** Whole attempt (connect, send, answer), ms. Default 5,000. */
  timeoutMs?: number;
  /** For tests: the resolver (default: the system's, every address). */
  resolve?: (hostname: string) => Promise<LookupAddress[]>;
}

/** An address a receiver's name resolved to that the policy refuses. */
export class ReceiverAddressRefused extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ReceiverAddressRefused';
  }
}

const systemResolve = (hostname: string) =>
  new Promise<LookupAddress[]>((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));

/**
 * Posts events to receivers under the SSRF policy (docs/decisions.md 112):
 * the URL is checked again at every attempt (a stored URL may predate a rule);
 * the name is resolved here and every address it resolves to must be allowed
 * (public deployed, loopback locally), and the connection goes to the address
 * that was checked (the socket's lookup answers it, so a second resolution
 * cannot swap in another: no DNS rebinding); redirects are never followed (a
 * 3xx is an answer, and not a 2xx); every attempt ends within the timeout,
 * connection and answer included, and the answer's body is not read.
 */
export class HttpWebhookSender implements WebhookSender {
  private readonly timeoutMs: number;
  private readonly resolve: (hostname: string) => Promise<LookupAddress[]>;

  constructor(private readonly options: HttpWebhookSenderOptions) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.resolve = options.resolve ?? systemResolve;
  }

  /** The one address to connect to, after every address of the name passed the policy. */
  async vettedAddress(hostname: string): Promise<LookupAddress> {
    const host = hostname.replace(/^\[|\]$/g, '');
    const addresses: LookupAddress[] = isIP(host) !== 0 ? [{ address: host, family: isIP(host) }] : await this.resolve(host);
    if (addresses.length === 0) throw new ReceiverAddressRefused('the receiver name resolves to no address');
    const allowed = this.options.policy === 'loopback' ? isLoopbackAddress : isPublicAddress;
    const refused = addresses.find((entry) => !allowed(entry.address));
    if (refused) {
      throw new ReceiverAddressRefused(
        this.options.policy === 'loopback' ? 'the receiver does not resolve to a loopback address' : 'the receiver resolves to a private, loopback or link-local address',
      );
    }
    return addresses[0] as LookupAddress;
  }

  async post(url: string, headers: Record<string, string>, body: string): Promise<ReceiverAnswer> {
    const problem = receiverUrlProblem(url, this.options.policy);
    if (problem) return { kind: 'unreachable', reason: `refused: ${problem}` };
    const target = new URL(url);
    let vetted: LookupAddress;
    try {
      vetted = await this.vettedAddress(target.hostname);
    } catch (error) {
      return { kind: 'unreachable', reason: error instanceof ReceiverAddressRefused ? `refused: ${error.message}` : 'the receiver name does not resolve' };
    }
    const pinned: LookupFunction = (_hostname, options, callback) => {
      if ((options as { all?: boolean }).all) (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, [vetted]);
      else callback(null, vetted.address, vetted.family);
    };
    const transport = target.protocol === 'https:' ? https : http;
    return new Promise<ReceiverAnswer>((resolve) => {
      let settled = false;
      const finish = (answer: ReceiverAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(answer);
      };
      const request = transport.request(
        target,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          lookup: pinned,
          agent: false,
          timeout: this.timeoutMs,
        },
        (response) => {
          response.resume(); // the body is not read, only drained
          finish({ kind: 'answered', statusCode: response.statusCode ?? 0 });
          request.destroy();
        },
      );
      const timer = setTimeout(() => {
        request.destroy();
        finish({ kind: 'unreachable', reason: `no answer within ${this.timeoutMs} ms` });
      }, this.timeoutMs);
      request.on('timeout', () => {
        request.destroy();
        finish({ kind: 'unreachable', reason: `no answer within ${this.timeoutMs} ms` });
      });
      request.on('error', (error: NodeJS.ErrnoException) => finish({ kind: 'unreachable', reason: error.code ?? error.name }));
      request.end(body);
    });
  }
}
