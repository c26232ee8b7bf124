/**
 * Cross-origin requests (CORS), described once: the deployed API's CORS
 * settings (infra/constructs/payments-api.ts, origins per stage from
 * infra/stages.ts) and the local server (local/http-server.ts, loopback
 * origins) answer preflights with the same methods, headers and lifetime.
 *
 * No credentials mode: callers authenticate with a bearer token in the
 * Authorization header, never with cookies, so `Access-Control-Allow-Credentials`
 * is not sent and a page of an allowed origin still needs a token.
 */
export const corsPolicy = {
  allowMethods: ['GET', 'POST', 'PUT', 'DELETE'],
  /** Request headers a browser may send beyond the CORS-safelisted ones. */
  allowHeaders: ['authorization', 'content-type', 'accept', 'x-request-id'],
  /** Response headers a page may read beyond the CORS-safelisted ones. */
  exposeHeaders: ['x-request-id', 'location', 'retry-after', 'x-next-cursor', 'www-authenticate', 'allow'],
  /** How long a browser may cache a preflight answer. */
  maxAgeSeconds: 600,
} as const;

/** The local server's allowed origins (api.md): `http://localhost:*` and `http://127.0.0.1:*`. */
const LOCAL_ORIGIN = /^http:\/\/(localhost|127\.0\.0\.1)(:[0-9]{1,5})?$/;

export function isLocalOrigin(origin: string | undefined): origin is string {
  return origin !== undefined && LOCAL_ORIGIN.test(origin);
}
