/**
 * The standard routes of a collection (list, create, read, update, delete, tags), generated from an entity
 * definition so every collection behaves the same: validation, filters, cursors, ETags, If-Match, datacenter access.
 */
import { z } from 'zod';
import { canAccessDatacenter, hasScope, type Principal } from '#shared/auth/principal';
import { repo, tagIdsOf } from '#shared/db/repository';
import { forbidden, notFound, validationError } from '#shared/http/errors';
import { type ApiResponse, type Domain, defineRoute, type RouteAuth, type RouteDefinition } from '#shared/http/route';
import {
  createSchema,
  type EntityDefinition,
  type EntityRecord,
  resourceSchema,
  patchSchema,
  TAG_IDS_FIELD,
  toResource,
} from '#shared/model/entity';
import { uuid } from '#shared/model/fields';
import { tagEntity } from '#shared/domains/inventory/tag';

/**
 * Replacing a whole set costs two transaction items per tag added or removed (link + tag counter) plus the object
 * and its audit record: 24 keeps the worst case (24 out, 24 in) within DynamoDB's 100 items.
 */
export const MAX_TAGS_PER_OBJECT = 24;

export { repo } from '#shared/db/repository';

export const idParams = z.object({ id: uuid() }).strict();

export const listQueryBase = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).max(4096).optional(),
});

export function listSchemaOf(item: z.ZodType, id: string) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() }).meta({ id });
}

const errorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })),
    }),
  })
  .meta({ id: 'Error' });

export const errorResponses = {
  400: { description: 'Invalid body, path, query or cursor', schema: errorSchema },
  401: { description: 'Missing or invalid credentials', schema: errorSchema },
  403: { description: 'Role or key scope does not allow this', schema: errorSchema },
  404: { description: 'No such object', schema: errorSchema },
} as const;

export function etagOf(record: EntityRecord): string {
  return `"${record.version}"`;
}

export function objectResponse(
  entity: EntityDefinition,
  record: EntityRecord,
  status = 200,
  extraHeaders: Record<string, string> = {},
): ApiResponse {
  return { status, body: toResource(entity, record), headers: { etag: etagOf(record), ...extraHeaders } };
}

// ---------------------------------------------------------------- access

export function visibleTo(principal: Principal | null, entity: EntityDefinition) {
  return (record: EntityRecord): boolean => {
    if (!principal) return false;
    // Owned objects (API keys): only their owner and admins see them.
    if (entity.ownerField && !hasScope(principal, 'admin') && record[entity.ownerField] !== principal.user_id) return false;
    const datacenterId = entity.datacenterOf(record);
    return datacenterId === undefined || canAccessDatacenter(principal, datacenterId, 'read');
  };
}

/** Reads an object the caller may see; anything else is the same 404 as a missing id. */
export async function readVisible(entity: EntityDefinition, id: string, principal: Principal | null): Promise<EntityRecord> {
  const record = await repo().get(entity, id);
  if (!record || !visibleTo(principal, entity)(record)) throw notFound(entity.label);
  return record;
}

function assertWritable(entity: EntityDefinition, record: EntityRecord, principal: Principal | null) {
  const datacenterId = entity.datacenterOf(record);
  if (datacenterId === undefined || !principal) return;
  if (!canAccessDatacenter(principal, datacenterId, 'write')) throw forbidden('You have read-only access to this datacenter.');
}

/**
 * Checks every reference the record makes: the target exists and is visible to the caller, and (where the rule
 * says so) lives in the record's datacenter. Returns the targets for derived fields. The transaction re-checks
 * existence and datacenter atomically; this read only produces precise messages.
 */
