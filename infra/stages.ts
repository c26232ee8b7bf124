/**
 * Deployment stages. Chosen with `-c stage=sandbox|prod` (default sandbox).
 *
 * Why here and not in cdk.json context: the stage settings are typed and checked
 * by the compiler, they can carry comments explaining each value, the tests import
 * them directly (no JSON parsing or context plumbing), and cdk.json stays what the
 * CDK CLI writes and reads (the app command and feature flags). Values that differ
 * per person or per account rather than per stage (an alarm e-mail, a different
 * identity provider for a personal sandbox) can still be overridden on the command
 * line with context: see `contextOverrides` below.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { RouteClass } from './wiring.js';

export const stageNames = ['sandbox', 'prod'] as const;
export type StageName = (typeof stageNames)[number];

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** API Gateway throttling: steady requests per second, and the burst (token bucket size). */
export interface Throttle {
  rateLimit: number;
  burstLimit: number;
}

/** An OIDC issuer outside the stack, and the `aud` (or `client_id`) values the API accepts from it. */
export interface JwtIssuer {
  /** OIDC issuer (`iss` claim); API Gateway fetches `<issuer>/.well-known/openid-configuration`. */
  issuerUrl: string;
  /** Accepted `aud` values (or `client_id` for access tokens without `aud`). */
  audience: string[];
}

/**
 * The identity provider the stack creates for a stage that has no external
 * one (the sandbox): an Amazon Cognito user pool with the API's scopes and
 * machine clients (client credentials) for provincial systems, approvers, a
 * test beneficiary and operations (infra/constructs/sandbox-identity.ts,
 * docs/decisions.md "Sandbox identity and deployed permissions").
 */
export interface SandboxIdentitySettings {
  /**
   * Identifier of the Cognito resource server: Cognito names every custom
   * scope `<identifier>/<scope>`; the token trigger maps them back to the
   * API's own names (shared/http/token-claims.ts).
   */
  resourceServer: string;
  /**
   * Provinces (two-digit codes) that get a pair of machine clients: the
   * province's system (`province-<code>`: batches:write, batches:read,
   * accounts:write) and its second official (`approver-<code>`: batches:read,
   * batches:approve). Cognito bills every machine client per month: keep the
   * list short.
   */
  provinces: string[];
  /** Lifetime of an access token (Cognito allows 5 minutes to 1 day). */
  accessTokenMinutes: number;
}

