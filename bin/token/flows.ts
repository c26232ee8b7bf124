import { stackOutputs } from '../../infra/outputs.js';
import type { TokenRequest } from './args.js';

/** A token as `POST /local/token` answers it. */
export interface IssuedToken {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

type Fetch = typeof fetch;

async function problemOf(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { detail?: string; title?: string; error?: string; error_description?: string };
    return body.detail ?? body.error_description ?? body.title ?? body.error ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}

/** From a running local server: `POST <url>/local/token`. */
export async function localToken(url: string, request: TokenRequest, fetchImpl: Fetch = fetch): Promise<IssuedToken> {
  let response: Response;
  try {
    response = await fetchImpl(`${url}/local/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
  } catch (error) {
    throw new TokenError(`No local server answers at ${url} (${error instanceof Error ? error.message : String(error)}): start one with npm start, or pass --url.`);
  }
  if (response.status === 404) throw new TokenError(`${url} has no /local/token: it is not the local server (a deployed API? use --stage sandbox).`);
  if (response.status !== 200) throw new TokenError(`${url}/local/token answered ${response.status}: ${await problemOf(response)}`);
  const body = (await response.json()) as Partial<IssuedToken>;
  if (typeof body.accessToken !== 'string') throw new TokenError(`${url}/local/token answered without an accessToken.`);
  return { accessToken: body.accessToken, tokenType: 'Bearer', expiresIn: Number(body.expiresIn ?? 0) };
}

/** What the sandbox flow needs from AWS, injected so that it is testable offline. */
export interface SandboxAccess {
  /** The stack's outputs, by output key. */
  stackOutputs(stackName: string): Promise<Record<string, string>>;
  /** A user pool client's secret (cognito-idp:DescribeUserPoolClient). */
  clientSecret(userPoolId: string, clientId: string): Promise<string>;
  fetch: Fetch;
}

export interface IdentityClientListing {
  name: string;
  role: string;
  provinceCode?: string;
  clientId: string;
}

/** The pool client that acts for the request's role (and province). */
export function chooseClient(clients: readonly IdentityClientListing[], request: TokenRequest): IdentityClientListing {
  const candidates = clients.filter((client) => client.role === request.role);
  const chosen = request.provinceCode ? candidates.find((client) => client.provinceCode === request.provinceCode) : candidates[0];
  if (chosen) return chosen;
  if (candidates.length === 0) throw new TokenError(`The sandbox user pool has no client for the ${request.role} role.`);
  const provinces = candidates.map((client) => client.provinceCode).filter(Boolean);
  throw new TokenError(
    `The sandbox user pool has no ${request.role} client for province ${request.provinceCode}; it has ${provinces.join(', ')} (stages.ts sandboxIdentity.provinces).`,
  );
}

/**
 * From a deployed sandbox: the stack's outputs name the token endpoint and the
 * clients; the chosen client's secret comes from Cognito with the caller's AWS
 * credentials; the pool issues the token (OAuth 2.0 client credentials, RFC
 * 6749 section 4.4), a beneficiary's personal ID passed as client metadata
 * for the pool's token trigger.
 */
export async function sandboxToken(stackName: string, request: TokenRequest, aws: SandboxAccess): Promise<IssuedToken> {
  const outputs = await aws.stackOutputs(stackName);
  const endpoint = outputs[stackOutputs.tokenEndpoint];
  const poolId = outputs[stackOutputs.userPoolId];
  const listing = outputs[stackOutputs.clients];
  if (!endpoint || !poolId || !listing) {
    throw new TokenError(
      `Stack ${stackName} has no sandbox user pool outputs (${stackOutputs.tokenEndpoint}, ${stackOutputs.userPoolId}, ${stackOutputs.clients}): deploy it with this version, without -c jwtIssuerUrl.`,
    );
  }
  const client = chooseClient(JSON.parse(listing) as IdentityClientListing[], request);
  const secret = await aws.clientSecret(poolId, client.clientId);
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (request.personalId) form.set('aws_client_metadata', JSON.stringify({ pid: request.personalId }));
  let response: Response;
  try {
    response = await aws.fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.clientId}:${secret}`).toString('base64')}`,
      },
      body: form.toString(),
    });
  } catch (error) {
    throw new TokenError(`The token endpoint ${endpoint} is not reachable (${error instanceof Error ? error.message : String(error)}).`);
  }
  if (response.status !== 200) throw new TokenError(`The token endpoint answered ${response.status} for client ${client.name}: ${await problemOf(response)}`);
  const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown; token_type?: unknown };
  if (typeof body.access_token !== 'string') throw new TokenError('The token endpoint answered without an access_token.');
  return { accessToken: body.access_token, tokenType: 'Bearer', expiresIn: Number(body.expires_in ?? 0) };
}

/**
 * The real AWS access, with the caller's credentials (the SDK's default chain:
 * AWS_PROFILE, SSO, environment). The SDK clients load only here, so that the
 * local flow starts at once.
 */
export async function awsSandboxAccess(region: string): Promise<SandboxAccess> {
  const [{ CloudFormationClient, DescribeStacksCommand }, { CognitoIdentityProviderClient, DescribeUserPoolClientCommand }] = await Promise.all([
    import('@aws-sdk/client-cloudformation'),
    import('@aws-sdk/client-cognito-identity-provider'),
  ]);
  const cloudFormation = new CloudFormationClient({ region });
  const cognito = new CognitoIdentityProviderClient({ region });
  return {
    async stackOutputs(stackName) {
      const result = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
      const stack = result.Stacks?.[0];
      if (!stack) throw new TokenError(`No stack ${stackName} in ${region}.`);
      return Object.fromEntries((stack.Outputs ?? []).flatMap((output) => (output.OutputKey && output.OutputValue ? [[output.OutputKey, output.OutputValue]] : [])));
    },
    async clientSecret(userPoolId, clientId) {
      const result = await cognito.send(new DescribeUserPoolClientCommand({ UserPoolId: userPoolId, ClientId: clientId }));
      const secret = result.UserPoolClient?.ClientSecret;
      if (!secret) throw new TokenError(`Client ${clientId} has no secret.`);
      return secret;
    },
    fetch,
  };
}
