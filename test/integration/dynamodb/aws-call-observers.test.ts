import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalDynamo } from '../../../local/dynamodb.js';
import { observeAwsCalls, type AwsCall } from '../../../shared/adapters/aws-call-observers.js';
import { createDocumentClient } from '../../../shared/adapters/dynamodb/client.js';

let dynamo: LocalDynamo;

beforeAll(async () => {
  process.env.AWS_REGION ??= 'ap-southeast-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  dynamo = await startLocalDynamo(`obs-${Date.now()}`);
});
afterAll(async () => {
  await dynamo.stop();
});

describe('AWS call observers', () => {
  it('sees each call of a product client once, before and after, with its wire-form input and its outcome', async () => {
    // Prepare
    const client = createDocumentClient(dynamo.endpoint);
    const seen: string[] = [];
    const inputs: AwsCall['input'][] = [];
    const stop = observeAwsCalls({
      before: (call) => {
        seen.push(`before ${call.service} ${call.operation}`);
        inputs.push(call.input);
      },
      after: (call, outcome) => seen.push(`after ${call.operation} ${outcome.error ? (outcome.error as Error).name : 'ok'}`),
    });
    // Act
    await client.send(new PutCommand({ TableName: dynamo.tableNames.core, Item: { pk: 'a', sk: 'b', n: 1 } }));
    await expect(
      client.send(
        new UpdateCommand({
          TableName: dynamo.tableNames.core,
          Key: { pk: 'a', sk: 'b' },
          UpdateExpression: 'SET n = :n',
          ConditionExpression: 'n = :x',
          ExpressionAttributeValues: { ':n': 2, ':x': 5 },
        }),
      ),
    ).rejects.toThrow();
    stop();
    await client.send(new PutCommand({ TableName: dynamo.tableNames.core, Item: { pk: 'c', sk: 'd' } }));
    client.destroy();
    // Assess
    expect(seen).toEqual(['before DynamoDB PutItem', 'after PutItem ok', 'before DynamoDB UpdateItem', 'after UpdateItem ConditionalCheckFailedException']);
    expect(inputs[0]).toMatchObject({ TableName: dynamo.tableNames.core, Item: { pk: { S: 'a' }, n: { N: '1' } } });
  });
});