export interface StageConfig {
  name: StageName;
  /**
   * AWS account the stage must be deployed to. When set, a deploy with
   * credentials for any other account fails in CloudFormation instead of
   * creating production resources in the wrong place. Leave undefined to use
   * the account of the current credentials (CDK_DEFAULT_ACCOUNT).
   */
  account?: string;
  region: string;
  /** True only for the stage holding real people's data. */
  production: boolean;
  /**
   * The external identity provider the API trusts (prod: the national one;
   * any stage with `-c jwtIssuerUrl=...`). Exactly one of `jwt` and
   * `sandboxIdentity` is set on a resolved stage.
   */
  jwt?: JwtIssuer;
  /** The identity provider the stack creates instead, when `jwt` is unset (the sandbox). */
  sandboxIdentity?: SandboxIdentitySettings;
  /**
   * Browser origins allowed to call the API (CORS, answered by API Gateway
   * itself: preflights and the Access-Control-* headers of every answer), with
   * the methods, headers and lifetime of shared/http/cors.ts. Scheme and host
   * (and port), no path. Callers authenticate with a bearer token, never a
   * cookie, so an allowed origin still needs a token.
   */
  cors: { allowOrigins: string[] };
  /** Retention of Lambda and API access logs. */
  logRetention: RetentionDays;
  /**
   * Default route throttling of the API stage (requests per second, and
   * burst): the ceiling for a route without a setting of its own. Every route
   * of shared/http/routes.ts has one (`routeThrottling`, by route class), so
   * this applies to none of them today; no route class may exceed it.
   */
  throttling: Throttle;
  /**
   * Throttling of each route class (infra/wiring.ts `routeClassOf`), rendered
   * as the API stage's per-route settings for every route. A request over the
   * limit is answered 429 by API Gateway, and no function runs. The limits
   * apply per route, across all callers.
   */
  routeThrottling: Record<RouteClass, Throttle>;
  /**
   * The account's Lambda concurrency quota in the stage's region (1,000 by
   * default; new accounts may have less until AWS raises it). Reserved
   * concurrency (infra/wiring.ts `reservedConcurrency`) comes out of it, and
   * Lambda refuses any reservation leaving fewer than 100 unreserved: the
   * synth checks that the stage's reservations fit.
   */
  lambdaConcurrencyQuota: number;
  logLevel: LogLevel;
  /**
   * NODE_OPTIONS=--enable-source-maps: stack traces name the TypeScript sources.
   * Node then parses each bundle's source map at cold start, about 35-50 ms on a
   * 500 KB bundle (measured with `npm run bench:bundles`). The map ships in every
   * function's asset either way, so a trace from a stage without it can be mapped
   * afterwards (docs/runbook.md).
   */
  sourceMapsAtRuntime: boolean;
  /** Alarm when the oldest message of a work queue is older than this (backlog stuck). */
  queueAgeAlarmSeconds: number;
  /** Optional e-mail subscribed to the alarm topic (confirm the subscription by mail). */
  alarmEmail?: string;
  /**
   * The national population register (data-sharing platform), used where the
   * sandbox register table does not exist (every stage but the sandbox): its
   * base URL becomes NATIONAL_REGISTRY_URL of the functions wired with
   * `populationRegistry` (shared/adapters/population/national-registry.ts).
   * Its credentials are a secret filled by operators (docs/deploy.md). Unset,
   * those functions fail at cold start naming the variable, and synth warns.
   */
  populationRegistry?: { baseUrl: string };
  /**
   * The payment providers' gateway (shared/adapters/provider/http-provider.ts),
   * used where the sandbox provider's ledger table does not exist (every stage
   * but the sandbox): its base URL becomes PAYMENT_PROVIDER_URL of the
   * functions wired with `paymentProvider` (disburse-worker,
   * disburse-exhausted). Its signing secret is a secret filled by operators
   * (docs/deploy.md). Unset, those functions fail at cold start naming the
   * variable, and synth warns.
   */
  paymentProvider?: { baseUrl: string };
  /**
   * The beneficiary notice channel (docs/decisions.md 144): `sns` creates the
   * notices topic (KMS-encrypted, TLS only) that provinces subscribe their SMS
   * gateways to, filtered by provinceCode, and switches the notifying
   * functions (infra/wiring.ts `notifies`) to it. Unset: no notices are sent
   * (the sandbox: nobody there to tell). `-c beneficiaryNotices=sns|off`
   * overrides it.
   */
  beneficiaryNotices?: 'sns';
}

