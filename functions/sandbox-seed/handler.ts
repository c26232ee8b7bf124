import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import * as z from 'zod';
import { createDocumentClient } from '../../shared/adapters/dynamodb/client.js';
import { openSandboxRegister, seedSandboxRegister } from '../../shared/adapters/population/sandbox-seed.js';
import { baseConfigSchema, loadConfig } from '../../shared/config/env.js';
import { logger } from '../../shared/observability/logger.js';
import { customResourceResponse, sendResponse } from './custom-resource.js';

const config = loadConfig(baseConfigSchema.extend({ REGISTRY_TABLE_NAME: z.string().min(1) }));
const client = createDocumentClient();

/**
 * Seeds the deployed sandbox's population register at deploy (a
 * CloudFormation custom resource, infra/stack.ts): the people of the README
 * walk-through and the synthetic population the local server starts with, so
 * that `npm run smoke -- --stage sandbox` finds them. Create and Update write
 * them (an idempotent upsert); Delete does nothing (the table goes with the
 * stack). The pepper is read here, not at cold start, so that a failure is
 * answered to CloudFormation instead of leaving it waiting. Never logs a
 * person.
 */
export const handler = async (event: CloudFormationCustomResourceEvent, context: Context): Promise<void> => {
  let response;
  try {
    const people = event.RequestType === 'Delete' ? 0 : await seedSandboxRegister(await openSandboxRegister(client, config.REGISTRY_TABLE_NAME));
    logger.info('sandbox register seed', { requestType: event.RequestType, people });
    response = customResourceResponse(event, { ok: true, data: { people } }, context.logStreamName);
  } catch (error) {
    logger.error('sandbox register seed failed', { requestType: event.RequestType, error: error instanceof Error ? error.name : 'unknown' });
    response = customResourceResponse(event, { ok: false, reason: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error' }, context.logStreamName);
  }
  await sendResponse(fetch, event.ResponseURL, response);
};
