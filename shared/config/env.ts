import * as z from 'zod';

/**
 * Configuration is read from the environment once, at cold start, through a zod
 * schema, and fails fast naming every missing or bad variable. The CDK stack (and
 * the local server) are the only places that set these variables.
 */
export function loadConfig<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv = process.env): z.infer<T> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
}

/** Variables every function has. */
export const baseConfigSchema = z.object({
  STAGE: z.string().min(1),
  APP_VERSION: z.string().min(1),
});
