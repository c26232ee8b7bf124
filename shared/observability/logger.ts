import { Logger } from '@aws-lambda-powertools/logger';
import { redactingReplacer } from './redact.js';

/** The one logger. Structured JSON; personal data redacted by construction (see redact.ts). */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'social-payments',
  jsonReplacerFn: redactingReplacer,
});
