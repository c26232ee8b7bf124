import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sparseIndexItems } from './batching.js';
import type { DeliveryStatus } from '../../domain/webhooks.js';
import type { Page, PagePosition } from '../../ports/batch-store.js';
import type { WebhookDelivery, WebhookEndpoint, WebhookStore } from '../../ports/webhook-store.js';
import { isConditionFailure } from './conditions.js';
import { entity, keys } from './keys.js';

function strip(item: Record<string, unknown>): Record<string, unknown> {
  const { pk: _pk, sk: _sk, entity: _entity, gsi3pk: _gsi3pk, gsi3sk: _gsi3sk, ...rest } = item;
  return rest;
}

/**
 * The webhook endpoint of a province and its delivery log, in the province's
 * `WEBHOOK#<provinceCode>` partition of the core table (docs/data-model.md).
 * A delivery is created with a conditional UpdateItem (no PutItem), so that the
 * functions announcing batch changes need no put permission on the table.
 */
export class DynamoWebhookStore implements WebhookStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async putEndpoint(endpoint: WebhookEndpoint): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...keys.webhookEndpoint(endpoint.provinceCode), entity: entity.webhookEndpoint, ...endpoint } }));
  }

  async getEndpoint(provinceCode: string): Promise<WebhookEndpoint | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.webhookEndpoint(provinceCode), ConsistentRead: true }));
    return result.Item ? (strip(result.Item) as unknown as WebhookEndpoint) : undefined;
  }

  async deleteEndpoint(provinceCode: string): Promise<boolean> {
    const result = await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: keys.webhookEndpoint(provinceCode), ReturnValues: 'ALL_OLD' }));
    return result.Attributes !== undefined;
  }

  async putDeliveryIfAbsent(delivery: WebhookDelivery): Promise<boolean> {
    const fields = { entity: entity.webhookDelivery, ...delivery, ...keys.pendingDelivery(delivery.provinceCode, delivery.eventId) };
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = Object.entries(fields).map(([name, value], index) => {
      names[`#f${index}`] = name;
      values[`:v${index}`] = value;
      return `#f${index} = :v${index}`;
    });
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.webhookDelivery(delivery.provinceCode, delivery.eventId),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_not_exists(pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async getDelivery(provinceCode: string, eventId: string): Promise<WebhookDelivery | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.webhookDelivery(provinceCode, eventId), ConsistentRead: true }));
    return result.Item ? (strip(result.Item) as unknown as WebhookDelivery) : undefined;
  }

  async recordAttempt(provinceCode: string, eventId: string, outcome: { status: DeliveryStatus; statusCode: number | null; at: string }): Promise<WebhookDelivery | undefined> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.webhookDelivery(provinceCode, eventId),
          // Once DELIVERED, a late attempt's failure does not undo it.
          // Out of the pending index once DELIVERED or FAILED, in it while RETRYING.
          UpdateExpression:
            outcome.status === 'RETRYING'
              ? 'SET attempts = attempts + :one, #status = :status, lastStatusCode = :code, lastAttemptAt = :at'
              : 'SET attempts = attempts + :one, #status = :status, lastStatusCode = :code, lastAttemptAt = :at REMOVE gsi3pk, gsi3sk',
          ConditionExpression: 'attribute_exists(pk) AND (#status <> :delivered OR :status = :delivered)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':one': 1, ':status': outcome.status, ':code': outcome.statusCode, ':at': outcome.at, ':delivered': 'DELIVERED' },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes ? (strip(result.Attributes) as unknown as WebhookDelivery) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return this.getDelivery(provinceCode, eventId);
      throw error;
    }
  }

  async setStatus(provinceCode: string, eventId: string, status: DeliveryStatus): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.webhookDelivery(provinceCode, eventId),
          UpdateExpression: status === 'RETRYING' ? 'SET #status = :status, gsi3pk = :pendingPk, gsi3sk = :pendingSk' : 'SET #status = :status REMOVE gsi3pk, gsi3sk',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues:
            status === 'RETRYING'
              ? { ':status': status, ':pendingPk': keys.pendingDeliveriesPartition, ':pendingSk': keys.pendingDelivery(provinceCode, eventId).gsi3sk }
              : { ':status': status },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async listPending(): Promise<WebhookDelivery[]> {
    const items = await sparseIndexItems(this.client, this.tableName, keys.pendingDeliveriesPartition);
    return items.map((item) => {
      const { gsi3pk: _pk, gsi3sk: _sk, ...rest } = strip(item);
      return rest as unknown as WebhookDelivery;
    });
  }

  async listDeliveries(provinceCode: string, query: { limit: number; after?: PagePosition | undefined }): Promise<Page<WebhookDelivery>> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': keys.webhookPartition(provinceCode), ':prefix': 'DELIVERY#' },
        ScanIndexForward: false,
        Limit: query.limit,
        ...(query.after ? { ExclusiveStartKey: query.after } : {}),
      }),
    );
    return {
      items: (result.Items ?? []).map((item) => strip(item) as unknown as WebhookDelivery),
      next: result.LastEvaluatedKey ? (result.LastEvaluatedKey as PagePosition) : undefined,
    };
  }
}
