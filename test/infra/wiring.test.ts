/**
 * The wiring API: a route function added with table, secret and queue access,
 * the queue consumers, the access levels and the guards. Built in a scratch
 * project root holding empty handlers, so it does not depend on the handlers'
 * code (another engineer may be mid-edit).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueDefinitions } from '../../shared/adapters/sqs/queues.js';
import { httpFunctionNames, routes, type RouteDefinition } from '../../shared/http/routes.js';
import { esbuildOptions, esbuildSettings } from '../../infra/bundling.js';
import { nodejsBundling } from '../../infra/constructs/service-function.js';
import { PaymentsStack } from '../../infra/stack.js';
import { resolveStage, type StageConfig, type StageName } from '../../infra/stages.js';
import { accessLevels, actionsOf, type TableAccess } from '../../infra/constructs/data-tables.js';
import { deadLetterConsumerWiring, httpFunctionWiring, reconcilerFunction, sandboxSeedFunction, sandboxTokenClaimsFunction, unauthenticatedRouteReasons } from '../../infra/wiring.js';
import { featureFlags, must, referencedId, resourcesOfType } from './support.js';

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'payments-wiring-'));
  writeFileSync(join(scratch, 'package-lock.json'), '{}');
  const consumers = Object.values(queueDefinitions).flatMap((d) => [d.consumer, ...('deadLetterConsumer' in d ? [d.deadLetterConsumer] : [])]);
  for (const name of [...httpFunctionNames, 'batches', ...consumers, sandboxTokenClaimsFunction, sandboxSeedFunction, reconcilerFunction]) {
    mkdirSync(join(scratch, 'functions', name), { recursive: true });
    writeFileSync(join(scratch, 'functions', name, 'handler.ts'), 'export const handler = async () => ({});\n');
  }
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** A provincial read route as someone would add one to routes.ts (not in routes.ts). */
const laterRoute: RouteDefinition = {
  operationId: 'getBatchNotes',
  method: 'GET',
  path: '/v1/batches/{batchId}/notes',
  functionName: 'batches',
  auth: 'jwt',
  scopes: ['batches:read'],
  summary: 'Notes on a batch',
  tag: 'Provincial systems',
};

