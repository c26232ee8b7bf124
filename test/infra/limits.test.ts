/**
 * Deployed limits and alarms (issue 7, item 6), asserted on the synthesized
 * template of each stage and derived from the route table, the function list
 * and the queue definitions, so that a route, function or queue added later is
 * checked without touching this file:
 * - API Gateway throttling: a route setting for every route of routes.ts, by
 *   route class, per stage; the stage default;
 * - payload limits: the handlers' body limit within Lambda's and API Gateway's;
 * - Lambda timeouts (below API Gateway's 30 s behind a route, 6x below the
 *   visibility timeout of a consumed queue), event-source maximum concurrency,
 *   reserved concurrency only where wiring.ts reserves it, within the quota;
 * - alarms: Errors and Throttles of every function, 5xx and 4xx share of the
 *   API, depth and age of every queue and dead-letter queue, all to the alarm
 *   topic with treatMissingData stated, each pointing to a runbook entry.
 */
import { readFileSync } from 'node:fs';
import type { CfnElement } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { queueDefinitions } from '../../shared/adapters/sqs/queues.js';
import { MAX_BODY_BYTES, readText, type ApiEvent } from '../../shared/http/api-handler.js';
import { routes } from '../../shared/http/routes.js';
import { PayloadTooLargeError } from '../../shared/domain/errors.js';
import { awsLimits, clientErrorAlarm } from '../../infra/constructs/payments-api.js';
import { functionAlarmPeriod } from '../../infra/constructs/service-function.js';
import { deadLetterAgeAlarm } from '../../infra/constructs/work-queues.js';
import { minimumUnreservedConcurrency } from '../../infra/stack.js';
import { stageNames, stages } from '../../infra/stages.js';
import { routeClasses, routeClassOf, routeClassOverrides, type RouteClass } from '../../infra/wiring.js';
import { must, referencedId, resourcesOfType, synthStage, type SynthesizedStage } from './support.js';

interface Throttling {
  ThrottlingRateLimit: number;
  ThrottlingBurstLimit: number;
}
interface StageProps {
  DefaultRouteSettings: Throttling;
  RouteSettings?: Record<string, Throttling>;
}
interface FunctionProps {
  Timeout?: number;
  ReservedConcurrentExecutions?: number;
}
interface MappingProps {
  EventSourceArn: unknown;
  FunctionName: unknown;
  ScalingConfig?: { MaximumConcurrency: number };
}
interface AlarmProps {
  AlarmName: string;
  AlarmDescription: string;
  MetricName?: string;
  Namespace?: string;
  Statistic?: string;
  Period?: number;
  Threshold: number;
  ComparisonOperator: string;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  Dimensions?: { Name: string; Value: unknown }[];
  Metrics?: { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Namespace: string } } }[];
  TreatMissingData?: string;
  AlarmActions?: unknown[];
  OKActions?: unknown[];
}

/** The class of every route today, written out: a change of class is a change of this table. */
const expectedClasses: Record<string, RouteClass> = {
  getHealth: 'public',
  getOpenApi: 'public',
  listPrograms: 'catalogue',
  listProviders: 'catalogue',
  createBatch: 'upload',
  appendPayments: 'upload',
  listBatches: 'read',
  getBatch: 'read',
  listBatchPayments: 'read',
  getBatchReport: 'read',
  getPayment: 'read',
  getAccount: 'read',
  sealBatch: 'stateChange',
  cancelBatch: 'stateChange',
  approveBatch: 'approval',
  linkAccount: 'accountChange',
  unlinkAccount: 'accountChange',
  listMyPayments: 'beneficiaryRead',
  getMyPayment: 'beneficiaryRead',
  getMyAccount: 'beneficiaryRead',
  providerCallback: 'providerCallback',
};

/** Reserved concurrency by stage, written out (wiring.ts is the source; this is the check). */
const expectedReservations: Record<string, Record<string, number>> = {
  sandbox: {},
  prod: { accounts: 25 },
};

