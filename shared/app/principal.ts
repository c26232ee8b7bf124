/**
 * Who is calling, as the use cases see it. The application layer owns this
 * type: authorization that depends on data (a province's batches, a person in
 * its care) is decided by the use cases, against their ports. The HTTP layer
 * only builds a Principal from the claims API Gateway's authorizer (or the
 * local server's verifier) has checked (shared/http/principal.ts), and checks
 * the route's scopes.
 */

/**
 * The token scopes the system knows (api.md, Conventions), each granting
 * documented operations:
 * - `batches:write`, `batches:read`, `batches:approve`: a province's batches;
 * - `accounts:write`: a province acting on the account of a person in its care,
 *   with the person's consent (shared/app/accounts.ts);
 * - `beneficiary`: the caller's own payments and account (by the `pid` claim);
 * - `ops`: operators (the local server's operator routes).
 * A token's other scopes (such as `provider`: payment providers authenticate
 * by signature, not by token) are ignored.
 */
export const scopes = ['batches:write', 'batches:read', 'batches:approve', 'accounts:write', 'beneficiary', 'ops'] as const;
export type Scope = (typeof scopes)[number];

export interface Principal {
  sub: string;
  scopes: ReadonlySet<Scope>;
  /** Two-digit province code, for provincial clients. */
  provinceCode: string | undefined;
  /** Twelve-digit personal ID, for beneficiaries. Never log it. */
  personalId: string | undefined;
}
