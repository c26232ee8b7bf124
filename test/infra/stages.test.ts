/** Stage selection and per-deploy overrides (`-c stage=...`, `-c alarmEmail=...`, ...). */
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { createPaymentsApp } from '../../infra/payments-app.js';
import { resolveStage, stages } from '../../infra/stages.js';
import { defaultRegion } from '../../infra/outputs.js';
import { featureFlags } from './support.js';

const context = (values: Record<string, string>) => (key: string) => values[key];

describe('resolveStage', () => {
  it('defaults to the sandbox', () => {
    expect(resolveStage(undefined)).toEqual(stages.sandbox);
  });

  it('selects prod', () => {
    expect(resolveStage('prod')).toEqual(stages.prod);
    expect(resolveStage('prod').production).toBe(true);
    expect(resolveStage('sandbox').production).toBe(false);
  });

  it('rejects an unknown stage, naming the valid ones', () => {
    expect(() => resolveStage('staging')).toThrow('Unknown stage "staging": use -c stage=sandbox or -c stage=prod.');
    expect(() => resolveStage('')).toThrow(/Unknown stage ""/);
  });

  it('applies issuer, audience and alarm e-mail overrides from context', () => {
    const stage = resolveStage(
      'sandbox',
      context({
        jwtIssuerUrl: 'https://cognito-idp.ap-southeast-1.amazonaws.com/ap-southeast-1_abc',
        jwtAudience: 'client-a, client-b',
        alarmEmail: 'ops@example.org',
      }),
    );
    expect(stage.jwt).toEqual({
      issuerUrl: 'https://cognito-idp.ap-southeast-1.amazonaws.com/ap-southeast-1_abc',
      audience: ['client-a', 'client-b'],
    });
    expect(stage.alarmEmail).toBe('ops@example.org');
  });

  it('rejects a non-https issuer, an empty audience and a malformed e-mail', () => {
    expect(() => resolveStage('prod', context({ jwtIssuerUrl: 'http://issuer.example/' }))).toThrow(/https URL/);
    expect(() => resolveStage('prod', context({ jwtAudience: ' , ' }))).toThrow(/audience/);
    expect(() => resolveStage('prod', context({ alarmEmail: 'not-an-address' }))).toThrow(/not an e-mail/);
  });

  it('takes the national population register URL from context, https only', () => {
    expect(resolveStage('prod').populationRegistry).toBeUndefined();
    expect(resolveStage('prod', context({ populationRegistryUrl: 'https://ndxp.example/api' })).populationRegistry).toEqual({
      baseUrl: 'https://ndxp.example/api',
    });
    expect(() => resolveStage('prod', context({ populationRegistryUrl: 'http://ndxp.example/' }))).toThrow(/population register must be an https URL/);
  });

  it('takes the CORS origins of the stage, or a list on the command line, and refuses an origin with a path or plain http in prod', () => {
    expect(resolveStage('prod').cors.allowOrigins.every((origin) => origin.startsWith('https://'))).toBe(true);
    expect(resolveStage('sandbox', context({ corsOrigins: 'http://localhost:4200, https://app.example' })).cors).toEqual({ allowOrigins: ['http://localhost:4200', 'https://app.example'] });
    expect(() => resolveStage('prod', context({ corsOrigins: 'http://app.example' }))).toThrow(/CORS origin "http:\/\/app.example" must be https/);
    expect(() => resolveStage('sandbox', context({ corsOrigins: 'https://app.example/' }))).toThrow(/no path/);
  });

  it('gives the sandbox the identity the stack creates, and prod an external issuer; an issuer on the command line replaces the pool', () => {
    expect(resolveStage('sandbox').jwt).toBeUndefined();
    expect(resolveStage('sandbox').sandboxIdentity?.provinces).toContain('79');
    expect(resolveStage('prod').sandboxIdentity).toBeUndefined();
    expect(resolveStage('prod').jwt?.issuerUrl).toMatch(/^https:\/\//);
    const own = resolveStage('sandbox', context({ jwtIssuerUrl: 'https://issuer.example/', jwtAudience: 'a' }));
    expect(own.jwt).toEqual({ issuerUrl: 'https://issuer.example/', audience: ['a'] });
    expect(own.sandboxIdentity).toBeUndefined();
    // A sandbox issuer needs its audience (the stage has none of its own); an audience alone means nothing.
    expect(() => resolveStage('sandbox', context({ jwtIssuerUrl: 'https://issuer.example/' }))).toThrow(/audience is required/);
    expect(() => resolveStage('sandbox', context({ jwtAudience: 'a' }))).toThrow(/give -c jwtIssuerUrl too/);
  });

  it('takes the payment provider gateway URL from context, https only', () => {
    expect(resolveStage('prod').paymentProvider).toBeUndefined();
    expect(resolveStage('prod', context({ paymentProviderUrl: 'https://gateway.example/api' })).paymentProvider).toEqual({ baseUrl: 'https://gateway.example/api' });
    expect(() => resolveStage('prod', context({ paymentProviderUrl: 'http://gateway.example/' }))).toThrow(/payment provider gateway must be an https URL/);
  });

  it('keeps both stages in ap-southeast-1 with retention and throttling set', () => {
    for (const stage of Object.values(stages)) {
      expect(stage.region).toBe('ap-southeast-1');
      // The tools that read a deployed stack (npm run token) default to the same region without loading CDK.
      expect(stage.region).toBe(defaultRegion);
      expect(stage.logRetention).toBeGreaterThan(0);
      expect(stage.throttling.burstLimit).toBeGreaterThanOrEqual(stage.throttling.rateLimit);
    }
  });
});

describe('createPaymentsApp', () => {
  it('fails on an unknown stage before building anything', () => {
    expect(() => createPaymentsApp({ context: { ...featureFlags, stage: 'qa' } })).toThrow(/Unknown stage "qa"/);
  });

  it('names the stack after the stage and subscribes the alarm e-mail when given', () => {
    const { stack } = createPaymentsApp({
      context: { ...featureFlags, stage: 'prod', alarmEmail: 'oncall@example.org', 'aws:cdk:bundling-stacks': [] },
      builtinCloudFormationValidation: false,
    });
    expect(stack.stackName).toBe('SocialPayments-prod');
    Template.fromStack(stack).hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.org',
    });
  });
});
