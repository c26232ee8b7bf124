/**
 * The sandbox's identity provider, created by the stack (a Cognito user pool
 * with machine clients), and the prod stage's external issuer: the scopes of
 * api.md, one client per role (a maker and a checker per province), the
 * client-credentials grant only, the token trigger that writes the API's
 * claims, and the API's authorizer trusting exactly this pool and these
 * clients. The last test follows each client's allowed scopes through the
 * trigger's mapping to the Principal the handlers see.
 */
import type { CfnElement } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { principalFromClaims } from '../../shared/http/principal.js';
import { accessTokenOverrides, apiScopes, roleScopes, scopesAfter } from '../../shared/http/token-claims.js';
import { identityClients, identityResourceServerVariable } from '../../infra/constructs/sandbox-identity.js';
import { stackOutputs } from '../../infra/outputs.js';
import { stages } from '../../infra/stages.js';
import { sandboxTokenClaimsFunction } from '../../infra/wiring.js';
import { functionPolicyStatements, list, must, referencedId, resourcesOfType, synthStage, type SynthesizedStage } from './support.js';

interface ClientProps {
  ClientName: string;
  GenerateSecret?: boolean;
  AllowedOAuthFlows?: string[];
  AllowedOAuthFlowsUserPoolClient?: boolean;
  AllowedOAuthScopes?: unknown[];
  CallbackURLs?: unknown;
  ExplicitAuthFlows?: unknown;
  AccessTokenValidity?: number;
  TokenValidityUnits?: { AccessToken?: string };
  UserPoolId: unknown;
}

const settings = must(stages.sandbox.sandboxIdentity, 'stages.sandbox.sandboxIdentity');

/**
 * A template value as a string, CloudFormation functions shown as placeholders:
 * `{ Ref: X }` as `<X>`, `{ Fn::GetAtt: [X, A] }` as `<X.A>`, `Fn::Join` joined.
 */
function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Record<string, unknown>;
  if (typeof object.Ref === 'string') return `<${object.Ref}>`;
  const getAtt = object['Fn::GetAtt'] as [string, string] | undefined;
  if (getAtt) return `<${getAtt[0]}.${getAtt[1]}>`;
  const join = object['Fn::Join'] as [string, unknown[]] | undefined;
  if (join) return join[1].map(render).join(join[0]);
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

