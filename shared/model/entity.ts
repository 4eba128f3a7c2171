/**
 * One definition per entity drives validation (create/patch bodies), the public representation, the storage keys
 * and the OpenAPI schemas. Domain modules call `defineEntity`; the repository and the generic CRUD routes only read
 * the definition.
 */
import { z } from 'zod';
import type { ErrorDetail } from '#shared/http/errors';
import type { IndexName } from '#shared/db/table';

// biome-ignore lint/suspicious/noExplicitAny: any zod shape
export type AnyShape = Record<string, z.ZodType<any>>;

export interface BaseFields {
  id: string;
  created_at: string;
  updated_at: string;
  version: number;
}

/** A stored object as the domain sees it: base fields, its own fields, and read-only extras. */
export type EntityRecord = BaseFields & Record<string, unknown>;

export interface UniqueConstraint {
  /** Field path reported in the 409 details. */
  readonly field: string;
  /** The value that must be unique, or undefined when the constraint does not apply (e.g. empty optional). */
  readonly value: (record: EntityRecord) => string | undefined;
}

export interface Reference {
  /** The field holding the referenced id. */
  readonly field: string;
  /** The referenced entity (a thunk, so entities can reference each other). */
  readonly target: () => EntityDefinition;
  /** The target must be in the same datacenter as this record (a VM's server). */
  readonly sameDatacenter?: boolean;
  /**
   * When the reference need not be counted on the target because another counted reference already protects it
   * (a VM placed on a server: the server counts the VM, and the datacenter counts the server). Keeps bulk writes of
   * thousands of VMs from all touching the one datacenter item.
   */
  readonly uncountedWhen?: (record: EntityRecord) => boolean;
}

export interface ListAccess {
  /** The filter parameter that selects this access path. */
  readonly param: string;
  readonly index: IndexName;
  /** The index partition value for a filter value. */
  readonly partition: (value: string) => string;
}

export interface EntityDefinition<Shape extends AnyShape = AnyShape> {
  /** The `type` attribute stored on every item, snake_case: `server`, `storage_bay`. */
  readonly type: string;
  /** Upper-case key prefix: `SERVER`. */
  readonly prefix: string;
  /** URL collection: `servers`. */
  readonly collection: string;
  /** PascalCase name for OpenAPI schemas: `Server`. */
  readonly schemaName: string;
  /** Human label for messages: `server`. */
  readonly label: string;
  /** Writable fields, with create-time requiredness. Optional fields should be `.nullable().optional()`. */
  readonly fields: z.ZodObject<Shape>;
  /** Fields that can be set on create but never changed afterwards. */
  readonly immutable: readonly (keyof Shape & string)[];
  /** Output-only fields computed by the service (e.g. a NIC's datacenter_id). */
  readonly readOnly: z.ZodObject<AnyShape>;
  readonly unique: readonly UniqueConstraint[];
  readonly references: readonly Reference[];
  /** Index key values for the item, derived from the record. */
  readonly indexKeys: (record: EntityRecord) => Partial<Record<IndexName, { pk: string; sk: string }>>;
  /** Filter-driven access paths, tried in order; the type index is the fallback. */
  readonly listAccess: readonly ListAccess[];
  /** Query parameters accepted on the list route (besides limit/cursor/tag). */
  readonly filters: z.ZodObject<AnyShape>;
  /** Whether objects carry tags (`tag_ids`, `/tags` sub-resource, `?tag=` filter). */
  readonly taggable: boolean;
  /** The datacenter an object belongs to, for access checks; undefined for global objects (tags, datacenters themselves decide by id). */
  readonly datacenterOf: (record: EntityRecord) => string | undefined;
  /** Cross-field rules on the full record after create or patch. */
  readonly validate: (record: EntityRecord) => ErrorDetail[];
  /** The entity is the datacenter itself: its id is the access scope of everything in it. */
  readonly isDatacenterRoot: boolean;
  /** Field naming the owning user: only the owner and admins see such objects (API keys). */
  readonly ownerField: string | undefined;
  /** Read-only fields computed from the record and its referenced objects (e.g. a NIC's datacenter_id). */
  readonly derive: (record: EntityRecord, targets: ReadonlyMap<string, EntityRecord>) => Record<string, unknown>;
}

export interface EntityOptions<Shape extends AnyShape> {
  type: string;
  collection: string;
  schemaName: string;
  label?: string;
  fields: z.ZodObject<Shape>;
  immutable?: readonly (keyof Shape & string)[];
  readOnly?: z.ZodObject<AnyShape>;
  unique?: readonly UniqueConstraint[];
  references?: readonly Reference[];
  indexKeys?: (record: EntityRecord) => Partial<Record<IndexName, { pk: string; sk: string }>>;
  listAccess?: readonly ListAccess[];
  filters?: z.ZodObject<AnyShape>;
  taggable?: boolean;
  datacenterOf?: (record: EntityRecord) => string | undefined;
  validate?: (record: EntityRecord) => ErrorDetail[];
  isDatacenterRoot?: boolean;
  ownerField?: string;
  derive?: (record: EntityRecord, targets: ReadonlyMap<string, EntityRecord>) => Record<string, unknown>;
}

