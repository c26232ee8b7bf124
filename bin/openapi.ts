/**
 * `tsx bin/openapi.ts [file]`: writes the OpenAPI document the API serves at
 * GET /v1/openapi.json (generated from the route table and the zod schemas) to
 * a file, by default build/openapi.json, for the OpenAPI linter
 * (`npm run lint:openapi`) and for anyone who wants the contract offline.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { appVersion } from '../infra/payments-app.js';
import { buildOpenApiDocument } from '../shared/http/openapi.js';

const target = process.argv[2] ?? 'build/openapi.json';
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, `${JSON.stringify(buildOpenApiDocument({ version: appVersion() }), null, 2)}\n`);
process.stdout.write(`wrote ${target}\n`);
