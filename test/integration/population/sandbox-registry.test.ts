import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient, ScanCommand, type BatchGetCommandInput } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLocalDynamo, type LocalDynamo } from '../../../local/dynamodb.js';
import { SandboxPopulationRegistry } from '../../../shared/adapters/population/sandbox-registry.js';
import { sandboxPeople, syntheticPopulation } from '../../../shared/adapters/population/synthetic-population.js';
import { keyedHasher } from '../../../shared/domain/keyed-hash.js';
import { RegistryUnavailableError, type Citizen } from '../../../shared/ports/population-registry.js';

/**
 * The sandbox population register against dynalite (the real DynamoDB wire
 * protocol): batched writes and consistent batched reads, keys free of
 * personal ID numbers.
 */

let dynamo: LocalDynamo;
let client: DynamoDBDocumentClient;
let registry: SandboxPopulationRegistry;
let table: string;
const hash = keyedHasher('integration-test-pepper-0123456789');

async function scanAll(): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

beforeAll(async () => {
  dynamo = await startLocalDynamo('population-test');
  table = dynamo.tableNames.registry;
  client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'ap-southeast-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  registry = new SandboxPopulationRegistry(client, table, hash);
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.stop();
});

describe('SandboxPopulationRegistry', () => {
  const people: Citizen[] = [...sandboxPeople, ...syntheticPopulation({ size: 242, seed: 11 })].map(({ personalId, fullName, dateOfBirth, gender, dateOfDeath, provinceCode }) => ({
    personalId,
    fullName,
    dateOfBirth,
    gender,
    dateOfDeath,
    provinceCode: provinceCode ?? null,
  }));

  it('adds 250 people and finds every one of them, over several BatchGetItem requests of at most 100 keys, consistent', async () => {
    // Prepare
    expect(people).toHaveLength(250);
    const send = vi.spyOn(client, 'send');

    // Act
    const added = await registry.add(people);
    const found = await registry.lookup(people.map((person) => person.personalId));

    // Assess
    expect(added).toBe(250);
    expect(found.size).toBe(250);
    for (const person of people) expect(found.get(person.personalId)).toEqual(person);
    const writes = send.mock.calls.filter(([command]) => command instanceof BatchWriteCommand);
    expect(writes).toHaveLength(10); // 25 puts each
    const gets = send.mock.calls
      .map(([command]) => command)
      .filter((command) => command instanceof BatchGetCommand)
      .map((command) => (command.input as BatchGetCommandInput).RequestItems![table]!);
    expect(gets.length).toBeGreaterThanOrEqual(3);
    for (const request of gets) {
      expect(request.Keys!.length).toBeLessThanOrEqual(100);
      expect(request.ConsistentRead).toBe(true);
    }
  });

  it('leaves unknown IDs (and malformed ones) out of the answer', async () => {
    const known = people[0]!;
    const unknown = ['079185999999', '001090000001'];

    const found = await registry.lookup([known.personalId, ...unknown, '12345', '07918500000X']);

    expect([...found.keys()]).toEqual([known.personalId]);
    expect(await registry.lookup([])).toEqual(new Map());
    expect(await registry.lookup(unknown)).toEqual(new Map());
  });

  it('keeps personal ID numbers out of every key: the key is the keyed hash of the person', async () => {
    const items = await scanAll();

    expect(items).toHaveLength(250);
    for (const item of items) {
      expect(Object.keys(item).filter((name) => name === 'pk')).toEqual(['pk']);
      expect(String(item.pk)).not.toMatch(/[0-9]{12}/);
      expect(String(item.pk)).toMatch(/^CITIZEN#[0-9a-z]{52}$/);
      expect(item.pk).toBe(`CITIZEN#${hash('person', String(item.personalId))}`);
      expect(item.entity).toBe('CITIZEN');
    }
  });

  it('is an idempotent upsert: adding again changes nothing, adding a changed person replaces them', async () => {
    const anh = people.find((person) => person.personalId === '079185000001')!;
    const duplicated = people.slice(0, 30);

    await registry.add(duplicated);
    const stored = await registry.add([{ ...anh, fullName: 'Nguyễn Thị Ngọc Ánh' }, { ...anh, dateOfDeath: '2026-01-02' }]);

    expect(stored).toBe(1); // the same person twice in one call: the last one wins
    expect((await scanAll()).length).toBe(250);
    expect((await registry.lookup([anh.personalId])).get(anh.personalId)).toEqual({ ...anh, dateOfDeath: '2026-01-02' });
    await registry.add([anh]);
    expect((await registry.lookup([anh.personalId])).get(anh.personalId)).toEqual(anh);
  });

  it('stores names in NFC whatever form they arrive in', async () => {
    const decomposed = { personalId: '079185000077', fullName: 'Nguyễn Thị Ánh'.normalize('NFD'), dateOfBirth: '1985-03-02', gender: 'F' as const, dateOfDeath: null };

    await registry.add([decomposed]);

    expect((await registry.lookup([decomposed.personalId])).get(decomposed.personalId)?.fullName).toBe('Nguyễn Thị Ánh'.normalize('NFC'));
  });

  it('reports a store it cannot read as RegistryUnavailableError, without the IDs in the message', async () => {
    const broken = new SandboxPopulationRegistry(client, 'no-such-table', hash);

    const failure = await broken.lookup(['079185000001']).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(RegistryUnavailableError);
    expect((failure as Error).message).not.toMatch(/[0-9]{12}/);
  });
});