function buildStack(stageName: StageName, stage: StageConfig = resolveStage(stageName)): PaymentsStack {
  const app = new App({ context: { ...featureFlags, 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
  return new PaymentsStack(app, `Wiring-${stageName}`, {
    stage,
    appVersion: '0.0.0-test',
    projectRoot: scratch,
    env: { region: stage.region },
  });
}

function policyStatementsOf(template: Template, functionLogicalId: string): Statement[] {
  const fn = must(template.findResources('AWS::Lambda::Function')[functionLogicalId], functionLogicalId);
  const roleId = referencedId(fn.Properties.Role);
  return resourcesOfType<{ Roles: unknown[]; PolicyDocument: { Statement: Statement[] } }>(template, 'AWS::IAM::Policy')
    .filter(([, p]) => p.Properties.Roles.some((r) => referencedId(r) === roleId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}

function functionId(template: Template, name: string): string {
  return must(Object.keys(template.findResources('AWS::Lambda::Function')).find((id) => id.startsWith(name)), name);
}

describe.each(['sandbox', 'prod'] as const)('wiring in %s', (stageName) => {
  let stack: PaymentsStack;
  let template: Template;

  beforeAll(() => {
    stack = buildStack(stageName);
    stack.addFunction('batches', {
      memorySize: 1024,
      timeout: Duration.seconds(29),
      wiring: { tables: { core: 'readWrite', audit: 'read' }, secrets: ['pepper'], sendsTo: ['verification'] },
    });
    stack.api.addRoute(laterRoute, stack.fn('batches').function);
    template = Template.fromStack(stack);
  });

  it('throttles a route added later by its class, and creates the API stage after it', () => {
    const apiStage = must(resourcesOfType<{ RouteSettings: Record<string, unknown> }>(template, 'AWS::ApiGatewayV2::Stage')[0], 'API stage');
    const { rateLimit, burstLimit } = resolveStage(stageName).routeThrottling.read;
    expect(apiStage[1].Properties.RouteSettings['GET /v1/batches/{batchId}/notes']).toEqual({ ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit });
    // The table's routes, one 405 (ANY) route per path, and the route added later.
    expect(Object.keys(apiStage[1].Properties.RouteSettings)).toHaveLength(routes.length + new Set(routes.map((route) => route.path)).size + 1);
    const routeId = must(
      resourcesOfType<{ RouteKey: string }>(template, 'AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties.RouteKey === 'GET /v1/batches/{batchId}/notes'),
      'added route',
    )[0];
    expect((apiStage[1] as unknown as { DependsOn: string[] }).DependsOn).toContain(routeId);
  });

  it('alarms on the Errors and Throttles of a function added later, to the alarm topic', () => {
    const id = functionId(template, 'BatchesFunction');
    const topicId = must(Object.keys(template.findResources('AWS::SNS::Topic'))[0], 'alarm topic');
    const alarms = resourcesOfType<{ MetricName?: string; Dimensions?: { Name: string; Value: unknown }[]; AlarmActions: unknown[]; TreatMissingData: string }>(
      template,
      'AWS::CloudWatch::Alarm',
    ).filter(([, a]) => a.Properties.Dimensions?.some((d) => d.Name === 'FunctionName' && referencedId(d.Value) === id));
    expect(alarms.map(([, a]) => a.Properties.MetricName).sort()).toEqual(['Errors', 'Throttles']);
    for (const [, alarm] of alarms) {
      expect(alarm.Properties.AlarmActions.map(referencedId)).toEqual([topicId]);
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
  });

  it('grants a route function its tables, secret and queue, and sets their variables', () => {
    const id = functionId(template, 'BatchesFunction');
    const fn = must(template.findResources('AWS::Lambda::Function')[id], id);
    const vars = fn.Properties.Environment.Variables as Record<string, unknown>;
    expect(referencedId(vars.CORE_TABLE_NAME)).toBe(stack.resolve(stack.tables.table('core').tableName).Ref);
    expect(referencedId(vars.AUDIT_TABLE_NAME)).toMatch(/^TablesAudit/);
    expect(referencedId(vars.VERIFICATION_QUEUE_URL)).toMatch(/^QueuesVerificationQueue/);
    expect(vars.DISBURSEMENT_QUEUE_URL).toBeUndefined();
    expect(vars.HASH_PEPPER_SECRET_ARN).toEqual({ Ref: 'HashPepperSecret' });

    const statements = policyStatementsOf(template, id);
    const core = must(statements.find((s) => s.Sid === 'CoreReadWrite'), 'CoreReadWrite');
    expect(core.Action).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query']));
    expect(core.Action).not.toContain('dynamodb:Scan');
    expect(core.Action).not.toContain('dynamodb:DeleteItem');
    expect(JSON.stringify(core.Resource)).not.toContain('/index/');
    // Indexes: Query only, each named.
    const index = must(statements.find((s) => s.Sid === 'CoreIndexQuery'), 'CoreIndexQuery');
    expect(index.Action).toBe('dynamodb:Query');
    expect(JSON.stringify(index.Resource)).toContain('/index/gsi1');
    expect(JSON.stringify(index.Resource)).toContain('/index/gsi2');
    expect(JSON.stringify(index.Resource)).not.toContain('*');
    // The audit table has no index: no index statement.
    expect(statements.some((s) => s.Sid === 'AuditIndexQuery')).toBe(false);
    expect(must(statements.find((s) => s.Sid === 'HashPepperSecretRead'), 'HashPepperSecretRead').Action).toBe('secretsmanager:GetSecretValue');
    const audit = must(statements.find((s) => s.Sid === 'AuditRead'), 'AuditRead');
    expect(audit.Action).not.toContain('dynamodb:PutItem');
    expect(must(statements.find((s) => s.Sid === 'VerificationSend'), 'VerificationSend').Action).toBe('sqs:SendMessage');
    const tableKey = must(statements.find((s) => s.Sid === 'TableKeyReadWrite'), 'TableKeyReadWrite');
    expect(JSON.stringify(tableKey.Condition)).toContain('kms:ViaService');
    for (const statement of statements) {
      for (const action of [statement.Action].flat()) expect(action).not.toContain('*');
    }
  });

  it('attaches a consumer with the queue definition: batch size, concurrency, partial failures, timeout', () => {
    const definition = queueDefinitions.verification;
    const id = functionId(template, 'VerifyWorkerFunction');
    const mappings = resourcesOfType<{ FunctionName: unknown; EventSourceArn: unknown; BatchSize: number; ScalingConfig: unknown; FunctionResponseTypes: string[] }>(
      template,
      'AWS::Lambda::EventSourceMapping',
    ).filter(([, m]) => referencedId(m.Properties.FunctionName) === id);
    expect(mappings).toHaveLength(1);
    const mapping = must(mappings[0], 'mapping')[1].Properties;
    expect(referencedId(mapping.EventSourceArn)).toMatch(/^QueuesVerificationQueue/);
    expect(mapping.BatchSize).toBe(definition.batchSize);
    expect(mapping.ScalingConfig).toEqual({ MaximumConcurrency: definition.maximumConcurrency });
    expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const fn = must(template.findResources('AWS::Lambda::Function')[id], id);
    expect(fn.Properties.Timeout).toBe(definition.consumerTimeoutSeconds);
    expect(fn.Properties.Runtime).toBe('nodejs24.x');
    const statements = policyStatementsOf(template, id);
    expect(statements.flatMap((s) => [s.Action].flat())).toEqual(
      expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'kms:Decrypt']),
    );
  });

  it('attaches the dead-letter consumer to the dead-letter queue, one message at a time', () => {
    const id = functionId(template, 'DisburseExhaustedFunction');
    const mapping = must(
      resourcesOfType<{ FunctionName: unknown; EventSourceArn: unknown; BatchSize: number; ScalingConfig: unknown }>(template, 'AWS::Lambda::EventSourceMapping').find(
        ([, m]) => referencedId(m.Properties.FunctionName) === id,
      ),
      'dead-letter mapping',
    )[1].Properties;
    expect(referencedId(mapping.EventSourceArn)).toMatch(/^QueuesDisbursementDeadLetterQueue/);
    expect(mapping.BatchSize).toBe(1);
    expect(mapping.ScalingConfig).toEqual({ MaximumConcurrency: 2 });
  });

  it('leaves cdk-nag nothing to report on the wired functions', () => {
    const report = new AwsSolutionsChecks(stack, { verbose: true }).validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  it(`gives the register functions ${stageName === 'sandbox' ? 'the sandbox register table' : 'the national register credentials, no table'}`, () => {
    const id = functionId(template, 'VerifyWorkerFunction');
    const vars = must(template.findResources('AWS::Lambda::Function')[id], id).Properties.Environment.Variables as Record<string, unknown>;
    const statements = policyStatementsOf(template, id);
    if (stageName === 'sandbox') {
      expect(referencedId(vars.REGISTRY_TABLE_NAME)).toMatch(/^TablesSandboxRegistry/);
      expect(statements.some((s) => s.Sid === 'SandboxRegistryRead')).toBe(true);
      expect(vars.NATIONAL_REGISTRY_CREDENTIALS_SECRET_ARN).toBeUndefined();
    } else {
      expect(vars.REGISTRY_TABLE_NAME).toBeUndefined();
      expect(statements.some((s) => s.Sid === 'SandboxRegistryRead')).toBe(false);
      expect(vars.NATIONAL_REGISTRY_CREDENTIALS_SECRET_ARN).toEqual({ Ref: 'NationalRegistryCredentialsSecret' });
      expect(statements.some((s) => s.Sid === 'NationalRegistryCredentialsSecretRead')).toBe(true);
    }
  });
});

describe('guards', () => {
  it('refuses a consumer whose timeout exceeds what the queue is sized for', () => {
    const stack = buildStack('sandbox');
    expect(() => stack.addQueueConsumer('verification', { timeoutSeconds: 120 })).toThrow(/sized for at most 60s/);
  });

  it('refuses a dead-letter consumer on a queue whose definition names none', () => {
    const stack = buildStack('sandbox');
    expect(() => stack.addDeadLetterConsumer('verification')).toThrow(/names no deadLetterConsumer/);
  });

  it('refuses a queue definition naming a dead-letter consumer that has no wiring', () => {
    const saved = deadLetterConsumerWiring.disbursement;
    delete deadLetterConsumerWiring.disbursement;
    try {
      expect(() => buildStack('sandbox')).toThrow(/"disburse-exhausted".*deadLetterConsumerWiring has no entry/);
    } finally {
      deadLetterConsumerWiring.disbursement = saved;
    }
  });

  it('refuses a second function with the same name', () => {
    const stack = buildStack('sandbox');
    expect(() => stack.addFunction('health', { memorySize: 256, timeout: Duration.seconds(5), wiring: {} })).toThrow(/defined twice/);
  });

  it('refuses a reservation that would leave fewer than 100 unreserved executions in the account', () => {
    const stack = buildStack('sandbox');
    const options = { memorySize: 256, timeout: Duration.seconds(5) };
    expect(() => stack.addFunction('batches', { ...options, wiring: { reservedConcurrency: { sandbox: 901 } } })).toThrow(
      /reserved concurrency 901 does not fit stage "sandbox": quota 1000, 0 already reserved, 100 must stay unreserved/,
    );
    expect(() => stack.addFunction('batches', { ...options, wiring: { reservedConcurrency: { sandbox: 0 } } })).toThrow(/does not fit/);
    expect(stack.totalReservedConcurrency).toBe(0);
    // Another stage's reservation does not apply here.
    stack.addFunction('batches', { ...options, wiring: { reservedConcurrency: { prod: 5000 } } });
    expect(stack.totalReservedConcurrency).toBe(0);
  });

  it('refuses a route to a function allowed 30 s or more (API Gateway gives up at 30 s)', () => {
    const stack = buildStack('sandbox');
    const fn = stack.addFunction('batches', { memorySize: 256, timeout: Duration.seconds(30), wiring: {} });
    expect(() => stack.api.addRoute(laterRoute, fn.function)).toThrow(/timeout 30s; behind API Gateway it must be explicit and below 30s/);
  });

  it('refuses a route added twice, a route created around addRoute, and a route class above the stage default', () => {
    const stack = buildStack('sandbox');
    expect(() => stack.api.addRoute(must(routes[0], 'a route'), stack.fn('health').function)).toThrow(/added twice/);
    const sandbox = resolveStage('sandbox');
    const tooHigh = { ...sandbox, routeThrottling: { ...sandbox.routeThrottling, upload: { rateLimit: 51, burstLimit: 60 } } };
    // A route created around addRoute has no throttling: the synth refuses it.
    expect(stack.api.node.validate()).toEqual([]);
    stack.api.api.addRoutes({
      path: '/v1/unthrottled',
      methods: [apigw.HttpMethod.GET],
      integration: new HttpLambdaIntegration('Unthrottled', stack.fn('health').function),
    });
    expect(stack.api.node.validate()).toEqual([
      'Route GET /v1/unthrottled has no route throttling: add routes with PaymentsApi.addRoute (from shared/http/routes.ts), not HttpApi.addRoutes.',
    ]);
    expect(() => buildStack('sandbox', tooHigh)).toThrow(/route class "upload" \(51\/s, burst 60\) exceeds the stage default \(50\/s, burst 100\)/);
  });

  it('has a wiring entry for every HTTP function and a reason for every route without a JWT', () => {
    for (const name of httpFunctionNames) expect(httpFunctionWiring[name], name).toBeDefined();
    for (const route of routes.filter((r) => r.auth !== 'jwt')) {
      expect(unauthenticatedRouteReasons[route.operationId], route.operationId).toBeDefined();
    }
  });
});

describe('table access levels', () => {
  it('append only puts; load only batch-writes; read only reads; only the readWrite levels (the upload) batch-write; only the *Delete levels delete; nothing scans', () => {
    // The audit trail's writers create records and nothing else.
    expect(actionsOf('append')).toEqual(['dynamodb:PutItem']);
    // The sandbox register's seed loads it and nothing else.
    expect(actionsOf('load')).toEqual(['dynamodb:BatchWriteItem']);
    for (const level of Object.keys(accessLevels).filter((name) => name !== 'append' && name !== 'load') as TableAccess[]) {
      const granted = actionsOf(level);
      expect(granted, level).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query']));
      expect(granted.some((a) => /Scan|Transact|PartiQL|\*/.test(a)), level).toBe(false);
      expect(granted.includes('dynamodb:BatchWriteItem'), level).toBe(level === 'readWrite' || level === 'readWriteDelete');
      expect(granted.includes('dynamodb:DeleteItem'), level).toBe(level.endsWith('Delete'));
      expect(granted.includes('dynamodb:PutItem'), level).toBe(level.startsWith('readWrite') || level.startsWith('readPut'));
      expect(granted.includes('dynamodb:UpdateItem'), level).toBe(level !== 'read');
    }
    expect(actionsOf('read')).toEqual(['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query']);
  });
});

describe('bundling', () => {
  it('gives NodejsFunction the same esbuild options a benchmark gets', () => {
    const cdk = nodejsBundling();
    const plain = esbuildOptions('health', '/tmp/out');
    expect(cdk.target).toBe(plain.target);
    expect(cdk.format).toBe(plain.format);
    expect(cdk.minify).toBe(plain.minify);
    expect(cdk.keepNames).toBe(plain.keepNames);
    expect(cdk.sourceMap).toBe(plain.sourcemap);
    expect(cdk.sourcesContent).toBe(plain.sourcesContent);
    expect(cdk.mainFields).toEqual(plain.mainFields);
    expect(cdk.externalModules).toEqual(plain.external);
    expect(cdk.banner).toBe(plain.banner?.js);
    expect(plain.outfile).toBe('/tmp/out/index.mjs');
    expect(esbuildSettings.target).toBe('node24');
  });
});
