/** Starts one in-memory DynamoDB Local for the whole run; workers inherit its endpoint through the environment. */
import { startDynamoLocal } from '#local/dynamodb';

declare global {
  var __DYNAMO_STOP__: (() => Promise<void>) | undefined;
}

export default async function globalSetup(): Promise<void> {
  const dynamo = await startDynamoLocal();
  process.env.TEST_DYNAMODB_ENDPOINT = dynamo.endpoint;
  globalThis.__DYNAMO_STOP__ = dynamo.stop;
}
