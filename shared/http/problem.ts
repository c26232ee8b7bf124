import { AppError, type ItemError, type ProblemCode } from '../domain/errors.js';

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
