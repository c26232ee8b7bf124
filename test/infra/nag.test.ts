/**
 * cdk-nag (AwsSolutions, a cdk-nag 3 validation plugin) has no finding left on
 * either stage, every acknowledgement is the expected one with a reason of its
 * own, and the plugin does catch what it should (so "no findings" means something).
 */
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../shared/http/routes.js';
import { secretDefinitions } from '../../infra/constructs/app-secrets.js';
import { createPaymentsApp } from '../../infra/payments-app.js';
import { acknowledgements, featureFlags, must, synthStage, type SynthesizedStage } from './support.js';

const unauthenticated = routes.filter((route) => route.auth !== 'jwt');

describe.each(['sandbox', 'prod'] as const)('cdk-nag on %s', (stageName) => {
  let synth: SynthesizedStage;

  beforeAll(() => {
    // Template.fromStack synthesizes with the plugin: a finding would throw here.
    synth = synthStage(stageName);
  });

  it('reports no unacknowledged finding (error or warning)', () => {
    const report = synth.nag.validateScope(synth.app);
    const findings = report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges only APIG4 once per unauthenticated route and per 405 route, SMG4 once per secret of the stage and (sandbox) COG8 on its user pool, each with its own reason', () => {
    const acks = acknowledgements(synth.app);
    const secretIds = Object.values(secretDefinitions)
      .filter((d) => !('outsideSandboxOnly' in d && d.outsideSandboxOnly) || stageName !== 'sandbox')
      .map((d) => d.id);
    expect(secretIds.length).toBe(stageName === 'sandbox' ? 3 : 5);
    const userPools = stageName === 'sandbox' ? ['AwsSolutions-COG8'] : [];
    // One more APIG4 per path: its ANY route answers 405 to the methods it does not serve, with no authorizer.
    const paths = [...new Set(routes.map((route) => route.path))];
    expect(acks.map((a) => a.id).sort()).toEqual(
      [...unauthenticated.map(() => 'AwsSolutions-APIG4'), ...paths.map(() => 'AwsSolutions-APIG4'), ...secretIds.map(() => 'AwsSolutions-SMG4'), ...userPools].sort(),
    );
    for (const path of paths) {
      const ack = must(acks.find((a) => a.id === 'AwsSolutions-APIG4' && a.reason.startsWith(`ANY ${path} `)), `acknowledgement of ANY ${path}`);
      expect(ack.reason).toMatch(/405 METHOD_NOT_ALLOWED/);
    }
    for (const cog8 of acks.filter((a) => a.id === 'AwsSolutions-COG8')) {
      expect(cog8.path).toBe(`${synth.stack.stackName}/Identity/UserPool`);
      // Why the Plus plan's features are moot here, and why Essentials is needed at all.
      expect(cog8.reason).toMatch(/no users, only machine clients/);
      expect(cog8.reason).toMatch(/V3_0/);
    }
    const smg4 = acks.filter((a) => a.id === 'AwsSolutions-SMG4');
    expect(smg4.map((a) => a.path).sort()).toEqual(secretIds.map((id) => `${synth.stack.stackName}/Secrets/${id}`).sort());
    // The pepper's reason says why not rotating is deliberate, and what rotating would need.
    const pepper = must(smg4.find((a) => a.path.endsWith('/HashPepper')), 'pepper acknowledgement');
    expect(pepper.reason).toMatch(/orphan every stored key hash/);
    expect(pepper.reason).toMatch(/re-keying job/);
    // The providers' secrets are shared with each provider: rotated with them, by operators.
    const providers = must(smg4.find((a) => a.path.endsWith('/ProviderCallbacks')), 'provider secrets acknowledgement');
    expect(providers.reason).toMatch(/coordinated exchange with each provider/);
    for (const route of unauthenticated) {
      const ack = acks.find((a) => a.path.endsWith(`/${route.method}--${route.path.replaceAll('/', '--').replace(/^--/, '')}`));
      const { reason } = must(ack, `acknowledgement of ${route.method} ${route.path}`);
      expect(reason).toContain(route.path);
      expect(reason.length).toBeGreaterThan(60);
    }
    // The provider callback, statement and register event routes are open to API Gateway because the handler checks a signature.
    expect(unauthenticated.map((r) => r.operationId).sort()).toEqual(['getHealth', 'getOpenApi', 'importStatement', 'providerCallback', 'receiveRegisterEvent']);
    const callback = must(acks.find((a) => a.id === 'AwsSolutions-APIG4' && a.reason.includes('/v1/provider-callbacks/')), 'callback acknowledgement');
    expect(callback.reason).toMatch(/HMAC-SHA256 signature/);
    expect(new Set(acks.map((a) => a.reason)).size).toBe(acks.length);
  });
});

it('flags a route added without an authorizer or an acknowledgement', () => {
  const synth = createPaymentsApp({ context: { ...featureFlags, stage: 'sandbox', 'aws:cdk:bundling-stacks': [] } });
  synth.stack.api.api.addRoutes({
    path: '/v1/unprotected',
    methods: [apigw.HttpMethod.GET],
    integration: new HttpLambdaIntegration('Unprotected', synth.stack.fn('health').function),
    authorizer: new apigw.HttpNoneAuthorizer(),
  });
  const report = synth.nag.validateScope(synth.app);
  expect(report.violations.map((v) => v.ruleName)).toEqual(['AwsSolutions-APIG4']);
  expect(must(report.violations[0], 'a violation').violatingResources.map((r) => r.constructPath)).toEqual([
    `${synth.stack.stackName}/Api/HttpApi/GET--v1--unprotected/Resource`,
  ]);
});
