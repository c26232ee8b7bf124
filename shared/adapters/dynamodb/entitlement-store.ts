import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ClaimOutcome, EntitlementClaim, EntitlementStore } from '../../ports/entitlement-store.js';
import { entity, keys } from './keys.js';

/**
 * Each entitlement is one item; the claim is a single conditional put, so two
 * batches verified at the same moment cannot both hold it (no read-then-write).
 */
export class DynamoEntitlementStore implements EntitlementStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async claim(claim: EntitlementClaim): Promise<ClaimOutcome> {
    const key = keys.entitlement(claim.personHash, claim.programCode, claim.period);
    try {
      const result = await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...key,
            entity: entity.entitlement,
            paymentId: claim.paymentId,
            batchId: claim.batchId,
            seq: claim.seq,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR paymentId = :me OR (batchId = :batch AND seq > :seq)',
          ExpressionAttributeValues: { ':me': claim.paymentId, ':batch': claim.batchId, ':seq': claim.seq },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const previous = result.Attributes?.paymentId as string | undefined;
      return { held: true, supersededPaymentId: previous && previous !== claim.paymentId ? previous : undefined };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException) && (error as { name?: string }).name !== 'ConditionalCheckFailedException') {
        throw error;
      }
      // dynalite does not return the item on a failed condition: read it.
      const holder =
        ((error as ConditionalCheckFailedException).Item?.paymentId as { S?: string } | undefined)?.S ??
        ((await this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }))).Item?.paymentId as
          | string
          | undefined);
      if (!holder) return this.claim(claim); // released in between: try again
      return { held: false, holderPaymentId: holder };
    }
  }

  async release(claim: Pick<EntitlementClaim, 'personHash' | 'programCode' | 'period' | 'paymentId'>): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.entitlement(claim.personHash, claim.programCode, claim.period),
          ConditionExpression: 'paymentId = :me',
          ExpressionAttributeValues: { ':me': claim.paymentId },
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
}
