/**
 * Every function's handler module, by function name, as the local server loads
 * them (lazily: a module's scope runs at its first use, as a Lambda cold start).
 * Literal imports, so that a bundler can follow them: the chaos suite runs the
 * server from one esbuild bundle (test/chaos/harness.ts), where a computed path
 * would load a second copy of the shared modules.
 */
export const functionModules: Record<string, () => Promise<{ handler?: unknown }>> = {
  'accounts': () => import('../functions/accounts/handler.js'),
  'batches-approve': () => import('../functions/batches-approve/handler.js'),
  'batches-read': () => import('../functions/batches-read/handler.js'),
  'batches-write': () => import('../functions/batches-write/handler.js'),
  'catalogues': () => import('../functions/catalogues/handler.js'),
  'disburse-exhausted': () => import('../functions/disburse-exhausted/handler.js'),
  'disburse-worker': () => import('../functions/disburse-worker/handler.js'),
  'g2p': () => import('../functions/g2p/handler.js'),
  'health': () => import('../functions/health/handler.js'),
  'me': () => import('../functions/me/handler.js'),
  'openapi': () => import('../functions/openapi/handler.js'),
  'provider-callbacks': () => import('../functions/provider-callbacks/handler.js'),
  'reconciler': () => import('../functions/reconciler/handler.js'),
  'register-events': () => import('../functions/register-events/handler.js'),
  'register-events-consumer': () => import('../functions/register-events-consumer/handler.js'),
  'sandbox-seed': () => import('../functions/sandbox-seed/handler.js'),
  'sandbox-token-claims': () => import('../functions/sandbox-token-claims/handler.js'),
  'verify-worker': () => import('../functions/verify-worker/handler.js'),
  'webhook-exhausted': () => import('../functions/webhook-exhausted/handler.js'),
  'webhook-worker': () => import('../functions/webhook-worker/handler.js'),
  'webhooks': () => import('../functions/webhooks/handler.js'),
};

/** Loads a function's handler module (its module scope runs once: the cold start). */
export async function importHandler<T>(functionName: string): Promise<T> {
  const load = functionModules[functionName];
  if (!load) throw new TypeError(`functions/${functionName}/handler.ts does not exist`);
  const module = await load();
  if (typeof module.handler !== 'function') throw new TypeError(`functions/${functionName}/handler.ts exports no handler`);
  return module.handler as T;
}
