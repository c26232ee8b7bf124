import { Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { apiScopes, provinceScope, roleScopes, type TokenRole } from '../../shared/http/token-claims.js';
import type { JwtIssuer, SandboxIdentitySettings, StageConfig } from '../stages.js';
import type { ServiceFunction } from './service-function.js';

/** The variable through which the token trigger learns its resource server (functions/sandbox-token-claims). */
export const identityResourceServerVariable = 'IDENTITY_RESOURCE_SERVER';

/** One machine client of the sandbox pool, as the stack output `IdentityClients` lists it. */
export interface IdentityClientInfo {
  /** Client name, e.g. `province-79`. */
  name: string;
  role: TokenRole;
  /** The province the client is bound to (province systems and approvers). */
  provinceCode?: string;
}

export interface IdentityClient extends IdentityClientInfo {
  client: cognito.UserPoolClient;
}

/** The machine clients of a sandbox identity: a maker and a checker per province, one test beneficiary, operations. */
export function identityClients(settings: SandboxIdentitySettings): IdentityClientInfo[] {
  return [
    ...settings.provinces.flatMap((provinceCode) => [
      { name: `province-${provinceCode}`, role: 'province' as const, provinceCode },
      { name: `approver-${provinceCode}`, role: 'approver' as const, provinceCode },
    ]),
    { name: 'beneficiary', role: 'beneficiary' },
    { name: 'ops', role: 'ops' },
  ];
}

export interface SandboxIdentityProps {
  stage: StageConfig;
  settings: SandboxIdentitySettings;
  /** functions/sandbox-token-claims: the pool's pre token generation trigger. */
  tokenTrigger: ServiceFunction;
}

/**
 * The sandbox stage's identity provider: an Amazon Cognito user pool that
 * issues the API's tokens to machine clients (OAuth 2.0 client credentials),
 * so that a sandbox deploy accepts tokens with no set-up by hand.
 *
 * - A resource server whose scopes are api.md's, plus one `province.<code>`
 *   scope per configured province.
 * - Clients with a generated secret and the client-credentials grant only,
 *   each allowed exactly its role's scopes (the roles of `POST /local/token`)
 *   and, for a province's maker and checker, that province's scope.
 * - The pre token generation trigger (event V3_0, the version Cognito sends
 *   for client-credentials grants; Essentials feature plan) turns them into
 *   the claims the handlers read (shared/http/token-claims.ts): unprefixed
 *   `scope`, `province`, and `pid` for the test beneficiary.
 * - A Cognito domain for the token endpoint (`/oauth2/token`).
 *
 * The API's JWT authorizer trusts the pool as issuer, with the clients' ids
 * as audience (Cognito access tokens carry `client_id`, not `aud`; API
 * Gateway compares either). The pool has no users: sign-up is off, and MFA
 * and the password policy are strict for whoever would add one.
 */
export class SandboxIdentity extends Construct {
  readonly userPool: cognito.UserPool;
  readonly domain: cognito.UserPoolDomain;
  readonly resourceServer: cognito.UserPoolResourceServer;
  readonly clients: IdentityClient[];
  readonly settings: SandboxIdentitySettings;

  constructor(scope: Construct, id: string, props: SandboxIdentityProps) {
    super(scope, id);
    const { stage, settings } = props;
    if (stage.production) throw new Error(`Stage "${stage.name}" is a production stage: its identity provider is external (stages.ts jwt).`);
    this.settings = settings;
    const stackName = Stack.of(this).stackName;

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: `${stackName}-machine-clients`,
      // Access-token customization for client-credentials grants (trigger event V3_0) needs Essentials or Plus.
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      selfSignUpEnabled: false,
      signInCaseSensitive: false,
      accountRecovery: cognito.AccountRecovery.NONE,
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: { minLength: 14, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true },
      deletionProtection: false,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.userPool).acknowledge({
      id: 'AwsSolutions-COG8',
      reason:
        'The sandbox user pool has no users, only machine clients (client credentials): the Plus plan adds threat protection for user sign-ins, which never happen here. Essentials is the plan that allows access-token customization for client-credentials grants (pre token generation trigger V3_0), which the pool needs to put the API claims (scope, province, pid) in its tokens.',
    });

    const scopes = new Map<string, cognito.ResourceServerScope>();
    for (const name of [...apiScopes, ...settings.provinces.map(provinceScope)]) {
      scopes.set(name, new cognito.ResourceServerScope({ scopeName: name, scopeDescription: name.startsWith('province.') ? `Acts for province ${name.slice(9)}` : `API scope ${name}` }));
    }
    this.resourceServer = this.userPool.addResourceServer('ResourceServer', {
      identifier: settings.resourceServer,
      userPoolResourceServerName: `${stackName} API`,
      scopes: [...scopes.values()],
    });

    this.domain = this.userPool.addDomain('Domain', {
      // Globally unique per region: the stack and the account.
      cognitoDomain: { domainPrefix: `${stackName.toLowerCase()}-${Aws.ACCOUNT_ID}` },
    });

    this.clients = identityClients(settings).map((info) => {
      const allowed = [...roleScopes[info.role], ...(info.provinceCode ? [provinceScope(info.provinceCode)] : [])];
      const client = this.userPool.addClient(`${pascal(info.name)}Client`, {
        userPoolClientName: `${stackName}-${info.name}`,
        generateSecret: true,
        oAuth: {
          flows: { clientCredentials: true },
          scopes: allowed.map((name) => cognito.OAuthScope.resourceServer(this.resourceServer, scopeOf(scopes, name))),
        },
        accessTokenValidity: Duration.minutes(settings.accessTokenMinutes),
        enableTokenRevocation: true,
        preventUserExistenceErrors: true,
      });
      return { ...info, client };
    });

    props.tokenTrigger.addEnvironment(identityResourceServerVariable, settings.resourceServer);
    this.userPool.addTrigger(cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, props.tokenTrigger.function, cognito.LambdaVersion.V3_0);
  }

  /** The issuer and audience the API's JWT authorizer trusts. */
  get jwt(): JwtIssuer {
    return {
      issuerUrl: `https://${this.userPool.userPoolProviderUrl}`,
      audience: this.clients.map(({ client }) => client.userPoolClientId),
    };
  }

  /** The OAuth 2.0 token endpoint (client credentials). */
  get tokenEndpoint(): string {
    return `${this.domain.baseUrl()}/oauth2/token`;
  }

  /** The clients as the `IdentityClients` output lists them (names, roles, provinces, client ids; never a secret). */
  clientsOutput(): string {
    return Stack.of(this).toJsonString(
      this.clients.map(({ name, role, provinceCode, client }) => ({ name, role, ...(provinceCode ? { provinceCode } : {}), clientId: client.userPoolClientId })),
    );
  }
}

function scopeOf(scopes: ReadonlyMap<string, cognito.ResourceServerScope>, name: string): cognito.ResourceServerScope {
  const scope = scopes.get(name);
  if (!scope) throw new Error(`Scope "${name}" is not a scope of the resource server.`);
  return scope;
}

function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
