/**
 * `npm run token`: the arguments, the local flow and the sandbox flow against
 * fakes (no server, no AWS): what is asked of whom, and what is printed.
 */
import { describe, expect, it } from 'vitest';
import { parseTokenArgs, UsageError } from '../../../bin/token/args.js';
import { chooseClient, localToken, sandboxToken, TokenError, type SandboxAccess } from '../../../bin/token/flows.js';
import { runTokenCli } from '../../../bin/token.js';
import { stackOutputs } from '../../../infra/outputs.js';

const env = {} as NodeJS.ProcessEnv;

describe('parseTokenArgs', () => {
  it('defaults to the local server on port 3000, or SP_URL', () => {
    expect(parseTokenArgs(['--role', 'province', '--province', '79'], env)).toEqual({
      mode: 'local',
      url: 'http://localhost:3000',
      request: { role: 'province', provinceCode: '79' },
      json: false,
    });
    expect(parseTokenArgs(['--role', 'ops', '--url', 'http://127.0.0.1:4000/'], env)).toMatchObject({ url: 'http://127.0.0.1:4000' });
    expect(parseTokenArgs(['--role', 'ops'], { SP_URL: 'http://localhost:5000' } as NodeJS.ProcessEnv)).toMatchObject({ url: 'http://localhost:5000' });
    expect(parseTokenArgs(['--role', 'approver', '--sub', 'hcm-checker', '--json'], env)).toMatchObject({ request: { role: 'approver', sub: 'hcm-checker' }, json: true });
  });

  it('reads a deployed sandbox from its stack, in the stage region unless told', () => {
    expect(parseTokenArgs(['--stage', 'sandbox', '--role', 'beneficiary', '--personal-id', '079185000001'], env)).toEqual({
      mode: 'sandbox',
      stage: 'sandbox',
      stackName: 'SocialPayments-sandbox',
      region: 'ap-southeast-1',
      request: { role: 'beneficiary', personalId: '079185000001' },
      json: false,
    });
    expect(parseTokenArgs(['--stage', 'sandbox', '--role', 'ops', '--region', 'us-east-1'], env)).toMatchObject({ region: 'us-east-1' });
    expect(parseTokenArgs(['--stage', 'sandbox', '--role', 'ops'], { AWS_REGION: 'eu-west-1' } as NodeJS.ProcessEnv)).toMatchObject({ region: 'eu-west-1' });
  });

  it.each([
    [[], /--role is required/],
    [['--role', 'admin'], /--role must be one of/],
    [['--role', 'province'], /--province is required/],
    [['--role', 'province', '--province', '7'], /two digits/],
    [['--role', 'ops', '--province', '79'], /not ops/],
    [['--role', 'beneficiary'], /--personal-id is required/],
    [['--role', 'beneficiary', '--personal-id', '12345'], /12 digits/],
    [['--role', 'ops', '--personal-id', '079185000001'], /for the beneficiary role/],
    [['--role', 'approver', '--stage', 'sandbox'], /own approver client/],
    [['--role', 'ops', '--stage', 'prod'], /national identity provider/],
    [['--role', 'ops', '--stage', 'sandbox', '--url', 'http://x'], /--url is for the local server/],
    [['--role', 'ops', '--stage', 'sandbox', '--sub', 'me'], /client's id/],
    [['--role', 'ops', '--region', 'us-east-1'], /--region is for --stage sandbox/],
    [['--role', 'ops', '--url', 'localhost:3000'], /http\(s\) URL/],
    [['--role', 'ops', '--bogus'], /Unknown option/],
  ] as [string[], RegExp][])('refuses %j', (argv, message) => {
    expect(() => parseTokenArgs(argv, env)).toThrow(UsageError);
    expect(() => parseTokenArgs(argv, env)).toThrow(message);
  });
});

/** A fetch that records its requests and answers from a list. */
function fakeFetch(answers: (Response | Error)[]) {
  const requests: { url: string; init: RequestInit }[] = [];
  const fetchImpl = (async (url: string | URL, init?: RequestInit) => {
    requests.push({ url: String(url), init: init ?? {} });
    const answer = answers.shift();
    if (!answer) throw new Error('unexpected request');
    if (answer instanceof Error) throw answer;
    return answer;
  }) as typeof fetch;
  return { fetchImpl, requests };
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('localToken', () => {
  it('asks POST /local/token with the request and returns the token', async () => {
    const { fetchImpl, requests } = fakeFetch([json(200, { accessToken: 'tok', tokenType: 'Bearer', expiresIn: 3600 })]);
    expect(await localToken('http://localhost:3000', { role: 'province', provinceCode: '79', sub: 'hcm' }, fetchImpl)).toEqual({
      accessToken: 'tok',
      tokenType: 'Bearer',
      expiresIn: 3600,
    });
    expect(requests[0]?.url).toBe('http://localhost:3000/local/token');
    expect(JSON.parse(String(requests[0]?.init.body))).toEqual({ role: 'province', provinceCode: '79', sub: 'hcm' });
  });

  it('says what is wrong: no server, not the local server, a refused request', async () => {
    await expect(localToken('http://localhost:1', { role: 'ops' }, fakeFetch([new TypeError('fetch failed')]).fetchImpl)).rejects.toThrow(/start one with npm start/);
    await expect(localToken('https://api.example', { role: 'ops' }, fakeFetch([json(404, {})]).fetchImpl)).rejects.toThrow(/not the local server/);
    await expect(
      localToken('http://localhost:3000', { role: 'province' }, fakeFetch([json(422, { code: 'VALIDATION_FAILED', detail: 'provinceCode is required' })]).fetchImpl),
    ).rejects.toThrow(/422: provinceCode is required/);
  });
});

const clients = [
  { name: 'province-79', role: 'province', provinceCode: '79', clientId: 'c-prov-79' },
  { name: 'approver-79', role: 'approver', provinceCode: '79', clientId: 'c-appr-79' },
  { name: 'province-01', role: 'province', provinceCode: '01', clientId: 'c-prov-01' },
  { name: 'beneficiary', role: 'beneficiary', clientId: 'c-ben' },
  { name: 'ops', role: 'ops', clientId: 'c-ops' },
];

function fakeAws(answers: (Response | Error)[], outputs: Record<string, string> = {}) {
  const calls: string[] = [];
  const { fetchImpl, requests } = fakeFetch(answers);
  const access: SandboxAccess = {
    stackOutputs: async (stackName) => {
      calls.push(`describe-stacks ${stackName}`);
      return {
        [stackOutputs.tokenEndpoint]: 'https://pool.auth.ap-southeast-1.amazoncognito.com/oauth2/token',
        [stackOutputs.userPoolId]: 'ap-southeast-1_pool',
        [stackOutputs.clients]: JSON.stringify(clients),
        ...outputs,
      };
    },
    clientSecret: async (poolId, clientId) => {
      calls.push(`describe-user-pool-client ${poolId} ${clientId}`);
      return `secret-of-${clientId}`;
    },
    fetch: fetchImpl,
  };
  return { access, calls, requests };
}

describe('sandboxToken', () => {
  it("gets the province client's secret and asks the pool for a client-credentials token", async () => {
    const { access, calls, requests } = fakeAws([json(200, { access_token: 'jwt', expires_in: 3600, token_type: 'Bearer' })]);
    expect(await sandboxToken('SocialPayments-sandbox', { role: 'province', provinceCode: '01' }, access)).toEqual({
      accessToken: 'jwt',
      tokenType: 'Bearer',
      expiresIn: 3600,
    });
    expect(calls).toEqual(['describe-stacks SocialPayments-sandbox', 'describe-user-pool-client ap-southeast-1_pool c-prov-01']);
    const request = requests[0]!;
    expect(request.url).toBe('https://pool.auth.ap-southeast-1.amazoncognito.com/oauth2/token');
    const headers = request.init.headers as Record<string, string>;
    expect(headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Buffer.from(headers.authorization!.replace('Basic ', ''), 'base64').toString()).toBe('c-prov-01:secret-of-c-prov-01');
    expect(Object.fromEntries(new URLSearchParams(String(request.init.body)))).toEqual({ grant_type: 'client_credentials' });
  });

  it("names the beneficiary in the client metadata for the pool's token trigger", async () => {
    const { access, requests } = fakeAws([json(200, { access_token: 'jwt', expires_in: 3600 })]);
    await sandboxToken('SocialPayments-sandbox', { role: 'beneficiary', personalId: '079185000001' }, access);
    const form = Object.fromEntries(new URLSearchParams(String(requests[0]!.init.body)));
    expect(JSON.parse(form.aws_client_metadata!)).toEqual({ pid: '079185000001' });
  });

  it('says what is wrong: no pool outputs, no client for the province, a refused request', async () => {
    await expect(sandboxToken('S', { role: 'ops' }, fakeAws([], { [stackOutputs.tokenEndpoint]: '' }).access)).rejects.toThrow(/no sandbox user pool outputs/);
    await expect(sandboxToken('S', { role: 'approver', provinceCode: '01' }, fakeAws([]).access)).rejects.toThrow(/no approver client for province 01; it has 79/);
    await expect(sandboxToken('S', { role: 'ops' }, fakeAws([json(400, { error: 'invalid_client' })]).access)).rejects.toThrow(/400 for client ops: invalid_client/);
  });

  it('chooses the client by role and province', () => {
    expect(chooseClient(clients, { role: 'ops' }).clientId).toBe('c-ops');
    expect(chooseClient(clients, { role: 'province', provinceCode: '79' }).clientId).toBe('c-prov-79');
    expect(() => chooseClient(clients.filter((c) => c.role !== 'ops'), { role: 'ops' })).toThrow(TokenError);
  });
});

describe('runTokenCli', () => {
  const run = async (argv: string[], fetchImpl: typeof fetch, access?: SandboxAccess) => {
    let out = '';
    let err = '';
    const code = await runTokenCli(argv, {
      fetch: fetchImpl,
      sandboxAccess: async () => {
        if (!access) throw new Error('no AWS here');
        return access;
      },
      out: (text) => (out += text),
      err: (text) => (err += text),
      env,
    });
    return { code, out, err };
  };

  it('prints the token alone on stdout (for TOKEN=$(npm run -s token ...)), or the whole answer with --json', async () => {
    const answer = { accessToken: 'tok', tokenType: 'Bearer', expiresIn: 3600 };
    expect(await run(['--role', 'ops'], fakeFetch([json(200, answer)]).fetchImpl)).toEqual({ code: 0, out: 'tok\n', err: '' });
    expect(JSON.parse((await run(['--role', 'ops', '--json'], fakeFetch([json(200, answer)]).fetchImpl)).out)).toEqual(answer);
  });

  it('exits 2 on a usage error and 1 when no token came, with the reason on stderr only', async () => {
    const usage = await run(['--role'], fakeFetch([]).fetchImpl);
    expect([usage.code, usage.out]).toEqual([2, '']);
    expect(usage.err).toMatch(/Usage: npm run -s token/);
    const refused = await run(['--role', 'ops'], fakeFetch([new TypeError('fetch failed')]).fetchImpl);
    expect([refused.code, refused.out]).toEqual([1, '']);
    expect(refused.err).toMatch(/^token: No local server answers/);
    const noAws = await run(['--role', 'ops', '--stage', 'sandbox'], fakeFetch([]).fetchImpl);
    expect([noAws.code, noAws.err]).toEqual([1, 'token: no AWS here\n']);
  });

  it('uses the sandbox flow with --stage sandbox', async () => {
    const { access } = fakeAws([json(200, { access_token: 'pool-jwt', expires_in: 3600 })]);
    expect(await run(['--role', 'ops', '--stage', 'sandbox'], fakeFetch([]).fetchImpl, access)).toEqual({ code: 0, out: 'pool-jwt\n', err: '' });
  });
});