describe('sandbox identity (Cognito, created by the stack)', () => {
  let synth: SynthesizedStage;
  let poolId: string;
  let serverId: string;
  let clients: [string, ClientProps][];

  beforeAll(() => {
    synth = synthStage('sandbox');
    const pools = Object.keys(synth.template.findResources('AWS::Cognito::UserPool'));
    expect(pools).toHaveLength(1);
    poolId = pools[0]!;
    serverId = must(Object.keys(synth.template.findResources('AWS::Cognito::UserPoolResourceServer'))[0], 'resource server');
    clients = resourcesOfType<ClientProps>(synth.template, 'AWS::Cognito::UserPoolClient').map(([id, resource]) => [id, resource.Properties]);
  });

  const triggerId = () => synth.stack.getLogicalId(synth.stack.fn(sandboxTokenClaimsFunction).function.node.defaultChild as CfnElement);
  /** A client's allowed scopes with the resource server's Ref replaced by its identifier (what Ref returns). */
  const allowedScopes = (client: ClientProps) => list(client.AllowedOAuthScopes).map((scope) => render(scope).replace(`<${serverId}>`, settings.resourceServer));

  it('is one user pool on the Essentials plan, no sign-up, MFA required, with the V3_0 pre token generation trigger', () => {
    synth.template.hasResourceProperties('AWS::Cognito::UserPool', {
      UserPoolTier: 'ESSENTIALS',
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'ON',
      LambdaConfig: { PreTokenGenerationConfig: { LambdaVersion: 'V3_0', LambdaArn: { 'Fn::GetAtt': [triggerId(), 'Arn'] } } },
    });
    // Cognito, and only for this pool, may invoke the trigger.
    const permissions = resourcesOfType<{ FunctionName: unknown; Principal: string; SourceArn: unknown }>(synth.template, 'AWS::Lambda::Permission').filter(
      ([, p]) => referencedId(p.Properties.FunctionName) === triggerId(),
    );
    expect(permissions.map(([, p]) => [p.Properties.Principal, referencedId(p.Properties.SourceArn)])).toEqual([['cognito-idp.amazonaws.com', poolId]]);
  });

  it('has a resource server with exactly the scopes of api.md and one province scope per configured province', () => {
    const server = must(synth.template.findResources('AWS::Cognito::UserPoolResourceServer')[serverId], serverId).Properties as {
      Identifier: string;
      Scopes: { ScopeName: string }[];
      UserPoolId: unknown;
    };
    expect(server.Identifier).toBe(settings.resourceServer);
    expect(referencedId(server.UserPoolId)).toBe(poolId);
    expect(server.Scopes.map((scope) => scope.ScopeName).sort()).toEqual(
      [...apiScopes, ...settings.provinces.map((code) => `province.${code}`)].sort(),
    );
    expect([...apiScopes].sort()).toEqual(['accounts:write', 'batches:approve', 'batches:read', 'batches:write', 'beneficiary', 'ops']);
  });

  it('has one machine client per role (a maker and a checker per province), client credentials only, each allowed exactly its role scopes', () => {
    const wanted = identityClients(settings);
    expect(wanted.map((c) => c.name)).toEqual(['province-79', 'approver-79', 'province-01', 'approver-01', 'beneficiary', 'ops']);
    expect(clients.map(([, c]) => c.ClientName).sort()).toEqual(wanted.map((c) => `${synth.stack.stackName}-${c.name}`).sort());
    for (const info of wanted) {
      const [, client] = must(
        clients.find(([, c]) => c.ClientName === `${synth.stack.stackName}-${info.name}`),
        info.name,
      );
      expect(referencedId(client.UserPoolId), info.name).toBe(poolId);
      expect(client.GenerateSecret, info.name).toBe(true);
      expect(client.AllowedOAuthFlows, info.name).toEqual(['client_credentials']);
      expect(client.AllowedOAuthFlowsUserPoolClient, info.name).toBe(true);
      expect(client.CallbackURLs, info.name).toBeUndefined();
      expect(client.ExplicitAuthFlows, info.name).toBeUndefined();
      expect([client.AccessTokenValidity, client.TokenValidityUnits?.AccessToken], info.name).toEqual([settings.accessTokenMinutes, 'minutes']);
      const prefix = `${settings.resourceServer}/`;
      expect(allowedScopes(client).sort(), info.name).toEqual(
        [...roleScopes[info.role], ...(info.provinceCode ? [`province.${info.provinceCode}`] : [])].map((scope) => prefix + scope).sort(),
      );
    }
  });

  it('makes the API trust exactly this pool as issuer and these clients as audience', () => {
    const authorizer = must(Object.values(synth.template.findResources('AWS::ApiGatewayV2::Authorizer'))[0], 'authorizer').Properties as {
      JwtConfiguration: { Issuer: unknown; Audience: unknown[] };
    };
    expect(render(authorizer.JwtConfiguration.Issuer)).toBe(`https://<${poolId}.ProviderURL>`);
    expect(authorizer.JwtConfiguration.Audience.map(referencedId).sort()).toEqual(clients.map(([id]) => id).sort());
  });

  it('gives the token trigger its resource server and no access to anything', () => {
    const fn = must(synth.template.findResources('AWS::Lambda::Function')[triggerId()], 'trigger').Properties as {
      Environment: { Variables: Record<string, unknown> };
      Timeout: number;
    };
    expect(fn.Environment.Variables[identityResourceServerVariable]).toBe(settings.resourceServer);
    expect(fn.Timeout).toBeLessThanOrEqual(5);
    const actions = functionPolicyStatements(synth.template, triggerId()).flatMap((s) => list(s.Action));
    expect(actions.filter((a) => !a.startsWith('logs:'))).toEqual([]);
  });

  it('outputs the token endpoint and the clients (ids, never secrets) for npm run token', () => {
    const outputs = synth.template.findOutputs('*');
    const domainId = must(Object.keys(synth.template.findResources('AWS::Cognito::UserPoolDomain'))[0], 'domain');
    expect(render(must(outputs[stackOutputs.tokenEndpoint], 'token endpoint output').Value)).toBe(
      `https://<${domainId}>.auth.ap-southeast-1.amazoncognito.com/oauth2/token`,
    );
    expect(must(outputs[stackOutputs.userPoolId], 'pool output').Value).toEqual({ Ref: poolId });
    const listed = JSON.parse(render(must(outputs[stackOutputs.clients], 'clients output').Value)) as { name: string; role: string; provinceCode?: string; clientId: string }[];
    expect(listed.map(({ clientId, ...info }) => ({ ...info, client: clients.find(([id]) => `<${id}>` === clientId)?.[1].ClientName }))).toEqual(
      identityClients(settings).map((info) => ({ ...info, client: `${synth.stack.stackName}-${info.name}` })),
    );
    expect(JSON.stringify(outputs)).not.toMatch(/ClientSecret/);
  });

  it("turns each client's scopes, through the trigger's mapping, into the Principal its role has locally", () => {
    for (const info of identityClients(settings)) {
      const [clientId, client] = must(
        clients.find(([, c]) => c.ClientName === `${synth.stack.stackName}-${info.name}`),
        info.name,
      );
      // Cognito grants every allowed scope when the request names none (npm run token names none).
      const granted = allowedScopes(client);
      const pid = info.role === 'beneficiary' ? { pid: '079185000001' } : undefined;
      const overrides = accessTokenOverrides(settings.resourceServer, granted, pid);
      const principal = must(
        principalFromClaims({ sub: clientId, client_id: clientId, scope: scopesAfter(granted, overrides).join(' '), ...overrides.claimsToAddOrOverride }),
        info.name,
      );
      expect([...principal.scopes].sort(), info.name).toEqual([...roleScopes[info.role]].sort());
      expect(principal.provinceCode, info.name).toBe(info.provinceCode);
      expect(principal.personalId, info.name).toBe(pid?.pid);
    }
  });
});

