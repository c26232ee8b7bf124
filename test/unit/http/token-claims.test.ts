import type { PreTokenGenerationV3TriggerEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { principalFromClaims } from '../../../shared/http/principal.js';
import { accessTokenOverrides, provinceScope, roleScopes, scopesAfter, TokenClaimsError } from '../../../shared/http/token-claims.js';

const rs = 'social-payments';

describe('accessTokenOverrides (the sandbox pool token trigger mapping)', () => {
  it('replaces the resource-server scopes by the API names and binds the province', () => {
    const granted = [`${rs}/batches:write`, `${rs}/batches:read`, `${rs}/accounts:write`, `${rs}/province.79`];
    const overrides = accessTokenOverrides(rs, granted);
    expect(overrides).toEqual({
      scopesToAdd: ['batches:write', 'batches:read', 'accounts:write'],
      scopesToSuppress: granted,
      claimsToAddOrOverride: { province: '79' },
    });
    expect(scopesAfter(granted, overrides)).toEqual(['batches:write', 'batches:read', 'accounts:write']);
  });

  it('leaves scopes of other resource servers alone and never adds an unknown scope of its own server', () => {
    const granted = ['other-api/read', `${rs}/ops`, `${rs}/not-an-api-scope`, 'openid'];
    const overrides = accessTokenOverrides(rs, granted);
    expect(overrides.scopesToSuppress).toEqual([`${rs}/ops`, `${rs}/not-an-api-scope`]);
    expect(scopesAfter(granted, overrides)).toEqual(['other-api/read', 'openid', 'ops']);
    expect(overrides.claimsToAddOrOverride).toEqual({});
  });

  it('does not confuse a server whose name starts like ours', () => {
    expect(accessTokenOverrides(rs, [`${rs}-admin/ops`]).scopesToAdd).toEqual([]);
  });

  it('names the person for the beneficiary client only, and only a 12-digit ID', () => {
    expect(accessTokenOverrides(rs, [`${rs}/beneficiary`], { pid: '079185000001' }).claimsToAddOrOverride).toEqual({ pid: '079185000001' });
    expect(() => accessTokenOverrides(rs, [`${rs}/batches:read`, `${rs}/province.79`], { pid: '079185000001' })).toThrow(TokenClaimsError);
    expect(() => accessTokenOverrides(rs, [`${rs}/beneficiary`], { pid: '79185000001' })).toThrow(/12 digits/);
    // Other metadata is ignored.
    expect(accessTokenOverrides(rs, [`${rs}/beneficiary`], { note: 'x' }).claimsToAddOrOverride).toEqual({});
  });

  it('refuses a client bound to two provinces, and a malformed province scope', () => {
    expect(() => accessTokenOverrides(rs, [`${rs}/province.79`, `${rs}/province.01`])).toThrow(/2 provinces/);
    expect(() => accessTokenOverrides(rs, [`${rs}/province.7`])).toThrow(/malformed/);
    expect(() => provinceScope('7')).toThrow();
  });

  it('never puts the personal ID in an error message', () => {
    try {
      accessTokenOverrides(rs, [`${rs}/ops`], { pid: '079185000001' });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain('079185000001');
    }
  });

  it.each(Object.entries(roleScopes))('gives role %s exactly the Principal of its local token', (role, scopes) => {
    const granted = [...scopes.map((scope) => `${rs}/${scope}`), ...(role === 'province' || role === 'approver' ? [`${rs}/province.01`] : [])];
    const metadata: Record<string, string> = role === 'beneficiary' ? { pid: '001048000002' } : {};
    const overrides = accessTokenOverrides(rs, granted, metadata);
    const principal = principalFromClaims({ sub: 'client-id', scope: scopesAfter(granted, overrides).join(' '), ...overrides.claimsToAddOrOverride });
    expect([...(principal?.scopes ?? [])].sort()).toEqual([...scopes].sort());
    expect(principal?.provinceCode).toBe(role === 'province' || role === 'approver' ? '01' : undefined);
    expect(principal?.personalId).toBe(role === 'beneficiary' ? '001048000002' : undefined);
  });
});

describe('functions/sandbox-token-claims handler', () => {
  let handler: (event: PreTokenGenerationV3TriggerEvent) => Promise<PreTokenGenerationV3TriggerEvent>;

  beforeAll(async () => {
    vi.stubEnv('STAGE', 'sandbox');
    vi.stubEnv('APP_VERSION', '0.0.0-test');
    vi.stubEnv('IDENTITY_RESOURCE_SERVER', rs);
    ({ handler } = (await import('../../../functions/sandbox-token-claims/handler.js')) as { handler: typeof handler });
  });

  afterAll(() => {
    vi.unstubAllEnvs();
  });

  const event = (scopes: string[] | undefined, clientMetadata?: Record<string, string>): PreTokenGenerationV3TriggerEvent => ({
    version: '3',
    triggerSource: 'TokenGeneration_ClientCredentials',
    region: 'ap-southeast-1',
    userPoolId: 'ap-southeast-1_pool',
    userName: '',
    callerContext: { awsSdkVersion: 'aws-sdk-unknown-unknown', clientId: 'client-id' },
    request: { userAttributes: {}, groupConfiguration: {}, ...(scopes ? { scopes } : {}), ...(clientMetadata ? { clientMetadata } : {}) },
    response: { claimsAndScopeOverrideDetails: {} },
  });

  it('answers with the access token overrides of a client-credentials event', async () => {
    const result = await handler(event([`${rs}/batches:read`, `${rs}/batches:approve`, `${rs}/province.79`]));
    expect(result.response.claimsAndScopeOverrideDetails).toEqual({
      accessTokenGeneration: {
        scopesToAdd: ['batches:read', 'batches:approve'],
        scopesToSuppress: [`${rs}/batches:read`, `${rs}/batches:approve`, `${rs}/province.79`],
        claimsToAddOrOverride: { province: '79' },
      },
    });
    expect(result.callerContext.clientId).toBe('client-id');
  });

  it('changes nothing when no scope is granted, and fails the token request on a misplaced pid', async () => {
    expect((await handler(event(undefined))).response.claimsAndScopeOverrideDetails.accessTokenGeneration).toEqual({
      scopesToAdd: [],
      scopesToSuppress: [],
      claimsToAddOrOverride: {},
    });
    await expect(handler(event([`${rs}/ops`], { pid: '079185000001' }))).rejects.toThrow(TokenClaimsError);
  });
});
