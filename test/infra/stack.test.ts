/**
 * The deployed stack's security and operational invariants, asserted on the
 * synthesized template of each stage (no snapshots): tables, queues, alarms,
 * functions, the HTTP API and its routes, IAM.
 */
import { readFileSync } from 'node:fs';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { tableDefinitions, type TableDefinition } from '../../shared/adapters/dynamodb/tables.js';
import { queueDefinitions } from '../../shared/adapters/sqs/queues.js';
import { httpFunctionNames, routes } from '../../shared/http/routes.js';
import { deadLetterRetention } from '../../infra/constructs/work-queues.js';
import { stages } from '../../infra/stages.js';
import { must, referencedId, resourcesOfType, synthStage, type SynthesizedStage } from './support.js';

const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

interface KeySchemaElement {
  AttributeName: string;
  KeyType: 'HASH' | 'RANGE';
}
interface GlobalTableProps {
  BillingMode: string;
  KeySchema: KeySchemaElement[];
  GlobalSecondaryIndexes?: { IndexName: string; KeySchema: KeySchemaElement[] }[];
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
  Dimensions: { Name: string; Value: unknown }[];
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
        expect(Object.keys(synth.template.findResources('AWS::DynamoDB::GlobalTable')).some((id) => id.includes('SandboxRegistry'))).toBe(false);
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
        }
        const ttl = 'timeToLiveAttribute' in definition ? (definition.timeToLiveAttribute as string) : undefined;
        if (ttl) expect(table.TimeToLiveSpecification).toEqual({ AttributeName: ttl, Enabled: true });
        else expect(table.TimeToLiveSpecification).toBeUndefined();
      }
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

    it('alarms on DLQ depth (>= 1) and message age, to the alarm topic', () => {
      const topicId = must(Object.keys(synth.template.findResources('AWS::SNS::Topic'))[0], 'alarm topic');
      const alarms = resourcesOfType<AlarmProps>(synth.template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
      const queueIdOf = (alarm: AlarmProps) => referencedId(alarm.Dimensions.find((d) => d.Name === 'QueueName')?.Value);
      for (const definition of Object.values(queueDefinitions)) {
        const onDlq = alarms.filter((a) => queueIdOf(a)?.startsWith(`Queues${definition.id}DeadLetterQueue`));
        const onQueue = alarms.filter((a) => queueIdOf(a)?.startsWith(`Queues${definition.id}Queue`));
        const depth = onDlq.find((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible');
        expect(depth, `${definition.id} DLQ depth alarm`).toMatchObject({
          Namespace: 'AWS/SQS',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
        expect(onDlq.some((a) => a.MetricName === 'ApproximateAgeOfOldestMessage'), `${definition.id} DLQ age alarm`).toBe(true);
        const age = onQueue.find((a) => a.MetricName === 'ApproximateAgeOfOldestMessage');
        expect(age?.Threshold, `${definition.id} queue age alarm`).toBe(stage.queueAgeAlarmSeconds);
        for (const alarm of [...onDlq, ...onQueue]) {
          expect(alarm.AlarmActions?.map(referencedId)).toEqual([topicId]);
        }
      }
    });
  });

  describe('Lambda functions', () => {
    it('has one function per HTTP handler (consumers come later)', () => {
      synth.template.resourceCountIs('AWS::Lambda::Function', httpFunctionNames.length);
      expect([...synth.stack.functions.keys()].sort()).toEqual([...httpFunctionNames].sort());
    });

    it('runs Node.js 24 on arm64 with explicit size, timeout, environment and its own log group', () => {
      const logGroups = synth.template.findResources('AWS::Logs::LogGroup');
      for (const [id, { Properties: fn }] of resourcesOfType<FunctionProps>(synth.template, 'AWS::Lambda::Function')) {
        expect(fn.Runtime, id).toBe('nodejs24.x');
        expect(fn.Architectures, id).toEqual(['arm64']);
        expect(fn.Timeout, id).toBeGreaterThan(0);
        expect(fn.Timeout, id).toBeLessThanOrEqual(29);
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

    it('sets no table variable on functions without table access', () => {
      for (const [id, { Properties: fn }] of resourcesOfType<FunctionProps>(synth.template, 'AWS::Lambda::Function')) {
        for (const definition of Object.values(tableDefinitions)) {
          expect(fn.Environment?.Variables[definition.envVar], id).toBeUndefined();
        }
      }
    });
  });

  describe('HTTP API', () => {
    it('has a JWT authorizer with the stage issuer and audience', () => {
      synth.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
      synth.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
        JwtConfiguration: { Issuer: stage.jwt.issuerUrl, Audience: stage.jwt.audience },
      });
    });

    it('has every route of routes.ts, JWT-authorized exactly when auth is jwt', () => {
      const authorizerId = must(Object.keys(synth.template.findResources('AWS::ApiGatewayV2::Authorizer'))[0], 'authorizer');
      const created = resourcesOfType<{ RouteKey: string; AuthorizationType: string; AuthorizerId?: unknown }>(
        synth.template,
        'AWS::ApiGatewayV2::Route',
      ).map(([, r]) => r.Properties);
      expect(created).toHaveLength(routes.length);
      for (const route of routes) {
        const found = must(
          created.find((r) => r.RouteKey === `${route.method} ${route.path}`),
          `${route.method} ${route.path}`,
        );
        if (route.auth === 'jwt') {
          expect(found.AuthorizationType).toBe('JWT');
          expect(referencedId(found.AuthorizerId)).toBe(authorizerId);
        } else {
          expect(found.AuthorizationType).toBe('NONE');
          expect(found.AuthorizerId).toBeUndefined();
        }
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
      expect(Object.values(format)).not.toContain('$context.path');
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
