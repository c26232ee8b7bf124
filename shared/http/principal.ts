import type { Scope } from './routes.js';

/**
 * Who is calling, read from the JWT claims that API Gateway's authorizer (or the
 * local server's verifier, which fills the same event fields) has already checked.
 */
export interface Principal {
  sub: string;
  scopes: ReadonlySet<Scope>;
  /** Two-digit province code, for provincial clients. */
  provinceCode: string | undefined;
  /** Twelve-digit personal ID, for beneficiaries. Never log it. */
  personalId: string | undefined;
}

const knownScopes: ReadonlySet<string> = new Set<Scope>([
  'batches:write',
  'batches:read',
  'batches:approve',
  'accounts:write',
  'beneficiary',
  'provider',
  'ops',
]);

function claimString(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** Returns undefined when the claims cannot identify anyone (no `sub`). */
export function principalFromClaims(claims: Record<string, unknown> | undefined): Principal | undefined {
  const sub = claimString(claims?.sub);
  if (!claims || !sub) return undefined;
  // API Gateway passes `scope` as the space-separated string of the token.
  const scopes = new Set(
    (claimString(claims.scope) ?? '').split(' ').filter((scope): scope is Scope => knownScopes.has(scope)),
  );
  const provinceCode = claimString(claims.province);
  const personalId = claimString(claims.pid);
  return {
    sub,
    scopes,
    provinceCode: provinceCode && /^\d{2}$/.test(provinceCode) ? provinceCode : undefined,
    personalId: personalId && /^\d{12}$/.test(personalId) ? personalId : undefined,
  };
}
