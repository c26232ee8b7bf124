/**
 * Every function of the stack and exactly what it may touch, per stage: the
 * DynamoDB actions on each table and index, the queues it sends to, the
 * secrets it reads, the variables that come with each grant, and the SQS
 * event sources of the consumers. The expectations are written out literally
 * (not derived from infra/wiring.ts), so that a wiring change has to be made
 * here too, on purpose.
 */
import type { CfnElement } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { nationalRegistryConfigSchema } from '../../shared/adapters/population/national-registry.js';
import { tableDefinitions, type TableKey } from '../../shared/adapters/dynamodb/tables.js';
import { queueDefinitions, type QueueKey } from '../../shared/adapters/sqs/queues.js';
import { routes } from '../../shared/http/routes.js';
import { secretDefinitions, type SecretKey } from '../../infra/constructs/app-secrets.js';
import { deadLetterConsumerSettings } from '../../infra/constructs/work-queues.js';
import { httpProviderConfigSchema } from '../../shared/adapters/provider/http-provider.js';
import { nationalRegistryUrlVariable, paymentProviderUrlVariable } from '../../infra/stack.js';
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

const read = ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'];
const put = 'dynamodb:PutItem';
const update = 'dynamodb:UpdateItem';
const del = 'dynamodb:DeleteItem';
const batchWrite = 'dynamodb:BatchWriteItem';
const actions = (...extra: string[]) => [...read, ...extra].sort();
/** The audit trail's writers: create records, nothing else (not even read them). */
const append = [put];

interface Expected {
  /** DynamoDB actions on each table (sandbox-only tables: asserted only where they exist). */
  tables: Partial<Record<TableKey, string[]>>;
  sendsTo: QueueKey[];
  secrets: SecretKey[];
  /** Looks people up: sandbox register table in the sandbox, national register elsewhere. */
  registry?: true;
  /** Sends transfers: sandbox provider ledger table in the sandbox, the HTTP gateway's secret elsewhere. */
  provider?: true;
  memorySize: number;
  timeout: number;
}

const none: Pick<Expected, 'tables' | 'sendsTo' | 'secrets'> = { tables: {}, sendsTo: [], secrets: [] };

/** The intended permissions of every function, by name. */
const routeAndQueueFunctions: Record<string, Expected> = {
  health: { ...none, memorySize: 256, timeout: 10 },
  openapi: { ...none, memorySize: 512, timeout: 10 },
  catalogues: { ...none, memorySize: 256, timeout: 10 },
  'batches-write': {
    tables: { core: actions(put, update, batchWrite, del), audit: append },
    sendsTo: ['verification', 'webhook'],
    secrets: ['pepper'],
    memorySize: 1024,
    timeout: 29,
  },
  'batches-read': { tables: { core: actions(), audit: actions() }, sendsTo: [], secrets: ['pepper'], memorySize: 512, timeout: 29 },
  'batches-approve': { tables: { core: actions(update), audit: append }, sendsTo: ['disbursement', 'webhook'], secrets: ['pepper'], memorySize: 1024, timeout: 29 },
  accounts: {
    tables: { core: actions(put, update, del), audit: append },
    registry: true,
    sendsTo: ['disbursement'],
    secrets: ['pepper'],
    memorySize: 512,
    timeout: 29,
  },
  me: { tables: { core: actions() }, sendsTo: [], secrets: ['pepper'], memorySize: 512, timeout: 10 },
  'provider-callbacks': {
    tables: { core: actions(update, del), audit: append },
    sendsTo: ['webhook'],
    secrets: ['pepper', 'providerCallbacks'],
    memorySize: 1024,
    timeout: 29,
  },
  // Register events (issue 16): the signed route and the queue feed run one use case (claim, death marker,
  // cancellations, unlink, the funeral batch written as a province's create writes it).
  'register-events': {
    tables: { core: actions(put, update, batchWrite, del), audit: append },
    registry: true,
    sendsTo: ['verification'],
    secrets: ['pepper', 'registerEvents'],
    memorySize: 1024,
    timeout: 29,
  },
  'register-events-consumer': {
    tables: { core: actions(put, update, batchWrite, del), audit: append },
    registry: true,
    sendsTo: ['verification'],
    secrets: ['pepper'],
    memorySize: 1024,
    timeout: 60,
  },
  'verify-worker': {
    tables: { core: actions(update, del), audit: append },
    registry: true,
    sendsTo: ['verification', 'webhook'],
    secrets: ['pepper'],
    memorySize: 1024,
    timeout: 60,
  },
  'disburse-worker': {
    tables: { core: actions(update, del), audit: append },
    provider: true,
    sendsTo: ['disbursement', 'webhook'],
    secrets: ['pepper'],
    memorySize: 1024,
    timeout: 60,
  },
  'disburse-exhausted': {
    tables: { core: actions(update, del), audit: append },
    provider: true,
    sendsTo: ['disbursement', 'webhook'],
    secrets: ['pepper'],
    memorySize: 1024,
    timeout: 60,
  },
  // Issue 15: the webhook routes, the G2P Connect routes, the webhook queue's worker and dead-letter consumer.
  webhooks: { tables: { core: actions(put, update, del) }, sendsTo: ['webhook'], secrets: ['pepper'], memorySize: 512, timeout: 10 },
  g2p: { tables: { core: actions(put, update, batchWrite, del), audit: append }, registry: true, sendsTo: ['verification'], secrets: ['pepper'], memorySize: 1024, timeout: 29 },
  'webhook-worker': { tables: { core: actions(update) }, sendsTo: ['webhook'], secrets: ['pepper'], memorySize: 512, timeout: 30 },
  'webhook-exhausted': { tables: { core: actions(update) }, sendsTo: ['webhook'], secrets: ['pepper'], memorySize: 256, timeout: 30 },
};

