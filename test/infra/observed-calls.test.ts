/**
 * Deployed permissions, proven from observed calls. The local server runs
 * every handler in one process with every variable and no IAM, so a grant or
 * a variable missing from infra/wiring.ts would first show in the cloud. Here
 * the local server records, per function, every AWS call its code makes and
 * every variable it reads (local/function-context.ts), while the README
 * walk-through and a few more requests drive it through every function; then
 * each call is checked against that function's role in the synthesized
 * sandbox template (action and resource, and the KMS key use the service
 * needs on the caller's behalf), and each variable against its environment.
 *
 * The recording run is this file's own (no dependence on other test files):
 * the local server in the deployed shape for secrets, i.e. no development
 * pepper or provider secret but HASH_PEPPER_SECRET_ARN and
 * PROVIDER_SECRETS_ARN, answered by a Secrets Manager stub on loopback, so
 * that the secret reads are checked too. To check another recording instead
 * (the e2e suites run with AWS_CALL_RECORD_FILE=<file>), pass
 * AWS_CALL_RECORDS=<file>[,<file>...]: then no server is started.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiClient, expectStatus, PEOPLE, runWalkthrough, waitFor, type Api } from '../../bin/smoke/walkthrough.js';
import { localToken } from '../../bin/token/flows.js';
import type { TokenRequest } from '../../bin/token/args.js';
import { tableDefinitions, type TableKey } from '../../shared/adapters/dynamodb/tables.js';
import { queueDefinitions, type QueueKey } from '../../shared/adapters/sqs/queues.js';
import { callbackSignature } from '../../shared/app/callbacks.js';
import { httpFunctionNames } from '../../shared/http/routes.js';
import { secretDefinitions, type SecretKey } from '../../infra/constructs/app-secrets.js';
import { sandboxTokenClaimsFunction } from '../../infra/wiring.js';
import { startLocalServer } from '../support/local-server.js';
import {
  allows,
  exercisedFunctions,
  needsOf,
  notFromTheStack,
  parseRecords,
  render,
  type FunctionRecord,
  type Need,
  type PolicyStatement,
  type ResourceLocator,
  type TouchedResource,
} from '../support/deployed-permissions.js';
import { functionPolicyStatements, must, synthStage, type SynthesizedStage } from './support.js';

/** Functions of the stack the local server never runs, and what covers them instead. */
const notRunLocally: Record<string, string> = {
  'register-events-consumer':
    "runs only when the population register pushes to its queue (the register's integration, not the local flow); it runs the register-events function's use case, whose calls are observed here, and test/e2e/personal-data.test.ts drives it through the local queue",
  [sandboxTokenClaimsFunction]: 'the sandbox user pool trigger: locally POST /local/token stands in for Cognito; unit-tested (test/unit/http/token-claims.test.ts) and loaded with its own variables by test/infra/cold-start.test.ts',
  'webhook-exhausted':
    'the webhook dead-letter consumer runs only when the worker itself cannot work (a failed attempt is re-queued by the worker, not dead-lettered): unit-tested (test/unit/app/webhooks.test.ts), loaded with its own variables by test/infra/cold-start.test.ts; its role is the worker\'s (readUpdate on the core table, send to the webhook queue)',
};

const SECRET_VALUES = {
  pepper: 'observed-calls-pepper-not-secret-0123456789',
  providerCallbacks: JSON.stringify({ '970436': 'observed-calls-callback-secret-01', VIETTELMONEY: 'observed-calls-callback-secret-02' }),
  registerEvents: JSON.stringify({ secret: 'observed-calls-register-secret-01' }),
};
const secretArn = (name: string) => `arn:aws:secretsmanager:ap-southeast-1:000000000000:secret:observed-${name}`;

