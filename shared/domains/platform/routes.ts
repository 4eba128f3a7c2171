/** Routes that need no credentials: health and the OpenAPI document. */
import { z } from 'zod';
import { openApiDocument } from '#shared/http/openapi';
import { defineRoute, type RouteDefinition } from '#shared/http/route';

const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });

export function platformRoutes(allRoutes: () => readonly RouteDefinition[]): RouteDefinition[] {
  let document: unknown;
  return [
    defineRoute({
      operationId: 'health',
      method: 'GET',
      path: '/v1/health',
      domain: 'platform',
      tag: 'platform',
      summary: 'Liveness check',
      auth: { public: true },
      responses: { 200: { description: 'The service answers', schema: healthSchema } },
      handle: async () => ({ status: 200, body: { status: 'ok' } }),
    }),
    defineRoute({
      operationId: 'openapi',
      method: 'GET',
      path: '/v1/openapi.json',
      domain: 'platform',
      tag: 'platform',
      summary: 'The OpenAPI 3.1 document of every route',
      auth: { public: true },
      responses: { 200: { description: 'OpenAPI 3.1 document' } },
      handle: async () => {
        document ??= openApiDocument(allRoutes());
        return { status: 200, body: document };
      },
    }),
  ];
}