describe('prod identity (external issuer from the stage)', () => {
  it('creates no user pool and no token trigger, and trusts the stage issuer and audience', () => {
    const synth = synthStage('prod');
    synth.template.resourceCountIs('AWS::Cognito::UserPool', 0);
    synth.template.resourceCountIs('AWS::Cognito::UserPoolClient', 0);
    expect(synth.stack.functions.has(sandboxTokenClaimsFunction)).toBe(false);
    expect(synth.stack.identity).toBeUndefined();
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: { Issuer: stages.prod.jwt?.issuerUrl, Audience: stages.prod.jwt?.audience },
    });
    expect(synth.template.findOutputs(stackOutputs.jwtIssuer)[stackOutputs.jwtIssuer]?.Value).toBe(stages.prod.jwt?.issuerUrl);
  });

  it('lets a sandbox trust another issuer instead (-c jwtIssuerUrl, -c jwtAudience): then no pool is created', () => {
    const issuer = 'https://cognito-idp.ap-southeast-1.amazonaws.com/ap-southeast-1_Own';
    const synth = synthStage('sandbox', { jwtIssuerUrl: issuer, jwtAudience: 'my-client' });
    synth.template.resourceCountIs('AWS::Cognito::UserPool', 0);
    expect(synth.stack.functions.has(sandboxTokenClaimsFunction)).toBe(false);
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { JwtConfiguration: { Issuer: issuer, Audience: ['my-client'] } });
  });
});