/** Secrets Manager on loopback: GetSecretValue (JSON 1.1) for the two ARNs above. */
async function startSecretsStub(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const values = new Map([
    [secretArn('pepper'), SECRET_VALUES.pepper],
    [secretArn('provider-callbacks'), SECRET_VALUES.providerCallbacks],
    [secretArn('register-events'), SECRET_VALUES.registerEvents],
  ]);
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const { SecretId = '' } = JSON.parse(body || '{}') as { SecretId?: string };
      const value = values.get(SecretId);
      response.setHeader('content-type', 'application/x-amz-json-1.1');
      if (value === undefined || request.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
        response.statusCode = 400;
        response.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: 'stub: unknown secret' }));
        return;
      }
      response.end(JSON.stringify({ ARN: SecretId, Name: SecretId, SecretString: value, VersionId: 'v1', VersionStages: ['AWSCURRENT'], CreatedDate: 1_700_000_000 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** People only this run uses (IDs consistent with birth year and gender), with the sandbox provider behaviour their account selects. */
const SETTLED_BY_CALLBACK = { personalId: '079152440001', fullName: 'Hồ Thị Sương', dateOfBirth: '1952-06-01', gender: 'F', account: '1903445555' } as const;
const ALWAYS_FAILING = { personalId: '079058440002', fullName: 'Lý Văn Tâm', dateOfBirth: '1958-09-09', gender: 'M', account: '1903449999' } as const;

/**
 * What the walk-through leaves out, so that every function and most of their
 * operations run: catalogues, batch lists, a CSV chunk appended and sealed, a
 * cancelled batch, account reads and an unlink, a payment settled by a signed
 * provider callback, and one that fails every attempt until the dead-letter
 * consumer ends it FAILED RETRIES_EXHAUSTED.
 */
async function moreRequests(api: Api, token: (request: TokenRequest) => Promise<string>, period: string): Promise<void> {
  const province = await token({ role: 'province', provinceCode: '79', sub: 'observed-maker' });
  const approver = await token({ role: 'approver', provinceCode: '79', sub: 'observed-checker' });
  expectStatus(await api('GET', '/v1/providers', { token: province }), 200, 'providers');
  // Issue 15: the province's webhook (a loopback port nothing answers on: attempts fail and are retried), its log, a
  // redelivery; G2P Connect: a synchronous disburse, its status, a mapper resolve and a refused link.
  expectStatus(await api('PUT', '/v1/webhook', { token: province, json: { url: 'http://127.0.0.1:9/observed' } }), 200, 'webhook');
  expectStatus(await api('GET', '/v1/webhook', { token: province }), 200, 'webhook read');
  const g2pHeader = (action: string) => ({ version: '1.0.0', message_id: `observed-${action}`, message_ts: new Date().toISOString(), action, sender_id: 'observed.example', total_count: 1 });
  const transactionId = `observed-g2p-${period}`;
  expectStatus(
    await api('POST', '/g2p/v1/disburse/sync/disburse', {
      token: province,
      json: {
        signature: '',
        header: g2pHeader('disburse'),
        message: {
          transaction_id: transactionId,
          disbursements: [{ reference_id: 'G1', payer_fa: `program:SOCIAL_ALLOWANCE.${period}@observed`, payee_fa: `pid:${PEOPLE.binh.personalId}`, amount: '400000', payee_name: PEOPLE.binh.fullName, payee_dob: PEOPLE.binh.dateOfBirth }],
        },
      },
    }),
    200,
    'g2p disburse',
  );
  expectStatus(
    await api('POST', '/g2p/v1/disburse/sync/txn/status', {
      token: province,
      json: { signature: '', header: g2pHeader('status'), message: { transaction_id: 'observed-s', txnstatus_request: { reference_id: 'S1', txn_type: 'disburse', attribute_type: 'transaction_id', attribute_value: transactionId } } },
    }),
    200,
    'g2p status',
  );
  expectStatus(
    await api('POST', '/g2p/v1/mapper/sync/resolve', {
      token: province,
      json: { signature: '', header: g2pHeader('resolve'), message: { transaction_id: 'observed-r', resolve_request: [{ reference_id: 'R1', timestamp: new Date().toISOString(), id: `pid:${PEOPLE.binh.personalId}` }] } },
    }),
    200,
    'g2p resolve',
  );
  expectStatus(await api('POST', '/g2p/v1/mapper/sync/link', { token: province, json: { signature: '', header: g2pHeader('link'), message: {} } }), 200, 'g2p link');
  expectStatus(await api('GET', `/v1/batches?period=${period}`, { token: province }), 200, 'batch list');

  // A batch uploaded as CSV in a chunk, then sealed; another cancelled while open.
  const open = expectStatus(
    await api<{ batchId: string }>('POST', '/v1/batches', {
      token: province,
      json: { batchRef: `observed-csv-${period}`, provinceCode: '79', programCode: 'SOCIAL_ALLOWANCE', period, control: { itemCount: 1, totalAmount: 400000 } },
    }),
    201,
    'open batch',
  );
  const csv = `paymentRef,personalId,fullName,dateOfBirth,gender,amount\nC1,${PEOPLE.binh.personalId},${PEOPLE.binh.fullName},${PEOPLE.binh.dateOfBirth},M,400000\n`;
  expectStatus(await api('POST', `/v1/batches/${open.batchId}/payments`, { token: province, body: csv, headers: { 'content-type': 'text/csv' } }), 200, 'CSV chunk');
  expectStatus(await api('POST', `/v1/batches/${open.batchId}/seal`, { token: province }), 200, 'seal');
  const doomed = expectStatus(
    await api<{ batchId: string }>('POST', '/v1/batches', {
      token: province,
      json: { batchRef: `observed-cancel-${period}`, provinceCode: '79', programCode: 'SOCIAL_ALLOWANCE', period, control: { itemCount: 1, totalAmount: 400000 } },
    }),
    201,
    'batch to cancel',
  );
  expectStatus(await api('POST', `/v1/batches/${doomed.batchId}/cancel`, { token: province }), 200, 'cancel');

  // Two people whose accounts the sandbox provider settles late (5555) or never (9999).
  expectStatus(
    await api('POST', '/local/population', {
      json: { citizens: [SETTLED_BY_CALLBACK, ALWAYS_FAILING].map(({ personalId, fullName, dateOfBirth, gender }) => ({ personalId, fullName, dateOfBirth, gender })) },
    }),
    200,
    'population',
  );
  for (const person of [SETTLED_BY_CALLBACK, ALWAYS_FAILING]) {
    const own = await token({ role: 'beneficiary', personalId: person.personalId });
    expectStatus(
      await api('PUT', `/v1/accounts/${person.personalId}`, {
        token: own,
        json: { provider: { type: 'BANK', code: '970436' }, accountNumber: person.account, accountName: person.fullName },
      }),
      [200, 201],
      'link',
    );
    expectStatus(await api('GET', '/v1/me/account', { token: own }), 200, 'own account');
  }
  // A province reads and unlinks on a person's behalf (accounts:write, with a consent reference).
  expectStatus(await api('GET', `/v1/accounts/${PEOPLE.anh.personalId}`, { token: province }), 200, 'account read by the province');
  expectStatus(await api('DELETE', `/v1/accounts/${PEOPLE.anh.personalId}?consentRef=observed-consent-1`, { token: province }), [200, 204], 'unlink');

  const batch = expectStatus(
    await api<{ batchId: string }>('POST', '/v1/batches', {
      token: province,
      json: {
        batchRef: `observed-late-${period}`,
        provinceCode: '79',
        programCode: 'SOCIAL_ALLOWANCE',
        period,
        control: { itemCount: 2, totalAmount: 1000000 },
        payments: [SETTLED_BY_CALLBACK, ALWAYS_FAILING].map((person, index) => ({
          paymentRef: `L${index + 1}`,
          personalId: person.personalId,
          fullName: person.fullName,
          dateOfBirth: person.dateOfBirth,
          gender: person.gender,
          amount: 500000,
        })),
      },
    }),
    201,
    'batch settled late',
  );
  await waitFor(
    'late batch awaits approval',
    async () => expectStatus(await api<{ status: string }>('GET', `/v1/batches/${batch.batchId}`, { token: province }), 200, 'batch'),
    (b) => b.status === 'AWAITING_APPROVAL',
    (b) => b.status,
    60_000,
  );
  expectStatus(await api('POST', `/v1/batches/${batch.batchId}/approve`, { token: approver }), 200, 'approve late batch');
  const deliveries = expectStatus(await api<{ items: { eventId: string }[] }>('GET', '/v1/webhook/deliveries', { token: province }), 200, 'webhook deliveries');
  const firstEvent = must(deliveries.items[0], 'a webhook delivery').eventId;
  expectStatus(await api('POST', `/v1/webhook/deliveries/${firstEvent}/redeliver`, { token: province }), 202, 'redeliver');
  const payments = async () =>
    new Map(
      expectStatus(await api<{ items: { paymentRef: string; paymentId: string; status: string; reasonCode: string | null }[] }>('GET', `/v1/batches/${batch.batchId}/payments`, { token: province }), 200, 'payments').items.map(
        (p) => [p.paymentRef, p],
      ),
    );
  const sent = await waitFor('L1 is SENT', payments, (ps) => ps.get('L1')?.status === 'SENT', (ps) => [...ps.values()].map((p) => `${p.paymentRef} ${p.status}`).join(', '), 60_000);
  const body = JSON.stringify({ transferRef: must(sent.get('L1'), 'L1').paymentId, outcome: 'PAID', settledAt: new Date().toISOString() });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const secret = (JSON.parse(SECRET_VALUES.providerCallbacks) as Record<string, string>)['970436']!;
  expectStatus(
    await api('POST', '/v1/provider-callbacks/970436', {
      body,
      headers: { 'content-type': 'application/json', 'x-timestamp': timestamp, 'x-signature': callbackSignature(secret, timestamp, body) },
    }),
    200,
    'signed callback',
  );
  await waitFor(
    'L1 PAID by the callback, L2 FAILED RETRIES_EXHAUSTED through the dead-letter queue',
    payments,
    (ps) => ps.get('L1')?.status === 'PAID' && ps.get('L2')?.status === 'FAILED' && ps.get('L2')?.reasonCode === 'RETRIES_EXHAUSTED',
    (ps) => [...ps.values()].map((p) => `${p.paymentRef} ${p.status} ${p.reasonCode ?? ''}`).join(', '),
    90_000,
  );
  const one = must(sent.get('L1'), 'L1').paymentId;
  expectStatus(await api('GET', `/v1/payments/${one}`, { token: province }), 200, 'one payment');

  // A death registered (issue 16), signed with the register's secret: cancels, unlinks, prepares a funeral batch.
  const registerSecret = (JSON.parse(SECRET_VALUES.registerEvents) as { secret: string }).secret;
  const deathBody = JSON.stringify({
    eventId: `observed-${Date.now()}`,
    type: 'DEATH_REGISTERED',
    personalId: SETTLED_BY_CALLBACK.personalId,
    dateOfDeath: '2001-01-01',
    registeredAt: '2001-01-02T00:00:00Z',
    funeral: { arrangerPersonalId: ALWAYS_FAILING.personalId, arrangerName: ALWAYS_FAILING.fullName, provinceCode: '79' },
  });
  const deathAt = String(Math.floor(Date.now() / 1000));
  expectStatus(
    await api('POST', '/v1/register-events', { body: deathBody, headers: { 'content-type': 'application/json', 'x-timestamp': deathAt, 'x-signature': callbackSignature(registerSecret, deathAt, deathBody) } }),
    202,
    'register event',
  );
}

/** The dedicated recording run: a local server recording to a file, driven through every function. */
async function recordRun(): Promise<FunctionRecord[]> {
  const dir = mkdtempSync(join(tmpdir(), 'observed-calls-'));
  const file = join(dir, 'records.jsonl');
  const secrets = await startSecretsStub();
  const server = await startLocalServer({
    AWS_CALL_RECORD_FILE: file,
    // The deployed shape for secrets: no development values, ARNs read through Secrets Manager.
    HASH_PEPPER: '',
    HASH_PEPPER_SECRET_ARN: secretArn('pepper'),
    PROVIDER_SECRETS_ARN: secretArn('provider-callbacks'),
    REGISTER_SECRET_ARN: secretArn('register-events'),
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    // A message failing every time reaches the dead-letter queue in seconds.
    LOCAL_VISIBILITY_TIMEOUT_SECONDS: '1',
    LOG_LEVEL: 'ERROR',
  });
  try {
    const tokens = async (request: TokenRequest) => (await localToken(server.url, request)).accessToken;
    const walk = await runWalkthrough({ baseUrl: server.url, tokens, waitMs: 60_000 });
    const failed = walk.steps.find((step) => step.status === 'FAIL');
    if (failed) throw new Error(`walk-through step "${failed.name}" failed: ${failed.detail}\n${server.output().slice(-3000)}`);
    const api = apiClient(server.url);
    const period = `20${String(10 + Math.floor(Math.random() * 10))}-0${1 + Math.floor(Math.random() * 9)}`;
    await moreRequests(api, tokens, period);
  } finally {
    await server.stop();
    await secrets.stop();
  }
  const records = parseRecords(readFileSync(file, 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  return records;
}

describe('deployed permissions, proven from the calls observed locally (sandbox template)', () => {
  let synth: SynthesizedStage;
  let records: FunctionRecord[];
  const given = process.env.AWS_CALL_RECORDS;

  beforeAll(async () => {
    synth = synthStage('sandbox');
    const recorded = given
      ? given
          .split(',')
          .filter(Boolean)
          .flatMap((file) => parseRecords(readFileSync(file, 'utf8')))
      : await recordRun();
    // Each server process writes each record once; several processes (the e2e suites) repeat them.
    records = [...new Map(recorded.map((record) => [JSON.stringify(record), record])).values()];
  }, 240_000);

  const functionId = (name: string) => synth.stack.getLogicalId(synth.stack.fn(name).function.node.defaultChild as CfnElement);
  const resources = () => synth.template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
  /** The logical id in the template (resolved: the secrets override theirs). */
  const idOf = (element: unknown) => synth.stack.resolve((element as CfnElement).logicalId) as string;

  const locator = (): ResourceLocator => ({
    region: '<AWS::Region>',
    locate(resource: TouchedResource) {
      if (!resource.variable) return `${resource.type} ${'name' in resource ? resource.name : 'url' in resource ? resource.url : resource.id} is named by no variable of the local server`;
      if (resource.type === 'table') {
        const key = (Object.keys(tableDefinitions) as TableKey[]).find((k) => tableDefinitions[k].envVar === resource.variable);
        if (!key || !synth.stack.tables.has(key)) return `no sandbox table for ${resource.variable}`;
        const id = idOf(synth.stack.tables.table(key).node.defaultChild);
        const replicas = resources()[id]?.Properties.Replicas as { SSESpecification?: { KMSMasterKeyId?: unknown } }[] | undefined;
        const keyArn = replicas?.[0]?.SSESpecification?.KMSMasterKeyId;
        return { arn: `<${id}.Arn>`, keyArn: keyArn === undefined ? undefined : render(keyArn) };
      }
      if (resource.type === 'queue') {
        const key = (Object.keys(queueDefinitions) as QueueKey[]).find((k) => queueDefinitions[k].envVar === resource.variable);
        if (!key) return `no queue for ${resource.variable}`;
        const queue = synth.stack.queues.queue(key)[resource.deadLetter ? 'deadLetterQueue' : 'queue'];
        const id = idOf(queue.node.defaultChild);
        const keyArn = resources()[id]?.Properties.KmsMasterKeyId;
        return { arn: `<${id}.Arn>`, keyArn: keyArn === undefined ? undefined : render(keyArn) };
      }
      const key = (Object.keys(secretDefinitions) as SecretKey[]).find((k) => secretDefinitions[k].envVar === resource.variable);
      if (!key || !synth.stack.secrets.has(key)) return `no sandbox secret for ${resource.variable}`;
      const id = idOf(synth.stack.secrets.secret(key).node.defaultChild);
      const keyArn = resources()[id]?.Properties.KmsKeyId;
      return { arn: `<${id}>`, keyArn: keyArn === undefined ? undefined : render(keyArn) };
    },
  });

  const calls = () => records.filter((r): r is Extract<FunctionRecord, { kind: 'call' }> => r.kind === 'call');
  const reads = () => records.filter((r): r is Extract<FunctionRecord, { kind: 'env' }> => r.kind === 'env');

  it('covers every function of the stack that the local server runs', () => {
    const exercised = exercisedFunctions(records, new Set(httpFunctionNames));
    const functions = [...synth.stack.functions.keys()];
    for (const name of exercised) expect(functions, `${name} recorded but not in the stack`).toContain(name);
    if (given) {
      console.log(`observed calls: the given records exercise ${exercised.size} of the ${functions.length} functions: ${[...exercised].sort().join(', ')}`);
      expect(exercised.size).toBeGreaterThan(0);
      return;
    }
    console.log(`observed calls: ${exercised.size} of the stack's ${functions.length} functions exercised (not run locally: ${Object.keys(notRunLocally).join(', ')})`);
    expect([...exercised].sort()).toEqual(functions.filter((name) => !(name in notRunLocally)).sort());
  });

  it("allows every recorded call in its function's role: the action on the table, index, queue or secret, and the key use on the caller's behalf", () => {
    const problems: string[] = [];
    const checked = new Set<string>();
    for (const call of calls()) {
      if (!synth.stack.functions.has(call.function)) continue;
      const statements = functionPolicyStatements(synth.template, functionId(call.function)) as PolicyStatement[];
      const needs = needsOf(call, locator());
      if (typeof needs === 'string') {
        problems.push(`${call.function} ${call.service}.${call.operation}: ${needs}`);
        continue;
      }
      for (const need of needs) {
        checked.add(`${call.function} ${need.action} ${need.resource}`);
        if (!allows(statements, need)) problems.push(`${call.function} may not ${need.action} on ${need.resource}${need.context ? ` (${JSON.stringify(need.context)})` : ''} (${call.service}.${call.operation})`);
      }
    }
    const functions = new Set(calls().map((c) => c.function));
    console.log(`observed calls: ${checked.size} distinct permission needs (function, action, resource) from ${calls().length} distinct calls of ${functions.size} functions, checked against the sandbox template`);
    expect(problems).toEqual([]);
    expect(checked.size).toBeGreaterThan(given ? 0 : 40);
  });

  it('sets on each function every variable its code read with a value, but for runtime and local-only ones', () => {
    const problems: string[] = [];
    const functions = resources();
    let checked = 0;
    for (const read of reads()) {
      if (!synth.stack.functions.has(read.function)) continue;
      const variables = (functions[functionId(read.function)]?.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      if (read.variable in variables) {
        checked++;
        continue;
      }
      if (notFromTheStack(read.variable)) continue;
      problems.push(`${read.function} reads ${read.variable}, which the stack does not set on it`);
    }
    console.log(`observed calls: ${checked} variable reads found set on their function in the template`);
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(given ? 0 : 30);
  });

  it('would report a call or a variable the role or the template does not allow (the check is not vacuous)', () => {
    const me = functionId('me');
    const statements = functionPolicyStatements(synth.template, me) as PolicyStatement[];
    const core = must(locator().locate({ type: 'table', name: 'x', variable: 'CORE_TABLE_NAME' }), 'core');
    const audit = must(locator().locate({ type: 'table', name: 'x', variable: 'AUDIT_TABLE_NAME' }), 'audit');
    if (typeof core === 'string' || typeof audit === 'string') throw new Error('tables not found');
    const can = (need: Need) => allows(statements, need);
    expect(can({ action: 'dynamodb:Query', resource: `${core.arn}/index/gsi1` })).toBe(true);
    expect(can({ action: 'dynamodb:PutItem', resource: core.arn })).toBe(false);
    expect(can({ action: 'dynamodb:GetItem', resource: audit.arn })).toBe(false);
    expect(can({ action: 'kms:Decrypt', resource: must(core.keyArn, 'key'), context: { 'kms:ViaService': 'dynamodb.<AWS::Region>.amazonaws.com' } })).toBe(true);
    expect(can({ action: 'kms:Decrypt', resource: must(core.keyArn, 'key'), context: { 'kms:ViaService': 'sqs.<AWS::Region>.amazonaws.com' } })).toBe(false);
    expect(notFromTheStack('CORE_TABLE_NAME')).toBeUndefined();
    expect(notFromTheStack('AWS_REGION')).toBeDefined();
  });
});
