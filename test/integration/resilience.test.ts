/**
 * Faults the database can throw at us, injected at the SDK client boundary: throttling after the SDK's own
 * retries, transaction conflicts that never clear, and unexpected errors. None may turn into a bare 500 with
 * internals, and none may write.
 */
import { ProvisionedThroughputExceededException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '#functions/inventory';
import { lambdaContext, proxyEvent, type ProxyHandler } from '../support/events';

const inventory = handler as unknown as ProxyHandler;
const dynamo = mockClient(DynamoDBDocumentClient);
afterEach(() => dynamo.reset());
afterAll(() => dynamo.restore());

const DC_ID = '01900000-0000-7000-8000-000000000001';
const throttled = () => new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} });

test('throttled reads answer 503 with Retry-After, never 500', async () => {
  dynamo.on(GetCommand).rejects(throttled());
  const result = await inventory(
    proxyEvent({ method: 'GET', resource: '/v1/datacenters/{id}', pathParameters: { id: DC_ID } }),
    lambdaContext,
  );
  expect(result.statusCode).toBe(503);
  expect(result.headers?.['retry-after']).toBe('1');
  expect(JSON.parse(result.body).error.code).toBe('service_unavailable');
});

test('throttled lists answer 503', async () => {
  dynamo.on(QueryCommand).rejects(throttled());
  const result = await inventory(proxyEvent({ method: 'GET', resource: '/v1/servers' }), lambdaContext);
  expect(result.statusCode).toBe(503);
});

test('a transaction that keeps conflicting ends in 409 after bounded retries', async () => {
  dynamo.on(TransactWriteCommand).rejects(
    new TransactionCanceledException({
      message: 'Transaction cancelled',
      $metadata: {},
      CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }],
    }),
  );
  const result = await inventory(
    proxyEvent({ method: 'POST', resource: '/v1/datacenters', body: { name: 'Sfax', timezone: 'Africa/Tunis' } }),
    lambdaContext,
  );
  expect(result.statusCode).toBe(409);
  expect(dynamo.commandCalls(TransactWriteCommand).length).toBe(5);
});

test('a transaction throttled on every try answers 503', async () => {
  dynamo
    .on(TransactWriteCommand)
    .rejects(new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: [{ Code: 'ThrottlingError' }] }));
  const result = await inventory(
    proxyEvent({ method: 'POST', resource: '/v1/datacenters', body: { name: 'Sfax', timezone: 'Africa/Tunis' } }),
    lambdaContext,
  );
  expect(result.statusCode).toBe(503);
});

test('an unexpected error is a 500 with the request id and no internals', async () => {
  dynamo
    .on(GetCommand)
    .rejects(new Error(`Requested resource not found: Table: ${process.env.TABLE_NAME} arn:aws:dynamodb:eu-west-1:1:table/x`));
  const result = await inventory(
    proxyEvent({ method: 'GET', resource: '/v1/datacenters/{id}', pathParameters: { id: DC_ID } }),
    lambdaContext,
  );
  expect(result.statusCode).toBe(500);
  const body = JSON.parse(result.body);
  expect(body.error.code).toBe('internal_error');
  expect(body.error.message).toContain('req-test-1');
  expect(result.body).not.toContain('arn:');
  expect(result.body).not.toContain(String(process.env.TABLE_NAME));
  expect(result.body).not.toMatch(/at .*\.ts/);
});

test('a route without an authorizer principal fails closed with 401', async () => {
  const result = await inventory(proxyEvent({ method: 'GET', resource: '/v1/servers', principal: null }), lambdaContext);
  expect(result.statusCode).toBe(401);
  expect(dynamo.calls().length).toBe(0);
});
