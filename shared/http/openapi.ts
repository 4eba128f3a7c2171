/**
 * The OpenAPI 3.1 document, generated from the route table and the zod schemas that validate requests, so the
 * document cannot drift from what the API accepts and answers.
 */
import { z } from 'zod';
import type { RouteDefinition } from '#shared/http/route';

type JsonSchema = Record<string, unknown>;

const COMPONENT_REF = (id: string) => `#/components/schemas/${id}`;

function idOf(schema: z.ZodType): string | undefined {
  const meta = z.globalRegistry.get(schema);
  return typeof meta?.id === 'string' ? meta.id : undefined;
}

function inline(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const id = idOf(schema);
  if (id) return { $ref: COMPONENT_REF(id) };
  const converted = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  delete converted.$schema;
  return converted;
}

function components(routes: readonly RouteDefinition[]): Record<string, JsonSchema> {
  const requestIds = new Set<string>();
  const responseIds = new Set<string>();
  for (const route of routes) {
    const bodyId = route.body ? idOf(route.body) : undefined;
    if (bodyId) requestIds.add(bodyId);
    for (const response of Object.values(route.responses)) {
      const id = response.schema ? idOf(response.schema) : undefined;
      if (id) responseIds.add(id);
    }
  }
  const convert = (io: 'input' | 'output') =>
    (
      z.toJSONSchema(z.globalRegistry, { target: 'draft-2020-12', io, unrepresentable: 'any', uri: COMPONENT_REF }) as {
        schemas: Record<string, JsonSchema>;
      }
    ).schemas;
  const asInput = convert('input');
  const asOutput = convert('output');
  const schemas: Record<string, JsonSchema> = {};
  for (const [id, schema] of Object.entries(asOutput)) if (!requestIds.has(id)) schemas[id] = strip(schema);
  for (const id of requestIds) if (asInput[id]) schemas[id] = strip(asInput[id]);
  for (const id of responseIds) if (asOutput[id]) schemas[id] = strip(asOutput[id]);
  return schemas;
}

function strip(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, id: _legacyId, ...rest } = schema;
  return rest;
}

function parameters(route: RouteDefinition) {
  const list: Record<string, unknown>[] = [];
  for (const [name, schema] of Object.entries(route.params?.shape ?? {})) {
    list.push({ name, in: 'path', required: true, schema: inline(schema as z.ZodType, 'input') });
  }
  for (const [name, schema] of Object.entries(route.query?.shape ?? {})) {
    const field = schema as z.ZodType;
    const optional = field.safeParse(undefined).success;
    list.push({ name, in: 'query', required: !optional, schema: inline(field, 'input') });
  }
  if (route.method === 'PATCH' || route.method === 'DELETE' || (route.method === 'PUT' && route.body)) {
    list.push({
      name: 'If-Match',
      in: 'header',
      required: false,
      schema: { type: 'string' },
      description: 'The version from the ETag; 412 if it moved on',
    });
  }
  if (route.method === 'POST' && !route.issuesSecrets) {
    list.push({ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', minLength: 1, maxLength: 255 } });
  }
  return list;
}

export function openApiDocument(routes: readonly RouteDefinition[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      parameters: parameters(route),
      responses: Object.fromEntries(
        Object.entries(route.responses).map(([status, spec]) => [
          status,
          spec.schema
            ? { description: spec.description, content: { 'application/json': { schema: inline(spec.schema, 'output') } } }
            : { description: spec.description },
        ]),
      ),
    };
    if ('public' in route.auth) operation.security = [];
    else if ('scope' in route.auth) operation['x-required-scope'] = route.auth.scope;
    if (route.body) operation.requestBody = { required: true, content: { 'application/json': { schema: inline(route.body, 'input') } } };
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, unknown>)[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Datacenter inventory API',
      version: '1.0.0',
      description: 'One source of truth for the VMware estate. Conventions: API-CONVENTIONS.md.',
    },
    servers: [{ url: '/' }],
    security: [{ ApiKey: [] }],
    components: {
      securitySchemes: { ApiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
      schemas: components(routes),
    },
    paths,
  };
}
