/**
 * The local API Gateway: turns HTTP requests into API Gateway REST proxy events and calls the same authorizer
 * and the same domain Lambda handlers that run on AWS, routed by the same route table.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { handler as authorizer } from '#functions/authorizer';
import { handler as identity } from '#functions/identity';
import { handler as inventory } from '#functions/inventory';
import { handler as monitoring } from '#functions/monitoring';
import { handler as operations } from '#functions/operations';
import { handler as platform } from '#functions/platform';
import { handler as sync } from '#functions/sync';
import { type ErrorCode, ERROR_STATUS, UNAUTHORIZED_MESSAGE } from '#shared/http/errors';
import { compilePath, type Domain, type RouteDefinition } from '#shared/http/route';
import { allRoutes } from '#shared/routes';
import { describeError, log } from '#shared/log';

type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

const DOMAIN_HANDLERS: Record<Domain, ProxyHandler> = {
  platform: platform as ProxyHandler,
  inventory: inventory as ProxyHandler,
  identity: identity as ProxyHandler,
  sync: sync as ProxyHandler,
  monitoring: monitoring as ProxyHandler,
  operations: operations as ProxyHandler,
};

/** API Gateway's own payload limit; the handlers enforce the API's 1 MiB. */
const GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

interface CompiledRoute {
  route: RouteDefinition;
  regex: RegExp;
  names: string[];
}

export interface LocalServerOptions {
  port: number;
  host?: string;
}

export function compileRoutes(routes: readonly RouteDefinition[]): CompiledRoute[] {
  // Literal segments win over parameters, as in API Gateway.
  return routes.map((route) => ({ route, ...compilePath(route.path) })).sort((a, b) => a.names.length - b.names.length);
}

export function matchRoute(compiled: readonly CompiledRoute[], method: string, path: string) {
  let pathExists = false;
  for (const candidate of compiled) {
    const match = candidate.regex.exec(path);
    if (!match) continue;
    pathExists = true;
    if (candidate.route.method !== method) continue;
    const pathParameters = Object.fromEntries(candidate.names.map((name, position) => [name, match[position + 1] ?? '']));
    return { route: candidate.route, pathParameters, pathExists };
  }
  return { route: undefined, pathParameters: {}, pathExists };
}

export async function startLocalServer(options: LocalServerOptions): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const compiled = compileRoutes(allRoutes);

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      log.error('local gateway failure', describeError(error));
      if (!response.headersSent) sendGatewayError(response, 'internal_error', 'Something went wrong on our side.', randomUUID());
    });
  });
  server.keepAliveTimeout = 5_000;

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const requestId = randomUUID();
    const url = new URL(request.url ?? '/', 'http://local');
    const method = (request.method ?? 'GET').toUpperCase();
    const body = await readBody(request, GATEWAY_MAX_BODY_BYTES);
    if (body === 'too_large') return sendGatewayError(response, 'payload_too_large', 'The request body is too large.', requestId);

    const { route, pathParameters } = matchRoute(compiled, method, url.pathname);
    if (!route) return sendGatewayError(response, 'not_found', 'No such route.', requestId);

    // Null-prototype maps: a header or parameter named `constructor` or `__proto__` must be data, not a lookup of
    // Object.prototype (which made `map[name].push` throw: a 500 for any such request).
    const headers: Record<string, string> = Object.create(null);
    const multiValueHeaders: Record<string, string[]> = Object.create(null);
    for (let index = 0; index < request.rawHeaders.length; index += 2) {
      const name = request.rawHeaders[index] as string;
      const value = request.rawHeaders[index + 1] as string;
      headers[name] = value;
      multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
    }
    const queryStringParameters: Record<string, string> = Object.create(null);
    const multiValueQueryStringParameters: Record<string, string[]> = Object.create(null);
    for (const [name, value] of url.searchParams) {
      queryStringParameters[name] = value;
      multiValueQueryStringParameters[name] = [...(multiValueQueryStringParameters[name] ?? []), value];
    }
    const sourceIp = request.socket.remoteAddress ?? '127.0.0.1';

    let authorizerContext: Record<string, string> | null = null;
    let principalId: string | undefined;
    if (!('public' in route.auth)) {
      // As on AWS: the authorizer runs for every protected request (API Gateway's result cache is off because a
      // credential may come in either of two headers; the authorizer keeps its own short cache).
      const authorizerEvent = {
        type: 'REQUEST',
        methodArn: `arn:aws:execute-api:local:000000000000:local/local/${method}${route.path}`,
        resource: route.path,
        path: url.pathname,
        httpMethod: method,
        headers,
        multiValueHeaders,
        queryStringParameters,
        multiValueQueryStringParameters,
        pathParameters,
        stageVariables: {},
        requestContext: { requestId, identity: { sourceIp } },
      } as unknown as APIGatewayRequestAuthorizerEvent;
      try {
        const result = await authorizer(authorizerEvent);
        const allowed = result.policyDocument.Statement.every((statement) => statement.Effect === 'Allow');
        if (!allowed) return sendGatewayError(response, 'forbidden', 'Access denied.', requestId);
        authorizerContext = Object.fromEntries(Object.entries(result.context ?? {}).map(([key, value]) => [key, String(value)]));
        principalId = result.principalId;
      } catch {
        return sendGatewayError(response, 'unauthorized', UNAUTHORIZED_MESSAGE, requestId);
      }
    }

    const event = {
      resource: route.path,
      path: url.pathname,
      httpMethod: method,
      headers,
      multiValueHeaders,
      queryStringParameters: Object.keys(queryStringParameters).length > 0 ? queryStringParameters : null,
      multiValueQueryStringParameters: Object.keys(multiValueQueryStringParameters).length > 0 ? multiValueQueryStringParameters : null,
      pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
      stageVariables: null,
      body: body.length > 0 ? body.toString('utf8') : null,
      isBase64Encoded: false,
      requestContext: {
        requestId,
        resourcePath: route.path,
        httpMethod: method,
        stage: 'local',
        identity: { sourceIp },
        authorizer: authorizerContext ? { ...authorizerContext, principalId } : null,
      },
    } as unknown as APIGatewayProxyEvent;
    const result = await DOMAIN_HANDLERS[route.domain](event, lambdaContext(requestId));
    response.writeHead(result.statusCode, { ...(result.headers as Record<string, string>) });
    response.end(result.body);
  }

  await new Promise<void>((done, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => done());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    server,
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) return 'too_large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendGatewayError(response: ServerResponse, code: ErrorCode, message: string, requestId: string) {
  const body = JSON.stringify({ error: { code, message, details: [] } });
  response.writeHead(ERROR_STATUS[code], { 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId });
  response.end(body);
}

function lambdaContext(requestId: string): Context {
  return {
    awsRequestId: requestId,
    functionName: 'local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:local',
    memoryLimitInMB: '1024',
    logGroupName: 'local',
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
