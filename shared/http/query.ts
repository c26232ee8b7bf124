import type * as z from 'zod';
import { toItemErrors, validationFailed } from '../domain/validation.js';
import type { ApiEvent } from './api-handler.js';

/** Query string parameters through a schema; a bad parameter is a 400 naming it. */
export function parseQuery<S extends z.ZodType>(schema: S, event: ApiEvent): z.output<S> {
  const input = event.queryStringParameters ?? {};
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw validationFailed(toItemErrors(result.error, { input }), 400);
}

/** A path parameter API Gateway (or the local server) has matched. */
export function pathParameter(event: ApiEvent, name: string): string {
  return event.pathParameters?.[name] ?? '';
}
