import { isConditionFailure } from '../dynamodb/conditions.js';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ProviderTransientError, type PaymentProvider, type TransferInstruction, type TransferOutcome } from '../../ports/payment-provider.js';

/**
 * The sandbox payment provider of api.md: it decides by the last four
 * characters of the account number, and keeps a ledger of the transfers it
 * accepted, deduplicated by reference like a real bank (so tests can count
 * exactly how many times each payment was paid).
 *
 * 0000 FAILED ACCOUNT_CLOSED · 0001 FAILED ACCOUNT_NOT_FOUND · 9990 fails
 * transiently twice, then PAID · 9999 fails transiently every time · 5555
 * accepted, not settled (SENT until a callback) · anything else PAID at once.
 */
export class SandboxPaymentProvider implements PaymentProvider {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private async attempt(reference: string): Promise<number> {
    const result = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `ATTEMPTS#${reference}` },
        UpdateExpression: 'ADD attempts :one',
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(result.Attributes?.attempts ?? 1);
  }

  async send(instruction: TransferInstruction): Promise<TransferOutcome> {
    // No lookup first: the conditional put below is the deduplication (one request per new transfer),
    // and a repeated reference reads the first outcome back.
    const suffix = instruction.accountNumber.slice(-4);
    if (suffix === '9999') {
      await this.attempt(instruction.reference);
      throw new ProviderTransientError('Sandbox provider: temporarily unavailable (account ending 9999 always fails).');
    }
    if (suffix === '9990' && (await this.attempt(instruction.reference)) <= 2) {
      throw new ProviderTransientError('Sandbox provider: temporarily unavailable (account ending 9990 fails twice).');
    }
    const outcome: TransferOutcome =
      suffix === '0000'
        ? { status: 'FAILED', reasonCode: 'ACCOUNT_CLOSED' }
        : suffix === '0001'
          ? { status: 'FAILED', reasonCode: 'ACCOUNT_NOT_FOUND' }
          : suffix === '5555'
            ? { status: 'SENT' }
            : { status: 'PAID', settledAt: this.now().toISOString() };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `TRANSFER#${instruction.reference}`,
            reference: instruction.reference,
            amount: instruction.amount,
            accepted: outcome.status !== 'FAILED',
            outcome,
            at: this.now().toISOString(),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return outcome;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // The reference was sent before (a redelivery) or twice at once: the first one recorded wins.
      const first = await this.lookup(instruction.reference);
      if (!first) throw error;
      return first;
    }
  }

  async lookup(reference: string): Promise<TransferOutcome | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `TRANSFER#${reference}` }, ConsistentRead: true }),
    );
    return result.Item?.outcome as TransferOutcome | undefined;
  }
}
