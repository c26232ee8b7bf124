import { join } from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { esbuildSettings, handlerEntry } from '../bundling.js';
import type { StageConfig } from '../stages.js';
import type { AlarmTopic } from './alarm-topic.js';

/** Anything a table or queue can be granted to: it gets the permission and the env var in one call. */
export interface Grantee {
  /** Sets a variable of the function's environment (the config schema reads it at cold start). */
  addEnvironment(name: string, value: string): void;
  /** Adds a statement to the function's own role (never a managed policy). */
  addToRolePolicy(statement: iam.PolicyStatement): void;
}

export interface ServiceFunctionProps {
  /** Directory under functions/ holding handler.ts. */
  functionName: string;
  stage: StageConfig;
  appVersion: string;
  memorySize: number;
  timeout: Duration;
  description?: string;
  /** Project root (where package.json and package-lock.json are). */
  projectRoot: string;
  /** Reserved concurrency (infra/wiring.ts `reservedConcurrency`); none when undefined. */
  reservedConcurrentExecutions?: number;
}

/** Period of the function alarms: long enough to be one datapoint per burst of failures. */
export const functionAlarmPeriod = Duration.minutes(5);

/** esbuildSettings (infra/bundling.ts) in NodejsFunction's words. */
export function nodejsBundling(): BundlingOptions {
  return {
    target: esbuildSettings.target,
    format: OutputFormat.ESM,
    mainFields: [...esbuildSettings.mainFields],
    minify: esbuildSettings.minify,
    keepNames: esbuildSettings.keepNames,
    sourceMap: esbuildSettings.sourcemap,
    sourcesContent: esbuildSettings.sourcesContent,
    externalModules: [...esbuildSettings.external],
    banner: esbuildSettings.banner,
  };
}

/** Same service name and metrics namespace as local/environment.ts. */
export const serviceName = 'social-payments';
export const metricsNamespace = 'SocialPayments';

/**
 * One Lambda function: Node.js 24 on arm64, bundled by esbuild as ESM, with its
 * own log group (stage retention) and its own role. The role starts with write
 * access to that log group only: no AWS managed policy, no `logs:*` on `*`.
 * Tables and queues add their permissions and variables through `Grantee`.
 */
export class ServiceFunction extends Construct implements Grantee {
  /** Directory under functions/ (the name the stack and its alarms use). */
  readonly functionName: string;
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    const { stage } = props;
    this.functionName = props.functionName;

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: stage.logRetention,
      removalPolicy: stage.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.functionName} function (${stage.name})`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: handlerEntry(props.functionName, props.projectRoot),
      handler: 'handler',
      projectRoot: props.projectRoot,
      depsLockFilePath: join(props.projectRoot, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      ...(props.reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      description: props.description ?? `${props.functionName} (${stage.name})`,
      role: this.role,
      logGroup: this.logGroup,
      bundling: nodejsBundling(),
      environment: {
        STAGE: stage.name,
        APP_VERSION: props.appVersion,
        POWERTOOLS_SERVICE_NAME: serviceName,
        POWERTOOLS_METRICS_NAMESPACE: metricsNamespace,
        LOG_LEVEL: stage.logLevel,
        POWERTOOLS_LOG_LEVEL: stage.logLevel,
        // Minified bundles: map stack traces back to the TypeScript sources, where the stage pays for it at cold start.
        ...(stage.sourceMapsAtRuntime ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
      },
    });
  }

  /**
   * The function's alarms, to the alarm topic:
   * - Errors >= 1 in 5 minutes: an invocation failed (an unhandled error, a
   *   timeout, a crash at cold start such as a missing variable). HTTP
   *   handlers turn expected and unexpected errors into problem+json
   *   responses, so an HTTP function's Errors are failures outside the
   *   handler's error mapping (the API's 5xx alarm covers its 500s). Queue
   *   consumers report failed records as partial batch failures, which are not
   *   Errors: their Errors are failed invocations (the whole batch retried).
   * - Throttles >= 1 in 5 minutes: Lambda refused an invocation, because the
   *   account's concurrency pool was exhausted or the function reached its
   *   reserved concurrency. Behind API Gateway the client saw a 5xx; an SQS
   *   event source retries (its maximum concurrency normally prevents it).
   * Missing data is "not breaching": Lambda publishes these metrics only
   * when the function is invoked, so no datapoint means no invocation.
   * `hint` adds what the failure means for this function.
   */
  addAlarms(topic: AlarmTopic, hint?: string): { errors: cloudwatch.Alarm; throttles: cloudwatch.Alarm } {
    const stackName = Stack.of(this).stackName;
    const common = {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    const errors = topic.addAlarm(this, 'ErrorsAlarm', {
      ...common,
      alarmName: `${stackName}-${this.functionName}-errors`,
      alarmDescription: `${this.functionName}: invocations failed (unhandled error, timeout or cold-start failure). Read its log group.${hint ? ` ${hint}` : ''} Runbook: docs/runbook.md#function-errors`,
      metric: this.function.metricErrors({ period: functionAlarmPeriod, statistic: 'Sum' }),
    });
    const throttles = topic.addAlarm(this, 'ThrottlesAlarm', {
      ...common,
      alarmName: `${stackName}-${this.functionName}-throttles`,
      alarmDescription: `${this.functionName}: Lambda throttled invocations (account concurrency exhausted, or the function's reserved concurrency reached). Runbook: docs/runbook.md#function-throttles`,
      metric: this.function.metricThrottles({ period: functionAlarmPeriod, statistic: 'Sum' }),
    });
    return { errors, throttles };
  }

  addEnvironment(name: string, value: string): void {
    this.function.addEnvironment(name, value);
  }

  addToRolePolicy(statement: iam.PolicyStatement): void {
    this.role.addToPrincipalPolicy(statement);
  }
}
