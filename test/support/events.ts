/** API Gateway REST proxy events for calling a domain handler directly (no HTTP, no authorizer). */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { Principal } from '#shared/auth/principal';

export const ADMIN_PRINCIPAL: Principal = {
  kind: 'api_key',
  id: 'test-admin',
  user_id: null,
  role: 'admin',
  scopes: ['admin'],
  datacenter_access: 'all',
};

export function proxyEvent(options: {
  method: string;
  resource: string;
  path?: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  headers?: Record<string, string>;
  principal?: Principal | null;
}): APIGatewayProxyEvent {
  const principal = options.principal === undefined ? ADMIN_PRINCIPAL : options.principal;
  return {
    resource: options.resource,
    path: options.path ?? options.resource,
    httpMethod: options.method,
    headers: { ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...(options.headers ?? {}) },
    multiValueHeaders: {},
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: options.query ? Object.fromEntries(Object.entries(options.query).map(([k, v]) => [k, [v]])) : null,
    pathParameters: options.pathParameters ?? null,
    stageVariables: null,
    body: options.body === undefined ? null : JSON.stringify(options.body),
    isBase64Encoded: false,
    requestContext: {
      requestId: 'req-test-1',
      authorizer: principal ? { principal: JSON.stringify(principal) } : null,
      identity: { sourceIp: '127.0.0.1' },
    },
  } as unknown as APIGatewayProxyEvent;
}

export const lambdaContext = { awsRequestId: 'lambda-req', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