/** The reconciler (self-repair), on its schedule in every stage. */
const scheduled: Record<string, Expected> = {
  reconciler: { tables: { core: actions(put, update, batchWrite, del), audit: append }, registry: true, sendsTo: ['disbursement', 'verification', 'webhook'], secrets: ['pepper'], memorySize: 1024, timeout: 300 },
};

/**
 * Sandbox only: the user pool's token trigger (where the stack creates the
 * identity provider), with no data access; and the register's seed (where the
 * sandbox register table exists), BatchWriteItem on that table and the pepper.
 */
const sandboxOnly: Record<string, Expected> = {
  'sandbox-token-claims': { ...none, memorySize: 256, timeout: 5 },
  'sandbox-seed': { tables: { registry: [batchWrite] }, sendsTo: [], secrets: ['pepper'], memorySize: 512, timeout: 60 },
};

interface FunctionProps {
  Runtime: string;
  Architectures: string[];
  Timeout: number;
  MemorySize: number;
  Environment: { Variables: Record<string, unknown> };
}

interface MappingProps {
  EventSourceArn: unknown;
  FunctionName: unknown;
  BatchSize: number;
  FunctionResponseTypes?: string[];
  ScalingConfig?: { MaximumConcurrency: number };
}

describe.each(['sandbox', 'prod'] as const)('functions in %s', (stageName) => {
  const sandbox = stageName === 'sandbox';
  const expected: Record<string, Expected> = { ...routeAndQueueFunctions, ...scheduled, ...(sandbox ? sandboxOnly : {}) };
  let synth: SynthesizedStage;

  beforeAll(() => {
    synth = synthStage(stageName);
  });

  const functionId = (name: string) => synth.stack.getLogicalId(synth.stack.fn(name).function.node.defaultChild as CfnElement);
  const props = (name: string) => must(synth.template.findResources('AWS::Lambda::Function')[functionId(name)], name).Properties as FunctionProps;
  const statementsOf = (name: string) => functionPolicyStatements(synth.template, functionId(name));
  const secretId = (key: SecretKey) => synth.stack.resolve((synth.stack.secrets.secret(key).node.defaultChild as CfnElement).logicalId) as string;
  const queueId = (key: QueueKey, which: 'queue' | 'deadLetterQueue' = 'queue') =>
    synth.stack.getLogicalId(synth.stack.queues.queue(key)[which].node.defaultChild as CfnElement);
  /** Secrets a function reads in this stage: its own, and the register's and the gateway's credentials outside the sandbox. */
  const secretsOf = (e: Expected): SecretKey[] => [
    ...e.secrets,
    ...(e.registry && !sandbox ? (['nationalRegistry'] as const) : []),
    ...(e.provider && !sandbox ? (['paymentProvider'] as const) : []),
  ];
  /** Tables a function is granted in this stage, with their actions. */
  const tablesOf = (e: Expected): [TableKey, string[]][] => [
    ...(Object.entries(e.tables) as [TableKey, string[]][]).filter(([key]) => synth.stack.tables.has(key)),
    ...(e.registry && sandbox ? [['registry', actions()] as [TableKey, string[]]] : []),
    ...(e.provider && sandbox ? [['sandboxProvider', actions(put, update)] as [TableKey, string[]]] : []),
  ];

  it('has exactly the expected functions: one per route handler, queue consumer and dead-letter consumer, the reconciler (and, in the sandbox, the token trigger and the seed)', () => {
    expect([...synth.stack.functions.keys()].sort()).toEqual(Object.keys(expected).sort());
    synth.template.resourceCountIs('AWS::Lambda::Function', Object.keys(expected).length);
    const handlers = new Set([
      ...routes.map((r) => r.functionName),
      ...Object.values(queueDefinitions).flatMap((d) => [d.consumer, ...('deadLetterConsumer' in d ? [d.deadLetterConsumer] : [])]),
      ...Object.keys(scheduled),
      ...(sandbox ? Object.keys(sandboxOnly) : []),
    ]);
    expect([...handlers].sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.keys(expected))('%s runs Node.js 24 on arm64 with its memory and timeout', (name) => {
    const fn = props(name);
    expect(fn.Runtime).toBe('nodejs24.x');
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.MemorySize).toBe(expected[name]!.memorySize);
    expect(fn.Timeout).toBe(expected[name]!.timeout);
  });

  it('lets no function change or remove an audit record: on the audit table, PutItem and reads only', () => {
    const auditArn = JSON.stringify(synth.stack.resolve(synth.stack.tables.table('audit').tableArn));
    const writers: string[] = [];
    for (const name of Object.keys(expected)) {
      const onAudit = statementsOf(name).filter((statement) => list(statement.Resource).some((resource) => JSON.stringify(resource).includes(auditArn)));
      const granted = new Set(onAudit.flatMap((statement) => list(statement.Action)));
      for (const forbidden of ['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:PartiQLUpdate', 'dynamodb:PartiQLDelete', 'dynamodb:PartiQLInsert', 'dynamodb:*']) {
        expect(granted.has(forbidden), `${name} may ${forbidden} on the audit table`).toBe(false);
      }
      if (granted.has(put)) writers.push(name);
    }
    // Every function that changes state records it; the read-only ones do not write the trail.
    expect(writers.sort()).toEqual(['accounts', 'batches-approve', 'batches-write', 'disburse-exhausted', 'disburse-worker', 'g2p', 'provider-callbacks', 'reconciler', 'register-events', 'register-events-consumer', 'verify-worker']);
  });

  it.each(Object.keys(expected))('%s has exactly its DynamoDB actions, per table, and Query on each named core index', (name) => {
    const e = expected[name]!;
    const byResource = new Map<string, Set<string>>();
    for (const statement of statementsOf(name)) {
      const dynamo = list(statement.Action).filter((a) => a.startsWith('dynamodb:'));
      if (dynamo.length === 0) continue;
      expect(statement.Effect).toBe('Allow');
      expect(statement.Condition).toBeUndefined();
      for (const resource of list(statement.Resource)) {
        const key = JSON.stringify(resource);
        expect(key, `${name}: wildcard in a DynamoDB resource`).not.toContain('*');
        byResource.set(key, new Set([...(byResource.get(key) ?? []), ...dynamo]));
      }
    }
    const granted = Object.fromEntries([...byResource].map(([resource, set]) => [resource, [...set].sort()]));

    const want: Record<string, string[]> = {};
    for (const [key, tableActions] of tablesOf(e)) {
      const tableArn = synth.stack.resolve(synth.stack.tables.table(key).tableArn) as unknown;
      want[JSON.stringify(tableArn)] = tableActions;
      for (const index of tableDefinitions[key].indexes) {
        want[JSON.stringify({ 'Fn::Join': ['', [tableArn, `/index/${index.indexName}`]] })] = ['dynamodb:Query'];
      }
    }
    expect(granted).toEqual(want);
  });

  it.each(Object.keys(expected))('%s parses source maps at cold start only where the stage says so (the sandbox)', (name) => {
    expect(props(name).Environment.Variables.NODE_OPTIONS).toBe(sandbox ? '--enable-source-maps' : undefined);
  });

  it.each(Object.keys(expected))('%s receives exactly the table, queue and secret variables of its grants', (name) => {
    const e = expected[name]!;
    const vars = props(name).Environment.Variables;
    const tables = new Map(tablesOf(e));
    for (const [key, definition] of Object.entries(tableDefinitions) as [TableKey, (typeof tableDefinitions)[TableKey]][]) {
      if (tables.has(key)) expect(vars[definition.envVar], `${name} ${definition.envVar}`).toEqual(synth.stack.resolve(synth.stack.tables.table(key).tableName));
      else expect(vars[definition.envVar], `${name} ${definition.envVar}`).toBeUndefined();
    }
    for (const [key, definition] of Object.entries(queueDefinitions) as [QueueKey, (typeof queueDefinitions)[QueueKey]][]) {
      if (e.sendsTo.includes(key)) expect(referencedId(vars[definition.envVar]), `${name} ${definition.envVar}`).toBe(queueId(key));
      else expect(vars[definition.envVar], `${name} ${definition.envVar}`).toBeUndefined();
    }
    const secrets = secretsOf(e);
    for (const [key, definition] of Object.entries(secretDefinitions) as [SecretKey, (typeof secretDefinitions)[SecretKey]][]) {
      if (secrets.includes(key)) expect(vars[definition.envVar], `${name} ${definition.envVar}`).toEqual({ Ref: secretId(key) });
      else expect(vars[definition.envVar], `${name} ${definition.envVar}`).toBeUndefined();
    }
    // Development-only variables are never set by the stack.
    for (const local of ['HASH_PEPPER', 'LOCAL_PROVIDER_SECRET', 'NATIONAL_REGISTRY_API_KEY', 'SQS_ENDPOINT', 'DYNAMODB_ENDPOINT']) {
      expect(vars[local], `${name} ${local}`).toBeUndefined();
    }
  });

  it.each(Object.keys(expected))('%s may send (sqs:SendMessage only) to exactly its queues', (name) => {
    const send = statementsOf(name).filter((s) => list(s.Action).some((a) => a.startsWith('sqs:Send')));
    for (const statement of send) expect(list(statement.Action), name).toEqual(['sqs:SendMessage']);
    const targets = send.flatMap((s) => list(s.Resource).map((r) => referencedId(r)));
    expect(targets.sort(), name).toEqual(expected[name]!.sendsTo.map((key) => queueId(key)).sort());
    // Sending needs the queue key, only through SQS.
    const queueKey = statementsOf(name).filter((s) => s.Sid === 'QueueKeySend');
    expect(queueKey.length, name).toBe(send.length > 0 ? 1 : 0);
  });

  it.each(Object.keys(expected))('%s reads exactly its secrets, each decrypted only through Secrets Manager for that secret', (name) => {
    const statements = statementsOf(name);
    const secretStatements = statements.filter((s) => list(s.Action).some((a) => a.startsWith('secretsmanager:')));
    for (const statement of secretStatements) {
      expect(list(statement.Action)).toEqual(['secretsmanager:GetSecretValue']);
      expect(statement.Condition).toBeUndefined();
    }
    const want = secretsOf(expected[name]!).map((key) => ({ Ref: secretId(key) }));
    const sortRefs = (refs: unknown[]) => [...refs].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(sortRefs(secretStatements.flatMap((s) => list(s.Resource)))).toEqual(sortRefs(want));
    const viaSecretsManager = statements.filter((s) => JSON.stringify(s.Condition ?? {}).includes('secretsmanager.'));
    expect(sortRefs(viaSecretsManager.map((s) => s.Condition?.StringEquals?.['kms:EncryptionContext:SecretARN']))).toEqual(sortRefs(want));
    for (const statement of viaSecretsManager) expect(list(statement.Action)).toEqual(['kms:Decrypt']);
  });

  it.each(Object.keys(expected))('%s has no wildcard, no Scan, no transaction or PartiQL, and every key use limited to one service', (name) => {
    for (const statement of statementsOf(name)) {
      for (const action of list(statement.Action)) {
        expect(action).not.toContain('*');
        expect(action).not.toMatch(/^dynamodb:(Scan|Transact|PartiQL|ConditionCheckItem|DescribeStream|GetRecords)/);
      }
      for (const resource of list(statement.Resource)) expect(resource).not.toBe('*');
      if (list(statement.Action).some((a) => a.startsWith('kms:'))) {
        // Table and secret keys: kms:ViaService; the queue consumer's decrypt is CDK's, on the queue key only.
        const onQueueKey = referencedId(list(statement.Resource)[0]) === referencedId(synth.stack.resolve(synth.stack.queues.key.keyArn));
        if (!onQueueKey) expect(statement.Condition?.StringEquals?.['kms:ViaService'], JSON.stringify(statement)).toBeDefined();
      }
    }
  });

  it('keeps the read-only functions free of any write action', () => {
    for (const name of ['me', 'batches-read']) {
      const all = statementsOf(name).flatMap((s: PolicyStatementJson) => list(s.Action));
      expect(all.filter((a) => /^dynamodb:(Put|Update|Delete|BatchWrite|TransactWrite|PartiQL)/.test(a)), name).toEqual([]);
      expect(all.filter((a) => /^(sqs:|secretsmanager:(Put|Update|Delete|Create|Rotate)|kms:(Encrypt|GenerateDataKey|ReEncrypt))/.test(a)), name).toEqual([]);
    }
  });

  it('grants DeleteItem only to the functions that release entitlements or unlink accounts, and BatchWriteItem only to the upload', () => {
    // On the system of record and the sandbox ledger (the audit table's writers are asserted above).
    const auditArn = JSON.stringify(synth.stack.resolve(synth.stack.tables.table('audit').tableArn));
    const notAudit = (s: PolicyStatementJson) => !list(s.Resource).some((resource) => JSON.stringify(resource).includes(auditArn));
    const holders = (action: string) =>
      Object.keys(expected).filter((name) => statementsOf(name).some((s) => notAudit(s) && list(s.Action).includes(action))).sort();
    const register = ['reconciler', 'register-events', 'register-events-consumer'];
    expect(holders(del)).toEqual(['accounts', 'batches-write', 'disburse-exhausted', 'disburse-worker', 'g2p', 'provider-callbacks', ...register, 'verify-worker', 'webhooks']);
    // The funeral batch's one payment is written as an upload's are (register events, and the reconciler finishing one).
    expect(holders(batchWrite)).toEqual(sandbox ? ['batches-write', 'g2p', ...register, 'sandbox-seed'] : ['batches-write', 'g2p', ...register]);
    expect(holders(put)).toEqual(sandbox ? ['accounts', 'batches-write', 'disburse-exhausted', 'disburse-worker', 'g2p', ...register, 'webhooks'] : ['accounts', 'batches-write', 'g2p', ...register, 'webhooks']);
  });

  describe('queue consumers', () => {
    const mappings = () => resourcesOfType<MappingProps>(synth.template, 'AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties);
    const consumers = [
      { name: 'verify-worker', queue: 'verification', source: 'queue', batchSize: 10, concurrency: 20 },
      { name: 'disburse-worker', queue: 'disbursement', source: 'queue', batchSize: 10, concurrency: 20 },
      { name: 'disburse-exhausted', queue: 'disbursement', source: 'deadLetterQueue', batchSize: 1, concurrency: 2 },
      { name: 'register-events-consumer', queue: 'registerEvents', source: 'queue', batchSize: 1, concurrency: 5 },
      { name: 'webhook-worker', queue: 'webhook', source: 'queue', batchSize: 5, concurrency: 10 },
      { name: 'webhook-exhausted', queue: 'webhook', source: 'deadLetterQueue', batchSize: 1, concurrency: 2 },
    ] as const;

    it('has exactly one event source mapping per consumer', () => {
      expect(mappings()).toHaveLength(consumers.length);
    });

    it.each(consumers)('$name consumes the $queue $source: batch size, partial batch failures, maximum concurrency', (c) => {
      const found = mappings().filter((m) => referencedId(m.FunctionName) === functionId(c.name));
      expect(found).toHaveLength(1);
      const mapping = found[0]!;
      expect(referencedId(mapping.EventSourceArn)).toBe(queueId(c.queue, c.source));
      expect(mapping.BatchSize).toBe(c.batchSize);
      expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(mapping.ScalingConfig).toEqual({ MaximumConcurrency: c.concurrency });
      // The literals above are the definitions' values.
      const definition = queueDefinitions[c.queue];
      if (c.source === 'queue') {
        expect([mapping.BatchSize, mapping.ScalingConfig?.MaximumConcurrency]).toEqual([definition.batchSize, definition.maximumConcurrency]);
        expect(definition.consumer).toBe(c.name);
      } else {
        expect([mapping.BatchSize, mapping.ScalingConfig?.MaximumConcurrency]).toEqual([
          deadLetterConsumerSettings.batchSize,
          deadLetterConsumerSettings.maximumConcurrency,
        ]);
        expect('deadLetterConsumer' in definition && definition.deadLetterConsumer).toBe(c.name);
      }
      // The source's visibility timeout leaves room for six runs of the function.
      const queue = must(synth.template.findResources('AWS::SQS::Queue')[queueId(c.queue, c.source)], c.queue).Properties as { VisibilityTimeout?: number };
      expect(queue.VisibilityTimeout ?? 30).toBeGreaterThanOrEqual(6 * props(c.name).Timeout);
      expect(props(c.name).Timeout).toBeLessThanOrEqual(definition.consumerTimeoutSeconds);
      // Receive and delete on its source only.
      const consume = statementsOf(c.name).filter((s) => list(s.Action).includes('sqs:ReceiveMessage'));
      expect(consume.flatMap((s) => list(s.Resource).map((r) => referencedId(r)))).toEqual([queueId(c.queue, c.source)]);
    });

    it('alarms on the dead-letter consumer\'s errors, on messages arriving in and waiting in its dead-letter queue, keeping the age alarms', () => {
      const topicId = must(Object.keys(synth.template.findResources('AWS::SNS::Topic'))[0], 'alarm topic');
      const alarms = resourcesOfType<{
        MetricName: string;
        Namespace: string;
        Statistic?: string;
        Threshold: number;
        Dimensions?: { Name: string; Value: unknown }[];
        AlarmActions?: unknown[];
        OKActions?: unknown[];
      }>(synth.template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
      const errors = alarms.filter(
        (a) => a.MetricName === 'Errors' && (a.Dimensions ?? []).some((d) => d.Name === 'FunctionName' && referencedId(d.Value) === functionId('disburse-exhausted')),
      );
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ Namespace: 'AWS/Lambda', Statistic: 'Sum', Threshold: 1 });
      expect(errors[0]!.AlarmActions?.map(referencedId)).toEqual([topicId]);
      expect(errors[0]!.OKActions?.map(referencedId)).toEqual([topicId]);

      const onDlq = alarms.filter((a) => (a.Dimensions ?? []).some((d) => d.Name === 'QueueName' && referencedId(d.Value) === queueId('disbursement', 'deadLetterQueue')));
      expect(onDlq.map((a) => a.MetricName).sort()).toEqual([
        'ApproximateAgeOfOldestMessage',
        'ApproximateNumberOfMessagesVisible',
        'NumberOfMessagesReceived',
      ]);
      const onQueue = alarms.filter((a) => (a.Dimensions ?? []).some((d) => d.Name === 'QueueName' && referencedId(d.Value) === queueId('disbursement')));
      expect(onQueue.map((a) => a.MetricName)).toEqual(['ApproximateAgeOfOldestMessage']);
    });
  });

  describe('provider callback secrets', () => {
    it('is a KMS-encrypted secret created as {} (no secret material in the template), under a fixed logical id', () => {
      const secret = must(synth.template.findResources('AWS::SecretsManager::Secret').ProviderCallbacksSecret, 'ProviderCallbacksSecret');
      expect(secret.Properties.SecretString).toBe('{}');
      expect(secret.Properties.GenerateSecretString).toBeUndefined();
      expect(referencedId(secret.Properties.KmsKeyId)).toBe(referencedId(synth.stack.resolve(synth.stack.tables.key.keyArn)));
      expect(secret.DeletionPolicy).toBe(sandbox ? 'Delete' : 'Retain');
      expect(synth.template.findOutputs('ProviderCallbacksSecretArn').ProviderCallbacksSecretArn?.Value).toEqual({ Ref: 'ProviderCallbacksSecret' });
    });

    it('is readable by provider-callbacks only (PROVIDER_SECRETS_ARN)', () => {
      const readers = [...synth.stack.functions.keys()].filter((name) =>
        statementsOf(name).some((s) => JSON.stringify(s).includes('"ProviderCallbacksSecret"')),
      );
      expect(readers).toEqual(['provider-callbacks']);
      expect(props('provider-callbacks').Environment.Variables.PROVIDER_SECRETS_ARN).toEqual({ Ref: 'ProviderCallbacksSecret' });
      // Nothing else in the template (a resource policy, another role) names it.
      const policies = resourcesOfType<{ PolicyDocument: unknown }>(synth.template, 'AWS::IAM::Policy').filter(([, p]) =>
        JSON.stringify(p).includes('"ProviderCallbacksSecret"'),
      );
      expect(policies).toHaveLength(1);
    });
  });

  describe('population register', () => {
    it(`is ${sandbox ? 'the sandbox register table' : 'the national register: a credentials secret and no table'}, for accounts, g2p and verify-worker only`, () => {
      const secrets = synth.template.findResources('AWS::SecretsManager::Secret');
      if (sandbox) {
        expect(secrets.NationalRegistryCredentialsSecret).toBeUndefined();
        return;
      }
      const secret = must(secrets.NationalRegistryCredentialsSecret, 'NationalRegistryCredentialsSecret');
      expect(secret.Properties.SecretString).toBe('{}');
      expect(secret.DeletionPolicy).toBe('Retain');
      const readers = [...synth.stack.functions.keys()].filter((name) =>
        statementsOf(name).some((s) => JSON.stringify(s).includes('"NationalRegistryCredentialsSecret"')),
      );
      expect(readers.sort()).toEqual(['accounts', 'g2p', 'reconciler', 'register-events', 'register-events-consumer', 'verify-worker']);
    });

    it('passes no register URL unless the stage has one', () => {
      for (const name of Object.keys(expected)) expect(props(name).Environment.Variables[nationalRegistryUrlVariable], name).toBeUndefined();
    });
  });

  describe('sandbox register seed', () => {
    it(`is ${sandbox ? 'a custom resource served by sandbox-seed itself (no provider framework), run again when the seed changes' : 'absent'}`, () => {
      const seeds = resourcesOfType<{ ServiceToken: unknown; size: number; seed: number }>(synth.template, 'Custom::SandboxRegisterSeed');
      if (!sandbox) {
        expect(seeds).toEqual([]);
        return;
      }
      expect(seeds).toHaveLength(1);
      const [, seed] = seeds[0]!;
      expect(seed.Properties.ServiceToken).toEqual({ 'Fn::GetAtt': [functionId('sandbox-seed'), 'Arn'] });
      expect([seed.Properties.size, seed.Properties.seed]).toEqual([2000, 1]);
      // Only the seed function and the functions that read it touch the register table; nothing but the seed writes it.
      synth.template.resourceCountIs('AWS::Lambda::Function', Object.keys(expected).length);
    });
  });

  describe('payment provider', () => {
    it(`is ${sandbox ? 'the sandbox provider ledger table' : 'the HTTP gateway: a signing secret and no table'}, for disburse-worker and disburse-exhausted only`, () => {
      const secrets = synth.template.findResources('AWS::SecretsManager::Secret');
      if (sandbox) {
        expect(secrets.PaymentProviderCredentialsSecret).toBeUndefined();
        return;
      }
      const secret = must(secrets.PaymentProviderCredentialsSecret, 'PaymentProviderCredentialsSecret');
      expect(secret.Properties.SecretString).toBe('{}');
      expect(secret.DeletionPolicy).toBe('Retain');
      const readers = [...synth.stack.functions.keys()].filter((name) =>
        statementsOf(name).some((s) => JSON.stringify(s).includes('"PaymentProviderCredentialsSecret"')),
      );
      expect(readers.sort()).toEqual(['disburse-exhausted', 'disburse-worker']);
    });

    it('passes no gateway URL unless the stage has one', () => {
      for (const name of Object.keys(expected)) expect(props(name).Environment.Variables[paymentProviderUrlVariable], name).toBeUndefined();
    });
  });
});

describe.each([
  ['prod', {}, true],
  ['sandbox', {}, false],
  ['sandbox', { beneficiaryNotices: 'sns' }, true],
  ['prod', { beneficiaryNotices: 'off' }, false],
] as const)('beneficiary notices in %s %j', (stageName, context, channel) => {
  const notifying = ['batches-approve', 'disburse-exhausted', 'disburse-worker', 'provider-callbacks', 'reconciler'];
  let synth: SynthesizedStage;
  beforeAll(() => {
    synth = synthStage(stageName, context);
  });

  it(channel ? 'is a KMS-encrypted, TLS-only topic that exactly the notifying functions may publish to, with NOTIFIER=sns' : 'has no topic, and no function sends notices', () => {
    const functions = synth.template.findResources('AWS::Lambda::Function');
    const variablesOf = (name: string) => {
      const id = synth.stack.getLogicalId(synth.stack.fn(name).function.node.defaultChild as CfnElement);
      return (functions[id]?.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>;
    };
    const publishers = [...synth.stack.functions.keys()].filter((name) => variablesOf(name).NOTIFIER !== undefined);
    const topics = synth.template.findResources('AWS::SNS::Topic');
    if (!channel) {
      expect(synth.stack.notices).toBeUndefined();
      expect(Object.keys(topics)).toHaveLength(1); // the alarms' topic only
      expect(publishers).toEqual([]);
      return;
    }
    const topicId = synth.stack.getLogicalId(synth.stack.notices!.topic.node.defaultChild as CfnElement);
    const keyId = synth.stack.getLogicalId(synth.stack.notices!.key.node.defaultChild as CfnElement);
    expect(topics[topicId]?.Properties?.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    const policies = Object.values(synth.template.findResources('AWS::SNS::TopicPolicy')).filter((policy) => JSON.stringify(policy).includes(`"${topicId}"`));
    expect(JSON.stringify(policies)).toContain('"aws:SecureTransport":"false"');
    expect(publishers.sort()).toEqual(notifying);
    for (const name of publishers) {
      expect(variablesOf(name)).toMatchObject({ NOTIFIER: 'sns', NOTICES_TOPIC_ARN: { Ref: topicId } });
      const statements = functionPolicyStatements(synth.template, synth.stack.getLogicalId(synth.stack.fn(name).function.node.defaultChild as CfnElement));
      expect(statements.find((s) => s.Sid === 'NoticesPublish')).toMatchObject({ Action: 'sns:Publish', Resource: { Ref: topicId } });
      expect(statements.find((s) => s.Sid === 'NoticesKeyPublish')).toMatchObject({ Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    }
    // Nobody else may publish to it.
    const others = [...synth.stack.functions.keys()].filter((name) => !notifying.includes(name));
    for (const name of others) {
      const statements = functionPolicyStatements(synth.template, synth.stack.getLogicalId(synth.stack.fn(name).function.node.defaultChild as CfnElement));
      expect(JSON.stringify(statements), name).not.toContain(topicId);
    }
  });

  it(channel ? 'alarms on notices the topic refused' : 'has no lost-notices alarm', () => {
    const alarms = Object.values(synth.template.findResources('AWS::CloudWatch::Alarm')).filter((alarm) => alarm.Properties?.MetricName === 'NoticesLost');
    if (!channel) {
      expect(alarms).toEqual([]);
      return;
    }
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.Properties).toMatchObject({ Statistic: 'Sum', Period: 300, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
    expect(alarms[0]?.Properties?.AlarmDescription).toContain('docs/runbook.md#beneficiary-notices-lost');
    expect(alarms[0]?.Properties?.AlarmActions).toHaveLength(1);
  });
});

describe('payment provider gateway URL', () => {
  it('is passed to the functions that send transfers in prod when the stage has one, with variables the adapter accepts, and synth stops warning', () => {
    const url = 'https://gateway.provider.example/api';
    const synth = synthStage('prod', { paymentProviderUrl: url });
    const functions = synth.template.findResources('AWS::Lambda::Function');
    const withUrl = [...synth.stack.functions].filter(([, fn]) => {
      const id = synth.stack.getLogicalId(fn.function.node.defaultChild as CfnElement);
      return functions[id]?.Properties?.Environment?.Variables?.[paymentProviderUrlVariable] === url;
    });
    expect(withUrl.map(([name]) => name).sort()).toEqual(['disburse-exhausted', 'disburse-worker']);
    const parsed = httpProviderConfigSchema.safeParse({
      [paymentProviderUrlVariable]: url,
      [secretDefinitions.paymentProvider.envVar]: 'arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:x',
    });
    expect(parsed.success).toBe(true);
    const warnings = synth.app.synth().stacks.flatMap((stack) => stack.messages).filter((m) => JSON.stringify(m.entry.data).includes('payment provider gateway URL'));
    expect(warnings).toEqual([]);
  });

  it('is warned about by synth while unset', () => {
    const synth = synthStage('prod');
    const warnings = synth.app.synth().stacks.flatMap((stack) => stack.messages).filter((m) => JSON.stringify(m.entry.data).includes('payment provider gateway URL'));
    expect(warnings.map((m) => m.level)).toEqual(['warning', 'warning']);
  });
});

describe('national population register URL', () => {
  it('is passed to the register functions in prod when the stage has one, with variables the adapter accepts', () => {
    const url = 'https://ndxp.registry.example/api';
    const synth = synthStage('prod', { populationRegistryUrl: url });
    const functions = synth.template.findResources('AWS::Lambda::Function');
    const withUrl = [...synth.stack.functions].filter(([, fn]) => {
      const id = synth.stack.getLogicalId(fn.function.node.defaultChild as CfnElement);
      return functions[id]?.Properties?.Environment?.Variables?.[nationalRegistryUrlVariable] === url;
    });
    expect(withUrl.map(([name]) => name).sort()).toEqual(['accounts', 'g2p', 'reconciler', 'register-events', 'register-events-consumer', 'verify-worker']);
    // The variable names the stack sets are the ones the adapter reads.
    const parsed = nationalRegistryConfigSchema.safeParse({
      [nationalRegistryUrlVariable]: url,
      [secretDefinitions.nationalRegistry.envVar]: 'arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:x',
    });
    expect(parsed.success).toBe(true);
  });
});
