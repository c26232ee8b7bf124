import type { PreTokenGenerationV3TriggerEvent } from 'aws-lambda';
import * as z from 'zod';
import { baseConfigSchema, loadConfig } from '../../shared/config/env.js';
import { accessTokenOverrides } from '../../shared/http/token-claims.js';

/** Set by infra/constructs/sandbox-identity.ts with the trigger: the resource server whose scopes it maps. */
const config = loadConfig(baseConfigSchema.extend({ IDENTITY_RESOURCE_SERVER: z.string().min(1) }));

/**
 * The sandbox user pool's pre token generation trigger (event V3_0, which
 * Cognito sends for client-credentials grants too): the access token gets the
 * API's claims (shared/http/token-claims.ts). Nothing is logged: the event
 * may name a person (`pid`). A thrown error fails the token request.
 */
export const handler = async (event: PreTokenGenerationV3TriggerEvent): Promise<PreTokenGenerationV3TriggerEvent> => {
  const accessTokenGeneration = accessTokenOverrides(config.IDENTITY_RESOURCE_SERVER, event.request.scopes ?? [], event.request.clientMetadata ?? {});
  return { ...event, response: { claimsAndScopeOverrideDetails: { accessTokenGeneration } } };
};