export const stages: Record<StageName, StageConfig> = {
  sandbox: {
    name: 'sandbox',
    region: 'ap-southeast-1',
    production: false,
    // The stack creates the sandbox's identity provider (a Cognito user pool
    // with machine clients; `npm run token -- --stage sandbox` gets a token).
    // -c jwtIssuerUrl=... -c jwtAudience=... trusts another issuer instead,
    // and then no pool is created.
    sandboxIdentity: {
      resourceServer: 'social-payments',
      // Ho Chi Minh City (the README walk-through's province) and Ha Noi.
      provinces: ['79', '01'],
      accessTokenMinutes: 60,
    },
    // Placeholder console of the sandbox, and a developer's web app on this machine
    // (HTTP APIs take no port wildcard: add yours with -c corsOrigins=...).
    cors: { allowOrigins: ['https://console.sandbox.social-payments.example', 'http://localhost:3000', 'http://localhost:5173'] },
    logRetention: RetentionDays.TWO_WEEKS,
    throttling: { rateLimit: 50, burstLimit: 100 },
    // A fraction of prod's: enough for tests, demos and a province's trial
    // uploads, small enough that a runaway script costs little.
    routeThrottling: {
      public: { rateLimit: 5, burstLimit: 10 },
      catalogue: { rateLimit: 10, burstLimit: 20 },
      read: { rateLimit: 20, burstLimit: 40 },
      beneficiaryRead: { rateLimit: 20, burstLimit: 40 },
      upload: { rateLimit: 5, burstLimit: 10 },
      stateChange: { rateLimit: 2, burstLimit: 5 },
      approval: { rateLimit: 1, burstLimit: 2 },
      accountChange: { rateLimit: 5, burstLimit: 10 },
      providerCallback: { rateLimit: 10, burstLimit: 20 },
    },
    // Sandbox accounts often start with a lower quota: nothing is reserved here
    // (wiring.ts reserves only in prod), so the sandbox deploys whatever it is.
    lambdaConcurrencyQuota: 1000,
    logLevel: 'DEBUG',
    // Developers read traces here more often than a cold start matters.
    sourceMapsAtRuntime: true,
    queueAgeAlarmSeconds: 3600,
  },
  prod: {
    name: 'prod',
    region: 'ap-southeast-1',
    production: true,
    jwt: {
      // The national identity provider's issuer and the audience registered for this API.
      issuerUrl: 'https://auth.social-payments.example/',
      audience: ['social-payments-api'],
    },
    // The provinces' and beneficiaries' web apps (placeholder): https only.
    cors: { allowOrigins: ['https://console.social-payments.example'] },
    // Payment operations are audited for years; one year of operational logs
    // online, the audit table holds the long-term record.
    logRetention: RetentionDays.ONE_YEAR,
    // 63 provinces uploading chunks and beneficiaries checking their payments.
    throttling: { rateLimit: 500, burstLimit: 1000 },
    // Per route class. Concurrency a route can drive is about rate x duration.
    routeThrottling: {
      // Health and the OpenAPI document: public, no token. Monitors poll health
      // every few seconds; nobody needs more, and anyone on the internet can call them.
      public: { rateLimit: 20, burstLimit: 40 },
      // Programs and providers: small static lists that clients cache.
      catalogue: { rateLimit: 50, burstLimit: 100 },
      // Provincial reads (batches, payment pages, report pages of 500, a
      // payment, an account link): 63 provinces and operators polling.
      read: { rateLimit: 100, burstLimit: 200 },
      // A beneficiary's own payments and account: the largest audience
      // (payday spikes), each call a Query and a BatchGetItem.
      beneficiaryRead: { rateLimit: 300, burstLimit: 600 },
      // Create and append: a 5,000-payment chunk (about 1 MB) becomes 5,000
      // writes by BatchWriteItem in a function of up to 29 s; one upload at a
      // time per batch (the upload lease). 10 chunks/s is 50,000 payments/s:
      // more than any province sends, and about what an on-demand table
      // absorbs before it has scaled.
      upload: { rateLimit: 10, burstLimit: 20 },
      // Seal and cancel (and any new non-GET route until classified): each
      // starts work over a whole batch (queueing verification, releasing
      // entitlements).
      stateChange: { rateLimit: 5, burstLimit: 10 },
      // Approval moves money: a handful a day, each fanning out a batch of up
      // to 500,000 payments (and a tally over all of them in 29 s).
      approval: { rateLimit: 2, burstLimit: 5 },
      // Link and unlink: each link looks the person up in the national
      // population register, a shared platform we must not flood.
      accountChange: { rateLimit: 20, burstLimit: 40 },
      // Settlement callbacks: one per payment, from providers' servers, each an
      // update of the payment and of its batch's counters (one item per batch:
      // DynamoDB takes about 1,000 writes/s on an item). Providers retry a 429.
      providerCallback: { rateLimit: 100, burstLimit: 200 },
    },
    // The default regional quota. Raise it here after AWS raises the account's.
    lambdaConcurrencyQuota: 1000,
    logLevel: 'INFO',
    // Cold starts are paid by citizens and provinces; traces are mapped afterwards when needed.
    sourceMapsAtRuntime: false,
    queueAgeAlarmSeconds: 3600,
    // Beneficiaries are told of their payments through the provinces' SMS gateways, subscribed to the notices topic.
    beneficiaryNotices: 'sns',
    // populationRegistry: { baseUrl: 'https://...' } — the data-sharing platform's
    // address is not known yet. Until it is set here (or with
    // -c populationRegistryUrl=...), verification and account linking cannot
    // reach the register in prod, and synth warns.
    // paymentProvider: { baseUrl: 'https://...' } — likewise the payment
    // gateway's (or -c paymentProviderUrl=...): until then disbursement cannot
    // send transfers in prod, and synth warns.
  },
};

/** Context keys that override one setting of the chosen stage, for one deploy. */
export const contextOverrides = {
  alarmEmail: 'alarmEmail',
  jwtIssuerUrl: 'jwtIssuerUrl',
  /** Comma-separated list. */
  jwtAudience: 'jwtAudience',
  /** Base URL of the national population register (stages without the sandbox register). */
  populationRegistryUrl: 'populationRegistryUrl',
  /** Comma-separated list of browser origins allowed by CORS (replaces the stage's). */
  corsOrigins: 'corsOrigins',
  /** Base URL of the payment providers' gateway (stages without the sandbox provider). */
  paymentProviderUrl: 'paymentProviderUrl',
  /** `sns` or `off`: the beneficiary notice channel (replaces the stage's). */
  beneficiaryNotices: 'beneficiaryNotices',
} as const;

function isStageName(value: string): value is StageName {
  return (stageNames as readonly string[]).includes(value);
}

/**
 * The stage config for a `-c stage=...` value (undefined: sandbox), with context
 * overrides applied. Fails with a message naming the valid stages.
 */
