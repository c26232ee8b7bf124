import { baseConfigSchema, loadConfig } from '../../shared/config/env.js';
import { apiHandler, json } from '../../shared/http/api-handler.js';

const config = loadConfig(baseConfigSchema);

export const handler = apiHandler(async () => json(200, { status: 'ok', version: config.APP_VERSION }));
