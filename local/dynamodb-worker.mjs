// dynalite on a thread of its own (local/dynamodb.ts startLocalDynamo): it listens on a free loopback
// port and tells the parent which; { type: 'stop' } closes it. Plain JavaScript, so that it starts the
// same under tsx, vitest and node, with no TypeScript loader in the worker.
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';

const server = dynalite(workerData?.options ?? {});
server.once('error', (error) => parentPort.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ type: 'listening', port: server.address().port }));

parentPort.on('message', (message) => {
  if (message?.type !== 'stop') return;
  // Connections the clients left open (keep-alive) would hold close() for dynalite's 30 s shutdown timeout.
  server.closeIdleConnections?.();
  server.close(() => parentPort.postMessage({ type: 'stopped' }));
  server.closeAllConnections?.();
});
