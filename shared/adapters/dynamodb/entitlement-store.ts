import { DeleteCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ClaimOutcome, EntitlementClaim, EntitlementStore } from '../../ports/entitlement-store.js';
import { isConditionFailure } from './conditions.js';
import { entity, keys } from './keys.js';

/**
 * Each entitlement is one item; the claim is a single conditional write, so two
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
      // A new claim, or a takeover by an earlier item of the same batch. The item keeps whom it took
      // over from (the right-hand side reads the value before the update), so that a retried takeover
      // whose first answer was lost can still name it.
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET #entity = :entity, supersededPaymentId = if_not_exists(paymentId, :none), paymentId = :me, batchId = :batch, seq = :seq',
          ConditionExpression: 'attribute_not_exists(pk) OR (batchId = :batch AND seq > :seq)',
          ExpressionAttributeNames: { '#entity': 'entity' },
          ExpressionAttributeValues: { ':entity': entity.entitlement, ':none': null, ':me': claim.paymentId, ':batch': claim.batchId, ':seq': claim.seq },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { held: true, supersededPaymentId: (result.Attributes?.supersededPaymentId as string | null | undefined) ?? undefined };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // Held already: by this payment (a repeated claim: its stored answer), or by another one.
      // dynalite does not return the item on a failed condition: read it.
      const returned = error.Item;
      const holder = returned
        ? { paymentId: returned.paymentId?.S, supersededPaymentId: returned.supersededPaymentId?.S }
        : ((await this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }))).Item as
            | { paymentId?: string; supersededPaymentId?: string | null }
            | undefined);
      if (!holder?.paymentId) return this.claim(claim); // released in between: try again
      if (holder.paymentId === claim.paymentId) return { held: true, supersededPaymentId: holder.supersededPaymentId ?? undefined };
      return { held: false, holderPaymentId: holder.paymentId };
    }
  }

  async release(claim: Pick<EntitlementClaim, 'personHash' | 'programCode' | 'period' | 'paymentId'>): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.entitlement(claim.personHash, claim.programCode, claim.period),
          ConditionExpression: 'paymentId = :me',
          ExpressionAttributeValues: { ':me': claim.paymentId },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return false;
    }
  }
}
