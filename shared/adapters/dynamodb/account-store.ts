import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AccountHistoryEntry, AccountLinkRecord, AccountStore, Unlinking } from '../../ports/account-store.js';
import { batchGetAll } from './batching.js';
import { isConditionFailure } from './conditions.js';
import { entity, keys } from './keys.js';

/** Which link the current one replaced, kept on the current item (see link()). */
interface ReplacedLink {
  replacedLinkId?: string | null;
  replacedLinkedAt?: string | null;
}

function linkOf(item: Record<string, unknown>): AccountLinkRecord {
  const { pk: _pk, sk: _sk, entity: _entity, replacedLinkId: _replacedLinkId, replacedLinkedAt: _replacedLinkedAt, ...link } = item;
  return link as unknown as AccountLinkRecord;
}

/**
 * One item holds the current link of a person (`PERSON#<hash>`, `ACCOUNT`), one
 * item per link ever made holds the history (`ACCOUNT#<linkedAt>#<linkId>`),
 * with the consent a province named to make it and, once unlinked, who unlinked
 * it and with which consent.
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

  /** Closes a history entry once (the first close wins): at a relink, or with the unlink's who and consent. */
  private async closeHistory(personHash: string, link: Pick<AccountLinkRecord, 'linkId' | 'linkedAt'>, at: string, unlinking?: Unlinking): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.accountHistory(personHash, link.linkedAt, link.linkId),
        UpdateExpression: unlinking
          ? 'SET unlinkedAt = if_not_exists(unlinkedAt, :at), unlinkedBy = if_not_exists(unlinkedBy, :by), unlinkConsentRef = if_not_exists(unlinkConsentRef, :consent)'
          : 'SET unlinkedAt = if_not_exists(unlinkedAt, :at)',
        ExpressionAttributeValues: unlinking ? { ':at': at, ':by': unlinking.by, ':consent': unlinking.consentRef } : { ':at': at },
      }),
    );
  }

  async link(personHash: string, link: AccountLinkRecord): Promise<void> {
    // No unlinkedAt yet: closing sets it with if_not_exists (a stored null would count as set).
    const history: Omit<AccountHistoryEntry, 'unlinkedAt' | 'unlinkConsentRef'> & { linkedBy: string } = {
      linkId: link.linkId,
      provider: link.provider,
      accountNumberMasked: link.accountNumberMasked,
      linkedAt: link.linkedAt,
      linkedBy: link.linkedBy,
      consentRef: link.consentRef,
    };
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...keys.accountHistory(personHash, link.linkedAt, link.linkId), entity: entity.accountHistory, ...history },
      }),
    );
    // The current link is replaced by an update that also keeps which link it replaced (the
    // right-hand side reads the value before the update): a write repeated after its first answer
    // was lost finds itself current, and still knows which link to close. Only a newer link (by
    // linkedAt, then linkId) replaces the current one, so a write repeated late cannot bring back
    // a link that a newer one replaced.
    const fields: Record<string, unknown> = { entity: entity.account, ...link };
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':me': link.linkId, ':at': link.linkedAt, ':none': null };
    const sets = Object.entries(fields).map(([field, value], index) => {
      names[`#f${index}`] = field;
      values[`:f${index}`] = value;
      return `#f${index} = :f${index}`;
    });
    names['#linkId'] = 'linkId';
    names['#linkedAt'] = 'linkedAt';
    let replaced: ReplacedLink;
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.currentAccount(personHash),
          UpdateExpression: `SET ${sets.join(', ')}, replacedLinkId = if_not_exists(#linkId, :none), replacedLinkedAt = if_not_exists(#linkedAt, :none)`,
          ConditionExpression: 'attribute_not_exists(pk) OR #linkedAt < :at OR (#linkedAt = :at AND #linkId < :me)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      replaced = result.Attributes as ReplacedLink;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = (await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.currentAccount(personHash), ConsistentRead: true })))
        .Item as (ReplacedLink & { linkId?: string }) | undefined;
      if (current?.linkId !== link.linkId) {
        // A newer link is current: this one is history (closed by its replacer, or never current).
        await this.closeHistory(personHash, link, link.linkedAt);
        return;
      }
      // This very link is current already: the write was repeated. Close what it replaced.
      replaced = current;
    }
    if (replaced.replacedLinkId && replaced.replacedLinkedAt) {
      await this.closeHistory(personHash, { linkId: replaced.replacedLinkId, linkedAt: replaced.replacedLinkedAt }, link.linkedAt);
    }
  }

  async unlink(personHash: string, unlinking: Unlinking): Promise<AccountLinkRecord | undefined> {
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
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
    await this.closeHistory(personHash, current, unlinking.at, unlinking);
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
    return (result.Items ?? []).map(({ linkId, provider, accountNumberMasked, linkedAt, unlinkedAt, consentRef, unlinkConsentRef }) => ({
      linkId,
      provider,
      accountNumberMasked,
      linkedAt,
      unlinkedAt: unlinkedAt ?? null,
      consentRef: consentRef ?? null,
      unlinkConsentRef: unlinkConsentRef ?? null,
    })) as AccountHistoryEntry[];
  }
}
