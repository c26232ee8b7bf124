import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactGetItemsCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type AttributeValue,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalDynamo } from '../../../local/dynamodb.js';
import { MOTO_CREDENTIALS, MOTO_REGION, motoAvailable, startMoto, type Moto } from '../../support/moto.js';

/**
 * The application uses no DynamoDB transactions: every invariant is a
 * single-item conditional write (docs/decisions.md, architecture.md), because
 * dynalite, the default local backend, has none. This file documents, by
 * running them, the wire behaviours that decision rests on and where the two
 * local backends differ, so that whoever introduces a transaction sees which
 * backend can test it:
 * - dynalite rejects TransactWriteItems and TransactGetItems (UnknownOperationException);
 * - moto implements TransactWriteItems: all or nothing, with one cancellation
 *   reason per action and the current item when asked (ReturnValuesOnConditionCheckFailure);
 * - on a single-item write, moto returns the current item with a failed
 *   condition and dynalite does not (the entitlement store reads it then).
 */

// String attributes only: written by hand rather than with util-dynamodb, which is no direct dependency.
const marshall = (values: Record<string, string>): Record<string, AttributeValue> =>
  Object.fromEntries(Object.entries(values).map(([name, value]) => [name, { S: value }]));
const unmarshall = (item: Record<string, AttributeValue>): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(item).map(([name, value]) => [name, value.S]));

const ENTITLEMENT = { pk: 'ENT#person-hash#SOCIAL_ALLOWANCE#2026-11', sk: 'ENT' };
const PAYMENT = { pk: 'BATCH#B1#S00', sk: 'PAY#digest' };

/** An entitlement claim and a payment transition in one transaction (what the design does in two writes). */
function claimAndVerify(tableName: string, paymentId: string): TransactWriteItem[] {
  return [
    {
      Put: {
        TableName: tableName,
        Item: marshall({ ...ENTITLEMENT, entity: 'ENTITLEMENT', paymentId }),
        ConditionExpression: 'attribute_not_exists(pk) OR paymentId = :me',
        ExpressionAttributeValues: marshall({ ':me': paymentId }),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
    {
      Update: {
        TableName: tableName,
        Key: marshall(PAYMENT),
        UpdateExpression: 'SET #status = :to',
        ConditionExpression: '#status = :from',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: marshall({ ':from': 'RECEIVED', ':to': 'VERIFIED' }),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
  ];
}

const conditionalPut = (tableName: string, paymentId: string) =>
  new PutItemCommand({
    TableName: tableName,
    Item: marshall({ ...ENTITLEMENT, entity: 'ENTITLEMENT', paymentId }),
    ConditionExpression: 'attribute_not_exists(pk)',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  });

describe('DynamoDB transactions: dynalite (the default local backend) has none', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;

  beforeAll(async () => {
    dynamo = await startLocalDynamo('tx');
    client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS, maxAttempts: 1 });
  });

  afterAll(async () => {
    client?.destroy();
    await dynamo?.stop();
  });

  it('rejects TransactWriteItems and TransactGetItems as unknown operations, writing nothing', async () => {
    // Act
    const write = await client.send(new TransactWriteItemsCommand({ TransactItems: claimAndVerify(dynamo.tableNames.core, 'P1') })).catch((error: unknown) => error);
    const read = await client
      .send(new TransactGetItemsCommand({ TransactItems: [{ Get: { TableName: dynamo.tableNames.core, Key: marshall(ENTITLEMENT) } }] }))
      .catch((error: unknown) => error);

    // Assess
    expect((write as Error).name).toBe('UnknownOperationException');
    expect((read as Error).name).toBe('UnknownOperationException');
    expect((await client.send(new GetItemCommand({ TableName: dynamo.tableNames.core, Key: marshall(ENTITLEMENT) }))).Item).toBeUndefined();
  });

  it('does not return the current item with a failed single-item condition (the entitlement store reads it instead)', async () => {
    // Prepare
    await client.send(conditionalPut(dynamo.tableNames.core, 'P1'));

    // Act
    const error = await client.send(conditionalPut(dynamo.tableNames.core, 'P2')).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    expect((error as ConditionalCheckFailedException).Item).toBeUndefined();
  });
});

describe.runIf(motoAvailable)('DynamoDB transactions on moto_server', () => {
  let moto: Moto;
  let client: DynamoDBClient;
  let tableName: string;

  beforeAll(async () => {
    moto = (await startMoto({ prefix: 'tx' }))!;
    client = new DynamoDBClient({ endpoint: moto.endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS, maxAttempts: 1 });
    tableName = moto.tableNames.core;
  });

  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  /** A RECEIVED payment, and the entitlement held by `holder` (or free). */
  const given = async (holder: string | undefined) => {
    await client.send(new PutItemCommand({ TableName: tableName, Item: marshall({ ...PAYMENT, entity: 'PAYMENT', status: 'RECEIVED' }) }));
    if (holder) await client.send(new PutItemCommand({ TableName: tableName, Item: marshall({ ...ENTITLEMENT, entity: 'ENTITLEMENT', paymentId: holder }) }));
    else await client.send(new DeleteItemCommand({ TableName: tableName, Key: marshall(ENTITLEMENT) }));
  };

  const current = async (key: Record<string, string>) =>
    unmarshall((await client.send(new GetItemCommand({ TableName: tableName, Key: marshall(key), ConsistentRead: true }))).Item ?? {});

  it('TransactWriteItems applies every action when every condition holds', async () => {
    // Prepare
    await given(undefined);

    // Act
    await client.send(new TransactWriteItemsCommand({ TransactItems: claimAndVerify(tableName, 'P1') }));

    // Assess
    expect(await current(ENTITLEMENT)).toMatchObject({ paymentId: 'P1' });
    expect(await current(PAYMENT)).toMatchObject({ status: 'VERIFIED' });
  });

  it('cancels all of it when one condition fails, with one reason per action and the current item (to unmarshall) for the failed one', async () => {
    // Prepare
    await given('P1');

    // Act: P2 claims the held entitlement and moves the payment
    const error = await client.send(new TransactWriteItemsCommand({ TransactItems: claimAndVerify(tableName, 'P2') })).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(TransactionCanceledException);
    const reasons = (error as TransactionCanceledException).CancellationReasons ?? [];
    expect(reasons.map((reason) => reason.Code)).toEqual(['ConditionalCheckFailed', 'None']);
    expect(unmarshall(reasons[0]!.Item!)).toEqual({ ...ENTITLEMENT, entity: 'ENTITLEMENT', paymentId: 'P1' });
    // Nothing applied: the second action, whose condition held, was rolled back too.
    expect(await current(PAYMENT)).toMatchObject({ status: 'RECEIVED' });
    expect(await current(ENTITLEMENT)).toMatchObject({ paymentId: 'P1' });
  });

  it('returns the current item with a failed single-item condition (ReturnValuesOnConditionCheckFailure), saving the second read', async () => {
    // Prepare
    await given('P1');

    // Act
    const error = await client.send(conditionalPut(tableName, 'P3')).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    expect(unmarshall((error as ConditionalCheckFailedException).Item!)).toMatchObject({ paymentId: 'P1' });
  });
});
