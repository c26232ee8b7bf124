import { isConditionFailure } from '../dynamodb/conditions.js';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { ProviderTransientError, type PaymentProvider, type TransferInstruction, type TransferOutcome } from '../../ports/payment-provider.js';

/**
 * The sandbox payment provider of api.md: it decides by the last four
 * characters of the account number, and keeps a ledger of the transfers it
 * accepted, deduplicated by reference like a real bank, and, apart from it, a
 * log of every instruction it received (so tests count what reached the
 * provider without relying on the provider's own deduplication).
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

  /**
   * Every instruction that reaches the provider is written down first, whatever
   * happens next (as a bank's inbound log would): the independent record the
   * crash tests count against, separate from the deduplicating ledger below.
   */
  private async receive(instruction: TransferInstruction): Promise<void> {
    const at = this.now().toISOString();
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: `INSTRUCTION#${instruction.reference}#${at}#${ulid()}`,
          reference: instruction.reference,
          amount: instruction.amount,
          providerCode: instruction.provider.code,
          accountNumber: instruction.accountNumber,
          at,
        },
      }),
    );
  }

  async send(instruction: TransferInstruction): Promise<TransferOutcome> {
    await this.receive(instruction);
    // No lookup first: the conditional write below is the deduplication (one request per new transfer),
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
      // `bookings` counts the transfers booked under this reference: 1 with the deduplicating condition,
      // more for a provider that would book every instruction (what the crash tests must be able to see).
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `TRANSFER#${instruction.reference}` },
          UpdateExpression: 'SET #reference = :reference, amount = :amount, accepted = :accepted, outcome = :outcome, #at = :at ADD bookings :one',
          ConditionExpression: 'attribute_not_exists(pk)',
          ExpressionAttributeNames: { '#at': 'at', '#reference': 'reference' },
          ExpressionAttributeValues: {
            ':reference': instruction.reference,
            ':amount': instruction.amount,
            ':accepted': outcome.status !== 'FAILED',
            ':outcome': outcome,
            ':at': this.now().toISOString(),
            ':one': 1,
          },
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
