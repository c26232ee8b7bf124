import { describe, expect, it } from 'vitest';
import { requestItems, requestKind } from '../../../shared/adapters/dynamodb/client.js';

describe('requestKind', () => {
  it('tells conditional single writes from plain ones', () => {
    expect(requestKind('PutItem', { TableName: 't', Item: {}, ConditionExpression: 'attribute_not_exists(pk)' })).toBe('PutItem conditional');
    expect(requestKind('PutItem', { TableName: 't', Item: {} })).toBe('PutItem');
    expect(requestKind('UpdateItem', { UpdateExpression: 'SET a = :a', ConditionExpression: '#s = :s' })).toBe('UpdateItem conditional');
    expect(requestKind('UpdateItem', { UpdateExpression: 'ADD n :one' })).toBe('UpdateItem');
    expect(requestKind('DeleteItem', { Key: {}, ConditionExpression: 'attribute_exists(pk)' })).toBe('DeleteItem conditional');
    expect(requestKind('DeleteItem', { Key: {}, ConditionExpression: '' })).toBe('DeleteItem');
    // The legacy parameter is a condition too.
    expect(requestKind('PutItem', { Expected: { pk: { Exists: false } } })).toBe('PutItem conditional');
  });

  it('names every other operation by itself', () => {
    for (const operation of ['GetItem', 'Query', 'Scan', 'BatchWriteItem', 'BatchGetItem', 'TransactWriteItems']) {
      expect(requestKind(operation, { ConditionExpression: 'x' })).toBe(operation);
    }
    expect(requestKind('GetItem', undefined)).toBe('GetItem');
  });
});

describe('requestItems', () => {
  it('counts write requests of BatchWriteItem and keys of BatchGetItem over every table', () => {
    const put = { PutRequest: { Item: {} } };
    expect(requestItems('BatchWriteItem', { RequestItems: { a: [put, put], b: [{ DeleteRequest: { Key: {} } }] } })).toBe(3);
    expect(requestItems('BatchGetItem', { RequestItems: { a: { Keys: [{}, {}, {}] }, b: { Keys: [{}] } } })).toBe(4);
    expect(requestItems('PutItem', { Item: {} })).toBe(0);
    expect(requestItems('BatchWriteItem', {})).toBe(0);
  });
});
