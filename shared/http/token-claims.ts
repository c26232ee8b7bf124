import type { Scope } from './routes.js';

/**
 * The claims the API reads (`scope`, `province`, `pid`; api.md "Auth"), made
 * from what an Amazon Cognito user pool grants a machine client, for the
 * sandbox stage's identity provider (infra/constructs/sandbox-identity.ts).
 *
 * Cognito names every custom scope `<resource server>/<scope>` and puts no
 * custom claim in a client-credentials access token by itself. Its pre token
 * generation trigger (event version V3_0) may add and suppress scopes and add
 * claims, so the sandbox pool's trigger turns the granted scopes into exactly
 * the token the handlers already read, and principalFromClaims stays the one
 * reader of claims for every issuer:
 * - `<rs>/batches:write` ... `<rs>/ops`: suppressed, and added back without
 *   the prefix (`scope: "batches:write batches:read accounts:write"`);
 * - `<rs>/province.<code>`: the client's province, granted by the stack to one
 *   province's clients only: suppressed, and the `province` claim;
 * - the `pid` claim: only for a client granted `beneficiary`, from the token
 *   request's client metadata (`aws_client_metadata={"pid":"<12 digits>"}`):
 *   the sandbox's stand-in for a citizen's sign-in, as `POST /local/token`
 *   is locally (synthetic people only: the pool exists in the sandbox alone).
 * Scopes of other resource servers are left as they are. A client bound to
 * two provinces, or a malformed or misplaced `pid`, fails the token request:
 * no token is better than a wrong one.
 */

/** Every scope of api.md, once (the record makes the list total over `Scope`). */
const scopeList: Record<Scope, true> = {
  'batches:write': true,
  'batches:read': true,
  'batches:approve': true,
  'accounts:write': true,
  beneficiary: true,
  ops: true,
};
export const apiScopes = Object.keys(scopeList) as Scope[];

/** Who asks for a token: the roles of `POST /local/token` and of the sandbox's machine clients. */
export type TokenRole = 'province' | 'approver' | 'beneficiary' | 'ops';

/** The scopes each role has (api.md, "Local server only"): the same locally and in the sandbox user pool. */
export const roleScopes: Record<TokenRole, readonly Scope[]> = {
  province: ['batches:write', 'batches:read', 'accounts:write'],
  approver: ['batches:read', 'batches:approve'],
  beneficiary: ['beneficiary'],
  ops: ['ops'],
};

const PROVINCE_SCOPE_PREFIX = 'province.';

/** The resource-server scope (without the server prefix) that binds a client to one province. */
export function provinceScope(provinceCode: string): string {
  if (!/^\d{2}$/.test(provinceCode)) throw new Error(`Province code "${provinceCode}" is not two digits.`);
  return `${PROVINCE_SCOPE_PREFIX}${provinceCode}`;
}

export interface AccessTokenOverrides {
  scopesToAdd: string[];
  scopesToSuppress: string[];
  claimsToAddOrOverride: Record<string, string>;
}

export class TokenClaimsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenClaimsError';
  }
}

const isApiScope = (scope: string): scope is Scope => Object.hasOwn(scopeList, scope);

/**
 * What the trigger changes in one access token: `granted` is the token's scope
 * list as Cognito would issue it (the event's `request.scopes`), `metadata`
 * the token request's client metadata.
 */
export function accessTokenOverrides(
  resourceServer: string,
  granted: readonly string[],
  metadata: Readonly<Record<string, string>> = {},
): AccessTokenOverrides {
  const prefix = `${resourceServer}/`;
  const ours = granted.filter((scope) => scope.startsWith(prefix));
  const names = ours.map((scope) => scope.slice(prefix.length));
  const scopes = names.filter(isApiScope);
  const provinces = names.filter((name) => name.startsWith(PROVINCE_SCOPE_PREFIX)).map((name) => name.slice(PROVINCE_SCOPE_PREFIX.length));

  const claims: Record<string, string> = {};
  if (provinces.length > 1) throw new TokenClaimsError(`The client is bound to ${provinces.length} provinces; a client belongs to one.`);
  const [province] = provinces;
  if (province !== undefined) {
    if (!/^\d{2}$/.test(province)) throw new TokenClaimsError('The client is bound to a malformed province code.');
    claims.province = province;
  }
  const pid = metadata.pid;
  if (pid !== undefined) {
    if (!scopes.includes('beneficiary')) throw new TokenClaimsError('Only a beneficiary client may name a person (pid).');
    if (!/^\d{12}$/.test(pid)) throw new TokenClaimsError('pid must be 12 digits.');
    claims.pid = pid;
  }
  return { scopesToAdd: [...new Set(scopes)], scopesToSuppress: ours, claimsToAddOrOverride: claims };
}

/**
 * The scope list of the issued token, as Cognito applies the overrides (the
 * suppressed scopes removed, the added ones appended): for tests and the docs.
 */
export function scopesAfter(granted: readonly string[], overrides: Pick<AccessTokenOverrides, 'scopesToAdd' | 'scopesToSuppress'>): string[] {
  const suppressed = new Set(overrides.scopesToSuppress);
  return [...new Set([...granted.filter((scope) => !suppressed.has(scope)), ...overrides.scopesToAdd])];
}
