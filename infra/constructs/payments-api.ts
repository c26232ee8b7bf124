import { Duration, Lazy, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { corsPolicy } from '../../shared/http/cors.js';
import type { RouteDefinition } from '../../shared/http/routes.js';
import type { JwtIssuer, StageConfig, Throttle } from '../stages.js';
import type { RouteClass } from '../wiring.js';
import type { AlarmTopic } from './alarm-topic.js';

/**
 * Fixed AWS limits the API lives within (none of them is a setting):
 * - an HTTP API accepts request bodies up to 10 MB;
 * - a synchronous Lambda invocation carries at most 6 MB each way, and that is
 *   the whole event (headers, request context and the body as API Gateway
 *   passes it, base64 when it is encoded) and the whole response;
 * - an HTTP API waits 30 s for its integration, then answers 503/504 itself.
 * The handlers refuse bodies over MAX_BODY_BYTES (shared/http/api-handler.ts,
 * 6 MiB) with 413 PAYLOAD_TOO_LARGE (docs/decisions.md #7); the infra tests
 * check that it stays within these limits.
 */
export const awsLimits = {
  httpApiMaxRequestBytes: 10 * 1024 * 1024,
  lambdaSyncPayloadBytes: 6 * 1024 * 1024,
  httpApiIntegrationTimeoutSeconds: 30,
} as const;

/**
 * The API's 4xx alarm: the share of 4xx answers among all requests, over
 * 5-minute periods, when there were at least `minRequests` (so that a few
 * refused calls on a quiet night do not page anyone). Clients get 4xx for
 * their own mistakes all the time; a high share for 15 minutes means
 * something systemic: API Gateway throttling (429), tokens the authorizer
 * rejects (an identity provider or audience change: 401 on every call), a
 * client release sending invalid requests.
 */
export const clientErrorAlarm = { percent: 25, minRequests: 50, periods: 3, period: Duration.minutes(5) } as const;

/**
 * Access log line (JSON). Route *templates* only (`$context.routeKey`), never the
 * request path: paths such as /v1/accounts/{personalId} carry personal ID
 * numbers, which must not reach logs. No claims either, for the same reason.
 */
const accessLogFields = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  errorMessage: '$context.error.message',
  protocol: '$context.protocol',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
};

export interface PaymentsApiProps {
  /** The stage, with the issuer the stack resolved (the stage's external one, or the sandbox user pool). */
  stage: StageConfig & { jwt: JwtIssuer };
  /**
   * Why each route without a JWT is nonetheless safe, by operationId. Required
   * for every `auth: 'none' | 'signature'` route: adding a public route without
   * writing down why fails the synth.
   */
  unauthenticatedRouteReasons: Readonly<Partial<Record<string, string>>>;
  /** The throttling class of a route (infra/wiring.ts `routeClassOf`); its limits are the stage's `routeThrottling`. */
  routeClassOf: (route: RouteDefinition) => RouteClass;
  /** Topic of the API's alarms (5xx, 4xx share). */
  alarms: AlarmTopic;
}

/** The throttling a route got, by route key (`GET /v1/health`). */
export interface RouteThrottle {
  routeClass: RouteClass;
  throttle: Throttle;
}

/**
 * The HTTP API: a JWT authorizer (issuer and audience of the stage) as the
 * default on every route, explicitly no authorizer on the public and
 * HMAC-signed routes, access logs to a log group with the stage's retention,
 * the stage's default throttling, per-route throttling for every route added
 * (by its class, `addRoute`), and alarms on 5xx and on the share of 4xx.
 */
