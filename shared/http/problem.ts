import { AppError, MethodNotAllowedError, UnauthenticatedError, type ItemError, type ProblemCode } from '../domain/errors.js';

/** RFC 9457 problem details, as every error of the API is answered. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  requestId: string;
  errors?: ItemError[];
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemType(code: ProblemCode): string {
  return `urn:social-payments:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}

export function problemFromError(error: AppError, requestId: string): ProblemDocument {
  return {
    ...error.extensions,
    type: problemType(error.code),
    title: error.title,
    status: error.status,
    detail: error.message,
    code: error.code,
    requestId,
    ...(error.errors ? { errors: error.errors } : {}),
  };
}

/** What a client sees of an error we did not expect: nothing internal, nothing personal. */
export function internalProblem(requestId: string): ProblemDocument {
  return {
    type: problemType('INTERNAL'),
    title: 'Internal error',
    status: 500,
    detail: 'An unexpected error occurred. Quote the request id when reporting it.',
    code: 'INTERNAL',
    requestId,
  };
}

/** The realm of the API's bearer challenges. */
export const BEARER_REALM = 'social-payments';

/**
 * How a caller may authenticate, sent with every 401 (RFC 9110 §11.6.1):
 * - routes that take a JWT: `Bearer` (RFC 6750), with `error="invalid_token"`
 *   when a token was sent and refused (none for a request without one);
 * - routes signed by payment providers: the signature scheme of api.md
 *   (x-timestamp, x-signature).
 */
export function authenticateChallenge(auth: 'jwt' | 'signature' | 'none', tokenSent: boolean): string {
  if (auth === 'signature') return 'Signature realm="payment-providers", headers="x-timestamp x-signature"';
  return tokenSent ? `Bearer realm="${BEARER_REALM}", error="invalid_token"` : `Bearer realm="${BEARER_REALM}"`;
}

/** Headers an error's answer carries besides the problem document: Retry-After (429), Allow (405), WWW-Authenticate (401). */
export function problemHeaders(error: AppError, challenge: () => string): Record<string, string> {
  if (error instanceof MethodNotAllowedError) return { allow: error.allow.join(', ') };
  if (error instanceof UnauthenticatedError) return { 'www-authenticate': challenge() };
  // A 429 always, a 409 about work in flight sometimes: when to ask again.
  if (error.retryAfterSeconds !== undefined) return { 'retry-after': String(error.retryAfterSeconds) };
  return {};
}