async function resolveReferences(entity: EntityDefinition, record: EntityRecord, principal: Principal | null, only?: Set<string>) {
  const targets = new Map<string, EntityRecord>();
  const details: { path: string; message: string }[] = [];
  for (const reference of entity.references) {
    const id = record[reference.field];
    if (typeof id !== 'string' || (only && !only.has(reference.field))) continue;
    const targetEntity = reference.target();
    const target = await repo().get(targetEntity, id);
    if (!target || !visibleTo(principal, targetEntity)(target)) {
      details.push({ path: reference.field, message: `no such ${targetEntity.label}` });
      continue;
    }
    if (reference.sameDatacenter && target.datacenter_id !== record.datacenter_id) {
      details.push({ path: reference.field, message: `the ${targetEntity.label} is in another datacenter` });
      continue;
    }
    targets.set(reference.field, target);
  }
  if (details.length > 0) throw validationError('A referenced object is missing or not allowed.', details);
  return targets;
}

function assertValid(entity: EntityDefinition, record: EntityRecord) {
  const details = entity.validate(record);
  if (details.length > 0) throw validationError(`The ${entity.label} is not valid.`, details);
}

// ---------------------------------------------------------------- operations (also used by domain code)

export async function createRecord(entity: EntityDefinition, body: Record<string, unknown>, principal: Principal, requestId: string) {
  const draft = { ...body } as EntityRecord;
  const targets = await resolveReferences(entity, draft, principal);
  const record = { ...draft, ...entity.derive(draft, targets) } as EntityRecord;
  assertValid(entity, record);
  // A new datacenter has no id yet to grant on: only callers with access to every datacenter may create one.
  if (entity.isDatacenterRoot && principal.datacenter_access !== 'all') {
    throw forbidden('Only callers with access to every datacenter can create datacenters.');
  }
  const datacenterId = entity.datacenterOf(record);
  if (datacenterId !== undefined && !canAccessDatacenter(principal, datacenterId, 'read') && entity.references.length > 0) {
    throw validationError('A referenced object is missing or not allowed.', [{ path: 'datacenter_id', message: 'no such datacenter' }]);
  }
  assertWritable(entity, record, principal);
  return repo().create(entity, record, { principal, requestId });
}

export async function updateRecord(
  entity: EntityDefinition,
  id: string,
  patch: Record<string, unknown>,
  principal: Principal,
  requestId: string,
  ifMatch: number | null | undefined,
) {
  return repo().update(
    entity,
    id,
    async (current) => {
      if (!visibleTo(principal, entity)(current)) throw notFound(entity.label);
      assertWritable(entity, current, principal);
      const draft = { ...current, ...patch } as EntityRecord;
      const changedReferences = new Set(entity.references.map((reference) => reference.field).filter((field) => field in patch));
      const targets = await resolveReferences(entity, draft, principal, changedReferences);
      const derived = changedReferences.size > 0 ? entity.derive(draft, targets) : {};
      const next = { ...draft, ...derived } as EntityRecord;
      for (const [key, value] of Object.entries(next)) if (value === null) delete next[key];
      assertValid(entity, next);
      assertWritable(entity, next, principal);
      return { ...patch, ...derived };
    },
    { principal, requestId },
    ifMatch,
  );
}

export async function deleteRecord(
  entity: EntityDefinition,
  id: string,
  principal: Principal,
  requestId: string,
  ifMatch: number | null | undefined,
) {
  const current = await readVisible(entity, id, principal);
  assertWritable(entity, current, principal);
  return repo().delete(entity, id, { principal, requestId }, ifMatch);
}

// ---------------------------------------------------------------- routes

export interface CrudOptions {
  domain: Domain;
  read: RouteAuth;
  write: RouteAuth;
  /** Request body schemas when they differ from the entity's (e.g. a write-only `password`). */
  createBody?: z.ZodType;
  updateBody?: z.ZodType;
  /** Turns a validated create/patch body into stored fields (hash a password, check ids); may throw 4xx. */
  prepare?: (
    body: Record<string, unknown>,
    mode: 'create' | 'update',
    principal: Principal,
    id?: string,
  ) => Promise<Record<string, unknown>>;
  /** Extra list query parameters that are not field filters, and the in-memory predicate they make. */
  listQuery?: z.ZodRawShape;
  listFilter?: (query: Record<string, unknown>) => (record: EntityRecord) => boolean;
  /** Standard routes this collection does not get (it defines its own). */
  without?: readonly ('list' | 'create' | 'get' | 'update' | 'delete')[];
}

