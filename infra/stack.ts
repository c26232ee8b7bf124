import { Annotations, CfnOutput, CustomResource, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { tableDefinitions, type TableKey } from '../shared/adapters/dynamodb/tables.js';
import { queueDefinitions, type QueueDefinition, type QueueKey } from '../shared/adapters/sqs/queues.js';
import { httpFunctionNames, routes } from '../shared/http/routes.js';
import { AlarmTopic } from './constructs/alarm-topic.js';
import { AppSecrets, secretDefinitions } from './constructs/app-secrets.js';
import { DataTables, type TableAccess } from './constructs/data-tables.js';
import { PaymentsApi } from './constructs/payments-api.js';
import { SandboxIdentity } from './constructs/sandbox-identity.js';
import { metricsNamespace, serviceName, ServiceFunction } from './constructs/service-function.js';
import { checkConsumerTimeout, WorkQueues } from './constructs/work-queues.js';
import { SANDBOX_REGISTER_SEED } from '../shared/adapters/population/synthetic-population.js';
import { stackOutputs } from './outputs.js';
import { NoticesTopic } from './constructs/notices-topic.js';
import type { JwtIssuer, StageConfig } from './stages.js';
import {
  consumerDefaults,
  consumerWiring,
  deadLetterConsumerWiring,
  httpDefaults,
  httpFunctionWiring,
  routeClassOf,
  reconcilerFunction,
  reconcilerIntervalMinutes,
  reconcilerTiming,
  reconcilerWiring,
  sandboxSeedFunction,
  sandboxSeedWiring,
  sandboxTokenClaimsFunction,
  sandboxTokenClaimsWiring,
  unauthenticatedRouteReasons,
  webhookSettings,
  type FunctionWiring,
} from './wiring.js';

/** Lambda refuses a reservation that leaves fewer unreserved executions than this in the account. */
export const minimumUnreservedConcurrency = 100;

/** The variable shared/adapters/population/national-registry.ts reads the register's base URL from. */
export const nationalRegistryUrlVariable = 'NATIONAL_REGISTRY_URL';

/** The variable shared/adapters/provider/http-provider.ts reads the payment gateway's base URL from. */
export const paymentProviderUrlVariable = 'PAYMENT_PROVIDER_URL';

export interface PaymentsStackProps extends StackProps {
  stage: StageConfig;
  appVersion: string;
  projectRoot: string;
}

/**
 * The whole platform for one stage: tables, application secrets, work queues
 * with dead-letter queues and alarms, the HTTP API, one function per route
 * handler, one per queue consumer and one per dead-letter consumer. What each
 * function may touch is declared in wiring.ts.
 */
export class PaymentsStack extends Stack {
  readonly stage: StageConfig;
  readonly alarms: AlarmTopic;
  /** The beneficiary notices topic, where the stage has the channel (stages.ts `beneficiaryNotices`). */
  readonly notices: NoticesTopic | undefined;
  readonly tables: DataTables;
  readonly secrets: AppSecrets;
  readonly queues: WorkQueues;
  readonly api: PaymentsApi;
  /** The identity provider the stack creates where the stage names no external one (the sandbox). */
  readonly identity: SandboxIdentity | undefined;
  /** The issuer and audience the API trusts: the stage's external issuer, or the sandbox user pool. */
  readonly jwt: JwtIssuer;
  /** Functions by name (directory under functions/). */
  readonly functions = new Map<string, ServiceFunction>();
  private readonly appVersion: string;
  private readonly projectRoot: string;
  private reservedConcurrency = 0;

  constructor(scope: Construct, id: string, props: PaymentsStackProps) {
    super(scope, id, props);
    this.stage = props.stage;
    this.appVersion = props.appVersion;
    this.projectRoot = props.projectRoot;

    this.alarms = new AlarmTopic(this, 'Alarms', { stage: this.stage });
    this.tables = new DataTables(this, 'Tables', { stage: this.stage });
    this.secrets = new AppSecrets(this, 'Secrets', { stage: this.stage, key: this.tables.key });
    this.queues = new WorkQueues(this, 'Queues', { stage: this.stage, alarms: this.alarms });
    this.notices = this.stage.beneficiaryNotices === 'sns' ? new NoticesTopic(this, 'Notices', { stage: this.stage }) : undefined;
    if (this.notices) this.addNoticesLostAlarm(this.notices);
    if (this.stage.jwt) {
      this.identity = undefined;
      this.jwt = this.stage.jwt;
    } else {
      this.identity = this.addSandboxIdentity();
      this.jwt = this.identity.jwt;
    }
    this.api = new PaymentsApi(this, 'Api', { stage: { ...this.stage, jwt: this.jwt }, unauthenticatedRouteReasons, routeClassOf, alarms: this.alarms });

    for (const name of httpFunctionNames) {
      const wiring = httpFunctionWiring[name];
      if (!wiring) {
        throw new Error(`Function "${name}" (from shared/http/routes.ts) has no entry in infra/wiring.ts httpFunctionWiring.`);
      }
      this.addFunction(name, {
        memorySize: wiring.memorySize ?? httpDefaults.memorySize,
        timeout: Duration.seconds(wiring.timeoutSeconds ?? httpDefaults.timeoutSeconds),
        wiring,
      });
    }
    for (const route of routes) {
      this.api.addRoute(route, this.fn(route.functionName).function);
    }
    // Every other method of those paths: 405 with Allow, answered by the health function (no data access).
    this.api.addMethodNotAllowedRoutes('health', this.fn('health').function);
    for (const [queueKey, wiring] of Object.entries(consumerWiring) as [QueueKey, FunctionWiring][]) {
      this.addQueueConsumer(queueKey, wiring);
    }
    for (const [queueKey, definition] of Object.entries(queueDefinitions) as [QueueKey, QueueDefinition][]) {
      if (!definition.deadLetterConsumer) continue;
      const wiring = deadLetterConsumerWiring[queueKey];
      if (!wiring) {
        throw new Error(
          `Queue "${queueKey}" names the dead-letter consumer "${definition.deadLetterConsumer}" (shared/adapters/sqs/queues.ts) but infra/wiring.ts deadLetterConsumerWiring has no entry for it.`,
        );
      }
      this.addDeadLetterConsumer(queueKey, wiring);
    }
    if (this.tables.has('registry')) this.addSandboxRegisterSeed();
    this.addReconciler();

    this.addOutputs();
  }

  fn(name: string): ServiceFunction {
    const fn = this.functions.get(name);
    if (!fn) throw new Error(`No function "${name}" in this stack.`);
    return fn;
  }

  /** Reserved concurrency of the stack's functions, in total (what the account's unreserved pool loses). */
  get totalReservedConcurrency(): number {
    return this.reservedConcurrency;
  }

  /**
   * Creates functions/<name>/handler.ts as a function and applies its wiring:
   * table grants, secret read grants and queue send grants, each setting its
   * environment variable; reserved concurrency if the wiring reserves some in
   * this stage; and its Errors and Throttles alarms (every function gets them,
   * `alarmHint` says what a failure means for this one).
   */
  addFunction(
    name: string,
    options: { memorySize: number; timeout: Duration; wiring: FunctionWiring; description?: string; alarmHint?: string },
  ): ServiceFunction {
    if (this.functions.has(name)) throw new Error(`Function "${name}" is defined twice.`);
    const reserved = options.wiring.reservedConcurrency?.[this.stage.name];
    if (reserved !== undefined) {
      const available = this.stage.lambdaConcurrencyQuota - minimumUnreservedConcurrency - this.reservedConcurrency;
      if (!Number.isInteger(reserved) || reserved < 1 || reserved > available) {
        throw new Error(
          `Function "${name}": reserved concurrency ${reserved} does not fit stage "${this.stage.name}": quota ${this.stage.lambdaConcurrencyQuota}, ${this.reservedConcurrency} already reserved, ${minimumUnreservedConcurrency} must stay unreserved.`,
        );
      }
      this.reservedConcurrency += reserved;
    }
    const fn = new ServiceFunction(this, `${pascal(name)}Function`, {
      functionName: name,
      stage: this.stage,
      appVersion: this.appVersion,
      projectRoot: this.projectRoot,
      memorySize: options.memorySize,
      timeout: options.timeout,
      ...(options.description ? { description: options.description } : {}),
      ...(reserved === undefined ? {} : { reservedConcurrentExecutions: reserved }),
    });
    fn.addAlarms(this.alarms, options.alarmHint);
    for (const [tableKey, access] of Object.entries(options.wiring.tables ?? {}) as [TableKey, TableAccess][]) {
      this.tables.grant(fn, tableKey, access);
    }
    for (const secretKey of options.wiring.secrets ?? []) {
      this.secrets.grantRead(fn, secretKey);
    }
    for (const queueKey of options.wiring.sendsTo ?? []) {
      this.queues.grantSend(fn, queueKey);
    }
    // Webhook delivery settings (shared/wiring/webhooks.ts, docs/decisions.md 112-113), set explicitly where they are
    // read: every function that announces or delivers events, and G2P Connect (which checks sender_uri by the policy).
    if ((options.wiring.sendsTo ?? []).includes('webhook') || options.wiring.webhookPolicy) {
      for (const [variable, value] of Object.entries(webhookSettings)) fn.addEnvironment(variable, value);
    }
    // Without a notice channel in the stage, a notifying function gets nothing and sends no notice.
    if (options.wiring.notifies && this.notices) this.notices.grantPublish(fn);
    if (options.wiring.populationRegistry) this.grantPopulationRegistry(name, fn);
    if (options.wiring.paymentProvider) this.grantPaymentProvider(name, fn);
    this.functions.set(name, fn);
    return fn;
  }

  /**
   * The population register, as shared/wiring/registry.ts chooses it: the
   * sandbox register table where it exists (REGISTRY_TABLE_NAME, read), else
   * the national register (NATIONAL_REGISTRY_URL from the stage, and read on
   * its credentials secret, NATIONAL_REGISTRY_CREDENTIALS_SECRET_ARN).
   */
  private grantPopulationRegistry(name: string, fn: ServiceFunction): void {
    if (this.tables.has('registry')) {
      this.tables.grant(fn, 'registry', 'read');
      return;
    }
    this.secrets.grantRead(fn, 'nationalRegistry');
    if (this.stage.populationRegistry) {
      fn.addEnvironment(nationalRegistryUrlVariable, this.stage.populationRegistry.baseUrl);
    } else {
      Annotations.of(fn).addWarningV2(
        'social-payments:populationRegistryUrl',
        `Stage "${this.stage.name}" sets no national population register URL (stages.ts populationRegistry, or -c populationRegistryUrl=https://...): ${name} will fail at cold start (${nationalRegistryUrlVariable} missing).`,
      );
    }
  }

  /**
   * The payment provider, as shared/wiring/provider.ts chooses it: the
   * sandbox provider's ledger table where it exists
   * (SANDBOX_PROVIDER_TABLE_NAME, read, put, update), else the HTTP gateway
   * (PAYMENT_PROVIDER_URL from the stage, and read on its signing secret,
   * PAYMENT_PROVIDER_SECRET_ARN).
   */
  private grantPaymentProvider(name: string, fn: ServiceFunction): void {
    if (this.tables.has('sandboxProvider')) {
      this.tables.grant(fn, 'sandboxProvider', 'readPutUpdate');
      return;
    }
    this.secrets.grantRead(fn, 'paymentProvider');
    if (this.stage.paymentProvider) {
      fn.addEnvironment(paymentProviderUrlVariable, this.stage.paymentProvider.baseUrl);
    } else {
      Annotations.of(fn).addWarningV2(
        'social-payments:paymentProviderUrl',
        `Stage "${this.stage.name}" sets no payment provider gateway URL (stages.ts paymentProvider, or -c paymentProviderUrl=https://...): ${name} will fail at cold start (${paymentProviderUrlVariable} missing).`,
      );
    }
  }

  /**
   * Self-repair (shared/app/repair.ts): functions/reconciler on an EventBridge
   * Scheduler schedule, its timing from the queues (wiring.ts reconcilerTiming),
   * and an alarm on the `Repairs` metric it emits only when it repaired
   * something: a repair means a process died between two steps, which an
   * operator should know of even though nothing is left to do.
   */
  private addReconciler(): void {
    const fn = this.addFunction(reconcilerFunction, {
      memorySize: reconcilerWiring.memorySize ?? httpDefaults.memorySize,
      timeout: Duration.seconds(reconcilerWiring.timeoutSeconds ?? 300),
      wiring: reconcilerWiring,
      description: `Reconciler: finishes what a failure left behind (${this.stage.name})`,
      alarmHint: 'A failed run is retried by the next one; until then nothing is repaired.',
    });
    for (const [name, value] of Object.entries(reconcilerTiming(Object.values(queueDefinitions)))) fn.addEnvironment(name, value);
    // The schedule's own role may invoke exactly this function (the L2 target also grants its versions, `:*`).
    const invoker = new iam.Role(this, 'ReconcilerScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': this.account } } }),
      description: 'EventBridge Scheduler invokes the reconciler',
    });
    invoker.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.function.functionArn] }));
    new scheduler.CfnSchedule(this, 'ReconcilerSchedule', {
      description: `Runs the reconciler every ${reconcilerIntervalMinutes} minutes`,
      scheduleExpression: `rate(${reconcilerIntervalMinutes} minutes)`,
      flexibleTimeWindow: { mode: 'OFF' },
      // No retry: the next run comes within minutes, and a run is idempotent anyway.
      target: { arn: fn.function.functionArn, roleArn: invoker.roleArn, input: '{}', retryPolicy: { maximumRetryAttempts: 0 } },
    });
    this.alarms.addAlarm(fn, 'RepairsAlarm', {
      alarmName: `${this.stackName}-reconciler-repairs`,
      alarmDescription:
        'The reconciler repaired what a failure left behind (a death between two steps: lost counter updates, a stopped fan-out, an unfinished cancel, a lost message). Nothing is left to do; find the cause. Runbook: docs/runbook.md#reconciler-repairs',
      metric: new cloudwatch.Metric({ namespace: metricsNamespace, metricName: 'Repairs', dimensionsMap: { service: serviceName }, statistic: 'Sum', period: Duration.minutes(reconcilerIntervalMinutes) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // Counted by every run (the gsi3 partitions of unconfirmed PAID transfers past their provider's window); emitted when not 0.
    this.alarms.addAlarm(fn, 'OverdueUnconfirmedTransfersAlarm', {
      alarmName: `${this.stackName}-overdue-unconfirmed-transfers`,
      alarmDescription:
        "PAID transfers that no settlement statement has confirmed within their provider's settlement window: money recorded as paid that the provider's books do not show yet. Runbook: docs/runbook.md#overdue-unconfirmed-transfers",
      metric: new cloudwatch.Metric({
        namespace: metricsNamespace,
        metricName: 'OverdueUnconfirmedTransfers',
        dimensionsMap: { service: serviceName },
        statistic: 'Maximum',
        period: Duration.minutes(reconcilerIntervalMinutes),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** Emitted by any notifying function whose publish the topic refused (shared/wiring/notices.ts). */
  private addNoticesLostAlarm(notices: NoticesTopic): void {
    this.alarms.addAlarm(notices, 'LostAlarm', {
      alarmName: `${this.stackName}-beneficiary-notices-lost`,
      alarmDescription:
        'The beneficiary notices topic refused publishes: those notices are lost (the payments are not affected). Runbook: docs/runbook.md#beneficiary-notices-lost',
      metric: new cloudwatch.Metric({ namespace: metricsNamespace, metricName: 'NoticesLost', dimensionsMap: { service: serviceName }, statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /**
   * Seeds the sandbox register table at deploy, as the local server does at
   * start: functions/sandbox-seed as a custom resource (its own provider, no
   * framework function), run again when the seed changes.
   */
  private addSandboxRegisterSeed(): void {
    const fn = this.addFunction(sandboxSeedFunction, {
      memorySize: sandboxSeedWiring.memorySize ?? httpDefaults.memorySize,
      timeout: Duration.seconds(sandboxSeedWiring.timeoutSeconds ?? 60),
      wiring: sandboxSeedWiring,
      description: `Seeds the sandbox population register at deploy (${this.stage.name})`,
      alarmHint: 'The deploy that ran it failed or rolled back; the sandbox register may be empty.',
    });
    new CustomResource(this, 'SandboxRegisterSeed', {
      serviceToken: fn.function.functionArn,
      resourceType: 'Custom::SandboxRegisterSeed',
      properties: { size: SANDBOX_REGISTER_SEED.size, seed: SANDBOX_REGISTER_SEED.seed },
    });
  }

  /**
   * The sandbox's identity provider (constructs/sandbox-identity.ts): a
   * Cognito user pool with machine clients, and its token trigger
   * (functions/sandbox-token-claims), a function like the others (own role
   * and log group, alarms) with no data access.
   */
  private addSandboxIdentity(): SandboxIdentity {
    const settings = this.stage.sandboxIdentity;
    if (!settings) throw new Error(`Stage "${this.stage.name}" has neither an external issuer (jwt) nor sandboxIdentity.`);
    const trigger = this.addFunction(sandboxTokenClaimsFunction, {
      memorySize: sandboxTokenClaimsWiring.memorySize ?? httpDefaults.memorySize,
      timeout: Duration.seconds(sandboxTokenClaimsWiring.timeoutSeconds ?? 5),
      wiring: sandboxTokenClaimsWiring,
      description: `Pre token generation trigger of the sandbox user pool (${this.stage.name})`,
      alarmHint: 'A failing trigger fails every token request of the sandbox user pool.',
    });
    return new SandboxIdentity(this, 'Identity', { stage: this.stage, settings, tokenTrigger: trigger });
  }

  /**
   * Creates the consumer function the queue definition names and attaches it
   * to the queue: timeout = the definition's consumerTimeoutSeconds (the
   * visibility timeout is sized for it), batch size, maximum concurrency and
   * partial batch failures from the definition.
   */
  addQueueConsumer(queueKey: QueueKey, wiring: FunctionWiring = {}): ServiceFunction {
    const definition = queueDefinitions[queueKey];
    const timeoutSeconds = wiring.timeoutSeconds ?? definition.consumerTimeoutSeconds;
    // Checked before the function exists, so that a wrong timeout is the error reported.
    checkConsumerTimeout(queueKey, definition, timeoutSeconds);
    const fn = this.addFunction(definition.consumer, {
      memorySize: wiring.memorySize ?? consumerDefaults.memorySize,
      timeout: Duration.seconds(timeoutSeconds),
      wiring,
      description: `Consumer of the ${definition.id} queue (${this.stage.name})`,
      alarmHint: `The batch is retried after the ${definition.visibilityTimeoutSeconds}s visibility timeout, and dead-lettered after ${definition.maxReceiveCount} receives.`,
    });
    this.queues.addConsumer(queueKey, fn);
    return fn;
  }

  /**
   * Creates the dead-letter consumer the queue definition names and attaches
   * it to the queue's dead-letter queue (WorkQueues.addDeadLetterConsumer):
   * timeout = the definition's consumerTimeoutSeconds, one message per
   * invocation, partial batch failures, alarms on its errors and throttles.
   */
  addDeadLetterConsumer(queueKey: QueueKey, wiring: FunctionWiring = {}): ServiceFunction {
    const definition: QueueDefinition = queueDefinitions[queueKey];
    if (!definition.deadLetterConsumer) {
      throw new Error(`Queue "${queueKey}" names no deadLetterConsumer in shared/adapters/sqs/queues.ts.`);
    }
    const timeoutSeconds = wiring.timeoutSeconds ?? definition.consumerTimeoutSeconds;
    checkConsumerTimeout(`${queueKey} (dead-letter queue)`, definition, timeoutSeconds);
    const fn = this.addFunction(definition.deadLetterConsumer, {
      memorySize: wiring.memorySize ?? consumerDefaults.memorySize,
      timeout: Duration.seconds(timeoutSeconds),
      wiring,
      description: `Consumer of the ${definition.id} dead-letter queue (${this.stage.name})`,
      alarmHint: `Its message stays in the ${definition.id} dead-letter queue and is retried every ${definition.visibilityTimeoutSeconds}s until it expires.`,
    });
    this.queues.addDeadLetterConsumer(queueKey, fn);
    return fn;
  }

  private addOutputs(): void {
    new CfnOutput(this, stackOutputs.apiUrl, { value: this.api.url, description: 'Base URL of the HTTP API (append v1/...)' });
    new CfnOutput(this, stackOutputs.jwtIssuer, {
      value: this.jwt.issuerUrl,
      description: 'The token issuer the API trusts',
    });
    if (this.identity) {
      new CfnOutput(this, stackOutputs.userPoolId, { value: this.identity.userPool.userPoolId, description: 'Sandbox user pool (machine clients)' });
      new CfnOutput(this, stackOutputs.tokenEndpoint, {
        value: this.identity.tokenEndpoint,
        description: 'OAuth 2.0 token endpoint of the sandbox user pool (client credentials; npm run token -- --stage sandbox)',
      });
      new CfnOutput(this, stackOutputs.clients, {
        value: this.identity.clientsOutput(),
        description: 'Machine clients of the sandbox user pool: name, role, province, client id (secrets: DescribeUserPoolClient)',
      });
    }
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn, description: 'SNS topic of every alarm' });
    if (this.notices) {
      new CfnOutput(this, 'NoticesTopicArn', { value: this.notices.topic.topicArn, description: "SNS topic of beneficiary notices: each province subscribes its SMS gateway, filtered on provinceCode" });
    }
    for (const [tableKey, table] of this.tables.entries()) {
      const definition = tableDefinitions[tableKey];
      new CfnOutput(this, `${definition.id}TableName`, {
        value: table.tableName,
        description: `DynamoDB table "${tableKey}" (${definition.envVar})`,
      });
    }
    for (const [secretKey, secret] of this.secrets.entries()) {
      const definition = secretDefinitions[secretKey];
      new CfnOutput(this, `${definition.id}SecretArn`, {
        value: secret.secretArn,
        description: `Secrets Manager secret "${secretKey}" (${definition.envVar}), RETAINed in prod: ${definition.description}`,
      });
    }
    for (const [queueKey, { definition, queue, deadLetterQueue }] of this.queues.entries()) {
      new CfnOutput(this, `${definition.id}QueueUrl`, {
        value: queue.queueUrl,
        description: `SQS queue "${queueKey}" (${definition.envVar})`,
      });
      new CfnOutput(this, `${definition.id}DeadLetterQueueUrl`, {
        value: deadLetterQueue.queueUrl,
        description: `Dead-letter queue of "${queueKey}"`,
      });
    }
  }
}

function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
