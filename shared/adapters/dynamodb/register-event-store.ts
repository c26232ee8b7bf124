import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DeathEventAnswer } from '../../domain/register-events.js';
import type { DeathMarker, RegisterEventRecord, RegisterEventStore } from '../../ports/register-events.js';
import { batchGetAll } from './batching.js';
import { isConditionFailure } from './conditions.js';
import { entity, keys } from './keys.js';

type Item = Record<string, unknown>;

function record(item: Item): RegisterEventRecord {
  const { eventKey, fingerprint, status, event, personHash, answer, receivedAt, updatedAt } = item as unknown as RegisterEventRecord;
  return { eventKey, fingerprint, status, event, personHash, answer: answer ?? null, receivedAt, updatedAt };
}

/**
 * Register events and death markers in the core table (docs/data-model.md,
 * "Death registration"). Every write is a single-item conditional write: the
 * claim of an eventId, the first death marker of a person.
 */
export class DynamoRegisterEventStore implements RegisterEventStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async claim(candidate: RegisterEventRecord): Promise<{ claimed: boolean; record: RegisterEventRecord }> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...keys.registerEvent(candidate.eventKey),
            ...keys.pendingRegisterEvent(candidate.receivedAt, candidate.eventKey),
            entity: entity.registerEvent,
            ...candidate,
            answer: null,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { claimed: true, record: { ...candidate, answer: null } };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const existing = await this.get(candidate.eventKey);
    if (!existing) throw new Error('A register event vanished after its claim failed');
    return { claimed: false, record: existing };
  }

  private async get(eventKey: string): Promise<RegisterEventRecord | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.registerEvent(eventKey), ConsistentRead: true }));
    return result.Item ? record(result.Item) : undefined;
  }

  async complete(eventKey: string, answer: DeathEventAnswer, at: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.registerEvent(eventKey),
        UpdateExpression: 'SET #status = :done, answer = :answer, updatedAt = :at REMOVE gsi3pk, gsi3sk',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':done': 'DONE', ':answer': answer, ':at': at },
      }),
    );
  }

  async listPending(before: string): Promise<RegisterEventRecord[]> {
    const found: RegisterEventRecord[] = [];
    let start: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'gsi3',
          KeyConditionExpression: 'gsi3pk = :pk AND gsi3sk < :before',
          ExpressionAttributeValues: { ':pk': keys.pendingRegisterEventsPartition, ':before': before },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const eventKey = String(item.pk).slice('REGEVENT#'.length);
        const stored = await this.get(eventKey);
        if (stored?.status === 'PENDING') found.push(stored);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return found;
  }

  async recordDeath(marker: DeathMarker): Promise<DeathMarker> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...keys.death(marker.personHash), entity: entity.death, dateOfDeath: marker.dateOfDeath, eventKey: marker.eventKey, recordedAt: marker.recordedAt },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return marker;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const existing = await this.deathOf(marker.personHash);
    if (!existing) throw new Error('A death marker vanished after its write failed');
    return existing;
  }

  async deathOf(personHash: string): Promise<DeathMarker | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.death(personHash), ConsistentRead: true }));
    return result.Item ? deathMarker(personHash, result.Item) : undefined;
  }

  async deathsOf(personHashes: readonly string[]): Promise<Map<string, DeathMarker>> {
    const unique = [...new Set(personHashes)];
    const found = new Map<string, DeathMarker>();
    if (unique.length === 0) return found;
    const byKey = new Map(unique.map((personHash) => [keys.death(personHash).pk, personHash]));
    for (const item of await batchGetAll(this.client, this.tableName, unique.map((personHash) => keys.death(personHash)))) {
      const personHash = byKey.get(String(item.pk));
      if (personHash) found.set(personHash, deathMarker(personHash, item));
    }
    return found;
  }
}

function deathMarker(personHash: string, item: Item): DeathMarker {
  const { dateOfDeath, eventKey, recordedAt } = item as { dateOfDeath: string; eventKey: string; recordedAt: string };
  return { personHash, dateOfDeath, eventKey, recordedAt };
}
