/**
 * The process environment the functions expect, as the CDK stack sets it when
 * deployed. Imported first by the local server, so that module-scope clients,
 * the logger and configuration see it (per-run values such as the store's
 * endpoint are added by sandbox.ts before any handler loads).
 */
import { readFileSync } from 'node:fs';

const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const defaults: Record<string, string> = {
  STAGE: 'local',
  APP_VERSION: packageJson.version,
  POWERTOOLS_SERVICE_NAME: 'social-payments',
  POWERTOOLS_LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN',
  POWERTOOLS_METRICS_NAMESPACE: 'SocialPayments',
  AWS_REGION: 'ap-southeast-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  LOCAL_PROVIDER_SECRET: 'local-provider-secret',
  // The population register's signing secret for its events (api.md 1.1).
  LOCAL_REGISTER_SECRET: 'local-register-secret',
  // Beneficiary notices go to the sandbox notifier (recorded, GET /local/notifications); deployed the switch is unset.
  NOTIFIER: 'sandbox',
  // The reconciler (shared/app/repair.ts) at local speed: local units of work take well under a second
  // and a failing message reaches the dead-letter queue after about 10 s (queues.ts), so a batch quiet for
  // 10 s has nothing in flight, and a payment QUEUED for 30 s has lost its message.
  REPAIR_QUIET_SECONDS: '10',
  // A local delivery calls the sandbox provider within milliseconds of claiming its hand-off; deployed, the
  // dead-letter handler waits the worker's whole timeout (functions/disburse-exhausted).
  LOCAL_HANDOFF_WINDOW_SECONDS: '2',
  REPAIR_REDRIVE_AFTER_SECONDS: '30',
  REPAIR_RECHECK_SECONDS: '30',
  // Webhooks locally (docs/decisions.md 112): loopback receivers only (http://127.0.0.1 or localhost),
  // retries at local speed: first after 1 s, doubling up to 30 s, given up after 10 minutes; 3 s per attempt.
  WEBHOOK_RECEIVER_POLICY: 'loopback',
  WEBHOOK_RETRY_BASE_SECONDS: '1',
  WEBHOOK_RETRY_MAX_SECONDS: '30',
  WEBHOOK_RETRY_WINDOW_SECONDS: '600',
  WEBHOOK_TIMEOUT_MS: '3000',
  // Development pepper: deployed, the pepper comes from Secrets Manager.
  HASH_PEPPER: 'local-development-pepper-not-secret',
  // The SDK's notice that its releases after January 2027 need Node 22: true, and said once in the
  // README; on every `npm start` under Node 20 it is noise. Functions run on Node 24 when deployed.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

for (const [name, value] of Object.entries(defaults)) {
  process.env[name] ??= value;
}