export function defineEntity<Shape extends AnyShape>(options: EntityOptions<Shape>): EntityDefinition {
  const definition: EntityDefinition<Shape> = {
    type: options.type,
    prefix: options.type.toUpperCase(),
    collection: options.collection,
    schemaName: options.schemaName,
    label: options.label ?? options.type.replaceAll('_', ' '),
    fields: options.fields,
    immutable: options.immutable ?? [],
    readOnly: options.readOnly ?? z.object({}),
    unique: options.unique ?? [],
    references: options.references ?? [],
    indexKeys: options.indexKeys ?? (() => ({})),
    listAccess: options.listAccess ?? [],
    filters: options.filters ?? z.object({}),
    taggable: options.taggable ?? false,
    datacenterOf: options.datacenterOf ?? (() => undefined),
    validate: options.validate ?? (() => []),
    isDatacenterRoot: options.isDatacenterRoot ?? false,
    ownerField: options.ownerField,
    derive: options.derive ?? (() => ({})),
  };
  // Field-level typing matters while defining; consumers work on the erased shape.
  return definition as unknown as EntityDefinition;
}

export const baseFieldsSchema = z.object({
  id: z.string().meta({ description: 'UUID v7, time-ordered' }),
  created_at: z.string().meta({ description: 'ISO 8601 UTC' }),
  updated_at: z.string().meta({ description: 'ISO 8601 UTC' }),
  version: z.number().int().meta({ description: '+1 on every write; send it back in If-Match' }),
});

export const TAG_IDS_FIELD = 'tag_ids';

/** Body schema of `POST /v1/<collection>`; `writeOnly` adds fields that are accepted but never stored as given (a password). */
export function createSchema(entity: EntityDefinition, writeOnly: AnyShape = {}) {
  return entity.fields.extend(writeOnly).strict();
}

/** Body schema of `PATCH /v1/<collection>/{id}`: every writable, mutable field optional, at least one. */
export function patchSchema(entity: EntityDefinition, writeOnly: AnyShape = {}) {
  const omit = Object.fromEntries(entity.immutable.map((field) => [field, true])) as Record<string, true>;
  const mutable = entity.fields.omit(omit);
  // zod applies a `.default()` even under `.partial()`: a PATCH would fill in every defaulted field it does not
  // name and so reset it (a server's status back to `active`). Create-time defaults have no place in a PATCH.
  const withoutDefaults = Object.fromEntries(
    Object.entries(mutable.shape).flatMap(([name, schema]) =>
      schema instanceof z.ZodDefault ? [[name, schema.unwrap() as z.ZodType]] : [],
    ),
  );
  return mutable
    .extend(withoutDefaults)
    .extend(writeOnly)
    .partial()
    .strict()
    .refine((body) => Object.keys(body).length > 0, { message: 'give at least one field to change' });
}

/** The public representation: base fields, own fields (null when unset), read-only fields, tags. */
export function outputSchema(entity: EntityDefinition) {
  const ownFields = Object.fromEntries(Object.entries(entity.fields.shape).map(([name, schema]) => [name, requiredNullable(schema)]));
  let schema = baseFieldsSchema.extend(ownFields).extend(entity.readOnly.shape);
  if (entity.taggable) schema = schema.extend({ [TAG_IDS_FIELD]: z.array(z.string()) });
  return schema;
}

function requiredNullable(schema: z.ZodType): z.ZodType {
  const inner = schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema;
  return inner instanceof z.ZodNullable ? inner : inner.nullable();
}

const resourceSchemas = new WeakMap<EntityDefinition, z.ZodType>();
/** The output schema registered under the entity's OpenAPI name, built once per entity. */
export function resourceSchema(entity: EntityDefinition): z.ZodType {
  let schema = resourceSchemas.get(entity);
  if (!schema) {
    schema = outputSchema(entity).meta({ id: entity.schemaName });
    resourceSchemas.set(entity, schema);
  }
  return schema;
}

const publicKeyCache = new WeakMap<EntityDefinition, readonly string[]>();
/** Every key of the public representation, in a stable order (computed once per entity: lists call it per item). */
export function publicKeys(entity: EntityDefinition): readonly string[] {
  let keys = publicKeyCache.get(entity);
  if (!keys) {
    const list = [...Object.keys(baseFieldsSchema.shape), ...Object.keys(entity.fields.shape), ...Object.keys(entity.readOnly.shape)];
    if (entity.taggable) list.push(TAG_IDS_FIELD);
    keys = list;
    publicKeyCache.set(entity, keys);
  }
  return keys;
}

/** Strips storage attributes and fills unset fields with null. */
export function toResource(entity: EntityDefinition, record: Record<string, unknown>): Record<string, unknown> {
  const resource: Record<string, unknown> = {};
  for (const key of publicKeys(entity)) {
    const value = record[key];
    resource[key] = value === undefined ? (key === TAG_IDS_FIELD ? [] : null) : value;
  }
  return resource;
}
