/**
 * Names the stack and its outputs are known by, for the tools that read a
 * deployed stack (`npm run token`, `npm run smoke`). No CDK import: those
 * tools start in a fraction of a second.
 */

/** CloudFormation stack of a stage: `SocialPayments-<stage>`. */
export function stackNameOf(stageName: string): string {
  return `SocialPayments-${stageName}`;
}

/** Region of every stage (infra/stages.ts; the infra tests keep the two equal). */
export const defaultRegion = 'ap-southeast-1';

/** Output keys (CfnOutput ids) the tools read. */
export const stackOutputs = {
  /** Base URL of the HTTP API (ends with `/`). */
  apiUrl: 'ApiUrl',
  /** Sandbox identity: the user pool's id. */
  userPoolId: 'IdentityUserPoolId',
  /** Sandbox identity: the OAuth 2.0 token endpoint (client credentials). */
  tokenEndpoint: 'IdentityTokenEndpoint',
  /** Sandbox identity: JSON list of `{ name, role, provinceCode?, clientId }` (never a secret). */
  clients: 'IdentityClients',
  /** The issuer the API trusts. */
  jwtIssuer: 'JwtIssuer',
} as const;
