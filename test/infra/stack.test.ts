/**
 * The deployed stack's security and operational invariants, asserted on the
 * synthesized template of each stage (no snapshots): tables, queues, alarms,
 * functions, the HTTP API and its routes, IAM.
 */
import { readFileSync } from 'node:fs';
import type { CfnElement } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { tableDefinitions, type TableDefinition } from '../../shared/adapters/dynamodb/tables.js';
import { queueDefinitions, type QueueDefinition, type QueueKey } from '../../shared/adapters/sqs/queues.js';
import { corsPolicy } from '../../shared/http/cors.js';
import { httpFunctionNames, methodsByPath, routes } from '../../shared/http/routes.js';
import { secretDefinitions } from '../../infra/constructs/app-secrets.js';
import { deadLetterRetention } from '../../infra/constructs/work-queues.js';
import { stages } from '../../infra/stages.js';
import {
  consumerWiring,
  deadLetterConsumerWiring,
  httpFunctionWiring,
  reconcilerFunction,
  reconcilerIntervalMinutes,
  reconcilerWiring,
  sandboxSeedFunction,
  sandboxSeedWiring,
  sandboxTokenClaimsFunction,
  sandboxTokenClaimsWiring,
} from '../../infra/wiring.js';
import {
  functionPolicyStatements,
  list,
  must,
  referencedId,
  resourcesOfType,
  synthStage,
  type PolicyStatementJson,
  type SynthesizedStage,
} from './support.js';

const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

