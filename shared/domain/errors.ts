/**
 * The one error hierarchy of the system. Use cases throw these; one middleware
 * (shared/http/problem.ts) turns them into RFC 9457 problem+json. Messages of
 * errors below 500 are shown to clients, so they never carry personal data.
 */

export const problemCodes = [
  'VALIDATION_FAILED',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'BATCH_REF_CONFLICT',
  'INVALID_STATE',
  'CONTROL_TOTALS_MISMATCH',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  'METHOD_NOT_ALLOWED',
  'INTERNAL',
] as const;
export type ProblemCode = (typeof problemCodes)[number];

/** One entry of a problem's `errors` list: what is wrong, and where. */
export interface ItemError {
  index?: number;
  paymentRef?: string;
  path: string;
  code: string;
  message: string;
}

export interface AppErrorOptions {
  errors?: ItemError[];
  /** Extra members of the problem document (for example expected and actual totals). */
  extensions?: Record<string, unknown>;
  cause?: unknown;
  /** Sent as the Retry-After header: the answer is about work in flight, and asking again after this long will get another one. */
  retryAfterSeconds?: number;
}

export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly code: ProblemCode;
  abstract readonly title: string;
  readonly errors: ItemError[] | undefined;
  readonly extensions: Record<string, unknown> | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(detail: string, options: AppErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.errors = options.errors;
    this.extensions = options.extensions;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** 422 for a well-formed request whose content breaks the rules; 400 for a malformed request. */
export class ValidationFailedError extends AppError {
  readonly code = 'VALIDATION_FAILED';
  readonly title = 'Validation failed';
  readonly status: 400 | 422;
  constructor(detail: string, options: AppErrorOptions & { status?: 400 | 422 } = {}) {
    super(detail, options);
    this.status = options.status ?? 422;
  }
}

export class UnauthenticatedError extends AppError {
  readonly status = 401;
  readonly code = 'UNAUTHENTICATED';
  readonly title = 'Authentication required';
}

export class ForbiddenError extends AppError {
  readonly status = 403;
  readonly code = 'FORBIDDEN';
  readonly title = 'Forbidden';
}

export class NotFoundError extends AppError {
  readonly status = 404;
  readonly code = 'NOT_FOUND';
  readonly title = 'Not found';
}

export class ConflictError extends AppError {
  readonly status = 409;
  readonly code = 'CONFLICT';
  readonly title = 'Conflict';
}

export class BatchRefConflictError extends AppError {
  readonly status = 409;
  readonly code = 'BATCH_REF_CONFLICT';
  readonly title = 'Batch reference already used';
}

export class InvalidStateError extends AppError {
  readonly status = 409;
  readonly code = 'INVALID_STATE';
  readonly title = 'Not allowed in the current state';
}

export class ControlTotalsMismatchError extends AppError {
  readonly status = 422;
  readonly code = 'CONTROL_TOTALS_MISMATCH';
  readonly title = 'Control totals do not match';
}

export class PayloadTooLargeError extends AppError {
  readonly status = 413;
  readonly code = 'PAYLOAD_TOO_LARGE';
  readonly title = 'Payload too large';
}

export class UnsupportedMediaTypeError extends AppError {
  readonly status = 415;
  readonly code = 'UNSUPPORTED_MEDIA_TYPE';
  readonly title = 'Unsupported media type';
}

/** A known path called with a method it does not serve; `allow` lists the methods it does (the Allow header). */
export class MethodNotAllowedError extends AppError {
  readonly status = 405;
  readonly code = 'METHOD_NOT_ALLOWED';
  readonly title = 'Method not allowed';
  readonly allow: readonly string[];
  constructor(detail: string, options: AppErrorOptions & { allow: readonly string[] }) {
    super(detail, options);
    this.allow = options.allow;
  }
}

export class RateLimitedError extends AppError {
  readonly status = 429;
  readonly code = 'RATE_LIMITED';
  readonly title = 'Too many requests';
  /** A 429 always says when to come back (api.md, "HTTP conventions"). */
  declare readonly retryAfterSeconds: number;
  constructor(detail: string, options: AppErrorOptions = {}) {
    super(detail, { ...options, retryAfterSeconds: options.retryAfterSeconds ?? 1 });
  }
}
