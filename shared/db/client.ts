/** The DynamoDB document client, created once per container and shared by every module. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

let client: DynamoDBDocumentClient | undefined;

export function documentClient(): DynamoDBDocumentClient {
  client ??= createDocumentClient(process.env.DYNAMODB_ENDPOINT);
  return client;
}

export function createDocumentClient(endpoint?: string): DynamoDBDocumentClient {
  const base = endpoint
    ? new DynamoDBClient({
        endpoint,
        region: process.env.AWS_REGION ?? 'local',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        maxAttempts: 5,
      })
    : new DynamoDBClient({ maxAttempts: 5 });
  return DynamoDBDocumentClient.from(base, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false },
  });
}

/** Tests point the shared client at a fresh endpoint. */
export function setDocumentClient(next: DynamoDBDocumentClient | undefined): void {
  client = next;
}
