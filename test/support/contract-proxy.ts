import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { conformance } from './contract.js';

/**
 * A pass-through HTTP proxy on loopback for suites that drive the API from a
 * child process (`npm run demo`, the uploader): each answer is forwarded as it
 * came and checked against openapi.json on the way (test/support/contract.ts),
 * counted with the suite's other answers. Violations are collected here and,
 * like every other, fail the file (contract-setup.ts).
 */
export interface ContractProxy {
  url: string;
  /** Violations seen through this proxy. */
  violations: string[];
  stop(): Promise<void>;
}

function asHeaders(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}

export async function startContractProxy(targetUrl: string): Promise<ContractProxy> {
  const target = new URL(targetUrl);
  const violations: string[] = [];
  const server = createServer((request, response) => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: { ...request.headers, host: target.host } },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          const violation = conformance({ method: request.method ?? 'GET', target: request.url ?? '/', status: answer.statusCode ?? 0, headers: asHeaders(answer.headers), body });
          if (violation) violations.push(violation);
          const headers = { ...answer.headers };
          delete headers['transfer-encoding'];
          response.writeHead(answer.statusCode ?? 502, { ...headers, 'content-length': String(body.byteLength) });
          response.end(body);
        });
      },
    );
    upstream.on('error', () => {
      response.writeHead(502);
      response.end();
    });
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    violations,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