interface KeySchemaElement {
  AttributeName: string;
  KeyType: 'HASH' | 'RANGE';
}
interface GlobalTableProps {
  BillingMode: string;
  KeySchema: KeySchemaElement[];
  GlobalSecondaryIndexes?: { IndexName: string; KeySchema: KeySchemaElement[]; Projection: { ProjectionType: string } }[];
  SSESpecification: { SSEEnabled: boolean; SSEType: string };
  TimeToLiveSpecification?: { AttributeName: string; Enabled: boolean };
  Replicas: {
    Region: unknown;
    DeletionProtectionEnabled?: boolean;
    PointInTimeRecoverySpecification?: { PointInTimeRecoveryEnabled: boolean };
    SSESpecification?: { KMSMasterKeyId: unknown };
  }[];
}
interface QueueProps {
  VisibilityTimeout?: number;
  MessageRetentionPeriod?: number;
  KmsMasterKeyId?: unknown;
  RedrivePolicy?: { deadLetterTargetArn: unknown; maxReceiveCount: number };
}
interface PolicyStatement {
  Effect: string;
  Action?: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
interface FunctionProps {
  Runtime: string;
  Architectures: string[];
  Timeout?: number;
  MemorySize?: number;
  Role: unknown;
  LoggingConfig?: { LogGroup: unknown };
  Environment?: { Variables: Record<string, unknown> };
}
interface AlarmProps {
  MetricName: string;
  Namespace: string;
  Threshold: number;
  ComparisonOperator: string;
  Dimensions?: { Name: string; Value: unknown }[];
  AlarmActions?: unknown[];
}

function keySchema(definition: TableDefinition): KeySchemaElement[] {
  return [
    { AttributeName: definition.partitionKey, KeyType: 'HASH' },
    ...(definition.sortKey ? [{ AttributeName: definition.sortKey, KeyType: 'RANGE' as const }] : []),
  ];
}

function asArray(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

describe.each(['sandbox', 'prod'] as const)('stage %s', (stageName) => {
  let synth: SynthesizedStage;
  const stage = stages[stageName];
  const production = stageName === 'prod';

  beforeAll(() => {
    synth = synthStage(stageName);
  });

  describe('DynamoDB tables', () => {
    const expected = Object.entries(tableDefinitions).filter(([, d]) => !('sandboxOnly' in d && d.sandboxOnly) || !production);

    it('creates exactly the stage tables (sandbox-only ones only in the sandbox)', () => {
      synth.template.resourceCountIs('AWS::DynamoDB::GlobalTable', expected.length);
      const outputs = synth.template.findOutputs('*');
      for (const [key, definition] of Object.entries(tableDefinitions)) {
        const present = expected.some(([k]) => k === key);
        expect(Object.keys(outputs).includes(`${definition.id}TableName`), `${key} table output`).toBe(present);
      }
      if (production) {
        const sandboxOnly = Object.values(tableDefinitions).filter((d) => 'sandboxOnly' in d && d.sandboxOnly);
        expect(sandboxOnly.map((d) => d.id).sort()).toEqual(['SandboxProvider', 'SandboxRegistry']);
        const ids = Object.keys(synth.template.findResources('AWS::DynamoDB::GlobalTable'));
        for (const definition of sandboxOnly) expect(ids.some((id) => id.startsWith(`Tables${definition.id}`)), definition.id).toBe(false);
      }
    });

    it('builds every table from its definition: keys, indexes, TTL', () => {
      const tables = resourcesOfType<GlobalTableProps>(synth.template, 'AWS::DynamoDB::GlobalTable');
      for (const [, definition] of expected) {
        const match = tables.filter(([id]) => id.startsWith(`Tables${definition.id}`));
        expect(match, definition.id).toHaveLength(1);
        const table = must(match[0], definition.id)[1].Properties;
        expect(table.KeySchema).toEqual(keySchema(definition));
        expect((table.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName)).toEqual(definition.indexes.map((i) => i.indexName));
        for (const index of definition.indexes) {
          const gsi = must(table.GlobalSecondaryIndexes?.find((i) => i.IndexName === index.indexName), index.indexName);
          expect(gsi.KeySchema).toEqual([
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ]);
          expect(gsi.Projection, `${definition.id} ${index.indexName} projection`).toEqual({ ProjectionType: index.projection });
        }
        const ttl = 'timeToLiveAttribute' in definition ? (definition.timeToLiveAttribute as string) : undefined;
        if (ttl) expect(table.TimeToLiveSpecification).toEqual({ AttributeName: ttl, Enabled: true });
        else expect(table.TimeToLiveSpecification).toBeUndefined();
      }
    });

    it('projects the core indexes as tables.ts says: gsi1 and gsi3 (the watch) keys only, gsi2 all attributes', () => {
      const core = must(
        resourcesOfType<GlobalTableProps>(synth.template, 'AWS::DynamoDB::GlobalTable').find(([id]) => id.startsWith('TablesCore')),
        'core table',
      )[1].Properties;
      // Literal on purpose: a mapping that dropped `projection` would render CDK's default, ALL, for both.
      expect(core.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.Projection.ProjectionType])).toEqual([
        ['gsi1', 'KEYS_ONLY'],
        ['gsi2', 'ALL'],
        ['gsi3', 'KEYS_ONLY'],
      ]);
      expect(tableDefinitions.core.indexes.map((i) => [i.indexName, i.projection])).toEqual([
        ['gsi1', 'KEYS_ONLY'],
        ['gsi2', 'ALL'],
        ['gsi3', 'KEYS_ONLY'],
      ]);
    });

    it('is on-demand, with PITR and SSE under the rotating customer-managed key', () => {
      const keys = synth.template.findResources('AWS::KMS::Key');
      for (const [id, { Properties: table }] of resourcesOfType<GlobalTableProps>(synth.template, 'AWS::DynamoDB::GlobalTable')) {
        expect(table.BillingMode, id).toBe('PAY_PER_REQUEST');
        expect(table.SSESpecification, id).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
        expect(table.Replicas, id).toHaveLength(1);
        const replica = must(table.Replicas[0], `${id} replica`);
        expect(replica.Region).toBe(stage.region);
        expect(replica.PointInTimeRecoverySpecification, id).toEqual({ PointInTimeRecoveryEnabled: true });
        const keyId = must(referencedId(replica.SSESpecification?.KMSMasterKeyId), `${id} CMK`);
        expect(keys[keyId]?.Properties?.EnableKeyRotation, `${id} key rotation`).toBe(true);
      }
    });

    it(`has deletion protection and RETAIN ${production ? 'in prod' : 'off, DESTROY in the sandbox'}`, () => {
      for (const [id, table] of resourcesOfType<GlobalTableProps>(synth.template, 'AWS::DynamoDB::GlobalTable')) {
        expect(table.Properties.Replicas[0]?.DeletionProtectionEnabled, id).toBe(production);
        expect(table.DeletionPolicy, id).toBe(production ? 'Retain' : 'Delete');
        expect(table.UpdateReplacePolicy, id).toBe(production ? 'Retain' : 'Delete');
      }
    });
  });

  describe('SQS queues', () => {
    it('gives every queue a KMS-encrypted DLQ with the defined maxReceiveCount and 14-day retention', () => {
      const queues = Object.fromEntries(resourcesOfType<QueueProps>(synth.template, 'AWS::SQS::Queue'));
      const defs = Object.values(queueDefinitions);
      expect(Object.keys(queues)).toHaveLength(defs.length * 2);
      for (const definition of defs) {
        const [id, queue] = must(
          Object.entries(queues).find(([logicalId]) => logicalId.startsWith(`Queues${definition.id}Queue`)),
          `${definition.id} queue`,
        );
        expect(queue.Properties.VisibilityTimeout, id).toBe(definition.visibilityTimeoutSeconds);
        expect(queue.Properties.RedrivePolicy?.maxReceiveCount, id).toBe(definition.maxReceiveCount);
        expect(referencedId(queue.Properties.KmsMasterKeyId), `${id} KMS`).toBeDefined();
        const dlqId = must(referencedId(queue.Properties.RedrivePolicy?.deadLetterTargetArn), `${id} DLQ`);
        const dlq = must(queues[dlqId], dlqId);
        expect(dlqId.startsWith(`Queues${definition.id}DeadLetterQueue`)).toBe(true);
        expect(dlq.Properties.MessageRetentionPeriod).toBe(deadLetterRetention.toSeconds());
        expect(dlq.Properties.MessageRetentionPeriod).toBeGreaterThan(queue.Properties.MessageRetentionPeriod ?? 345_600);
        expect(referencedId(dlq.Properties.KmsMasterKeyId), `${dlqId} KMS`).toBeDefined();
        expect(dlq.Properties.RedrivePolicy).toBeUndefined();
      }
    });

    it('refuses non-TLS access to every queue and to the alarm topic', () => {
      const deniesInsecure = (statements: PolicyStatement[]) =>
        statements.some((st) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false');
      const queueIds = Object.keys(synth.template.findResources('AWS::SQS::Queue'));
      const policies = resourcesOfType<{ Queues: unknown[]; PolicyDocument: { Statement: PolicyStatement[] } }>(
        synth.template,
        'AWS::SQS::QueuePolicy',
      );
      for (const queueId of queueIds) {
        const policy = policies.find(([, p]) => p.Properties.Queues.some((q) => referencedId(q) === queueId));
        expect(deniesInsecure(must(policy, `${queueId} policy`)[1].Properties.PolicyDocument.Statement), queueId).toBe(true);
      }
      const topicPolicies = resourcesOfType<{ PolicyDocument: { Statement: PolicyStatement[] } }>(synth.template, 'AWS::SNS::TopicPolicy');
      expect(topicPolicies.some(([, p]) => deniesInsecure(p.Properties.PolicyDocument.Statement))).toBe(true);
      synth.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    });

    it('alarms on dead letters (DLQ depth >= 1, and messages received by a dead-letter consumer) and message age, to the alarm topic', () => {
      const topicId = must(Object.keys(synth.template.findResources('AWS::SNS::Topic'))[0], 'alarm topic');
      const alarms = resourcesOfType<AlarmProps>(synth.template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
      const queueIdOf = (alarm: AlarmProps) => referencedId(alarm.Dimensions?.find((d) => d.Name === 'QueueName')?.Value);
      for (const definition of Object.values(queueDefinitions)) {
        const consumed = 'deadLetterConsumer' in definition;
        const onDlq = alarms.filter((a) => queueIdOf(a)?.startsWith(`Queues${definition.id}DeadLetterQueue`));
        const onQueue = alarms.filter((a) => queueIdOf(a)?.startsWith(`Queues${definition.id}Queue`));
        const depth = onDlq.find((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible');
        expect(depth, `${definition.id} dead-letter depth alarm`).toMatchObject({
          Namespace: 'AWS/SQS',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
        // A consumed DLQ is emptied at once: its receipts say a message arrived.
        if (consumed) {
          expect(onDlq.find((a) => a.MetricName === 'NumberOfMessagesReceived'), `${definition.id} arrivals`).toMatchObject({ Threshold: 1 });
        }
        expect(onDlq.map((a) => a.MetricName).sort(), `${definition.id} DLQ alarms`).toEqual(
          ['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage', ...(consumed ? ['NumberOfMessagesReceived'] : [])].sort(),
        );
        const age = onQueue.find((a) => a.MetricName === 'ApproximateAgeOfOldestMessage');
        expect(age?.Threshold, `${definition.id} queue age alarm`).toBe(stage.queueAgeAlarmSeconds);
        for (const alarm of [...onDlq, ...onQueue]) {
          expect(alarm.AlarmActions?.map(referencedId)).toEqual([topicId]);
        }
      }
    });

    it('sizes a consumed dead-letter queue\'s visibility timeout like its queue', () => {
      const queues = Object.fromEntries(resourcesOfType<QueueProps>(synth.template, 'AWS::SQS::Queue'));
      for (const definition of Object.values(queueDefinitions)) {
        const [, dlq] = must(
          Object.entries(queues).find(([id]) => id.startsWith(`Queues${definition.id}DeadLetterQueue`)),
          `${definition.id} DLQ`,
        );
        if ('deadLetterConsumer' in definition) {
          expect(dlq.Properties.VisibilityTimeout).toBe(definition.visibilityTimeoutSeconds);
          expect(dlq.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * definition.consumerTimeoutSeconds);
        } else {
          expect(dlq.Properties.VisibilityTimeout).toBeUndefined();
        }
      }
    });
  });

  describe('Lambda functions', () => {
    it('has one function per HTTP handler, queue consumer and dead-letter consumer, the reconciler (and the sandbox user pool token trigger and seed)', () => {
      const consumers = Object.values(queueDefinitions).flatMap((d) => [d.consumer, ...('deadLetterConsumer' in d ? [d.deadLetterConsumer] : [])]);
      const trigger = [reconcilerFunction, ...(production ? [] : [sandboxTokenClaimsFunction, sandboxSeedFunction])];
      synth.template.resourceCountIs('AWS::Lambda::Function', httpFunctionNames.length + consumers.length + trigger.length);
      expect([...synth.stack.functions.keys()].sort()).toEqual([...httpFunctionNames, ...consumers, ...trigger].sort());
    });

    it('runs Node.js 24 on arm64 with explicit size, timeout, environment and its own log group', () => {
      const logGroups = synth.template.findResources('AWS::Logs::LogGroup');
      for (const [id, { Properties: fn }] of resourcesOfType<FunctionProps>(synth.template, 'AWS::Lambda::Function')) {
        expect(fn.Runtime, id).toBe('nodejs24.x');
        expect(fn.Architectures, id).toEqual(['arm64']);
        expect(fn.Timeout, id).toBeGreaterThan(0);
        // Behind API Gateway at most 29 s (it gives up at 30 s); consumers as their queue is sized; the reconciler its schedule's interval.
        const limit = id === synth.stack.getLogicalId(synth.stack.fn(reconcilerFunction).function.node.defaultChild as CfnElement)
          ? reconcilerIntervalMinutes * 60
          : Math.max(29, ...Object.values(queueDefinitions).map((d) => d.consumerTimeoutSeconds));
        expect(fn.Timeout, id).toBeLessThanOrEqual(limit);
        expect(fn.MemorySize, id).toBeGreaterThanOrEqual(128);
        expect(fn.Environment?.Variables, id).toMatchObject({
          STAGE: stageName,
          APP_VERSION: packageVersion,
          POWERTOOLS_SERVICE_NAME: 'social-payments',
          LOG_LEVEL: stage.logLevel,
        });
        const logGroupId = must(referencedId(fn.LoggingConfig?.LogGroup), `${id} log group`);
        expect(logGroups[logGroupId]?.Properties?.RetentionInDays, `${id} retention`).toBe(stage.logRetention);
      }
    });

    it('sets exactly the table and secret variables its wiring grants, and never HASH_PEPPER', () => {
      const wiringOf = (name: string) =>
        (name === sandboxTokenClaimsFunction ? sandboxTokenClaimsWiring : name === sandboxSeedFunction ? sandboxSeedWiring : name === reconcilerFunction ? reconcilerWiring : undefined) ??
        httpFunctionWiring[name] ??
        (Object.entries(queueDefinitions) as [QueueKey, QueueDefinition][])
          .map(([key, d]) => (d.consumer === name ? consumerWiring[key] : d.deadLetterConsumer === name ? deadLetterConsumerWiring[key] : undefined))
          .find((w) => w !== undefined);
      for (const [name, fn] of synth.stack.functions) {
        const id = synth.stack.getLogicalId(fn.function.node.defaultChild as CfnElement);
        const vars = must(synth.template.findResources('AWS::Lambda::Function')[id], id).Properties.Environment.Variables as Record<
          string,
          unknown
        >;
        const wiring = must(wiringOf(name), `wiring of ${name}`);
        const sandboxRegister = wiring.populationRegistry === true && synth.stack.tables.has('registry');
        const sandboxProvider = wiring.paymentProvider === true && synth.stack.tables.has('sandboxProvider');
        for (const [key, definition] of Object.entries(tableDefinitions)) {
          const granted =
            (key in (wiring.tables ?? {}) || (key === 'registry' && sandboxRegister) || (key === 'sandboxProvider' && sandboxProvider)) &&
            synth.stack.tables.has(key as keyof typeof tableDefinitions);
          expect(vars[definition.envVar] !== undefined, `${name} ${definition.envVar}`).toBe(granted);
        }
        for (const [key, definition] of Object.entries(secretDefinitions)) {
          const granted =
            (wiring.secrets ?? []).some((s) => s === key) ||
            (key === 'nationalRegistry' && wiring.populationRegistry === true && !sandboxRegister) ||
            (key === 'paymentProvider' && wiring.paymentProvider === true && !sandboxProvider);
          expect(vars[definition.envVar] !== undefined, `${name} ${definition.envVar}`).toBe(granted);
        }
        // The development pepper is a local-only variable: deployed, the value comes from Secrets Manager.
        expect(vars.HASH_PEPPER, name).toBeUndefined();
      }
    });
  });

  describe('HTTP API', () => {
    it('has a JWT authorizer with the stage issuer and audience', () => {
      synth.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
      synth.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
        // The stage's external issuer, or (sandbox) the user pool the stack creates: test/infra/identity.test.ts.
        JwtConfiguration: production
          ? { Issuer: stage.jwt?.issuerUrl, Audience: stage.jwt?.audience }
          : { Issuer: synth.stack.resolve(synth.stack.identity!.jwt.issuerUrl), Audience: synth.stack.resolve(synth.stack.identity!.jwt.audience) },
      });
    });

    it('has every route of routes.ts, JWT-authorized exactly when auth is jwt', () => {
      const authorizerId = must(Object.keys(synth.template.findResources('AWS::ApiGatewayV2::Authorizer'))[0], 'authorizer');
      const integrations = synth.template.findResources('AWS::ApiGatewayV2::Integration') as Record<
        string,
        { Properties: { IntegrationUri: unknown; PayloadFormatVersion: string } }
      >;
      const functionIdOf = (name: string) =>
        synth.stack.getLogicalId(synth.stack.fn(name).function.node.defaultChild as CfnElement);
      const created = resourcesOfType<{
        RouteKey: string;
        AuthorizationType: string;
        AuthorizerId?: unknown;
        Target?: { 'Fn::Join'?: [string, unknown[]] };
      }>(
        synth.template,
        'AWS::ApiGatewayV2::Route',
      )
        .map(([, r]) => r.Properties)
        .filter((r) => !r.RouteKey.startsWith('ANY '));
      expect(created).toHaveLength(routes.length);
      for (const route of routes) {
        const found = must(
          created.find((r) => r.RouteKey === `${route.method} ${route.path}`),
          `${route.method} ${route.path}`,
        );
        // The route's integration invokes the function routes.ts names.
        const integrationId = must(referencedId(found.Target?.['Fn::Join']?.[1]?.[1]), `${route.operationId} integration`);
        const integration = must(integrations[integrationId], integrationId).Properties;
        expect(referencedId(integration.IntegrationUri), route.operationId).toBe(functionIdOf(route.functionName));
        expect(integration.PayloadFormatVersion).toBe('2.0');
        if (route.auth === 'jwt') {
          expect(found.AuthorizationType).toBe('JWT');
          expect(referencedId(found.AuthorizerId)).toBe(authorizerId);
        } else {
          expect(found.AuthorizationType).toBe('NONE');
          expect(found.AuthorizerId).toBeUndefined();
        }
      }
    });

    it('answers the other methods of every path with 405: one ANY route per path, no authorizer, to the health function (no data access), throttled', () => {
      // Prepare
      const created = resourcesOfType<{ RouteKey: string; AuthorizationType: string; Target?: { 'Fn::Join'?: [string, unknown[]] } }>(synth.template, 'AWS::ApiGatewayV2::Route')
        .map(([, r]) => r.Properties)
        .filter((r) => r.RouteKey.startsWith('ANY '));
      const integrations = synth.template.findResources('AWS::ApiGatewayV2::Integration') as Record<string, { Properties: { IntegrationUri: unknown } }>;
      const healthId = synth.stack.getLogicalId(synth.stack.fn('health').function.node.defaultChild as CfnElement);
      const settings = (resourcesOfType<{ RouteSettings: Record<string, unknown> }>(synth.template, 'AWS::ApiGatewayV2::Stage')[0]?.[1].Properties.RouteSettings ?? {}) as Record<string, unknown>;

      // Assess
      expect(created.map((r) => r.RouteKey).sort()).toEqual([...methodsByPath.keys()].map((path) => `ANY ${path}`).sort());
      for (const route of created) {
        expect(route.AuthorizationType, route.RouteKey).toBe('NONE');
        const integrationId = must(referencedId(route.Target?.['Fn::Join']?.[1]?.[1]), `${route.RouteKey} integration`);
        expect(referencedId(must(integrations[integrationId], integrationId).Properties.IntegrationUri), route.RouteKey).toBe(healthId);
        expect(settings[route.RouteKey], route.RouteKey).toEqual({ ThrottlingRateLimit: stage.routeThrottling.public.rateLimit, ThrottlingBurstLimit: stage.routeThrottling.public.burstLimit });
      }
    });

    it("answers CORS preflights from the stage's origins with the shared policy", () => {
      synth.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        CorsConfiguration: {
          AllowOrigins: stage.cors.allowOrigins,
          AllowMethods: [...corsPolicy.allowMethods],
          AllowHeaders: [...corsPolicy.allowHeaders],
          ExposeHeaders: [...corsPolicy.exposeHeaders],
          MaxAge: corsPolicy.maxAgeSeconds,
        },
      });
      if (production) for (const origin of stage.cors.allowOrigins) expect(origin).toMatch(/^https:\/\//);
    });

    it('leaves only health, the OpenAPI document and the signed routes (provider callbacks and statements, register events) without the JWT authorizer (and the 405 routes)', () => {
      const authorizerId = must(Object.keys(synth.template.findResources('AWS::ApiGatewayV2::Authorizer'))[0], 'authorizer');
      const created = resourcesOfType<{ RouteKey: string; AuthorizationType: string; AuthorizerId?: unknown }>(
        synth.template,
        'AWS::ApiGatewayV2::Route',
      ).map(([, r]) => r.Properties);
      const open = created.filter((r) => r.AuthorizationType !== 'JWT' && !r.RouteKey.startsWith('ANY ')).map((r) => r.RouteKey).sort();
      expect(open).toEqual(['GET /v1/health', 'GET /v1/openapi.json', 'POST /v1/provider-callbacks/{providerCode}', 'POST /v1/providers/{providerCode}/statements', 'POST /v1/register-events']);
      for (const route of created.filter((r) => !open.includes(r.RouteKey) && !r.RouteKey.startsWith('ANY '))) {
        expect(route.RouteKey).toMatch(/^(GET|POST|PUT|DELETE) \/(g2p\/)?v1\//);
        expect(route.AuthorizationType, route.RouteKey).toBe('JWT');
        expect(referencedId(route.AuthorizerId), route.RouteKey).toBe(authorizerId);
      }
      const callback = must(created.find((r) => r.RouteKey === 'POST /v1/provider-callbacks/{providerCode}'), 'callback route');
      expect(callback.AuthorizationType).toBe('NONE');
      expect(callback.AuthorizerId).toBeUndefined();
      // Every account, me and approval route is behind the authorizer.
      for (const key of ['PUT /v1/accounts/{personalId}', 'GET /v1/accounts/{personalId}', 'DELETE /v1/accounts/{personalId}', 'GET /v1/me/payments', 'GET /v1/me/payments/{paymentId}', 'GET /v1/me/account', 'POST /v1/batches/{batchId}/approve']) {
        expect(created.find((r) => r.RouteKey === key)?.AuthorizationType, key).toBe('JWT');
      }
    });

    it('logs access (without request paths, which carry personal IDs) and throttles by stage', () => {
      const apiStages = resourcesOfType<{
        StageName: string;
        AccessLogSettings: { DestinationArn: unknown; Format: string };
        DefaultRouteSettings: { ThrottlingRateLimit: number; ThrottlingBurstLimit: number };
      }>(synth.template, 'AWS::ApiGatewayV2::Stage');
      expect(apiStages).toHaveLength(1);
      const props = must(apiStages[0], 'API stage')[1].Properties;
      expect(props.StageName).toBe('$default');
      expect(props.DefaultRouteSettings).toEqual({
        ThrottlingRateLimit: stage.throttling.rateLimit,
        ThrottlingBurstLimit: stage.throttling.burstLimit,
      });
      const logGroupId = must(referencedId(props.AccessLogSettings.DestinationArn), 'access log group');
      expect(synth.template.findResources('AWS::Logs::LogGroup')[logGroupId]?.Properties?.RetentionInDays).toBe(
        stage.logRetention,
      );
      const format = JSON.parse(props.AccessLogSettings.Format) as Record<string, string>;
      expect(format.requestId).toBe('$context.requestId');
      // The route template (`GET /v1/accounts/{personalId}`), never the request path holding the ID.
      expect(format.routeKey).toBe('$context.routeKey');
      expect(Object.values(format)).not.toContain('$context.path');
      expect(props.AccessLogSettings.Format).not.toContain('$context.path');
      expect(props.AccessLogSettings.Format).not.toContain('$request.path');
      expect(props.AccessLogSettings.Format).not.toMatch(/\$context\.(path|authorizer\.claims)/);
    });
  });

  describe('IAM', () => {
    const statementsOf = (document: { Statement: PolicyStatement[] }) => document.Statement;

    it('grants no wildcard action and no Resource "*" in function policies', () => {
      const statements = [
        ...resourcesOfType<{ PolicyDocument: { Statement: PolicyStatement[] } }>(synth.template, 'AWS::IAM::Policy').flatMap(
          ([, p]) => statementsOf(p.Properties.PolicyDocument),
        ),
        ...resourcesOfType<{ Policies?: { PolicyDocument: { Statement: PolicyStatement[] } }[] }>(
          synth.template,
          'AWS::IAM::Role',
        ).flatMap(([, r]) => (r.Properties.Policies ?? []).flatMap((p) => statementsOf(p.PolicyDocument))),
      ];
      expect(statements.length).toBeGreaterThan(0);
      for (const statement of statements) {
        for (const action of asArray(statement.Action)) expect(action).not.toContain('*');
        const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        for (const resource of resources) expect(resource).not.toBe('*');
      }
    });

    it('attaches no managed policy to any role, and each function has its own role', () => {
      for (const [id, role] of resourcesOfType<{ ManagedPolicyArns?: unknown[] }>(synth.template, 'AWS::IAM::Role')) {
        expect(role.Properties.ManagedPolicyArns, id).toBeUndefined();
      }
      const roleIds = resourcesOfType<FunctionProps>(synth.template, 'AWS::Lambda::Function').map(([, f]) =>
        referencedId(f.Properties.Role),
      );
      expect(new Set(roleIds).size).toBe(roleIds.length);
    });

    it('scopes each function log permission to its own log group', () => {
      for (const [id, { Properties: fn }] of resourcesOfType<FunctionProps>(synth.template, 'AWS::Lambda::Function')) {
        const roleId = referencedId(fn.Role);
        const logGroupId = referencedId(fn.LoggingConfig?.LogGroup);
        const policies = resourcesOfType<{ Roles: unknown[]; PolicyDocument: { Statement: PolicyStatement[] } }>(
          synth.template,
          'AWS::IAM::Policy',
        ).filter(([, p]) => p.Properties.Roles.some((r) => referencedId(r) === roleId));
        const logStatements = policies
          .flatMap(([, p]) => p.Properties.PolicyDocument.Statement)
          .filter((s) => asArray(s.Action).some((a) => a.startsWith('logs:')));
        expect(logStatements, id).toHaveLength(1);
        expect(referencedId(logStatements[0]?.Resource), id).toBe(logGroupId);
      }
    });

    it('rotates every KMS key', () => {
      synth.template.allResourcesProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    });
  });

  describe('provincial batch functions', () => {
    const readActions = ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'];
    const writeActions = ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
    const expected = {
      'batches-write': { table: [...readActions, ...writeActions].sort(), audit: ['dynamodb:PutItem'], memorySize: 1024, timeout: 29 },
      'batches-read': { table: readActions, audit: readActions, memorySize: 512, timeout: 29 },
    } as const;
    const names = Object.keys(expected) as (keyof typeof expected)[];

    const functionId = (name: string) => synth.stack.getLogicalId(synth.stack.fn(name).function.node.defaultChild as CfnElement);
    const statementsOf = (name: string) => functionPolicyStatements(synth.template, functionId(name));
    const functionProps = (name: string) =>
      must(synth.template.findResources('AWS::Lambda::Function')[functionId(name)], name).Properties as FunctionProps;
    // `logicalId` (resolved) honours overrideLogicalId; Stack.getLogicalId does not.
    const pepperSecretId = () => synth.stack.resolve((synth.stack.secrets.secret('pepper').node.defaultChild as CfnElement).logicalId) as string;

    it.each(names)('%s has exactly its DynamoDB actions, on exactly the core table and its named indexes, and the audit table', (name) => {
      const tableArn = synth.stack.resolve(synth.stack.tables.table('core').tableArn) as unknown;
      const auditArn = synth.stack.resolve(synth.stack.tables.table('audit').tableArn) as unknown;
      expect(tableDefinitions.core.indexes).toHaveLength(3);
      const indexArns = tableDefinitions.core.indexes.map((index) => ({ 'Fn::Join': ['', [tableArn, `/index/${index.indexName}`]] }));

      // Actions granted per resource, over every statement of the role.
      const byResource = new Map<string, Set<string>>();
      for (const statement of statementsOf(name)) {
        const actions = list(statement.Action).filter((a) => a.startsWith('dynamodb:'));
        if (actions.length === 0) continue;
        expect(statement.Effect).toBe('Allow');
        expect(statement.Condition).toBeUndefined();
        for (const resource of list(statement.Resource)) {
          const key = JSON.stringify(resource);
          expect(key, `${name}: wildcard in a DynamoDB resource`).not.toContain('*');
          byResource.set(key, new Set([...(byResource.get(key) ?? []), ...actions]));
        }
      }
      const granted = Object.fromEntries([...byResource].map(([resource, actions]) => [resource, [...actions].sort()]));
      expect(granted).toEqual({
        [JSON.stringify(tableArn)]: expected[name].table,
        [JSON.stringify(auditArn)]: expected[name].audit,
        ...Object.fromEntries(indexArns.map((arn) => [JSON.stringify(arn), ['dynamodb:Query']])),
      });
    });

    it('gives the read function no write action of any service', () => {
      const actions = statementsOf('batches-read').flatMap((s) => list(s.Action));
      expect(actions.filter((a) => /^dynamodb:(Put|Update|Delete|BatchWrite|TransactWrite|PartiQL)/.test(a))).toEqual([]);
      expect(actions.filter((a) => /^(secretsmanager:(Put|Update|Delete|Create|Rotate)|kms:(Encrypt|GenerateDataKey|ReEncrypt))/.test(a))).toEqual(
        [],
      );
      expect(actions.filter((a) => a.startsWith('sqs:'))).toEqual([]);
    });

    it('never grants Scan, a wildcard action or a resource "*", and DeleteItem only to the writer (entitlement release)', () => {
      for (const name of names) {
        for (const statement of statementsOf(name)) {
          for (const action of list(statement.Action)) {
            expect(action).not.toContain('*');
            expect(action).not.toBe('dynamodb:Scan');
            if (name === 'batches-read') expect(action).not.toBe('dynamodb:DeleteItem');
          }
          for (const resource of list(statement.Resource)) expect(resource).not.toBe('*');
        }
      }
    });

    it.each(names)('%s reads the pepper secret and nothing else of Secrets Manager, decrypting only through it', (name) => {
      const secretRef = { Ref: pepperSecretId() };
      const statements = statementsOf(name);
      const secretStatements = statements.filter((s) => list(s.Action).some((a) => a.startsWith('secretsmanager:')));
      expect(secretStatements).toHaveLength(1);
      expect(list(secretStatements[0]!.Action)).toEqual(['secretsmanager:GetSecretValue']);
      expect(list(secretStatements[0]!.Resource)).toEqual([secretRef]);
      expect(secretStatements[0]!.Condition).toBeUndefined();

      const viaSecretsManager = statements.filter((s) => JSON.stringify(s.Condition ?? {}).includes('secretsmanager.'));
      expect(viaSecretsManager).toHaveLength(1);
      const decrypt = viaSecretsManager[0]!;
      expect(list(decrypt.Action)).toEqual(['kms:Decrypt']);
      expect(referencedId(list(decrypt.Resource)[0])).toBe(referencedId(synth.stack.resolve(synth.stack.tables.key.keyArn)));
      expect(decrypt.Condition?.StringEquals?.['kms:EncryptionContext:SecretARN']).toEqual(secretRef);
      expect(JSON.stringify(decrypt.Condition?.StringEquals?.['kms:ViaService'])).toContain('secretsmanager.');

      // Every kms statement of the role is limited to one service (DynamoDB or Secrets Manager).
      for (const statement of statements.filter((s) => list(s.Action).some((a) => a.startsWith('kms:')))) {
        expect(statement.Condition?.StringEquals?.['kms:ViaService'], JSON.stringify(statement)).toBeDefined();
      }
    });

    it.each(names)('%s receives the pepper secret ARN, the core table name and the audit table name', (name) => {
      const vars = must(functionProps(name).Environment, `${name} environment`).Variables;
      expect(vars.HASH_PEPPER_SECRET_ARN).toEqual({ Ref: pepperSecretId() });
      expect(vars.CORE_TABLE_NAME).toEqual(synth.stack.resolve(synth.stack.tables.table('core').tableName));
      expect(vars.HASH_PEPPER).toBeUndefined();
      // The writer records its changes there; the reader serves the trail from it.
      expect(vars.AUDIT_TABLE_NAME).toEqual(synth.stack.resolve(synth.stack.tables.table('audit').tableName));
    });

    it.each(names)('%s has its memory and timeout', (name) => {
      const fn = functionProps(name);
      expect(fn.MemorySize).toBe(expected[name].memorySize);
      expect(fn.Timeout).toBe(expected[name].timeout);
    });

    it('grants the pepper to exactly the functions that touch the core table (and the sandbox register seed, which hashes its keys)', () => {
      for (const [name, fn] of synth.stack.functions) {
        if (name === sandboxSeedFunction) continue;
        const statements = functionPolicyStatements(synth.template, synth.stack.getLogicalId(fn.function.node.defaultChild as CfnElement));
        const readsPepper = statements.some((s: PolicyStatementJson) => s.Sid === 'HashPepperSecretRead');
        const touchesCore = statements.some((s: PolicyStatementJson) => s.Sid?.startsWith('CoreRead') ?? false);
        expect(readsPepper, name).toBe(touchesCore);
      }
    });

    it('serves every provincial route of routes.ts from these two functions, behind the JWT authorizer', () => {
      const provincial = routes.filter((r) => (names as string[]).includes(r.functionName));
      // At least these (a new provincial read, such as the audit trail, may join them).
      expect(provincial.map((r) => r.operationId)).toEqual(
        expect.arrayContaining(['appendPayments', 'cancelBatch', 'createBatch', 'getBatch', 'getBatchReport', 'getPayment', 'listBatchPayments', 'listBatches', 'sealBatch']),
      );
      const authorizerId = must(Object.keys(synth.template.findResources('AWS::ApiGatewayV2::Authorizer'))[0], 'authorizer');
      for (const route of provincial) {
        synth.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
          RouteKey: `${route.method} ${route.path}`,
          AuthorizationType: 'JWT',
          AuthorizerId: { Ref: authorizerId },
        });
      }
    });
  });

  describe('reconciler (self-repair)', () => {
    const reconcilerId = () => synth.stack.getLogicalId(synth.stack.fn('reconciler').function.node.defaultChild as CfnElement);

    it('runs on an EventBridge Scheduler schedule, every 5 minutes, through a role that may invoke exactly it', () => {
      const schedules = Object.values(synth.template.findResources('AWS::Scheduler::Schedule'));
      expect(schedules).toHaveLength(1);
      const schedule = must(schedules[0], 'schedule').Properties as { ScheduleExpression: string; Target: { Arn: unknown; RoleArn: unknown; Input: string } };
      expect(schedule.ScheduleExpression).toBe('rate(5 minutes)');
      expect(schedule.Target.Arn).toEqual({ 'Fn::GetAtt': [reconcilerId(), 'Arn'] });
      expect(schedule.Target.Input).toBe('{}');
      const roleId = referencedId(schedule.Target.RoleArn);
      const statements = resourcesOfType<{ Roles: unknown[]; PolicyDocument: { Statement: PolicyStatement[] } }>(synth.template, 'AWS::IAM::Policy')
        .filter(([, policy]) => policy.Properties.Roles.some((role) => referencedId(role) === roleId))
        .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement);
      expect(statements.map((statement) => [statement.Action, statement.Resource])).toEqual([['lambda:InvokeFunction', { 'Fn::GetAtt': [reconcilerId(), 'Arn'] }]]);
    });

    it('gets its timing from the queues: quiet longer than any function runs, re-drive after the whole retry horizon', () => {
      const fn = must(synth.template.findResources('AWS::Lambda::Function')[reconcilerId()], 'reconciler').Properties as FunctionProps;
      const variables = fn.Environment?.Variables ?? {};
      const quiet = Number(variables.REPAIR_QUIET_SECONDS);
      const longestRun = Math.max(...Object.values(queueDefinitions).map((queue) => queue.consumerTimeoutSeconds));
      const horizon = Math.max(...Object.values(queueDefinitions).map((queue) => queue.visibilityTimeoutSeconds * (queue.maxReceiveCount + 1)));
      expect(quiet).toBeGreaterThan(longestRun);
      expect(Number(variables.REPAIR_REDRIVE_AFTER_SECONDS)).toBeGreaterThan(horizon);
      expect(Number(variables.REPAIR_RECHECK_SECONDS)).toBeGreaterThanOrEqual(quiet);
      expect(variables.DISBURSEMENT_QUEUE_URL).toBeDefined();
      expect(variables.VERIFICATION_QUEUE_URL).toBeDefined();
    });

    it('alarms on PAID transfers no statement confirmed within their settlement window (counted by every run)', () => {
      synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'OverdueUnconfirmedTransfers',
        Namespace: 'SocialPayments',
        Dimensions: [{ Name: 'service', Value: 'social-payments' }],
        Statistic: 'Maximum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: Match.anyValue(),
      });
    });

    it('alarms on any repair (the Repairs metric it emits only when it repaired something)', () => {
      synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Repairs',
        Namespace: 'SocialPayments',
        Dimensions: [{ Name: 'service', Value: 'social-payments' }],
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: Match.anyValue(),
      });
    });
  });

  describe('pepper secret', () => {
    const secrets = () =>
      resourcesOfType<{ GenerateSecretString?: unknown; SecretString?: unknown; KmsKeyId: unknown; Description: string }>(
        synth.template,
        'AWS::SecretsManager::Secret',
      );

    const pepper = () => must(secrets().find(([id]) => id === 'HashPepperSecret'), 'HashPepperSecret')[1];

    it('is one generated 64-character string of letters and digits, under a fixed logical id', () => {
      expect(secrets().map(([id]) => id).sort()).toEqual(
        ['HashPepperSecret', 'ProviderCallbacksSecret', 'RegisterEventsSecret', ...(production ? ['NationalRegistryCredentialsSecret', 'PaymentProviderCredentialsSecret'] : [])].sort(),
      );
      const secret = pepper();
      // Pinned: changing the generator settings makes CloudFormation generate a new value (a new pepper).
      expect(secret.Properties.GenerateSecretString).toEqual({ PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false });
      expect(secret.Properties.SecretString).toBeUndefined();
      expect(secret.Properties.Description).toMatch(/re-keying/);
    });

    it('is encrypted with the stack\'s customer-managed key (the tables\' key)', () => {
      const secret = pepper();
      expect(referencedId(secret.Properties.KmsKeyId)).toBe(referencedId(synth.stack.resolve(synth.stack.tables.key.keyArn)));
    });

    it(`is ${production ? 'RETAINed in prod' : 'DESTROYed with the sandbox'}`, () => {
      const secret = pepper();
      expect(secret.DeletionPolicy).toBe(production ? 'Retain' : 'Delete');
      expect(secret.UpdateReplacePolicy).toBe(production ? 'Retain' : 'Delete');
    });

    it('has no rotation schedule (rotating the pepper orphans every stored key hash; the other secrets are rotated with their issuers)', () => {
      synth.template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
      synth.template.resourceCountIs('AWS::Serverless::Application', 0);
    });

    it('outputs its ARN', () => {
      expect(synth.template.findOutputs('HashPepperSecretArn').HashPepperSecretArn?.Value).toEqual({ Ref: 'HashPepperSecret' });
    });
  });

  it('outputs the API URL, table names and queue URLs', () => {
    const outputs = Object.keys(synth.template.findOutputs('*'));
    expect(outputs).toContain('ApiUrl');
    for (const definition of Object.values(queueDefinitions)) {
      expect(outputs).toContain(`${definition.id}QueueUrl`);
      expect(outputs).toContain(`${definition.id}DeadLetterQueueUrl`);
    }
    expect(outputs.filter((o) => o.endsWith('TableName'))).toHaveLength(
      resourcesOfType(synth.template, 'AWS::DynamoDB::GlobalTable').length,
    );
  });

  it(`is stack ${production ? 'with' : 'without'} termination protection, in ${stage.region}`, () => {
    expect(synth.stack.terminationProtection).toBe(production);
    expect(synth.stack.region).toBe(stage.region);
  });
});
