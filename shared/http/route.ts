/**
 * The route table's shape. One list of RouteDefinitions drives API Gateway (lib/), the local server (local/),
 * the Lambda dispatchers (functions/) and the OpenAPI document (shared/http/openapi.ts).
 */
import type { z } from 'zod';
import type { Principal, Scope } from '#shared/auth/principal';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Routes are grouped into one Lambda function per domain (keeps the stack far below 500 resources). */
export const DOMAINS = ['platform', 'inventory', 'identity', 'sync', 'monitoring', 'operations'] as const;
export type Domain = (typeof DOMAINS)[number];

/** `public`: no credentials; `authenticated`: any valid credential (self-service routes); `scope`: that scope. */
export type RouteAuth = { readonly public: true } | { readonly authenticated: true } | { readonly scope: Scope };

// biome-ignore lint/suspicious/noExplicitAny: any zod object shape is acceptable as a schema slot
type AnyObject = z.ZodObject<any>;

export interface ApiRequest<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** Null only on public routes. */
  readonly principal: Principal | null;
  readonly requestId: string;
  /** The version from `If-Match`, `undefined` when absent, `null` when present but unparsable or `*`. */
  readonly ifMatch: number | null | undefined;
  readonly idempotencyKey: string | undefined;
  readonly sourceIp: string;
}

export interface ApiResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ResponseSpec {
  readonly description: string;
  readonly schema?: z.ZodType;
}

export interface RouteDefinition<P extends AnyObject = AnyObject, Q extends AnyObject = AnyObject, B extends z.ZodType = z.ZodType> {
  readonly operationId: string;
  readonly method: HttpMethod;
  /** API Gateway resource path, `{name}` for path parameters. */
  readonly path: string;
  readonly domain: Domain;
  readonly summary: string;
  /** OpenAPI tag, usually the collection. */
  readonly tag: string;
  readonly auth: RouteAuth;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  /**
   * The response carries a secret shown once (a new API key, a TOTP enrolment, recovery codes): it must never be
   * stored for an Idempotency-Key replay, so such routes do not honour the header (documented per route).
   */
  readonly issuesSecrets?: boolean;
  readonly handle: (request: ApiRequest<z.output<P>, z.output<Q>, z.output<B>>) => Promise<ApiResponse>;
}

/** Identity function that lets TypeScript infer the request types from the schemas. */
export function defineRoute<P extends AnyObject, Q extends AnyObject, B extends z.ZodType>(
  route: RouteDefinition<P, Q, B>,
): RouteDefinition {
  return route as unknown as RouteDefinition;
}

export function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}

/** Turns `/v1/servers/{id}` into a matcher for concrete paths (local server, tests). */
export function compilePath(path: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const pattern = path
    .split('/')
    .map((segment) => {
      const match = /^\{(\w+)\}$/.exec(segment);
      if (!match?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(match[1]);
      return '([^/]+)';
    })
    .join('/');
  return { regex: new RegExp(`^${pattern}$`), names };
}