export function resolveStage(
  stage: unknown,
  context: (key: string) => unknown = () => undefined,
): StageConfig {
  const name = stage === undefined ? 'sandbox' : String(stage);
  if (!isStageName(name)) {
    throw new Error(`Unknown stage "${name}": use -c stage=${stageNames.join(' or -c stage=')}.`);
  }
  const base = stages[name];
  const issuerOverride = optionalString(context(contextOverrides.jwtIssuerUrl));
  const audienceOverride = optionalString(context(contextOverrides.jwtAudience));
  const audience = audienceOverride ? audienceOverride.split(',').map((a) => a.trim()).filter(Boolean) : base.jwt?.audience;
  const alarmEmail = optionalString(context(contextOverrides.alarmEmail)) ?? base.alarmEmail;

  // An issuer given on the command line replaces the stage's, and the identity the stack would create.
  const issuerUrl = issuerOverride ?? base.jwt?.issuerUrl;
  let jwt: JwtIssuer | undefined;
  if (issuerUrl !== undefined) {
    if (!/^https:\/\/[^\s/]+/.test(issuerUrl)) {
      throw new Error(`Stage "${name}": the JWT issuer must be an https URL, got "${issuerUrl}".`);
    }
    if (!audience || audience.length === 0) {
      throw new Error(`Stage "${name}": at least one JWT audience is required (-c jwtAudience=... with -c jwtIssuerUrl=...).`);
    }
    jwt = { issuerUrl, audience };
  } else if (audienceOverride !== undefined) {
    throw new Error(`Stage "${name}": -c jwtAudience is for an external issuer; give -c jwtIssuerUrl too.`);
  }
  if (!jwt && !base.sandboxIdentity) {
    throw new Error(`Stage "${name}": no identity provider (stages.ts: jwt or sandboxIdentity).`);
  }
  if (alarmEmail !== undefined && !/^[^\s@]+@[^\s@]+$/.test(alarmEmail)) {
    throw new Error(`Stage "${name}": alarmEmail "${alarmEmail}" is not an e-mail address.`);
  }
  const originsOverride = optionalString(context(contextOverrides.corsOrigins));
  const allowOrigins = originsOverride ? originsOverride.split(',').map((origin) => origin.trim()).filter(Boolean) : base.cors.allowOrigins;
  for (const origin of allowOrigins) {
    // An origin is scheme://host[:port]: a path or trailing slash never matches a browser's Origin header.
    const valid = base.production ? /^https:\/\/[^\s/]+$/.test(origin) : /^https?:\/\/[^\s/]+$/.test(origin);
    if (!valid) throw new Error(`Stage "${name}": CORS origin "${origin}" must be ${base.production ? 'https' : 'http(s)'}://host[:port], with no path.`);
  }
  const registryUrl = optionalString(context(contextOverrides.populationRegistryUrl)) ?? base.populationRegistry?.baseUrl;
  if (registryUrl !== undefined && !/^https:\/\/[^\s/]+/.test(registryUrl)) {
    throw new Error(`Stage "${name}": the population register must be an https URL, got "${registryUrl}".`);
  }
  const providerUrl = optionalString(context(contextOverrides.paymentProviderUrl)) ?? base.paymentProvider?.baseUrl;
  if (providerUrl !== undefined && !/^https:\/\/[^\s/]+/.test(providerUrl)) {
    throw new Error(`Stage "${name}": the payment provider gateway must be an https URL, got "${providerUrl}".`);
  }
  const noticesOverride = optionalString(context(contextOverrides.beneficiaryNotices));
  if (noticesOverride !== undefined && noticesOverride !== 'sns' && noticesOverride !== 'off') {
    throw new Error(`Stage "${name}": -c beneficiaryNotices is sns or off, got "${noticesOverride}".`);
  }
  const beneficiaryNotices = noticesOverride === undefined ? base.beneficiaryNotices : noticesOverride === 'sns' ? 'sns' : undefined;
  const resolved: StageConfig = {
    ...base,
    cors: { allowOrigins },
    ...(alarmEmail ? { alarmEmail } : {}),
    ...(registryUrl ? { populationRegistry: { baseUrl: registryUrl } } : {}),
    ...(providerUrl ? { paymentProvider: { baseUrl: providerUrl } } : {}),
  };
  if (beneficiaryNotices) resolved.beneficiaryNotices = beneficiaryNotices;
  else delete resolved.beneficiaryNotices;
  if (jwt) {
    resolved.jwt = jwt;
    delete resolved.sandboxIdentity;
  }
  return resolved;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}
