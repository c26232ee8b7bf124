import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';
import { ulid } from 'ulid';
import { roleScopes, type TokenRole } from '../shared/http/token-claims.js';
import { readJsonFile, writeJsonFile } from './data.js';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export type LocalRole = TokenRole;

/** The scopes each role of POST /local/token gets (api.md, "Local server only"); the sandbox user pool's clients have the same. */
export { roleScopes };

export interface TokenRequest {
  role: LocalRole;
  provinceCode?: string | undefined;
  personalId?: string | undefined;
  sub?: string | undefined;
}

export const LOCAL_AUDIENCE = 'social-payments';
/** Fixed, so that a token stays valid when the server restarts on another port (until the key changes). */
export const LOCAL_ISSUER = 'urn:social-payments:local';
const TOKEN_LIFETIME_SECONDS = 3600;

/**
 * Stands in for the identity provider and for API Gateway's JWT authorizer:
 * signs tokens with a key made at start, and verifies signature, issuer,
 * audience and expiry exactly as the authorizer does when deployed.
 */
export class LocalAuthority {
  private constructor(
    readonly issuer: string,
    private readonly privateKey: SigningKey,
    private readonly publicKey: SigningKey,
  ) {}

  /**
   * A new key, or the one kept in `keyFile` (made there on first use): with the
   * local data folder, tokens issued before a restart stay valid until they expire.
   */
  static async create(issuer: string, options: { keyFile?: string } = {}): Promise<LocalAuthority> {
    const kept = options.keyFile ? readJsonFile<JWK>(options.keyFile) : undefined;
    if (kept) {
      const { d: _private, ...publicJwk } = kept;
      return new LocalAuthority(issuer, (await importJWK(kept, 'ES256')) as SigningKey, (await importJWK(publicJwk, 'ES256')) as SigningKey);
    }
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: options.keyFile !== undefined });
    if (options.keyFile) writeJsonFile(options.keyFile, await exportJWK(privateKey));
    return new LocalAuthority(issuer, privateKey, publicKey);
  }

  async issue(request: TokenRequest): Promise<{ accessToken: string; tokenType: 'Bearer'; expiresIn: number }> {
    const claims: JWTPayload = { scope: roleScopes[request.role].join(' ') };
    if (request.provinceCode) claims.province = request.provinceCode;
    if (request.personalId) claims.pid = request.personalId;
    const accessToken = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setSubject(request.sub ?? `${request.role}-${ulid()}`)
      .setIssuer(this.issuer)
      .setAudience(LOCAL_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${TOKEN_LIFETIME_SECONDS}s`)
      .sign(this.privateKey);
    return { accessToken, tokenType: 'Bearer', expiresIn: TOKEN_LIFETIME_SECONDS };
  }

  /** The verified claims, or undefined for any token that API Gateway would refuse. */
  async verify(token: string): Promise<JWTPayload | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        issuer: this.issuer,
        audience: LOCAL_AUDIENCE,
        algorithms: ['ES256'],
        requiredClaims: ['sub', 'exp'],
      });
      return payload;
    } catch {
      return undefined;
    }
  }
}
