import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, personalIdFor } from '../support/api-client.js';
import { startLocalServer, tokenFor, type RunningServer } from '../support/local-server.js';
import { PersonalIdScanner } from '../support/personal-data-scan.js';

/**
 * G2P Connect under /g2p/v1/ over HTTP: a disburse shaped as the
 * specification's (src/disburse v1.0.0: `{ signature, header, message }`,
 * `disbursements` items with reference_id, payer_fa, payee_fa, amount,
 * payee_name, currency_code), its ACK, the on-disburse callbacks to sender_uri,
 * approval in this API, txn/status by transaction_id and by reference, the
 * synchronous variant, and the mapper's resolve, link, unlink and update.
 */

let server: RunningServer;
let receiver: Server;
let receiverUrl: string;
const callbacks: { headers: Record<string, string>; raw: string; body: Envelope }[] = [];

type Status = { reference_id: string; status: string; status_reason_code?: string; instruction?: string; amount: string };
type Envelope = {
  signature: string;
  header: { action: string; status: string; status_reason_code?: string; total_count?: number; completed_count?: number; receiver_id?: string };
  message: {
    transaction_id: string;
    correlation_id?: string;
    disbursements_status?: Status[];
    txnstatus_response?: { txn_type: string; txn_status: { disbursements_status: Status[] } };
    resolve_response?: { reference_id: string; status: string; status_reason_code: string; id?: string; account_provider_info?: { code: string; name: string; additional_info?: string } }[];
  };
};

let counter = 0;
function person(fullName: string) {
  counter += 1;
  const dateOfBirth = `195${counter % 10}-0${1 + (counter % 9)}-1${counter % 9}`;
  return { personalId: personalIdFor('079', dateOfBirth, 'M', 550_000 + counter), fullName, dateOfBirth, gender: 'M' as const };
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A disburse as the specification's example has it, for our people (payee_dob: docs/decisions.md 121). */
function disburseEnvelope(transactionId: string, people: ReturnType<typeof person>[], options: { senderUri?: string; totalCount?: number } = {}) {
  return {
    signature: 'Signature:  namespace="g2p", kidId="{sender_id}|{unique_key_id}|{algorithm}", algorithm="ed25519", created="1606970629", expires="1607030629", headers="(created) (expires) digest", signature="Base64(signing content)',
    header: {
      version: '1.0.0',
      message_id: `msg-${transactionId}`,
      message_ts: new Date().toISOString(),
      action: 'disburse',
      sender_id: 'spp.hcm.example.gov.vn',
      ...(options.senderUri ? { sender_uri: options.senderUri } : {}),
      receiver_id: 'pymts.example.org',
      total_count: options.totalCount ?? people.length,
      is_msg_encrypted: false,
    },
    message: {
      transaction_id: transactionId,
      disbursements: people.map((who, index) => ({
        reference_id: `${transactionId}-${index}`,
        payer_fa: 'program:SOCIAL_ALLOWANCE.2026-08@hcm.social-payments',
        payee_fa: `pid:${who.personalId}@national-id`,
        amount: '500000',
        payer_name: 'Trợ cấp xã hội TP.HCM 2026-08',
        payee_name: who.fullName,
        payee_dob: who.dateOfBirth,
        note: 'Tro cap thang 8',
        currency_code: 'VND',
        locale: 'vi',
      })),
    },
  };
}

function envelope(action: string, message: unknown) {
  return { signature: '', header: { version: '1.0.0', message_id: `msg-${action}-${++counter}`, message_ts: new Date().toISOString(), action, sender_id: 'spp.hcm.example.gov.vn', total_count: 1 }, message };
}

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      if (request.url === '/g2p/on-disburse') callbacks.push({ headers: request.headers as Record<string, string>, raw, body: JSON.parse(raw) as Envelope });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"message":{"ack_status":"ACK"}}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  server = await startLocalServer();
});

afterAll(async () => {
  await server?.stop();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
});