export function crudRoutes(entity: EntityDefinition, options: CrudOptions): RouteDefinition[] {
  const base = `/v1/${entity.collection}`;
  const item = resourceSchema(entity);
  const createBody = options.createBody ?? createSchema(entity).meta({ id: `${entity.schemaName}Create` });
  const updateBody = options.updateBody ?? patchSchema(entity).meta({ id: `${entity.schemaName}Update` });
  const prepare = options.prepare ?? (async (body: Record<string, unknown>) => body);
  const listQuery = listQueryBase
    .extend(entity.filters.shape)
    .extend(entity.taggable ? { tag: z.string().min(1).max(100).optional() } : {})
    .extend(options.listQuery ?? {})
    .strict();
  const extraQueryNames = Object.keys(options.listQuery ?? {});
  const common = { domain: options.domain, tag: entity.collection } as const;
  const { read, write } = options;

  const routes: RouteDefinition[] = [
    defineRoute({
      ...common,
      operationId: `list_${entity.collection.replaceAll('-', '_')}`,
      method: 'GET',
      path: base,
      summary: `List ${entity.label}s`,
      auth: read,
      query: listQuery,
      responses: {
        200: { description: `A page of ${entity.label}s`, schema: listSchemaOf(item, `${entity.schemaName}List`) },
        ...errorResponses,
      },
      handle: async ({ query, principal }) => {
        const { limit, cursor, tag, ...rest } = query as { limit: number; cursor?: string; tag?: string } & Record<string, unknown>;
        // Extra query parameters are not field filters: they narrow the list in memory (e.g. a time range).
        const filters = Object.fromEntries(Object.entries(rest).filter(([name]) => !extraQueryNames.includes(name)));
        const accessible = visibleTo(principal, entity);
        const extra = options.listFilter?.(rest);
        let tagId: string | undefined;
        if (tag !== undefined) {
          tagId = await repo().findByUnique(tagEntity, 'name', tag.toLowerCase());
          if (!tagId) return { status: 200, body: { items: [], next_cursor: null } };
        }
        const page = await repo().list(entity, {
          filters,
          limit,
          ...(cursor ? { cursor } : {}),
          ...(tag !== undefined ? { tag, tagId } : {}),
          visible: extra ? (record) => accessible(record) && extra(record) : accessible,
          ...(extra ? { scopeExtras: Object.fromEntries(extraQueryNames.map((name) => [name, rest[name] ?? null])) } : {}),
        });
        return { status: 200, body: { items: page.items.map((record) => toResource(entity, record)), next_cursor: page.next_cursor } };
      },
    }),
    defineRoute({
      ...common,
      operationId: `create_${entity.type}`,
      method: 'POST',
      path: base,
      summary: `Create a ${entity.label}`,
      auth: write,
      body: createBody,
      responses: {
        201: { description: `The created ${entity.label}`, schema: item },
        ...errorResponses,
        409: { description: 'A unique value is already taken', schema: errorSchema },
      },
      handle: async ({ body, principal, requestId }) => {
        const fields = await prepare(body as Record<string, unknown>, 'create', principal as Principal);
        const record = await createRecord(entity, fields, principal as Principal, requestId);
        return objectResponse(entity, record, 201, { location: `${base}/${record.id}` });
      },
    }),
    defineRoute({
      ...common,
      operationId: `get_${entity.type}`,
      method: 'GET',
      path: `${base}/{id}`,
      summary: `Read a ${entity.label}`,
      auth: read,
      params: idParams,
      responses: { 200: { description: `The ${entity.label}`, schema: item }, ...errorResponses },
      handle: async ({ params, principal }) => objectResponse(entity, await readVisible(entity, params.id, principal)),
    }),
    defineRoute({
      ...common,
      operationId: `update_${entity.type}`,
      method: 'PATCH',
      path: `${base}/{id}`,
      summary: `Change fields of a ${entity.label}`,
      auth: write,
      params: idParams,
      body: updateBody,
      responses: {
        200: { description: `The updated ${entity.label}`, schema: item },
        ...errorResponses,
        409: { description: 'A unique value is already taken', schema: errorSchema },
        412: { description: 'If-Match does not match the current version', schema: errorSchema },
      },
      handle: async ({ params, body, principal, requestId, ifMatch }) => {
        const { record } = await updateRecord(
          entity,
          params.id,
          await prepare(body as Record<string, unknown>, 'update', principal as Principal, params.id),
          principal as Principal,
          requestId,
          ifMatch,
        );
        return objectResponse(entity, record);
      },
    }),
    defineRoute({
      ...common,
      operationId: `delete_${entity.type}`,
      method: 'DELETE',
      path: `${base}/{id}`,
      summary: `Delete a ${entity.label}`,
      auth: write,
      params: idParams,
      responses: {
        204: { description: 'Deleted' },
        ...errorResponses,
        409: { description: 'Other objects still reference it', schema: errorSchema },
        412: { description: 'If-Match does not match the current version', schema: errorSchema },
      },
      handle: async ({ params, principal, requestId, ifMatch }) => {
        await deleteRecord(entity, params.id, principal as Principal, requestId, ifMatch);
        return { status: 204 };
      },
    }),
  ];

  if (entity.taggable) routes.push(...tagRoutes(entity, options, base, common, read, write));
  const skipped = new Set((options.without ?? []).map((name) => `${name}_`));
  return routes.filter((route) => ![...skipped].some((prefix) => route.operationId.startsWith(prefix)));
}

