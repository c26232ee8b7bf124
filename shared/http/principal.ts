import { scopes, type Principal, type Scope } from '../app/principal.js';

/**
 * Builds the application layer's Principal (shared/app/principal.ts) from the
 * JWT claims that API Gateway's authorizer (or the local server's verifier,
 * which fills the same event fields) has already checked. Nothing else of
 * authorization happens here.
 */

const knownScopes: ReadonlySet<string> = new Set<Scope>(scopes);

function claimString(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** Returns undefined when the claims cannot identify anyone (no `sub`). */
export function principalFromClaims(claims: Record<string, unknown> | undefined): Principal | undefined {
  const sub = claimString(claims?.sub);
  if (!claims || !sub) return undefined;
  // API Gateway passes `scope` as the space-separated string of the token; scopes the system does not know are dropped.
  const granted = new Set(
    (claimString(claims.scope) ?? '').split(' ').filter((scope): scope is Scope => knownScopes.has(scope)),
  );
  const provinceCode = claimString(claims.province);
  const personalId = claimString(claims.pid);
  return {
    sub,
    scopes: granted,
    provinceCode: provinceCode && /^\d{2}$/.test(provinceCode) ? provinceCode : undefined,
    personalId: personalId && /^\d{12}$/.test(personalId) ? personalId : undefined,
  };
}
