import { base64url, decodeJwt, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWTPayload } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, LocalAuthority, roleScopes } from '../../../local/auth.js';

/**
 * The claim checks of the local JWT verifier (the stand-in for API Gateway's
 * authorizer), each isolated with the authority's own key: the e2e access
 * matrix can only forge bad tokens with a foreign key, which the signature
 * check refuses before the claims matter.
 *
 * The key is private to LocalAuthority; the test records the key pair that
 * jose's generateKeyPair hands it, so that no test hook is needed in local/auth.ts.
 */

const keys = vi.hoisted(() => ({ pairs: [] as { privateKey: unknown; publicKey: unknown }[] }));

vi.mock('jose', async (importOriginal) => {
  const actual = await importOriginal<typeof import('jose')>();
  return {
    ...actual,
    generateKeyPair: async (...args: Parameters<typeof actual.generateKeyPair>) => {
      const pair = await actual.generateKeyPair(...args);
      keys.pairs.push(pair);
      return pair;
    },
  };
});

let authority: LocalAuthority;
let authorityKey: CryptoKey;

beforeAll(async () => {
  keys.pairs.length = 0;
  authority = await LocalAuthority.create(LOCAL_ISSUER);
  expect(keys.pairs).toHaveLength(1);
  authorityKey = keys.pairs[0]!.privateKey as CryptoKey;
});

afterEach(() => {
  vi.useRealTimers();
});

const now = () => Math.floor(Date.now() / 1000);

/** A token as the authority issues it, signed with its own key; `overrides` changes one thing. */
function signed(overrides: { iss?: string; aud?: string; sub?: string | null; iat?: number; exp?: number | null; key?: CryptoKey } = {}): Promise<string> {
  let jwt = new SignJWT({ scope: 'batches:read' })
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
    .setIssuer(overrides.iss ?? LOCAL_ISSUER)
    .setAudience(overrides.aud ?? LOCAL_AUDIENCE)
    .setIssuedAt(overrides.iat ?? now());
  if (overrides.sub !== null) jwt = jwt.setSubject(overrides.sub ?? 'province-test');
  if (overrides.exp !== null) jwt = jwt.setExpirationTime(overrides.exp ?? now() + 3600);
  return jwt.sign(overrides.key ?? authorityKey);
}

describe('LocalAuthority.verify', () => {
  it('accepts what it issues, with the claims of the role', async () => {
    const { accessToken, tokenType, expiresIn } = await authority.issue({ role: 'province', provinceCode: '79', sub: 'hcm-system' });

    const claims = await authority.verify(accessToken);

    expect(tokenType).toBe('Bearer');
    expect(expiresIn).toBe(3600);
    expect(claims).toMatchObject({ sub: 'hcm-system', iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, province: '79', scope: 'batches:write batches:read accounts:write' });
  });

  it('accepts a token made here with its key (the control for the cases below)', async () => {
    expect(await authority.verify(await signed())).toMatchObject({ sub: 'province-test' });
  });

  it('refuses an expired token', async () => {
    const past = now() - 7200;

    expect(await authority.verify(await signed({ iat: past, exp: past + 3600 }))).toBeUndefined();
  });

  it('refuses a token it issued once its lifetime has passed', async () => {
    const { accessToken } = await authority.issue({ role: 'beneficiary', personalId: '079185012345' });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 3601 * 1000);

    expect(await authority.verify(accessToken)).toBeUndefined();
  });

  it('refuses a token for another audience', async () => {
    expect(await authority.verify(await signed({ aud: 'another-api' }))).toBeUndefined();
  });

  it('refuses a token from another issuer', async () => {
    expect(await authority.verify(await signed({ iss: 'urn:someone-else:idp' }))).toBeUndefined();
  });

  it('refuses a token without sub or without exp', async () => {
    expect(await authority.verify(await signed({ sub: null }))).toBeUndefined();
    expect(await authority.verify(await signed({ exp: null }))).toBeUndefined();
  });

  it('refuses a token signed with another key', async () => {
    const { privateKey } = await generateKeyPair('ES256');

    expect(await authority.verify(await signed({ key: privateKey }))).toBeUndefined();
  });

  it('refuses a token whose claims were changed after signing', async () => {
    const { accessToken } = await authority.issue({ role: 'beneficiary', personalId: '079185012345' });
    const [header, , signature] = accessToken.split('.');
    const escalated: JWTPayload = { ...decodeJwt(accessToken), scope: 'beneficiary batches:read batches:approve ops' };
    const tampered = `${header}.${base64url.encode(JSON.stringify(escalated))}.${signature}`;

    expect(await authority.verify(tampered)).toBeUndefined();
  });

  it('refuses an unsigned token (alg: none)', async () => {
    const unsigned = new UnsecuredJWT({ scope: 'ops' }).setSubject('x').setIssuer(LOCAL_ISSUER).setAudience(LOCAL_AUDIENCE).setExpirationTime('1h').encode();

    expect(await authority.verify(unsigned)).toBeUndefined();
  });

  it('refuses what is not a JWT at all', async () => {
    expect(await authority.verify('')).toBeUndefined();
    expect(await authority.verify('not.a.token')).toBeUndefined();
  });
});

describe('roleScopes', () => {
  it('gives each role of POST /local/token the scopes api.md lists', () => {
    expect(roleScopes).toEqual({
      province: ['batches:write', 'batches:read', 'accounts:write'],
      approver: ['batches:read', 'batches:approve'],
      beneficiary: ['beneficiary'],
      ops: ['ops'],
    });
  });
});
