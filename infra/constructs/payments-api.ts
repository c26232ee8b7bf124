import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteDefinition } from '../../shared/http/routes.js';
import type { StageConfig } from '../stages.js';

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
  stage: StageConfig;
  /**
   * Why each route without a JWT is nonetheless safe, by operationId. Required
   * for every `auth: 'none' | 'signature'` route: adding a public route without
   * writing down why fails the synth.
   */
  unauthenticatedRouteReasons: Readonly<Partial<Record<string, string>>>;
}

/**
 * The HTTP API: a JWT authorizer (issuer and audience of the stage) as the
 * default on every route, explicitly no authorizer on the public and
 * HMAC-signed routes, access logs to a log group with the stage's retention,
 * and the stage's default throttling.
 */
export class PaymentsApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogGroup: logs.LogGroup;
  readonly authorizer: HttpJwtAuthorizer;
  private readonly integrations = new Map<lambda.IFunction, HttpLambdaIntegration>();
  private readonly reasons: Readonly<Partial<Record<string, string>>>;

  constructor(scope: Construct, id: string, props: PaymentsApiProps) {
    super(scope, id);
    const { stage } = props;
    this.reasons = props.unauthenticatedRouteReasons;

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
  }

  /** The invoke URL of the $default stage (ends with `/`). */
  get url(): string {
    return this.stage.url;
  }

  /** Adds one route of shared/http/routes.ts, integrated with its function. */
  addRoute(route: RouteDefinition, fn: lambda.IFunction): apigw.HttpRoute[] {
    let integration = this.integrations.get(fn);
    if (!integration) {
      integration = new HttpLambdaIntegration(`${route.functionName}Integration`, fn, {
        payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
      });
      this.integrations.set(fn, integration);
    }
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
    return created;
  }
}
