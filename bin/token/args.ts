import { parseArgs } from 'node:util';
import type { TokenRole } from '../../shared/http/token-claims.js';
import { defaultRegion, stackNameOf } from '../../infra/outputs.js';

/** What a token is asked for: the fields of `POST /local/token` (api.md). */
export interface TokenRequest {
  role: TokenRole;
  provinceCode?: string;
  personalId?: string;
  /** Local only: the sandbox pool's tokens have the client id as `sub`. */
  sub?: string;
}

export type TokenArgs =
  | { mode: 'help' }
  | { mode: 'local'; url: string; request: TokenRequest; json: boolean }
  | { mode: 'sandbox'; stage: 'sandbox'; stackName: string; region: string; request: TokenRequest; json: boolean };

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const TOKEN_USAGE = `Usage: npm run -s token -- --role <province|approver|beneficiary|ops> [options]

Prints a bearer token for the role on stdout (nothing else), so that
  TOKEN=$(npm run -s token -- --role province --province 79)
works. Locally it asks a running local server (npm start); with --stage
sandbox it asks the deployed sandbox's user pool.

  --role ROLE          province, approver, beneficiary or ops (required)
  --province CODE      two-digit province (province: required; approver: required with --stage)
  --personal-id ID     12-digit personal ID (beneficiary: required)
  --sub SUB            local only: the token's subject (default: generated)
  --url URL            local server (default http://localhost:3000, or SP_URL)
  --stage sandbox      a deployed sandbox: reads the stack's outputs and the client's
                       secret with your AWS credentials, then asks the pool (client credentials)
  --region REGION      with --stage (default AWS_REGION, else ${defaultRegion})
  --json               print the whole answer { accessToken, tokenType, expiresIn }
  --help`;

const ROLES: readonly TokenRole[] = ['province', 'approver', 'beneficiary', 'ops'];

/** Parses the command line; throws UsageError with the reason. */
export function parseTokenArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): TokenArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        role: { type: 'string' },
        province: { type: 'string' },
        'personal-id': { type: 'string' },
        sub: { type: 'string' },
        url: { type: 'string' },
        stage: { type: 'string' },
        region: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return { mode: 'help' };

  const role = values.role;
  if (!role) throw new UsageError('--role is required.');
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got "${role}".`);
  const request: TokenRequest = { role: role as TokenRole };
  const deployed = values.stage !== undefined;

  if (values.province !== undefined) {
    if (!/^\d{2}$/.test(values.province)) throw new UsageError(`--province must be two digits, got "${values.province}".`);
    if (role === 'beneficiary' || role === 'ops') throw new UsageError(`--province is for the province and approver roles, not ${role}.`);
    request.provinceCode = values.province;
  } else if (role === 'province' || (role === 'approver' && deployed)) {
    throw new UsageError(`--province is required for the ${role} role${deployed && role === 'approver' ? ' with --stage (each province has its own approver client)' : ''}.`);
  }
  if (values['personal-id'] !== undefined) {
    if (role !== 'beneficiary') throw new UsageError('--personal-id is for the beneficiary role.');
    if (!/^\d{12}$/.test(values['personal-id'])) throw new UsageError('--personal-id must be 12 digits.');
    request.personalId = values['personal-id'];
  } else if (role === 'beneficiary') {
    throw new UsageError('--personal-id is required for the beneficiary role.');
  }

  if (deployed) {
    if (values.stage !== 'sandbox') {
      throw new UsageError(`--stage ${values.stage}: only the sandbox's identity provider is created by the stack; prod's tokens come from the national identity provider.`);
    }
    if (values.url !== undefined) throw new UsageError('--url is for the local server; with --stage the pool is found from the stack outputs.');
    if (values.sub !== undefined) throw new UsageError("--sub is local only: a sandbox token's subject is its client's id.");
    return {
      mode: 'sandbox',
      stage: 'sandbox',
      stackName: stackNameOf('sandbox'),
      region: values.region ?? env.AWS_REGION ?? defaultRegion,
      request,
      json: values.json,
    };
  }
  if (values.region !== undefined) throw new UsageError('--region is for --stage sandbox.');
  if (values.sub !== undefined) {
    if (values.sub.trim() === '') throw new UsageError('--sub must not be empty.');
    request.sub = values.sub;
  }
  const url = (values.url ?? env.SP_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/]+/.test(url)) throw new UsageError(`--url must be an http(s) URL, got "${url}".`);
  return { mode: 'local', url, request, json: values.json };
}
