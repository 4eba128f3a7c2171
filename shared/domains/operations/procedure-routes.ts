/**
 * Routes of maintenance procedures: the standard CRUD (PATCH is its own: it stamps the revision and writes the
 * previous content as a revision item in the same transaction) and the revision history.
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { Principal } from '#shared/auth/principal';
import { tableName } from '#shared/config';
import { documentClient } from '#shared/db/client';
import { canonicalJson, type PlannedWrite } from '#shared/db/repository';
import { KEY_ATTRIBUTES } from '#shared/db/table';
import { maintenanceProcedureEntity as entity } from '#shared/domains/operations/maintenance-procedure';
import { crudRoutes, errorResponses, idParams, objectResponse, readVisible, repo, visibleTo } from '#shared/http/crud';
import { notFound, validationError } from '#shared/http/errors';
import { defineRoute, type RouteDefinition } from '#shared/http/route';
import { type EntityRecord, patchSchema, resourceSchema, toResource } from '#shared/model/entity';
import { entityKey } from '#shared/db/keys';
import { uuid } from '#shared/model/fields';

const REVISION_PREFIX = 'REVISION#';
const revisionSortKey = (revision: number) => `${REVISION_PREFIX}${String(revision).padStart(10, '0')}`;
const read = { scope: 'operations:read' } as const;
const write = { scope: 'operations:write' } as const;
const common = { domain: 'operations', tag: entity.collection } as const;
const base = `/v1/${entity.collection}`;
const item = resourceSchema(entity);

const errorSchema = errorResponses[400].schema;

/** The Put of the previous content, conditioned on its absence (a concurrent writer of the same revision loses). */
function revisionWrite(current: EntityRecord): PlannedWrite {
  return {
    items: [
      {
        Put: {
          TableName: tableName(),
          Item: {
            [KEY_ATTRIBUTES.partitionKey]: entityKey(entity, current.id).pk,
            [KEY_ATTRIBUTES.sortKey]: revisionSortKey(current.version),
            [KEY_ATTRIBUTES.type]: 'maintenance_procedure_revision',
            revision: current.version,
            title: current.title,
            updated_at: current.updated_at,
            content: current,
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': KEY_ATTRIBUTES.partitionKey },
        },
      },
    ],
    meanings: [{ kind: 'version' }],
  };
}

const revisionSummary = z
  .object({ revision: z.number().int(), updated_at: z.string(), title: z.string() })
  .meta({ id: 'MaintenanceProcedureRevisionSummary' });
const revisionList = z.object({ items: z.array(revisionSummary) }).meta({ id: 'MaintenanceProcedureRevisionList' });

async function storedRevisions(id: string): Promise<{ revision: number; updated_at: string; title: string }[]> {
  const items: { revision: number; updated_at: string; title: string }[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documentClient().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: {
          '#pk': KEY_ATTRIBUTES.partitionKey,
          '#sk': KEY_ATTRIBUTES.sortKey,
          '#rev': 'revision',
          '#u': 'updated_at',
          '#t': 'title',
        },
        ExpressionAttributeValues: { ':pk': entityKey(entity, id).pk, ':prefix': REVISION_PREFIX },
        ProjectionExpression: '#rev, #u, #t',
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const row of page.Items ?? []) items.push({ revision: row.revision, updated_at: row.updated_at, title: row.title });
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

export const maintenanceProcedureRoutes: RouteDefinition[] = [
  ...crudRoutes(entity, {
    domain: 'operations',
    read,
    write,
    without: ['update'],
    prepare: async (body, mode) => (mode === 'create' ? { ...body, revision: 1 } : body),
  }),
  defineRoute({
    ...common,
    operationId: `update_${entity.type}`,
    method: 'PATCH',
    path: `${base}/{id}`,
    summary: 'Change a maintenance procedure; the previous content is kept as a revision',
    auth: write,
    params: idParams,
    body: patchSchema(entity).meta({ id: `${entity.schemaName}Update` }),
    responses: {
      200: { description: 'The updated maintenance procedure', schema: item },
      ...errorResponses,
      412: { description: 'If-Match does not match the current version', schema: errorSchema },
    },
    handle: async ({ params, body, principal, requestId, ifMatch }) => {
      const patch = body as Record<string, unknown>;
      const { record } = await repo().update(
        entity,
        params.id,
        (current) => {
          if (!visibleTo(principal, entity)(current)) throw notFound(entity.label);
          const changes = Object.entries(patch).some(
            ([name, value]) => canonicalJson(value ?? null) !== canonicalJson(current[name] ?? null),
          );
          if (!changes) return {};
          const next = { ...current, ...patch } as EntityRecord;
          const details = entity.validate(next);
          if (details.length > 0) throw validationError(`The ${entity.label} is not valid.`, details);
          return { ...patch, revision: current.version + 1 };
        },
        { principal: principal as Principal, requestId },
        ifMatch,
        (current) => revisionWrite(current),
      );
      return objectResponse(entity, record);
    },
  }),
  defineRoute({
    ...common,
    operationId: `list_${entity.type}_revisions`,
    method: 'GET',
    path: `${base}/{id}/revisions`,
    summary: 'Previous revisions of a maintenance procedure, oldest first',
    auth: read,
    params: idParams,
    responses: { 200: { description: 'The previous revisions', schema: revisionList }, ...errorResponses },
    handle: async ({ params, principal }) => {
      await readVisible(entity, params.id, principal);
      return { status: 200, body: { items: await storedRevisions(params.id) } };
    },
  }),
  defineRoute({
    ...common,
    operationId: `get_${entity.type}_revision`,
    method: 'GET',
    path: `${base}/{id}/revisions/{revision}`,
    summary: 'The full content of a previous revision of a maintenance procedure',
    auth: read,
    params: z.object({ id: uuid(), revision: z.coerce.number().int().min(1).max(1_000_000_000) }).strict(),
    responses: { 200: { description: 'The procedure as it was at that revision', schema: item }, ...errorResponses },
    handle: async ({ params, principal }) => {
      await readVisible(entity, params.id, principal);
      const result = await documentClient().send(
        new GetCommand({
          TableName: tableName(),
          Key: {
            [KEY_ATTRIBUTES.partitionKey]: entityKey(entity, params.id).pk,
            [KEY_ATTRIBUTES.sortKey]: revisionSortKey(params.revision),
          },
          ConsistentRead: true,
        }),
      );
      if (!result.Item) throw notFound('revision');
      const content = result.Item.content as Record<string, unknown>;
      return { status: 200, body: toResource(entity, content) };
    },
  }),
];
