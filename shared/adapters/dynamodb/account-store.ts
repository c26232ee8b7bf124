import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AccountHistoryEntry, AccountLinkRecord, AccountStore } from '../../ports/account-store.js';
import { batchGetAll } from './batching.js';
import { entity, keys } from './keys.js';

function linkOf(item: Record<string, unknown>): AccountLinkRecord {
  const { pk: _pk, sk: _sk, entity: _entity, ...link } = item;
  return link as unknown as AccountLinkRecord;
}

/**
 * One item holds the current link of a person (`PERSON#<hash>`, `ACCOUNT`), one
 * item per link ever made holds the history (`ACCOUNT#<linkedAt>#<linkId>`).
 */
export class DynamoAccountStore implements AccountStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getCurrent(personHash: string): Promise<AccountLinkRecord | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.currentAccount(personHash), ConsistentRead: true }));
    return result.Item ? linkOf(result.Item) : undefined;
  }

  async getCurrentMany(personHashes: readonly string[]): Promise<Map<string, AccountLinkRecord>> {
    const unique = [...new Set(personHashes)];
    const items = await batchGetAll(this.client, this.tableName, unique.map((personHash) => keys.currentAccount(personHash)));
    const prefix = keys.currentAccount('').pk;
    return new Map(items.map((item) => [String(item.pk).slice(prefix.length), linkOf(item)]));
  }

  private async closeHistory(personHash: string, link: AccountLinkRecord, at: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.accountHistory(personHash, link.linkedAt, link.linkId),
        UpdateExpression: 'SET unlinkedAt = if_not_exists(unlinkedAt, :at)',
        ExpressionAttributeValues: { ':at': at },
      }),
    );
  }

  async link(personHash: string, link: AccountLinkRecord): Promise<void> {
    // No unlinkedAt yet: closing sets it with if_not_exists (a stored null would count as set).
    const history: Omit<AccountHistoryEntry, 'unlinkedAt'> = {
      linkId: link.linkId,
      provider: link.provider,
      accountNumberMasked: link.accountNumberMasked,
      linkedAt: link.linkedAt,
    };
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...keys.accountHistory(personHash, link.linkedAt, link.linkId), entity: entity.accountHistory, ...history },
      }),
    );
    const previous = await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...keys.currentAccount(personHash), entity: entity.account, ...link },
        ReturnValues: 'ALL_OLD',
      }),
    );
    if (previous.Attributes) await this.closeHistory(personHash, previous.Attributes as AccountLinkRecord, link.linkedAt);
  }

  async unlink(personHash: string, at: string): Promise<AccountLinkRecord | undefined> {
    const current = await this.getCurrent(personHash);
    if (!current) return undefined;
    try {
      // Only the link just read is removed: a concurrent relink stays.
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.currentAccount(personHash),
          ConditionExpression: 'linkId = :linkId',
          ExpressionAttributeValues: { ':linkId': current.linkId },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
    await this.closeHistory(personHash, current, at);
    return current;
  }

  async history(personHash: string): Promise<AccountHistoryEntry[]> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': keys.currentAccount(personHash).pk, ':prefix': 'ACCOUNT#' },
        ScanIndexForward: false,
        ConsistentRead: true,
      }),
    );
    return (result.Items ?? []).map(({ linkId, provider, accountNumberMasked, linkedAt, unlinkedAt }) => ({
      linkId,
      provider,
      accountNumberMasked,
      linkedAt,
      unlinkedAt: unlinkedAt ?? null,
    })) as AccountHistoryEntry[];
  }
}
