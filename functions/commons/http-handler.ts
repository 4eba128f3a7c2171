/**
 * Turns a list of routes into one API Gateway REST (proxy) Lambda handler: middy middlewares for request ids,
 * body limits and errors, then a dispatcher that validates params, query and body with the route's zod schemas,
 * checks the caller's scope and calls the route's domain function.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { z } from 'zod';
import { hasScope, type Principal, PrincipalSchema } from '#shared/auth/principal';
import { ApiError, errorBody, forbidden, validationError } from '#shared/http/errors';
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  type IdempotencyClaim,
  releaseIdempotencyKey,
  requestFingerprint,
} from '#shared/http/idempotency';
import { type ApiResponse, type RouteDefinition, routeKey } from '#shared/http/route';
import { parseOrThrow } from '#shared/http/validation';
import { describeError, log } from '#shared/log';

export const MAX_BODY_BYTES = 1024 * 1024;

type HttpHandler = middy.MiddyfiedHandler<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>;

interface RequestState {
  requestId: string;
  started: number;
  headers: Record<string, string>;
}

const stateOf = new WeakMap<APIGatewayProxyEvent, RequestState>();

export function httpApiHandler(routes: readonly RouteDefinition[]): HttpHandler {
  const table = new Map(routes.map((route) => [routeKey(route.method, route.path), route]));
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
    .use(requestState())
    .use(errorResponses())
    .handler(async (event) => {
      const route = table.get(routeKey(event.httpMethod, event.resource));
      if (!route) throw new ApiError('not_found', 'No such route.');
      return toResult(await dispatch(route, event, stateOf.get(event) as RequestState));
    });
}

function requestState(): middy.MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    before: (request) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.event.headers ?? {})) if (value !== undefined) headers[name.toLowerCase()] = value;
      stateOf.set(request.event, {
        requestId: request.event.requestContext?.requestId ?? request.context.awsRequestId ?? 'unknown',
        started: Date.now(),
        headers,
      });
    },
    after: (request) => {
      const state = stateOf.get(request.event);
      if (!request.response || !state) return;
      request.response.headers = { ...(request.response.headers ?? {}), 'x-request-id': state.requestId };
      log.info('request', {
        request_id: state.requestId,
        method: request.event.httpMethod,
        route: request.event.resource,
        status: request.response.statusCode,
        duration_ms: Date.now() - state.started,
      });
    },
  };
}

function errorResponses(): middy.MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    onError: (request) => {
      const state = stateOf.get(request.event);
      const requestId = state?.requestId ?? 'unknown';
      const error = request.error;
      let apiError: ApiError;
      if (error instanceof ApiError) {
        apiError = error;
      } else {
        log.error('unhandled error', { request_id: requestId, route: request.event.resource, ...describeError(error) });
        apiError = new ApiError('internal_error', `Something went wrong on our side; quote request id ${requestId}.`);
      }
      const headers: Record<string, string> = { 'x-request-id': requestId };
      if (apiError.status === 503 || apiError.status === 429) headers['retry-after'] = '1';
      request.response = toResult({ status: apiError.status, body: errorBody(apiError), headers });
      log.info('request', {
        request_id: requestId,
        method: request.event.httpMethod,
        route: request.event.resource,
        status: apiError.status,
        code: apiError.code,
        duration_ms: state ? Date.now() - state.started : undefined,
      });
    },
  };
}

async function dispatch(route: RouteDefinition, event: APIGatewayProxyEvent, state: RequestState): Promise<ApiResponse> {
  const principal = 'public' in route.auth ? null : principalOf(event);
  if ('scope' in route.auth && principal && !hasScope(principal, route.auth.scope)) throw forbidden();

  const params = route.params ? parseOrThrow(route.params, decodePathParameters(event.pathParameters), 'path') : {};
  const query = parseOrThrow(route.query ?? strictEmptyQuery, singleValuedQuery(event), 'query');
  const body = route.body ? parseOrThrow(route.body, readJsonBody(event, state.headers), 'body') : undefined;
  if (!route.body) rejectUnexpectedBody(event);

  const idempotencyKey = state.headers['idempotency-key'];
  if (idempotencyKey !== undefined && (idempotencyKey.length < 1 || idempotencyKey.length > 255)) {
    throw validationError('Idempotency-Key must be 1 to 255 characters.', [
      { path: 'header.idempotency-key', message: 'must be 1 to 255 characters' },
    ]);
  }
  const request = {
    params,
    query,
    body,
    principal,
    requestId: state.requestId,
    ifMatch: parseIfMatch(state.headers['if-match']),
    idempotencyKey,
    sourceIp: event.requestContext?.identity?.sourceIp ?? '',
  };

  if (route.method !== 'POST' || idempotencyKey === undefined || !principal || route.issuesSecrets) return route.handle(request);

  let claim: IdempotencyClaim | undefined = await claimIdempotencyKey(
    principal.id,
    idempotencyKey,
    requestFingerprint(route.operationId, params, body),
  );
  if (claim.replay)
    return { status: claim.replay.status, body: claim.replay.body, headers: { ...claim.replay.headers, 'idempotent-replayed': 'true' } };
  try {
    const response = await route.handle(request);
    if (response.status < 300) {
      await completeIdempotencyKey(claim, response);
      claim = undefined;
    }
    return response;
  } finally {
    if (claim) await releaseIdempotencyKey(claim).catch((error: unknown) => log.warn('idempotency release failed', describeError(error)));
  }
}

function principalOf(event: APIGatewayProxyEvent): Principal {
  const raw = event.requestContext?.authorizer?.principal;
  const parsed = typeof raw === 'string' ? PrincipalSchema.safeParse(safeJson(raw)) : undefined;
  // The authorizer always sets it; its absence means a misconfigured route, which must fail closed.
  if (!parsed?.success) throw new ApiError('unauthorized', 'Missing or invalid credentials.');
  return parsed.data;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function decodePathParameters(parameters: APIGatewayProxyEvent['pathParameters']): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(parameters ?? {})) {
    if (value === undefined) continue;
    try {
      decoded[name] = decodeURIComponent(value);
    } catch {
      decoded[name] = value;
    }
  }
  return decoded;
}

const strictEmptyQuery = z.object({}).strict();

function singleValuedQuery(event: APIGatewayProxyEvent): Record<string, string> {
  // Null prototype: `?__proto__=1` must stay a parameter (and fail the strict schema as unknown), not vanish.
  const query: Record<string, string> = Object.create(null);
  const multi = event.multiValueQueryStringParameters ?? {};
  for (const [name, values] of Object.entries(multi)) {
    if (values && values.length > 1) {
      throw validationError('The query string is not valid.', [{ path: `query.${name}`, message: 'give this parameter once' }]);
    }
  }
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) if (value !== undefined) query[name] = value;
  return query;
}

function readJsonBody(event: APIGatewayProxyEvent, headers: Record<string, string>): unknown {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_BODY_BYTES) throw new ApiError('payload_too_large', 'The request body is larger than 1 MiB.');
  const contentType = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (contentType !== 'application/json') {
    throw new ApiError('unsupported_media_type', 'Send the body as application/json.');
  }
  const text = bytes.toString('utf8');
  if (text.trim().length === 0)
    throw validationError('The request body is empty; send a JSON object.', [{ path: '', message: 'required' }]);
  try {
    return JSON.parse(text);
  } catch {
    throw validationError('The request body is not valid JSON.', [{ path: '', message: 'malformed JSON' }]);
  }
}

function rejectUnexpectedBody(event: APIGatewayProxyEvent) {
  const raw = event.body ?? '';
  if (raw.length > MAX_BODY_BYTES * 1.4) throw new ApiError('payload_too_large', 'The request body is larger than 1 MiB.');
}

/** `"3"`, `W/"3"` or `3` is version 3; `*` matches any version; anything else can never match. */
export function parseIfMatch(header: string | undefined): number | null | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  return match?.[1] ? Number(match[1]) : null;
}

function toResult(response: ApiResponse): APIGatewayProxyResult {
  const hasBody = response.body !== undefined && response.status !== 204;
  return {
    statusCode: response.status,
    headers: {
      ...(hasBody ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...(response.headers ?? {}),
    },
    body: hasBody ? JSON.stringify(response.body) : '',
  };
}
