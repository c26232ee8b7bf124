import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The document client, created once per process. `DYNAMODB_ENDPOINT` is set
 * only by the local server and tests (dynalite, moto); deployed, the SDK's
 * regional endpoint is used.
 */
export function createDocumentClient(endpoint = process.env.DYNAMODB_ENDPOINT): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...(endpoint ? { endpoint } : {}),
    // Standard retry mode with more attempts: throttling on a busy table is retried, not surfaced.
    maxAttempts: 8,
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}
