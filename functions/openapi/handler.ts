import { baseConfigSchema, loadConfig } from '../../shared/config/env.js';
import { apiHandler, json } from '../../shared/http/api-handler.js';
import { buildOpenApiDocument } from '../../shared/http/openapi.js';

const config = loadConfig(baseConfigSchema);
// Built once per cold start: the document only changes with a deployment.
const document = buildOpenApiDocument({ version: config.APP_VERSION });

export const handler = apiHandler(async () =>
  json(200, document, { 'cache-control': 'public, max-age=300' }),
);
