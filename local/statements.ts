import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { createDocumentClient } from '../shared/adapters/dynamodb/client.js';
import { callbackSignature } from '../shared/app/callbacks.js';
import type { Statement, StatementLine } from '../shared/domain/statement.js';
import { parseOrThrow } from '../shared/domain/validation.js';
import { readJson, type ApiEvent } from '../shared/http/api-handler.js';
import type { LocalRoute } from './http-server.js';

/**
 * The sandbox provider's settlement statement of a day (local server only):
 * `POST /local/statements { providerCode, valueDate, submit? }` builds the
 * statement from what the sandbox provider booked that day (every transfer it
 * accepted and settled at once, by the day of its booking), and with `submit`
 * posts it, signed as the provider would, to this server's own statement route,
 * answering what the import found. So the demo and a newcomer can see the loop
 * closed. A Scan of the sandbox provider's own table: fine for a sandbox.
 */

const requestSchema = z.strictObject({
  providerCode: z.string().regex(/^[A-Z0-9]{2,32}$/),
  valueDate: z.iso.date(),
  submit: z.boolean().optional(),
});

export function sandboxStatementRoute(options: { endpoint: string; tableName: string; providerSecret: string; baseUrl: () => string }): LocalRoute {
  const client = createDocumentClient(options.endpoint);

  async function statementOf(providerCode: string, valueDate: string): Promise<Statement> {
    const providerOf = new Map<string, string>();
    const booked: { reference: string; amount: number; at: string; paid: boolean }[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: options.tableName, ExclusiveStartKey: start, ConsistentRead: true }));
      for (const item of page.Items ?? []) {
        const pk = String(item.pk);
        if (pk.startsWith('INSTRUCTION#')) providerOf.set(String(item.reference), String(item.providerCode));
        if (pk.startsWith('TRANSFER#') && item.accepted === true) {
          booked.push({ reference: String(item.reference), amount: Number(item.amount), at: String(item.at), paid: (item.outcome as { status?: string } | undefined)?.status === 'PAID' });
        }
      }
      start = page.LastEvaluatedKey;
    } while (start);
    const lines: StatementLine[] = booked
      .filter((transfer) => transfer.paid && transfer.at.startsWith(valueDate) && providerOf.get(transfer.reference) === providerCode)
      .sort((a, b) => (a.at < b.at ? -1 : 1))
      .map((transfer) => ({ transferRef: transfer.reference, amount: transfer.amount, status: 'SETTLED' }));
    return { statementId: `SANDBOX-${providerCode}-${valueDate}`, valueDate, lines };
  }

  return {
    method: 'POST',
    path: '/local/statements',
    handle: async (event: ApiEvent) => {
      const request = parseOrThrow(requestSchema, readJson(event));
      const statement = await statementOf(request.providerCode, request.valueDate);
      if (!request.submit) return { statusCode: 200, body: { statement } };
      const raw = JSON.stringify(statement);
      const timestamp = String(Math.floor(Date.now() / 1000));
      const answer = await fetch(`${options.baseUrl()}/v1/providers/${request.providerCode}/statements`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-timestamp': timestamp, 'x-signature': callbackSignature(options.providerSecret, timestamp, raw) },
        body: raw,
      });
      return { statusCode: 200, body: { statement, imported: { status: answer.status, body: (await answer.json()) as unknown } } };
    },
  };
}
