import './environment.js';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readJson } from '../shared/http/api-handler.js';
import { localTokenRequestSchema } from '../shared/domain/schemas.js';
import { parseOrThrow } from '../shared/domain/validation.js';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, LocalAuthority } from './auth.js';
import { startLocalDynamo } from './dynamodb.js';
import { createLocalHttpServer, type LambdaHttpHandler, type LocalRoute } from './http-server.js';
import type { TableKey } from '../shared/adapters/dynamodb/tables.js';
import { tableDefinitions } from '../shared/adapters/dynamodb/tables.js';

export interface SandboxOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  onRequest?: Parameters<typeof createLocalHttpServer>[0]['onRequest'];
}

export interface Sandbox {
  url: string;
  port: number;
  issuer: string;
  audience: string;
  dynamoEndpoint: string;
  tableNames: Record<TableKey, string>;
  providerSecret: string;
  /** Stops in the reverse order of start. */
  stop(): Promise<void>;
}

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Starts the whole system on this machine, in order: store, identity, HTTP.
 * The process environment is set here exactly as the CDK stack sets each
 * function's, before any handler module is loaded.
 */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  const dynamo = await startLocalDynamo();
  const providerSecret = process.env.LOCAL_PROVIDER_SECRET ?? 'local-provider-secret';
  process.env.DYNAMODB_ENDPOINT = dynamo.endpoint;
  for (const [key, definition] of Object.entries(tableDefinitions)) {
    process.env[definition.envVar] = dynamo.tableNames[key as TableKey];
  }

  const handlers = new Map<string, Promise<LambdaHttpHandler>>();
  const loadHandler = (functionName: string) => {
    let loaded = handlers.get(functionName);
    if (!loaded) {
      const entry = pathToFileURL(`${root}functions/${functionName}/handler.ts`).href;
      loaded = import(entry).then((module: { handler: LambdaHttpHandler }) => module.handler);
      handlers.set(functionName, loaded);
    }
    return loaded;
  };

  const authority = await LocalAuthority.create(LOCAL_ISSUER);
  const localRoutes: LocalRoute[] = [
    {
      method: 'POST',
      path: '/local/token',
      handle: async (event) => {
        const request = parseOrThrow(localTokenRequestSchema, readJson(event));
        return { statusCode: 200, body: await authority.issue(request) };
      },
    },
  ];

  const server = createLocalHttpServer({
    authority,
    loadHandler,
    localRoutes,
    ...(options.onRequest ? { onRequest: options.onRequest } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://localhost:${port}`;

  return {
    url,
    port,
    issuer: authority.issuer,
    audience: LOCAL_AUDIENCE,
    dynamoEndpoint: dynamo.endpoint,
    tableNames: dynamo.tableNames,
    providerSecret,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dynamo.stop();
    },
  };
}