/** GitHub's anchor of a Markdown heading. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

const runbookAnchors = new Set(
  readFileSync(new URL('../../docs/runbook.md', import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) => slug(line.replace(/^#+ /, ''))),
);

describe('route throttling configuration', () => {
  it('classifies every route of routes.ts as the table above says (the table lists only existing routes)', () => {
    for (const route of routes) {
      const expected = expectedClasses[route.operationId];
      if (expected) expect(routeClassOf(route), route.operationId).toBe(expected);
      expect(routeClasses, route.operationId).toContain(routeClassOf(route));
    }
    const operationIds = new Set<string>(routes.map((r) => r.operationId));
    for (const id of [...Object.keys(expectedClasses), ...Object.keys(routeClassOverrides)]) expect(operationIds.has(id), id).toBe(true);
  });

  it('gives a route nobody classified a class by its authentication and method', () => {
    const route = { operationId: 'x', path: '/v1/x', functionName: 'x', summary: 'x', tag: 'x' } as const;
    expect(routeClassOf({ ...route, method: 'GET', auth: 'jwt', scopes: ['batches:read'] })).toBe('read');
    expect(routeClassOf({ ...route, method: 'GET', auth: 'jwt', scopes: ['beneficiary'] })).toBe('beneficiaryRead');
    expect(routeClassOf({ ...route, method: 'GET', auth: 'jwt', scopes: [] })).toBe('read');
    expect(routeClassOf({ ...route, method: 'POST', auth: 'jwt', scopes: ['batches:write'] })).toBe('stateChange');
    expect(routeClassOf({ ...route, method: 'DELETE', auth: 'jwt', scopes: ['ops'] })).toBe('stateChange');
    expect(routeClassOf({ ...route, method: 'GET', auth: 'none', scopes: [] })).toBe('public');
    expect(routeClassOf({ ...route, method: 'POST', auth: 'signature', scopes: [] })).toBe('providerCallback');
    // The audit route another engineer adds is a provincial read.
    expect(routeClassOf({ ...route, operationId: 'getBatchAudit', method: 'GET', path: '/v1/batches/{batchId}/audit', auth: 'jwt', scopes: ['batches:read'] })).toBe('read');
  });

  it('limits every class in every stage, burst >= rate, within the stage default, the sandbox below prod', () => {
    for (const name of stageNames) {
      const stage = stages[name];
      expect(Object.keys(stage.routeThrottling).sort(), name).toEqual([...routeClasses].sort());
      for (const routeClass of routeClasses) {
        const { rateLimit, burstLimit } = stage.routeThrottling[routeClass];
        expect(rateLimit, `${name} ${routeClass}`).toBeGreaterThan(0);
        expect(burstLimit, `${name} ${routeClass}`).toBeGreaterThanOrEqual(rateLimit);
        expect(rateLimit, `${name} ${routeClass}`).toBeLessThanOrEqual(stage.throttling.rateLimit);
        expect(burstLimit, `${name} ${routeClass}`).toBeLessThanOrEqual(stage.throttling.burstLimit);
      }
    }
    for (const routeClass of routeClasses) {
      expect(stages.sandbox.routeThrottling[routeClass].rateLimit, routeClass).toBeLessThan(stages.prod.routeThrottling[routeClass].rateLimit);
      expect(stages.sandbox.routeThrottling[routeClass].burstLimit, routeClass).toBeLessThan(stages.prod.routeThrottling[routeClass].burstLimit);
    }
    expect(stages.sandbox.throttling.rateLimit).toBeLessThan(stages.prod.throttling.rateLimit);
    // Money moves on approval: the lowest limit of all, in every stage.
    for (const name of stageNames) {
      const rates = routeClasses.map((c) => stages[name].routeThrottling[c].rateLimit);
      expect(stages[name].routeThrottling.approval.rateLimit).toBe(Math.min(...rates));
    }
  });
});

describe('payload limits', () => {
  it('refuses bodies over 6 MiB in the handlers, within Lambda\'s 6 MB and the HTTP API\'s 10 MB', () => {
    expect(MAX_BODY_BYTES).toBe(6 * 1024 * 1024);
    expect(MAX_BODY_BYTES).toBeLessThanOrEqual(awsLimits.lambdaSyncPayloadBytes);
    expect(awsLimits.lambdaSyncPayloadBytes).toBeLessThan(awsLimits.httpApiMaxRequestBytes);
    const event = (body: string, isBase64Encoded = false) => ({ body, isBase64Encoded, headers: {} }) as unknown as ApiEvent;
    expect(readText(event('a'.repeat(MAX_BODY_BYTES))).length).toBe(MAX_BODY_BYTES);
    expect(() => readText(event('a'.repeat(MAX_BODY_BYTES + 1)))).toThrow(PayloadTooLargeError);
    // Counted in decoded bytes, whichever way API Gateway passes the body.
    expect(() => readText(event(Buffer.alloc(MAX_BODY_BYTES + 1, 0x61).toString('base64'), true))).toThrow(PayloadTooLargeError);
  });
});

describe.each(['sandbox', 'prod'] as const)('limits and alarms in %s', (stageName) => {
  const stage = stages[stageName];
  let synth: SynthesizedStage;
  let topicId: string;
  let alarms: AlarmProps[];
  let functions: Record<string, FunctionProps>;

  beforeAll(() => {
    synth = synthStage(stageName);
    topicId = must(Object.keys(synth.template.findResources('AWS::SNS::Topic'))[0], 'alarm topic');
    alarms = resourcesOfType<AlarmProps>(synth.template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    functions = Object.fromEntries(resourcesOfType<FunctionProps>(synth.template, 'AWS::Lambda::Function').map(([id, f]) => [id, f.Properties]));
  });

  const functionId = (name: string) => synth.stack.getLogicalId(synth.stack.fn(name).function.node.defaultChild as CfnElement);
  const apiStage = () => must(resourcesOfType<StageProps>(synth.template, 'AWS::ApiGatewayV2::Stage')[0], 'API stage');
  const dimension = (alarm: AlarmProps, name: string) => referencedId(alarm.Dimensions?.find((d) => d.Name === name)?.Value);

  describe('API Gateway throttling', () => {
    it('has a route setting for every route of routes.ts and each path\'s 405 route (and no other), with its class\'s limits', () => {
      const settings = must(apiStage()[1].Properties.RouteSettings, 'RouteSettings');
      const methodNotAllowed = [...new Set(routes.map((r) => `ANY ${r.path}`))];
      expect(Object.keys(settings).sort()).toEqual([...routes.map((r) => `${r.method} ${r.path}`), ...methodNotAllowed].sort());
      for (const key of methodNotAllowed) {
        expect(settings[key], key).toEqual({ ThrottlingRateLimit: stage.routeThrottling.public.rateLimit, ThrottlingBurstLimit: stage.routeThrottling.public.burstLimit });
      }
      for (const route of routes) {
        const { rateLimit, burstLimit } = stage.routeThrottling[routeClassOf(route)];
        expect(settings[`${route.method} ${route.path}`], route.operationId).toEqual({ ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit });
      }
      // What the construct recorded is what was rendered.
      expect([...synth.stack.api.routeThrottles().keys()].sort()).toEqual(Object.keys(settings).sort());
    });

    it('keeps the stage default as the ceiling', () => {
      expect(apiStage()[1].Properties.DefaultRouteSettings).toEqual({
        ThrottlingRateLimit: stage.throttling.rateLimit,
        ThrottlingBurstLimit: stage.throttling.burstLimit,
      });
    });

    it('creates the stage after every route (CloudFormation refuses a setting for a route that does not exist yet)', () => {
      const [, stageResource] = apiStage() as unknown as [string, { DependsOn?: string[] }];
      const routeIds = Object.keys(synth.template.findResources('AWS::ApiGatewayV2::Route'));
      // One per route of the table, and one ANY route per path (405 for the other methods).
      expect(routeIds).toHaveLength(routes.length + new Set(routes.map((route) => route.path)).size);
      for (const id of routeIds) expect(stageResource.DependsOn ?? [], id).toContain(id);
    });
  });

  describe('Lambda timeouts and concurrency', () => {
    it('gives every function an explicit timeout, below 30 s behind API Gateway', () => {
      const integrations = synth.template.findResources('AWS::ApiGatewayV2::Integration') as Record<string, { Properties: { IntegrationUri: unknown } }>;
      const behindApi = new Set(Object.values(integrations).map((i) => referencedId(i.Properties.IntegrationUri)));
      expect(behindApi.size).toBe(new Set(routes.map((r) => r.functionName)).size);
      for (const [id, fn] of Object.entries(functions)) {
        expect(fn.Timeout, id).toBeGreaterThan(0);
        if (behindApi.has(id)) expect(fn.Timeout, id).toBeLessThan(awsLimits.httpApiIntegrationTimeoutSeconds);
      }
    });

    it('bounds every SQS event source by its maximum concurrency, with the queue\'s visibility timeout >= 6x the function timeout', () => {
      const queues = synth.template.findResources('AWS::SQS::Queue') as Record<string, { Properties: { VisibilityTimeout?: number } }>;
      const mappings = resourcesOfType<MappingProps>(synth.template, 'AWS::Lambda::EventSourceMapping');
      const consumers = Object.values(queueDefinitions).flatMap((d) => [d.consumer, ...('deadLetterConsumer' in d ? [d.deadLetterConsumer] : [])]);
      expect(mappings).toHaveLength(consumers.length);
      for (const [id, { Properties: mapping }] of mappings) {
        const fnId = must(referencedId(mapping.FunctionName), `${id} function`);
        const queueId = must(referencedId(mapping.EventSourceArn), `${id} queue`);
        const timeout = must(functions[fnId]?.Timeout, `${fnId} timeout`);
        expect(mapping.ScalingConfig?.MaximumConcurrency, id).toBeGreaterThanOrEqual(2);
        expect(queues[queueId]?.Properties.VisibilityTimeout ?? 30, `${queueId} for ${fnId}`).toBeGreaterThanOrEqual(6 * timeout);
      }
    });

    it(`reserves concurrency only for ${Object.keys(expectedReservations[stageName]!).join(', ') || 'no function'}, within the account quota`, () => {
      const reserved = Object.fromEntries(
        [...synth.stack.functions].flatMap(([name]) => {
          const value = functions[functionId(name)]?.ReservedConcurrentExecutions;
          return value === undefined ? [] : [[name, value]];
        }),
      );
      expect(reserved).toEqual(expectedReservations[stageName]);
      const total = Object.values(reserved).reduce((sum, n) => sum + n, 0);
      expect(synth.stack.totalReservedConcurrency).toBe(total);
      // What Lambda checks at deploy, and room left for every consumer's maximum concurrency.
      const consumerMaximum = resourcesOfType<MappingProps>(synth.template, 'AWS::Lambda::EventSourceMapping').reduce(
        (sum, [, m]) => sum + (m.Properties.ScalingConfig?.MaximumConcurrency ?? 0),
        0,
      );
      expect(total + minimumUnreservedConcurrency).toBeLessThanOrEqual(stage.lambdaConcurrencyQuota);
      expect(total + consumerMaximum).toBeLessThanOrEqual(stage.lambdaConcurrencyQuota - minimumUnreservedConcurrency);
    });
  });

  describe('alarms', () => {
    it('alarms on Errors and on Throttles of every function (>= 1 in 5 minutes)', () => {
      expect(Object.keys(functions)).toHaveLength(synth.stack.functions.size);
      for (const id of Object.keys(functions)) {
        for (const metric of ['Errors', 'Throttles']) {
          const found = alarms.filter((a) => a.MetricName === metric && dimension(a, 'FunctionName') === id);
          expect(found, `${id} ${metric}`).toHaveLength(1);
          expect(found[0], `${id} ${metric}`).toMatchObject({
            Namespace: 'AWS/Lambda',
            Statistic: 'Sum',
            Period: functionAlarmPeriod.toSeconds(),
            Threshold: 1,
            ComparisonOperator: 'GreaterThanOrEqualToThreshold',
            EvaluationPeriods: 1,
            TreatMissingData: 'notBreaching',
          });
        }
      }
      for (const [name] of synth.stack.functions) {
        expect(alarms.some((a) => a.AlarmName === `${synth.stack.stackName}-${name}-errors`), name).toBe(true);
        expect(alarms.some((a) => a.AlarmName === `${synth.stack.stackName}-${name}-throttles`), name).toBe(true);
      }
    });

    it('alarms on any 5xx of the API, and on a high share of 4xx', () => {
      const apiId = must(Object.keys(synth.template.findResources('AWS::ApiGatewayV2::Api'))[0], 'HTTP API');
      const serverErrors = alarms.filter((a) => a.MetricName === '5xx');
      expect(serverErrors).toHaveLength(1);
      expect(serverErrors[0]).toMatchObject({
        Namespace: 'AWS/ApiGateway',
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      expect(dimension(serverErrors[0]!, 'ApiId')).toBe(apiId);
      expect(serverErrors[0]!.Dimensions?.find((d) => d.Name === 'Stage')?.Value).toBe('$default');

      const share = must(alarms.find((a) => a.AlarmName === `${synth.stack.stackName}-api-4xx-share`), '4xx share alarm');
      expect(share).toMatchObject({
        Threshold: clientErrorAlarm.percent,
        EvaluationPeriods: clientErrorAlarm.periods,
        DatapointsToAlarm: clientErrorAlarm.periods,
        TreatMissingData: 'notBreaching',
      });
      const expression = must(share.Metrics?.find((m) => m.Expression), '4xx share expression');
      expect(expression.Expression).toBe(`IF(requests >= ${clientErrorAlarm.minRequests}, 100 * clientErrors / requests, 0)`);
      expect(share.Metrics?.flatMap((m) => (m.MetricStat ? [`${m.Id}:${m.MetricStat.Metric.Namespace}/${m.MetricStat.Metric.MetricName}`] : [])).sort()).toEqual([
        'clientErrors:AWS/ApiGateway/4xx',
        'requests:AWS/ApiGateway/Count',
      ]);
    });

    it('alarms on the age of the oldest message of every queue and dead-letter queue, and on the depth of every dead-letter queue', () => {
      const queues = resourcesOfType<{ RedrivePolicy?: { deadLetterTargetArn: unknown } }>(synth.template, 'AWS::SQS::Queue');
      const deadLetterIds = new Set(queues.flatMap(([, q]) => (q.Properties.RedrivePolicy ? [referencedId(q.Properties.RedrivePolicy.deadLetterTargetArn)] : [])));
      expect(deadLetterIds.size).toBe(Object.keys(queueDefinitions).length);
      for (const [id] of queues) {
        const on = alarms.filter((a) => dimension(a, 'QueueName') === id);
        const age = on.filter((a) => a.MetricName === 'ApproximateAgeOfOldestMessage');
        expect(age, `${id} age`).toHaveLength(1);
        expect(age[0]!.Threshold, `${id} age`).toBe(deadLetterIds.has(id) ? deadLetterAgeAlarm.toSeconds() : stage.queueAgeAlarmSeconds);
        const depth = on.filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible');
        if (deadLetterIds.has(id)) {
          expect(depth, `${id} depth`).toHaveLength(1);
          expect(depth[0], `${id} depth`).toMatchObject({ Statistic: 'Maximum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
        } else {
          expect(depth, `${id} depth`).toHaveLength(0);
        }
      }
      // A consumed dead-letter queue: its depth alarm waits 15 minutes (the consumer drains it), arrivals alarm at once.
      for (const [, { definition, deadLetterQueue }] of synth.stack.queues.entries()) {
        const dlqId = synth.stack.getLogicalId(deadLetterQueue.node.defaultChild as CfnElement);
        const depth = must(alarms.find((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible' && dimension(a, 'QueueName') === dlqId), `${definition.id} depth`);
        const consumed = 'deadLetterConsumer' in definition;
        expect([depth.Period, depth.EvaluationPeriods], definition.id).toEqual(consumed ? [300, 3] : [60, 1]);
        const arrivals = alarms.filter((a) => a.MetricName === 'NumberOfMessagesReceived' && dimension(a, 'QueueName') === dlqId);
        expect(arrivals, definition.id).toHaveLength(consumed ? 1 : 0);
      }
    });

    it('sends every alarm to the alarm topic (ALARM and OK), states treatMissingData, names the stack and a runbook entry', () => {
      // Two per function, two of the API, three or four per queue, the reconciler's two (repairs, overdue unconfirmed
      // transfers), and lost beneficiary notices where the stage has them.
      expect(alarms).toHaveLength(
        synth.stack.functions.size * 2 + 2 + Object.values(queueDefinitions).reduce((n, d) => n + ('deadLetterConsumer' in d ? 4 : 3), 0) + 2 + (synth.stack.notices ? 1 : 0),
      );
      const names = new Set<string>();
      for (const alarm of alarms) {
        expect(alarm.AlarmActions?.map(referencedId), alarm.AlarmName).toEqual([topicId]);
        expect(alarm.OKActions?.map(referencedId), alarm.AlarmName).toEqual([topicId]);
        expect(alarm.TreatMissingData, alarm.AlarmName).toBe('notBreaching');
        expect(alarm.AlarmName.startsWith(`${synth.stack.stackName}-`), alarm.AlarmName).toBe(true);
        names.add(alarm.AlarmName);
        const anchor = must(/Runbook: docs\/runbook\.md#([a-z0-9-]+)/.exec(alarm.AlarmDescription)?.[1], `${alarm.AlarmName} runbook link`);
        expect(runbookAnchors.has(anchor), `${alarm.AlarmName} -> #${anchor}`).toBe(true);
      }
      expect(names.size).toBe(alarms.length);
    });
  });
});
