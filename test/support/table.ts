/** Creates this test file's table before its tests run (cheap on DynamoDB Local). */
import { ensureTable } from '#local/dynamodb';

beforeAll(async () => {
  const endpoint = process.env.DYNAMODB_ENDPOINT;
  if (endpoint) await ensureTable(endpoint, process.env.TABLE_NAME as string);
});