const tagSetBody = z
  .object({ tag_ids: z.array(uuid()).max(MAX_TAGS_PER_OBJECT) })
  .strict()
  .meta({ id: 'TagSet' });

let tagSetResponseCache: z.ZodType | undefined;
function tagSetResponseSchema(): z.ZodType {
  tagSetResponseCache ??= z
    .object({ tag_ids: z.array(z.string()), tags: z.array(resourceSchema(tagEntity)) })
    .meta({ id: 'TagSetResponse' });
  return tagSetResponseCache;
}

function tagRoutes(
  entity: EntityDefinition,
  _options: CrudOptions,
  base: string,
  common: { domain: Domain; tag: string },
  read: RouteAuth,
  write: RouteAuth,
): RouteDefinition[] {
  const tagSetResponse = tagSetResponseSchema();
  const respond = async (record: EntityRecord): Promise<ApiResponse> => {
    const ids = tagIdsOf(record);
    const tags = await repo().batchGet(tagEntity, ids);
    return {
      status: 200,
      body: {
        [TAG_IDS_FIELD]: ids,
        tags: ids.flatMap((id) => (tags.has(id) ? [toResource(tagEntity, tags.get(id) as EntityRecord)] : [])),
      },
      headers: { etag: etagOf(record) },
    };
  };
  return [
    defineRoute({
      ...common,
      operationId: `get_${entity.type}_tags`,
      method: 'GET',
      path: `${base}/{id}/tags`,
      summary: `Tags of a ${entity.label}`,
      auth: read,
      params: idParams,
      responses: { 200: { description: 'The tag set', schema: tagSetResponse }, ...errorResponses },
      handle: async ({ params, principal }) => respond(await readVisible(entity, params.id, principal)),
    }),
    defineRoute({
      ...common,
      operationId: `replace_${entity.type}_tags`,
      method: 'PUT',
      path: `${base}/{id}/tags`,
      summary: `Replace the tags of a ${entity.label}`,
      auth: write,
      params: idParams,
      body: tagSetBody,
      responses: {
        200: { description: 'The new tag set', schema: tagSetResponse },
        ...errorResponses,
        412: { description: 'If-Match does not match the current version', schema: errorSchema },
      },
      handle: async ({ params, body, principal, requestId, ifMatch }) => {
        const current = await readVisible(entity, params.id, principal);
        assertWritable(entity, current, principal);
        const { record } = await repo().replaceTags(
          entity,
          params.id,
          body.tag_ids,
          { principal: principal as Principal, requestId },
          ifMatch,
        );
        return respond(record);
      },
    }),
  ];
}
