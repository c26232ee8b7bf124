import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { esbuildSettings, handlerEntry } from '../bundling.js';
import type { StageConfig } from '../stages.js';

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
}

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
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    const { stage } = props;

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
        // Minified bundles: map stack traces back to the TypeScript sources.
        NODE_OPTIONS: '--enable-source-maps',
      },
    });
  }

  addEnvironment(name: string, value: string): void {
    this.function.addEnvironment(name, value);
  }

  addToRolePolicy(statement: iam.PolicyStatement): void {
    this.role.addToPrincipalPolicy(statement);
  }
}
