import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { KeyedHash } from '../../domain/keyed-hash.js';
import { isProvinceCode } from '../../domain/catalogues.js';
import { isPersonalIdFormat } from '../../domain/personal-id.js';
import { RegistryUnavailableError, type Citizen, type PopulationRegistry } from '../../ports/population-registry.js';
import { batchGetAll, batchWriteAll } from '../dynamodb/batching.js';

/**
 * The sandbox population register: a DynamoDB table (`SandboxRegistry`, pk
 * only; tables.ts) that stands in for the national database locally and in the
 * sandbox stage. It never holds production data.
 *
 * Item: `{ pk: 'CITIZEN#<hash("person", personalId)>', entity: 'CITIZEN',
 * personalId, fullName, dateOfBirth, gender, dateOfDeath, provinceCode }`
 * (provinceCode: permanent residence, null when unknown). The personal ID is
 * an attribute (the register's content), never part of the key: the key is the
 * same keyed hash of the person that the core table uses.
 *
 * Access patterns: look people up by ID (BatchGetItem, 100 keys a request,
 * strongly consistent); add or replace people (BatchWriteItem, 25 a request;
 * a put is an upsert, so adding the same person twice is harmless).
 */
export const CITIZEN_ENTITY = 'CITIZEN';

export function citizenKey(hash: KeyedHash, personalId: string): { pk: string } {
  return { pk: `CITIZEN#${hash('person', personalId)}` };
}

function citizenFromItem(item: Record<string, unknown>): Citizen | undefined {
  const { personalId, fullName, dateOfBirth, gender, dateOfDeath, provinceCode } = item;
  if (
    typeof personalId !== 'string' ||
    typeof fullName !== 'string' ||
    typeof dateOfBirth !== 'string' ||
    (gender !== 'M' && gender !== 'F') ||
    (dateOfDeath !== undefined && dateOfDeath !== null && typeof dateOfDeath !== 'string')
  ) {
    return undefined;
  }
  return { personalId, fullName, dateOfBirth, gender, dateOfDeath: dateOfDeath ?? null, provinceCode: isProvinceCode(provinceCode) ? provinceCode : null };
}

export class SandboxPopulationRegistry implements PopulationRegistry {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly hash: KeyedHash,
  ) {}

  /** The known people among these IDs; unknown (or malformed) IDs are absent. Any number of IDs (100 per request). */
  async lookup(personalIds: readonly string[]): Promise<Map<string, Citizen>> {
    const wanted = new Set(personalIds.filter((personalId) => isPersonalIdFormat(personalId)));
    const found = new Map<string, Citizen>();
    if (wanted.size === 0) return found;
    let items: Record<string, unknown>[];
    try {
      items = await batchGetAll(
        this.client,
        this.tableName,
        [...wanted].map((personalId) => citizenKey(this.hash, personalId)),
      );
    } catch (error) {
      // The SDK has retried already (throttling, network): the caller retries later.
      throw new RegistryUnavailableError(`The sandbox population register could not be read (${wanted.size} IDs).`, { cause: error });
    }
    for (const item of items) {
      const citizen = citizenFromItem(item);
      // The item's own ID must be one asked for (it always is, barring a hash collision or a hand-edited item).
      if (citizen && wanted.has(citizen.personalId)) found.set(citizen.personalId, citizen);
    }
    return found;
  }

  /**
   * Adds people, replacing anyone already there with the same ID (idempotent).
   * The last occurrence wins when the list names someone twice. Resolves with
   * the number of people stored.
   */
  async add(citizens: readonly Citizen[]): Promise<number> {
    const byKey = new Map<string, Record<string, unknown>>();
    for (const citizen of citizens) {
      if (!isPersonalIdFormat(citizen.personalId)) throw new RangeError('A citizen of the register needs a 12-digit personal ID.');
      const key = citizenKey(this.hash, citizen.personalId);
      byKey.set(key.pk, {
        ...key,
        entity: CITIZEN_ENTITY,
        personalId: citizen.personalId,
        fullName: citizen.fullName.normalize('NFC'),
        dateOfBirth: citizen.dateOfBirth,
        gender: citizen.gender,
        dateOfDeath: citizen.dateOfDeath ?? null,
        provinceCode: citizen.provinceCode ?? null,
      });
    }
    // One BatchWriteItem may not put the same key twice: the map above keeps one item per key.
    await batchWriteAll(this.client, this.tableName, [...byKey.values()]);
    return byKey.size;
  }
}