export class PaymentsApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogGroup: logs.LogGroup;
  readonly authorizer: HttpJwtAuthorizer;
  private readonly integrations = new Map<lambda.IFunction, HttpLambdaIntegration>();
  private readonly reasons: Readonly<Partial<Record<string, string>>>;
  private readonly routeClassOf: (route: RouteDefinition) => RouteClass;
  private readonly config: StageConfig;
  private readonly throttles = new Map<string, RouteThrottle>();

  constructor(scope: Construct, id: string, props: PaymentsApiProps) {
    super(scope, id);
    const { stage } = props;
    this.reasons = props.unauthenticatedRouteReasons;
    this.routeClassOf = props.routeClassOf;
    this.config = stage;
    for (const [routeClass, throttle] of Object.entries(stage.routeThrottling)) {
      if (throttle.rateLimit > stage.throttling.rateLimit || throttle.burstLimit > stage.throttling.burstLimit) {
        throw new Error(
          `Stage "${stage.name}": route class "${routeClass}" (${throttle.rateLimit}/s, burst ${throttle.burstLimit}) exceeds the stage default (${stage.throttling.rateLimit}/s, burst ${stage.throttling.burstLimit}).`,
        );
      }
    }

    this.authorizer = new HttpJwtAuthorizer('JwtAuthorizer', stage.jwt.issuerUrl, {
      jwtAudience: stage.jwt.audience,
      identitySource: ['$request.header.Authorization'],
    });

    this.api = new apigw.HttpApi(this, 'HttpApi', {
      apiName: `social-payments-${stage.name}`,
      description: `Non-cash social security payments API (${stage.name})`,
      createDefaultStage: false,
      // Secure by default: a route added without thinking gets the JWT authorizer.
      defaultAuthorizer: this.authorizer,
      // CORS: API Gateway answers preflights from the stage's origins itself (before any route) and
      // adds the headers to every answer, with the policy the local server uses (shared/http/cors.ts).
      corsPreflight: {
        allowOrigins: stage.cors.allowOrigins,
        allowMethods: corsPolicy.allowMethods.map((method) => apigw.CorsHttpMethod[method]),
        allowHeaders: [...corsPolicy.allowHeaders],
        exposeHeaders: [...corsPolicy.exposeHeaders],
        maxAge: Duration.seconds(corsPolicy.maxAgeSeconds),
      },
    });

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: stage.logRetention,
      removalPolicy: stage.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: stage.throttling.rateLimit, burstLimit: stage.throttling.burstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(accessLogFields)),
      },
    });
    // Per-route throttling, one entry per route added (addRoute), rendered at
    // synth time so that a route added later is included.
    const cfnStage = this.stage.node.defaultChild as apigw.CfnStage;
    cfnStage.routeSettings = Lazy.any({
      produce: () =>
        this.throttles.size === 0
          ? undefined
          : Object.fromEntries(
              [...this.throttles].map(([routeKey, { throttle }]) => [
                routeKey,
                { ThrottlingRateLimit: throttle.rateLimit, ThrottlingBurstLimit: throttle.burstLimit },
              ]),
            ),
    });

    // A route created around addRoute (HttpApi.addRoutes) would have no
    // throttling of its own: the synth refuses it.
    this.node.addValidation({
      validate: () =>
        this.api.node
          .findAll()
          .filter((child): child is apigw.CfnRoute => child instanceof apigw.CfnRoute)
          .filter((route) => !this.throttles.has(route.routeKey))
          .map((route) => `Route ${route.routeKey} has no route throttling: add routes with PaymentsApi.addRoute (from shared/http/routes.ts), not HttpApi.addRoutes.`),
    });

    this.addAlarms(props.alarms);
  }

  /** The throttling of every route added so far, by route key. */
  routeThrottles(): ReadonlyMap<string, RouteThrottle> {
    return this.throttles;
  }

  /**
   * - 5xx >= 1 in 5 minutes. The contract never answers 5xx to a bad request
   *   (the fuzz suite checks it), so every 5xx is a bug (a handler's 500), an
   *   outage of a dependency, a function timing out (API Gateway's 503/504
   *   after 30 s) or throttled by Lambda (API Gateway's 500).
   * - 4xx share (`clientErrorAlarm`).
   * Missing data is "not breaching": API Gateway publishes these only when
   * requests arrive.
   */
  private addAlarms(topic: AlarmTopic): void {
    const stackName = Stack.of(this).stackName;
    topic.addAlarm(this, 'ServerErrorsAlarm', {
      alarmName: `${stackName}-api-5xx`,
      alarmDescription: `HTTP API answered 5xx (a handler's 500, a function timeout or throttle, an outage). Runbook: docs/runbook.md#api-5xx`,
      metric: this.stage.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const { percent, minRequests, periods, period } = clientErrorAlarm;
    topic.addAlarm(this, 'ClientErrorShareAlarm', {
      alarmName: `${stackName}-api-4xx-share`,
      alarmDescription: `HTTP API: over ${percent}% of requests answered 4xx for ${periods * period.toMinutes()} minutes (at least ${minRequests} requests per ${period.toMinutes()} minutes): throttling (429), rejected tokens (401) or a broken client. Runbook: docs/runbook.md#api-4xx-share`,
      metric: new cloudwatch.MathExpression({
        label: '4xx share of requests (%)',
        expression: `IF(requests >= ${minRequests}, 100 * clientErrors / requests, 0)`,
        usingMetrics: {
          requests: this.stage.metricCount({ period, statistic: 'Sum' }),
          clientErrors: this.stage.metricClientError({ period, statistic: 'Sum' }),
        },
        period,
      }),
      threshold: percent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** The invoke URL of the $default stage (ends with `/`). */
  get url(): string {
    return this.stage.url;
  }

  /**
   * Adds one route of shared/http/routes.ts, integrated with its function,
   * with the throttling of its class. The stage depends on the route:
   * CloudFormation refuses a route setting for a route that does not exist yet.
   */
  addRoute(route: RouteDefinition, fn: lambda.IFunction): apigw.HttpRoute[] {
    const routeKey = `${route.method} ${route.path}`;
    if (this.throttles.has(routeKey)) throw new Error(`Route ${routeKey} is added twice.`);
    // API Gateway stops waiting at 30 s: a function allowed longer would keep
    // running (and writing) after its caller was told 503/504.
    const timeout = fn instanceof lambda.Function ? fn.timeout?.toSeconds() : undefined;
    if (timeout === undefined || timeout >= awsLimits.httpApiIntegrationTimeoutSeconds) {
      throw new Error(
        `Route ${route.method} ${route.path}: function ${route.functionName} has timeout ${timeout ?? 'unset'}s; behind API Gateway it must be explicit and below ${awsLimits.httpApiIntegrationTimeoutSeconds}s.`,
      );
    }
    const integration = this.integrationFor(route.functionName, fn);
    const jwt = route.auth === 'jwt';
    const reason = this.reasons[route.operationId];
    if (!jwt && !reason) {
      throw new Error(
        `Route ${route.method} ${route.path} (${route.operationId}) has auth "${route.auth}" but no entry in unauthenticatedRouteReasons.`,
      );
    }
    const created = this.api.addRoutes({
      path: route.path,
      methods: [apigw.HttpMethod[route.method]],
      integration,
      ...(jwt ? {} : { authorizer: new apigw.HttpNoneAuthorizer() }),
    });
    if (!jwt && reason) {
      for (const httpRoute of created) {
        Validations.of(httpRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason });
      }
    }
    const routeClass = this.routeClassOf(route);
    this.throttles.set(routeKey, { routeClass, throttle: this.config.routeThrottling[routeClass] });
    const cfnStage = this.stage.node.defaultChild as apigw.CfnStage;
    for (const httpRoute of created) cfnStage.addDependency(httpRoute.node.defaultChild as apigw.CfnRoute);
    return created;
  }

  private integrationFor(functionName: string, fn: lambda.IFunction): HttpLambdaIntegration {
    let integration = this.integrations.get(fn);
    if (!integration) {
      integration = new HttpLambdaIntegration(`${functionName}Integration`, fn, { payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0 });
      this.integrations.set(fn, integration);
    }
    return integration;
  }

  /**
   * `ANY <path>` for every path added so far, integrated with `fn` (a function
   * with no data access): API Gateway routes a method a path does not serve
   * there, and the shared middleware answers 405 METHOD_NOT_ALLOWED with the
   * path's `Allow` (OPTIONS: 204 with `Allow`; CORS preflights are answered by
   * API Gateway before any route). No authorizer: 405 is the answer whatever
   * the token, and an authorizer on an ANY route would refuse CORS preflights.
   * Throttled as `public`. Call it once, after the routes.
   */
  addMethodNotAllowedRoutes(functionName: string, fn: lambda.IFunction): apigw.HttpRoute[] {
    const paths = [...new Set([...this.throttles.keys()].map((routeKey) => routeKey.split(' ')[1] ?? ''))];
    const integration = this.integrationFor(functionName, fn);
    const cfnStage = this.stage.node.defaultChild as apigw.CfnStage;
    const created: apigw.HttpRoute[] = [];
    for (const path of paths) {
      const routeKey = `ANY ${path}`;
      if (this.throttles.has(routeKey)) throw new Error(`Route ${routeKey} is added twice.`);
      const routesOfPath = this.api.addRoutes({ path, methods: [apigw.HttpMethod.ANY], integration, authorizer: new apigw.HttpNoneAuthorizer() });
      for (const httpRoute of routesOfPath) {
        Validations.of(httpRoute).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${routeKey} only answers methods ${path} does not serve: 405 METHOD_NOT_ALLOWED with Allow (OPTIONS: 204), from a function with no data access, before any handler or data is reached; every served method has its own route with its own authorization.`,
        });
        cfnStage.addDependency(httpRoute.node.defaultChild as apigw.CfnRoute);
      }
      this.throttles.set(routeKey, { routeClass: 'public', throttle: this.config.routeThrottling.public });
      created.push(...routesOfPath);
    }
    return created;
  }
}