describe('G2P Connect', () => {
  it('disburse -> ACK -> on-disburse (verified) -> approval -> on-disburse (paid) -> txn/status, without personal data in callbacks', async () => {
    const maker = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '79', sub: 'g2p-spp' }));
    const checker = apiClient(server.url, await tokenFor(server.url, { role: 'approver', provinceCode: '79', sub: 'g2p-checker' }));
    const local = apiClient(server.url);
    const people = [person('Ngô Văn Kết Nối'), person('Đỗ Văn Chuẩn')];
    expect((await local.post('/local/population', { citizens: people })).status).toBe(200);
    for (const who of people) {
      const beneficiary = apiClient(server.url, await tokenFor(server.url, { role: 'beneficiary', personalId: who.personalId }));
      expect((await beneficiary.call('PUT', `/v1/accounts/${who.personalId}`, { json: { provider: { type: 'BANK', code: '970436' }, accountNumber: '9876543210', accountName: who.fullName } })).status).toBe(200);
    }
    const transactionId = `G2P-${Date.now()}`;

    // Without a webhook secret there is nothing to sign callbacks with.
    const unsigned = await maker.post<{ code: string; errors: { path: string }[] }>('/g2p/v1/disburse', disburseEnvelope(transactionId, people, { senderUri: `${receiverUrl}/g2p/on-disburse` }));
    expect(unsigned.status).toBe(422);
    expect(unsigned.body.errors[0]?.path).toBe('header.sender_uri');
    const secret = (await maker.call<{ secret: string }>('PUT', '/v1/webhook', { json: { url: `${receiverUrl}/hook` } })).body.secret;
    // A sender_uri the local policy refuses.
    const outside = await maker.post<{ errors: { path: string }[] }>('/g2p/v1/disburse', disburseEnvelope(transactionId, people, { senderUri: 'https://spp.example.org/callback' }));
    expect(outside.status).toBe(422);

    const ack = await maker.post<{ message: { ack_status: string; correlation_id: string } }>('/g2p/v1/disburse', disburseEnvelope(transactionId, people, { senderUri: `${receiverUrl}/g2p/on-disburse` }));
    expect(ack.status).toBe(200);
    expect(ack.body.message.ack_status).toBe('ACK');
    const batchId = ack.body.message.correlation_id;
    // The same transaction again: the same batch, nothing new.
    const again = await maker.post<{ message: { correlation_id: string } }>('/g2p/v1/disburse', disburseEnvelope(transactionId, people, { senderUri: `${receiverUrl}/g2p/on-disburse` }));
    expect(again.body.message.correlation_id).toBe(batchId);

    // A batch of the province under the usual rules: verified, then waiting for a second official.
    const batch = await maker.get<{ batchRef: string; provinceCode: string; control: { itemCount: number; totalAmount: number } }>(`/v1/batches/${batchId}`);
    expect(batch.body).toMatchObject({ batchRef: transactionId, provinceCode: '79', control: { itemCount: 2, totalAmount: 1_000_000 } });
    const verified = await until('on-disburse after verification', () => callbacks.find((callback) => callback.body.message.transaction_id === transactionId));
    expect(verified.body.header).toMatchObject({ action: 'on-disburse', status: 'SUCC', total_count: 2, completed_count: 0, receiver_id: 'spp.hcm.example.gov.vn' });
    expect(verified.body.message.disbursements_status?.map((item) => [item.reference_id, item.status])).toEqual([
      [`${transactionId}-0`, 'PDNG'],
      [`${transactionId}-1`, 'PDNG'],
    ]);
    const expected = createHmac('sha256', secret).update(`${verified.headers['x-timestamp']}.${verified.raw}`).digest('hex');
    expect(verified.headers['x-signature']).toBe(expected);

    expect((await maker.post(`/v1/batches/${batchId}/approve`)).status).toBe(403); // maker-checker holds
    expect((await checker.post(`/v1/batches/${batchId}/approve`)).status).toBe(200);
    const paid = await until('on-disburse after payment', () =>
      callbacks.find((callback) => callback.body.message.transaction_id === transactionId && callback.body.header.completed_count === 2),
    );
    expect(paid.body.message.disbursements_status?.map((item) => item.status)).toEqual(['SUCC', 'SUCC']);
    const scanner = new PersonalIdScanner(people.map((who) => who.personalId), ['9876543210']);
    expect(scanner.scanAll(callbacks.map((callback) => ({ source: 'on-disburse', text: callback.raw })))).toEqual([]);
    for (const who of people) expect(callbacks.some((callback) => callback.raw.includes(who.fullName))).toBe(false);

    // txn/status by the transaction_id, and by reference (the paymentIds the statuses name).
    for (const path of ['/g2p/v1/disburse/txn/status', '/g2p/v1/disburse/sync/txn/status']) {
      const byTransaction = await maker.post<Envelope>(path, envelope('status', { transaction_id: `S-${counter}`, txnstatus_request: { reference_id: 'Q-1', txn_type: 'disburse', attribute_type: 'transaction_id', attribute_value: transactionId } }));
      expect(byTransaction.status).toBe(200);
      expect(byTransaction.body.message.txnstatus_response?.txn_status.disbursements_status.map((item) => item.status)).toEqual(['SUCC', 'SUCC']);
    }
    const references = (paid.body.message.disbursements_status ?? []).map((item) => item.instruction ?? '');
    const byReference = await maker.post<Envelope>('/g2p/v1/disburse/txn/status', envelope('status', { transaction_id: `S-${counter}`, txnstatus_request: { reference_id: 'Q-2', txn_type: 'disburse', attribute_type: 'reference_id_list', attribute_value: [...references, 'paymentId=01KBZ0000000000000000000AB-00abcdefghijklmnopqrst'] } }));
    expect(byReference.body.message.txnstatus_response?.txn_status.disbursements_status.map((item) => item.status)).toEqual(['SUCC', 'SUCC', 'RJCT']);
    // Another province learns nothing of it.
    const other = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '01', sub: 'g2p-other' }));
    expect((await other.post('/g2p/v1/disburse/txn/status', envelope('status', { transaction_id: 'S-x', txnstatus_request: { reference_id: 'Q-3', txn_type: 'disburse', attribute_type: 'transaction_id', attribute_value: transactionId } }))).status).toBe(404);
    const theirs = await other.post<Envelope>('/g2p/v1/disburse/txn/status', envelope('status', { transaction_id: 'S-y', txnstatus_request: { reference_id: 'Q-4', txn_type: 'disburse', attribute_type: 'reference_id_list', attribute_value: references } }));
    expect(theirs.body.message.txnstatus_response?.txn_status.disbursements_status.map((item) => item.status)).toEqual(['RJCT', 'RJCT']);
  });

  it('the synchronous disburse applies the batch rules: control totals from total_count and the sum, fields named as sent', async () => {
    const maker = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '79', sub: 'g2p-sync' }));
    const people = [person('Bùi Văn Đồng Bộ')];
    const transactionId = `G2P-SYNC-${Date.now()}`;
    const mismatch = await maker.post<{ code: string }>('/g2p/v1/disburse/sync/disburse', disburseEnvelope(transactionId, people, { totalCount: 2 }));
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.code).toBe('CONTROL_TOTALS_MISMATCH');
    const bad = disburseEnvelope(transactionId, people);
    bad.message.disbursements[0]!.payee_fa = 'token:12345@national-id';
    const refused = await maker.post<{ code: string; errors: { path: string }[] }>('/g2p/v1/disburse/sync/disburse', bad);
    expect(refused.status).toBe(422);
    expect(refused.body.errors.map((error) => error.path)).toContain('message.disbursements[0].payee_fa');
    const badName = disburseEnvelope(transactionId, people);
    badName.message.disbursements[0]!.payee_name = '   ';
    const named = await maker.post<{ errors: { path: string }[] }>('/g2p/v1/disburse/sync/disburse', badName);
    expect(named.status).toBe(422);
    expect(named.body.errors[0]?.path).toBe('message.disbursements[0].payee_name');
    // Nothing was stored: the transaction_id is free.
    const answered = await maker.post<Envelope>('/g2p/v1/disburse/sync/disburse', disburseEnvelope(transactionId, people));
    expect(answered.status).toBe(200);
    expect(answered.body.header.action).toBe('on-disburse');
    expect(answered.body.message.disbursements_status?.[0]).toMatchObject({ reference_id: `${transactionId}-0`, status: 'RCVD', amount: '500000', currency_code: 'VND' });
  });

  it('mapper: resolve answers linked or not with the provider, masked; link, unlink and update are not supported', async () => {
    const province = apiClient(server.url, await tokenFor(server.url, { role: 'province', provinceCode: '79', sub: 'g2p-mapper' }));
    const linked = person('Trịnh Văn Ánh Xạ');
    const unlinked = person('Mai Văn Chưa');
    // Both live in province 79 by the register: in its care.
    expect((await apiClient(server.url).post('/local/population', { citizens: [{ ...linked, provinceCode: '79' }, { ...unlinked, provinceCode: '79' }] })).status).toBe(200);
    const beneficiary = apiClient(server.url, await tokenFor(server.url, { role: 'beneficiary', personalId: linked.personalId }));
    expect((await beneficiary.call('PUT', `/v1/accounts/${linked.personalId}`, { json: { provider: { type: 'BANK', code: '970436' }, accountNumber: '1122334455', accountName: linked.fullName } })).status).toBe(200);

    const answer = await province.post<Envelope>(
      '/g2p/v1/mapper/sync/resolve',
      envelope('resolve', {
        transaction_id: `R-${Date.now()}`,
        resolve_request: [
          { reference_id: 'R-1', timestamp: new Date().toISOString(), id: `pid:${linked.personalId}`, scope: 'details' },
          { reference_id: 'R-2', timestamp: new Date().toISOString(), fa: `pid:${unlinked.personalId}@national-id` },
          { reference_id: 'R-3', timestamp: new Date().toISOString(), fa: 'token:12345@gtbank' },
        ],
      }),
    );
    expect(answer.status).toBe(200);
    const [first, second, third] = answer.body.message.resolve_response ?? [];
    expect(first).toMatchObject({ reference_id: 'R-1', status: 'SUCC', status_reason_code: 'succ.fa.active', account_provider_info: { code: '970436', additional_info: expect.stringMatching(/^\*+4455$/) } });
    expect(second).toMatchObject({ reference_id: 'R-2', status: 'SUCC', status_reason_code: 'succ.fa.not_found' });
    expect(third).toMatchObject({ reference_id: 'R-3', status: 'RJCT', status_reason_code: 'rjct.id.invalid' });
    expect(new PersonalIdScanner([linked.personalId, unlinked.personalId], ['1122334455']).scan('resolve', answer.text)).toEqual([]);

    for (const action of ['link', 'unlink', 'update']) {
      const refused = await province.post<Envelope>(`/g2p/v1/mapper/sync/${action}`, envelope(action, { transaction_id: 'T-1', [`${action}_request`]: [{ reference_id: 'L-1', id: `pid:${linked.personalId}`, fa: 'account:1@bank' }] }));
      expect(refused.status).toBe(200);
      expect(refused.body.header).toMatchObject({ status: 'RJCT', status_reason_code: 'rjct.action.not_supported' });
    }
  });
});
