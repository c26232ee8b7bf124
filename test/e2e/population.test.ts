import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, personalIdFor } from '../support/api-client.js';
import { startLocalServer, tokenFor, type RunningServer } from '../support/local-server.js';

/**
 * POST /local/population over HTTP on the real local server (api.md, "Local
 * server only"), and the seeded sandbox register. Whether a person is in the
 * register is observed as a beneficiary would: by linking an account, which
 * checks the person against the register.
 */

let server: RunningServer;
let local: ReturnType<typeof apiClient>;

interface ProblemBody {
  code: string;
  status: number;
  errors?: { index?: number; path: string; code: string; message: string }[];
}

/** Links an account for the person as the person; the answer says what the register knows. */
async function link(personalId: string, accountName: string) {
  const beneficiary = apiClient(server.url, await tokenFor(server.url, { role: 'beneficiary', personalId }));
  return beneficiary.call<ProblemBody>('PUT', `/v1/accounts/${personalId}`, {
    json: { provider: { type: 'BANK', code: '970436' }, accountNumber: '0123456789', accountName },
  });
}

const registerCode = (answer: Awaited<ReturnType<typeof link>>) => (answer.status === 200 ? 'LINKED' : answer.body.errors?.[0]?.code);

beforeAll(async () => {
  server = await startLocalServer();
  local = apiClient(server.url);
});

afterAll(async () => {
  if (process.env.SHOW_SERVER_LOG) console.log(server.output());
  await server?.stop();
});

describe('the seeded sandbox register', () => {
  it('knows the documented sandbox people from the start', async () => {
    expect(registerCode(await link('079185000001', 'NGUYEN THI ANH'))).toBe('LINKED');
    expect(registerCode(await link('048060000003', 'Đặng Văn Đức'))).toBe('LINKED');
    expect(registerCode(await link('001048000002', 'Trần Văn Bình'))).toBe('DECEASED');
    expect(registerCode(await link('031195000008', 'Dương Thị Uyên'))).toBe('ACCOUNT_NAME_MISMATCH');
    expect(registerCode(await link('079185999999', 'Nguyễn Thị Ánh'))).toBe('ID_NOT_FOUND');
  });
});

describe('POST /local/population', () => {
  it('adds people (200 with the count), who are then known to the register', async () => {
    const lan = { personalId: personalIdFor('079', '1950-04-12', 'F', 610001), fullName: 'Nguyễn Thị Lan', dateOfBirth: '1950-04-12', gender: 'F' };
    const quy = {
      personalId: personalIdFor('001', '2003-01-31', 'M', 610002),
      fullName: 'Lý Văn Quý',
      dateOfBirth: '2003-01-31',
      gender: 'M',
      dateOfDeath: '2025-12-01',
    };
    expect(registerCode(await link(lan.personalId, lan.fullName))).toBe('ID_NOT_FOUND');

    const added = await local.post<{ added: number }>('/local/population', { citizens: [lan, quy] });

    expect(added.status).toBe(200);
    expect(added.body).toEqual({ added: 2 });
    expect(added.headers.get('x-request-id')).toBeTruthy();
    expect(registerCode(await link(lan.personalId, 'NGUYEN THI LAN'))).toBe('LINKED');
    expect(registerCode(await link(quy.personalId, quy.fullName))).toBe('DECEASED');
  });

  it('replaces a person added again (an upsert, still 200)', async () => {
    const person = { personalId: personalIdFor('048', '1962-06-06', 'M', 610003), fullName: 'Bùi Văn Sơn', dateOfBirth: '1962-06-06', gender: 'M' };
    await local.post('/local/population', { citizens: [person] });

    const again = await local.post<{ added: number }>('/local/population', { citizens: [{ ...person, fullName: 'Bùi Hữu Sơn' }] });

    expect(again.status).toBe(200);
    expect(again.body).toEqual({ added: 1 });
    expect(registerCode(await link(person.personalId, 'Bùi Văn Sơn'))).toBe('ACCOUNT_NAME_MISMATCH');
    expect(registerCode(await link(person.personalId, 'Bùi Hữu Sơn'))).toBe('LINKED');
  });

  it('answers 422 listing every bad citizen, and adds nobody', async () => {
    const good = { personalId: personalIdFor('079', '1960-02-02', 'F', 610004), fullName: 'Trần Thị Hạnh', dateOfBirth: '1960-02-02', gender: 'F' };
    const badDate = { ...good, personalId: personalIdFor('079', '1960-02-02', 'F', 610005), dateOfBirth: '1960-02-30' };
    const shortId = { ...good, personalId: good.personalId.slice(1) };

    const answer = await local.post<ProblemBody>('/local/population', { citizens: [good, badDate, shortId] });

    expect(answer.status).toBe(422);
    expect(answer.headers.get('content-type')).toContain('application/problem+json');
    expect(answer.body.code).toBe('VALIDATION_FAILED');
    expect(answer.body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ index: 1, path: 'citizens[1].dateOfBirth' }),
        expect.objectContaining({ index: 2, path: 'citizens[2].personalId' }),
      ]),
    );
    expect(answer.body.errors!.some((error) => error.index === 0)).toBe(false);
    // Nothing submitted is echoed back.
    expect(answer.text).not.toContain(good.personalId);
    expect(answer.text).not.toContain(shortId.personalId);
    expect(registerCode(await link(good.personalId, good.fullName))).toBe('ID_NOT_FOUND');
  });

  it.each([
    ['no citizens', {}],
    ['an empty list', { citizens: [] }],
    ['an unknown field', { citizens: [], extra: true }],
    ['a death before the birth', { citizens: [{ personalId: personalIdFor('079', '1960-02-02', 'F', 610006), fullName: 'A', dateOfBirth: '1960-02-02', gender: 'F', dateOfDeath: '1959-01-01' }] }],
  ])('answers 422 for %s', async (_name, body) => {
    const answer = await local.post<ProblemBody>('/local/population', body);

    expect(answer.status).toBe(422);
    expect(answer.body.code).toBe('VALIDATION_FAILED');
    expect(answer.body.errors!.length).toBeGreaterThan(0);
  });

  it('answers 415 for a body that is not JSON (CSV, or JSON sent as text/plain), and adds nobody', async () => {
    const person = { personalId: personalIdFor('079', '1970-07-07', 'M', 610007), fullName: 'Phạm Văn Dũng', dateOfBirth: '1970-07-07', gender: 'M' };

    const answer = await local.postCsv<ProblemBody>('/local/population', 'personalId,fullName\n');
    const sent = await fetch(`${server.url}/local/population`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ citizens: [person] }),
    });

    expect(answer.status).toBe(415);
    expect(answer.headers.get('content-type')).toContain('application/problem+json');
    expect(answer.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(sent.status).toBe(415);
    expect(registerCode(await link(person.personalId, person.fullName))).toBe('ID_NOT_FOUND');
  });

  it('answers 400 for a JSON body that does not parse', async () => {
    const answer = await fetch(`${server.url}/local/population`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"citizens": [' });

    expect(answer.status).toBe(400);
  });
});
