/**
 * The typed repository over @aws-sdk/lib-dynamodb. It knows keys, guards, references, versions and audit records;
 * it does not know HTTP. Every write is one TransactWriteItems so an object, its uniqueness guards, its parents'
 * reference counters and its audit record change together or not at all.
 */
import {
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ThrottlingException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { auditPut, type WriteContext } from '#shared/db/audit';
import { documentClient } from '#shared/db/client';
import { type CursorPosition, decodeCursor, encodeCursor, listScope } from '#shared/db/cursor';
import { entityKey, guardKey, referenceCounter, tagLinkKey } from '#shared/db/keys';
import { INDEXES, KEY_ATTRIBUTES, RESERVED_ATTRIBUTES, storedFieldName, type IndexName } from '#shared/db/table';
import { tableName, serverSecrets } from '#shared/config';
import { ApiError, conflict, type ErrorDetail, notFound, preconditionFailed, validationError } from '#shared/http/errors';
import type { EntityDefinition, EntityRecord } from '#shared/model/entity';
import { nowIso, uuidv7 } from '#shared/model/ids';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** What a failed condition at a given transaction position means, for a precise 4xx. */
export type FailureMeaning =
  | { kind: 'exists' }
  | { kind: 'version' }
  | { kind: 'guard'; field: string }
  | { kind: 'reference'; field: string; label: string }
  | { kind: 'children' }
  | { kind: 'other'; error: () => ApiError };

export interface PlannedWrite {
  items: TransactItem[];
  meanings: FailureMeaning[];
}

/**
 * +1 on an item whenever one of its reference counters changes. A delete reads the counters before its transaction,
 * and a child added meanwhile may create a counter the delete did not see; the delete's condition on this value
 * makes that race fail instead of leaving an orphan.
 */
const REFERENCE_REVISION = 'reference_revision';

const INTERNAL_ATTRIBUTES = new Set<string>([
  KEY_ATTRIBUTES.partitionKey,
  KEY_ATTRIBUTES.sortKey,
  KEY_ATTRIBUTES.type,
  KEY_ATTRIBUTES.timeToLive,
  REFERENCE_REVISION,
  ...Object.values(INDEXES).flatMap((index) => [index.partitionKey, index.sortKey]),
]);

const STORED_FIELD_PREFIX = 'field_';

/** The record without storage attributes (keys, counters), with renamed fields under their own names again. */
export function stripStorage(item: Record<string, unknown>): EntityRecord {
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) {
    if (INTERNAL_ATTRIBUTES.has(key) || key.startsWith('refs_')) continue;
    const original = key.startsWith(STORED_FIELD_PREFIX) ? key.slice(STORED_FIELD_PREFIX.length) : key;
    record[RESERVED_ATTRIBUTES.has(original) ? original : key] = value;
  }
  return record as EntityRecord;
}

function storageItem(entity: EntityDefinition, record: EntityRecord) {
  const fields = Object.fromEntries(Object.entries(record).map(([name, value]) => [storedFieldName(name), value]));
  const item: Record<string, unknown> = {
    ...fields,
    ...entityKey(entity, record.id),
    [KEY_ATTRIBUTES.type]: entity.type,
    [INDEXES.byType.partitionKey]: entity.type,
    [INDEXES.byType.sortKey]: record.id,
  };
  for (const [indexName, keys] of Object.entries(entity.indexKeys(record))) {
    const index = INDEXES[indexName as IndexName];
    if (keys) {
      item[index.partitionKey] = keys.pk;
      item[index.sortKey] = keys.sk;
    }
  }
  // DynamoDB stores no nulls we did not mean: an unset optional field is absent, not NULL.
  for (const [key, value] of Object.entries(item)) if (value === null || value === undefined) delete item[key];
  return item;
}

function countersOf(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).filter(([key]) => key.startsWith('refs_')));
}

function uniqueValues(entity: EntityDefinition, record: EntityRecord): Map<string, string> {
  const values = new Map<string, string>();
  for (const constraint of entity.unique) {
    const value = constraint.value(record);
    if (value !== undefined) values.set(constraint.field, value);
  }
  return values;
}

/** The references of a record that are counted on their targets (see `Reference.uncountedWhen`). */
function referencedIds(entity: EntityDefinition, record: EntityRecord): Map<string, string> {
  const ids = new Map<string, string>();
  for (const reference of entity.references) {
    if (reference.uncountedWhen?.(record)) continue;
    const value = record[reference.field];
    if (typeof value === 'string') ids.set(reference.field, value);
  }
  return ids;
}

export class Repository {
  constructor(
    private readonly db = documentClient(),
    private readonly table = tableName(),
  ) {}

  // ---------------------------------------------------------------- reads

  async get(entity: EntityDefinition, id: string): Promise<EntityRecord | undefined> {
    const result = await guardThrottling(() =>
      this.db.send(new GetCommand({ TableName: this.table, Key: entityKey(entity, id), ConsistentRead: true })),
    );
    return result.Item ? stripStorage(result.Item) : undefined;
  }

  async getOrThrow(entity: EntityDefinition, id: string): Promise<EntityRecord> {
    const record = await this.get(entity, id);
    if (!record) throw notFound(entity.label);
    return record;
  }

  /** The id that owns a unique value (e.g. the tag named "production"), if any. */
  async findByUnique(entity: EntityDefinition, field: string, value: string): Promise<string | undefined> {
    const result = await guardThrottling(() =>
      this.db.send(new GetCommand({ TableName: this.table, Key: guardKey(entity, field, value), ConsistentRead: true })),
    );
    const owner = result.Item?.owner_id;
    return typeof owner === 'string' ? owner : undefined;
  }

  async batchGet(entity: EntityDefinition, ids: readonly string[]): Promise<Map<string, EntityRecord>> {
    const found = new Map<string, EntityRecord>();
    for (let start = 0; start < ids.length; start += 100) {
      let keys: Record<string, unknown>[] = ids.slice(start, start + 100).map((id) => entityKey(entity, id));
      for (let attempt = 0; keys.length > 0 && attempt < 8; attempt++) {
        const requestKeys = keys;
        const result = await guardThrottling(() =>
          this.db.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: requestKeys } } })),
        );
        for (const item of result.Responses?.[this.table] ?? []) {
          const record = stripStorage(item);
          found.set(record.id, record);
        }
        keys = result.UnprocessedKeys?.[this.table]?.Keys ?? [];
        if (keys.length > 0) await sleep(25 * 2 ** attempt);
      }
      if (keys.length > 0) throw new ApiError('service_unavailable', 'The database is busy; retry shortly.');
    }
    return found;
  }

  /**
   * One page of a list. Filters become a FilterExpression (or, with a matching access path, the index key);
   * `visible` drops objects the caller may not see. Exactly `limit` items come back while more exist, and the
   * cursor points after the last one returned, so pages never overlap or skip.
   */
  async list(entity: EntityDefinition, options: ListOptions): Promise<ListPage> {
    const secrets = await serverSecrets();
    const filters = Object.fromEntries(Object.entries(options.filters).filter(([, value]) => value !== undefined));
    const source = options.tagId !== undefined ? this.tagSource(entity, options.tagId, filters) : this.indexSource(entity, filters);
    const scope = listScope({
      collection: entity.collection,
      tag: options.tag ?? null,
      filters,
      extras: options.scopeExtras ?? null,
      source: source.name,
    });
    let position: CursorPosition | undefined = options.cursor ? decodeCursor(secrets.cursor_key, scope, options.cursor) : undefined;

    const items: EntityRecord[] = [];
    let lastReturnedPosition: CursorPosition | undefined;
    let hasMore = false;
    for (let round = 0; round < MAX_ROUNDS_PER_PAGE; round++) {
      const page = await source.fetch(position, options.limit + 1 - items.length);
      for (const entry of page.entries) {
        if (!options.visible(entry.record)) continue;
        if (items.length === options.limit) {
          hasMore = true;
          break;
        }
        items.push(entry.record);
        lastReturnedPosition = entry.position;
      }
      if (hasMore) break;
      if (!page.next) {
        lastReturnedPosition = undefined;
        break;
      }
      position = page.next;
      if (round === MAX_ROUNDS_PER_PAGE - 1) {
        // Sparse filter: stop reading and hand back a cursor at the read position rather than scan forever.
        hasMore = true;
        lastReturnedPosition = position;
      }
    }
    const next = hasMore && lastReturnedPosition ? encodeCursor(secrets.cursor_key, scope, lastReturnedPosition) : null;
    return { items, next_cursor: next };
  }

  /** Every object of a type matching `filters`, all pages (system jobs: rules, thresholds, connections; not user lists). */
  async listAll(entity: EntityDefinition, filters: Record<string, unknown> = {}): Promise<EntityRecord[]> {
    const records: EntityRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.list(entity, { filters, limit: 500, visible: () => true, ...(cursor ? { cursor } : {}) });
      records.push(...page.items);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return records;
  }

  private indexSource(entity: EntityDefinition, filters: Record<string, unknown>): PageSource {
    const access = entity.listAccess.find((candidate) => typeof filters[candidate.param] === 'string');
    const indexName: IndexName = access?.index ?? 'byType';
    const index = INDEXES[indexName];
    const partition = access ? access.partition(filters[access.param] as string) : entity.type;
    const remaining = Object.entries(filters).filter(([name]) => name !== access?.param);

    const names: Record<string, string> = { '#pk': index.partitionKey };
    const values: Record<string, unknown> = { ':pk': partition };
    let keyCondition = '#pk = :pk';
    if (indexName !== 'byType') {
      names['#sk'] = index.sortKey;
      values[':prefix'] = `${entity.prefix}#`;
      keyCondition += ' AND begins_with(#sk, :prefix)';
    }
    const filterParts = remaining.map(([name, value], position) => {
      names[`#f${position}`] = storedFieldName(name);
      values[`:f${position}`] = value;
      return `#f${position} = :f${position}`;
    });
    const base: QueryCommandInput = {
      TableName: this.table,
      IndexName: index.name,
      KeyConditionExpression: keyCondition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ...(filterParts.length > 0 ? { FilterExpression: filterParts.join(' AND ') } : {}),
    };
    const keyAttributes = [KEY_ATTRIBUTES.partitionKey, KEY_ATTRIBUTES.sortKey, index.partitionKey, index.sortKey];
    return {
      name: `${index.name}:${access?.param ?? 'type'}`,
      fetch: async (position, wanted) => {
        const result = await guardThrottling(() =>
          this.db.send(
            new QueryCommand({
              ...base,
              Limit: filterParts.length > 0 ? FILTERED_PAGE_READ : Math.max(wanted, 1),
              ...(position ? { ExclusiveStartKey: position } : {}),
            }),
          ),
        );
        return {
          entries: (result.Items ?? []).map((item) => ({ record: stripStorage(item), position: pick(item, keyAttributes) })),
          next: result.LastEvaluatedKey ? stringifyKey(result.LastEvaluatedKey) : undefined,
        };
      },
    };
  }

  private tagSource(entity: EntityDefinition, tagId: string, filters: Record<string, unknown>): PageSource {
    const link = tagLinkKey(tagId, entity, '');
    return {
      name: 'tag',
      fetch: async (position, wanted) => {
        const result = await guardThrottling(() =>
          this.db.send(
            new QueryCommand({
              TableName: this.table,
              KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
              ExpressionAttributeValues: { ':pk': link.pk, ':prefix': link.sk },
              Limit: Math.max(wanted, 1),
              ...(position ? { ExclusiveStartKey: position } : {}),
            }),
          ),
        );
        const links = result.Items ?? [];
        const records = await this.batchGet(
          entity,
          links.map((item) => String(item.entity_id)),
        );
        const entries = links.flatMap((item) => {
          const record = records.get(String(item.entity_id));
          if (!record || !matches(record, filters)) return [];
          return [{ record, position: pick(item, [KEY_ATTRIBUTES.partitionKey, KEY_ATTRIBUTES.sortKey]) }];
        });
        return { entries, next: result.LastEvaluatedKey ? stringifyKey(result.LastEvaluatedKey) : undefined };
      },
    };
  }

  // ---------------------------------------------------------------- writes

  /** Creates a record; `data` holds validated own fields and read-only extras. */
  async create(
    entity: EntityDefinition,
    data: Record<string, unknown>,
    context: WriteContext,
    id: string = uuidv7(),
  ): Promise<EntityRecord> {
    const now = nowIso();
    const record = { ...data, id, created_at: now, updated_at: now, version: 1 } as EntityRecord;
    const plan: PlannedWrite = { items: [], meanings: [] };
    add(
      plan,
      { Put: { TableName: this.table, Item: storageItem(entity, record), ConditionExpression: 'attribute_not_exists(pk)' } },
      { kind: 'exists' },
    );
    this.planGuards(plan, entity, record.id, new Map(), uniqueValues(entity, record));
    this.planReferences(plan, entity, new Map(), referencedIds(entity, record), entity.datacenterOf(record));
    if (!context.bookkeeping)
      add(plan, auditPut(this.table, { action: 'create', entity, before: undefined, after: record, context }), { kind: 'exists' });
    await this.execute(plan, entity);
    return record;
  }

  /**
   * Applies `change` to the current record and writes the result if anything changed. With `expectedVersion`
   * a moved-on object is a 412; without it, a concurrent write is retried on the fresh record.
   */
  async update(
    entity: EntityDefinition,
    id: string,
    change: (current: EntityRecord) => Record<string, unknown> | Promise<Record<string, unknown>>,
    context: WriteContext,
    expectedVersion?: number | null,
    extra?: (current: EntityRecord, next: EntityRecord) => PlannedWrite,
  ): Promise<{ record: EntityRecord; changed: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const currentItem = await this.rawItem(entity, id);
      if (!currentItem) throw notFound(entity.label);
      const current = stripStorage(currentItem);
      if (expectedVersion === null || (expectedVersion !== undefined && current.version !== expectedVersion)) throw preconditionFailed();
      const merged = { ...current, ...(await change(current)) };
      for (const [key, value] of Object.entries(merged)) if (value === null || value === undefined) delete merged[key];
      if (sameRecord(current, merged)) return { record: current, changed: false };
      const next = { ...merged, id, created_at: current.created_at, updated_at: nowIso(), version: current.version + 1 } as EntityRecord;
      const plan: PlannedWrite = { items: [], meanings: [] };
      add(plan, { Update: this.overwriteRecord(currentItem, storageItem(entity, next), current.version) }, { kind: 'version' });
      this.planGuards(plan, entity, id, uniqueValues(entity, current), uniqueValues(entity, next));
      this.planReferences(plan, entity, referencedIds(entity, current), referencedIds(entity, next), entity.datacenterOf(next));
      if (extra) {
        const more = extra(current, next);
        plan.items.push(...more.items);
        plan.meanings.push(...more.meanings);
      }
      if (!context.bookkeeping)
        add(plan, auditPut(this.table, { action: 'update', entity, before: current, after: next, context }), { kind: 'exists' });
      try {
        await this.execute(plan, entity);
        return { record: next, changed: true };
      } catch (error) {
        if (error instanceof VersionConflict) {
          if (expectedVersion !== undefined) throw preconditionFailed();
          if (attempt < MAX_CONTENDED_ATTEMPTS) {
            await sleep(10 * 2 ** attempt + Math.random() * 25);
            continue;
          }
          throw conflict(`The ${entity.label} is being changed by another request; retry.`);
        }
        throw error;
      }
    }
  }

  /** Deletes a record unless other objects still reference it (409). */
  async delete(entity: EntityDefinition, id: string, context: WriteContext, expectedVersion?: number | null): Promise<EntityRecord> {
    for (let attempt = 0; ; attempt++) {
      const currentItem = await this.rawItem(entity, id);
      if (!currentItem) throw notFound(entity.label);
      const current = stripStorage(currentItem);
      if (expectedVersion === null || (expectedVersion !== undefined && current.version !== expectedVersion)) throw preconditionFailed();
      const blockers = referenceBlockers(currentItem);
      if (blockers.length > 0) throw stillReferenced(entity, blockers);
      const counterNames = Object.keys(countersOf(currentItem));
      const names: Record<string, string> = { '#revision': REFERENCE_REVISION };
      const revision = currentItem[REFERENCE_REVISION];
      const conditions = ['version = :version', typeof revision === 'number' ? '#revision = :revision' : 'attribute_not_exists(#revision)'];
      counterNames.forEach((name, position) => {
        names[`#c${position}`] = name;
        conditions.push(`(attribute_not_exists(#c${position}) OR #c${position} = :zero)`);
      });
      const plan: PlannedWrite = { items: [], meanings: [] };
      add(
        plan,
        {
          Delete: {
            TableName: this.table,
            Key: entityKey(entity, id),
            ConditionExpression: conditions.join(' AND '),
            ExpressionAttributeValues: {
              ':version': current.version,
              ...(typeof revision === 'number' ? { ':revision': revision } : {}),
              ...(counterNames.length > 0 ? { ':zero': 0 } : {}),
            },
            ExpressionAttributeNames: names,
          },
        },
        { kind: 'version' },
      );
      this.planGuards(plan, entity, id, uniqueValues(entity, current), new Map());
      this.planReferences(plan, entity, referencedIds(entity, current), new Map());
      for (const tagId of tagIdsOf(current)) this.planTagLink(plan, entity, id, tagId, 'remove');
      if (!context.bookkeeping)
        add(plan, auditPut(this.table, { action: 'delete', entity, before: current, after: undefined, context }), { kind: 'exists' });
      try {
        await this.execute(plan, entity);
        return current;
      } catch (error) {
        if (error instanceof VersionConflict) {
          if (expectedVersion !== undefined) {
            const fresh = await this.rawItem(entity, id);
            if (!fresh) throw notFound(entity.label);
            if (stripStorage(fresh).version !== expectedVersion) throw preconditionFailed();
          }
          if (attempt < MAX_CONTENDED_ATTEMPTS) {
            await sleep(10 * 2 ** attempt + Math.random() * 25);
            continue;
          }
          throw conflict(`The ${entity.label} is being changed by another request; retry.`);
        }
        throw error;
      }
    }
  }

  /** Replaces the tag set of a taggable record (links + tag reference counters + the record's `tag_ids`). */
  async replaceTags(
    entity: EntityDefinition,
    id: string,
    tagIds: readonly string[],
    context: WriteContext,
    expectedVersion?: number | null,
  ): Promise<{ record: EntityRecord; changed: boolean }> {
    const wanted = [...new Set(tagIds)].sort();
    return this.update(
      entity,
      id,
      () => ({ tag_ids: wanted.length > 0 ? wanted : undefined }),
      context,
      expectedVersion,
      (current) => {
        const before = new Set(tagIdsOf(current));
        const after = new Set(wanted);
        const plan: PlannedWrite = { items: [], meanings: [] };
        for (const tagId of after) if (!before.has(tagId)) this.planTagLink(plan, entity, id, tagId, 'add');
        for (const tagId of before) if (!after.has(tagId)) this.planTagLink(plan, entity, id, tagId, 'remove');
        return plan;
      },
    );
  }

  /**
   * Many creates and updates of one entity type, packed into as few transactions as DynamoDB allows (100 items):
   * each object keeps its own condition, guards and audit record, while the parents' reference counters are summed
   * per transaction, so a sync of thousands of VMs does not write the datacenter item thousands of times. A chunk
   * that fails a condition (a racing edit, a duplicate name) is replayed one object at a time, so one bad object
   * costs only itself; its error is reported, never thrown.
   */
  async bulkWrite(entity: EntityDefinition, operations: readonly BulkOperation[], context: WriteContext): Promise<BulkResult> {
    const result: BulkResult = { written: [], failed: [], transactions: 0, items: 0 };
    type Chunk = ReturnType<typeof newChunk>;
    const chunks: Chunk[] = [];
    let chunk: Chunk = newChunk();
    for (const operation of operations) {
      const planned = this.planBulkOperation(entity, operation, context);
      if (!planned) continue;
      const itemKeys = planned.plan.items.map(itemKeyOf);
      const newTargets = [...planned.deltas.keys()].filter((key) => !chunk.deltas.has(key)).length;
      const wouldBe = chunk.plan.items.length + planned.plan.items.length + chunk.deltas.size + newTargets;
      const clash =
        itemKeys.some((key) => chunk.keys.has(key) || chunk.deltas.has(key)) ||
        [...planned.deltas.keys()].some((key) => chunk.keys.has(key));
      if ((wouldBe > MAX_TRANSACTION_ITEMS || clash) && chunk.ops.length > 0) {
        chunks.push(chunk);
        chunk = newChunk();
      }
      chunk.plan.items.push(...planned.plan.items);
      chunk.plan.meanings.push(...planned.plan.meanings);
      chunk.ops.push(operation);
      chunk.records.push(planned.record);
      for (const key of itemKeys) chunk.keys.add(key);
      for (const [key, delta] of planned.deltas) {
        const existing = chunk.deltas.get(key);
        if (existing) existing.amount += delta.amount;
        else chunk.deltas.set(key, { ...delta });
      }
    }
    if (chunk.ops.length > 0) chunks.push(chunk);

    const run = async (work: Chunk) => {
      const { plan, ops, records, deltas } = work;
      for (const delta of deltas.values()) if (delta.amount !== 0) add(plan, this.counterUpdate(delta), { kind: 'version' });
      try {
        await this.execute(plan, entity);
        result.transactions += 1;
        result.items += plan.items.length;
        result.written.push(...records);
      } catch {
        // Replay one by one through the ordinary paths, which re-read and explain failures precisely.
        for (const operation of ops) {
          try {
            const record =
              operation.kind === 'create'
                ? await this.create(entity, operation.data, context, operation.id)
                : (await this.update(entity, operation.id, () => operation.changes, context)).record;
            result.written.push(record);
            result.transactions += 1;
          } catch (error) {
            result.failed.push({ operation, error });
          }
        }
      }
    };

    // Chunks that share no counted parent run side by side; chunks that do wait for each other, so they never
    // conflict inside DynamoDB. VMs grouped by server and NICs grouped by owner mostly run in parallel.
    // A free slot takes the first waiting chunk that conflicts with none in flight, so chunks of one parent run one
    // after another while chunks of other parents fill the remaining slots.
    const inFlight = new Map<Promise<void>, Set<string>>();
    const waiting = chunks.map((work) => ({ work, targets: new Set(work.deltas.keys()) }));
    const busy = (targets: Set<string>) => [...inFlight.values()].some((held) => [...targets].some((key) => held.has(key)));
    while (waiting.length > 0 || inFlight.size > 0) {
      const index = inFlight.size < BULK_CONCURRENCY ? waiting.findIndex((candidate) => !busy(candidate.targets)) : -1;
      if (index < 0) {
        await Promise.race(inFlight.keys());
        continue;
      }
      const [next] = waiting.splice(index, 1);
      if (!next) continue;
      const promise: Promise<void> = run(next.work).finally(() => inFlight.delete(promise));
      inFlight.set(promise, next.targets);
    }
    return result;
  }

  private planBulkOperation(entity: EntityDefinition, operation: BulkOperation, context: WriteContext) {
    const plan: PlannedWrite = { items: [], meanings: [] };
    const deltas = new Map<string, CounterDelta>();
    const counter = referenceCounter(entity);
    const addDelta = (target: EntityDefinition, id: string, amount: number, datacenterId: string | undefined) => {
      const key = entityKey(target, id);
      const mapKey = `${key.pk}|${key.sk}`;
      const existing = deltas.get(mapKey);
      if (existing) existing.amount += amount;
      else deltas.set(mapKey, { key, counter, amount, datacenterId, label: target.label });
    };
    const referenceDeltas = (before: Map<string, string>, after: Map<string, string>, record: EntityRecord) => {
      for (const reference of entity.references) {
        const oldId = before.get(reference.field);
        const newId = after.get(reference.field);
        if (oldId === newId) continue;
        const target = reference.target();
        if (oldId !== undefined) addDelta(target, oldId, -1, undefined);
        if (newId !== undefined) addDelta(target, newId, 1, reference.sameDatacenter ? entity.datacenterOf(record) : undefined);
      }
    };
    const now = nowIso();
    if (operation.kind === 'create') {
      const record = { ...operation.data, id: operation.id ?? uuidv7(), created_at: now, updated_at: now, version: 1 } as EntityRecord;
      add(
        plan,
        { Put: { TableName: this.table, Item: storageItem(entity, record), ConditionExpression: 'attribute_not_exists(pk)' } },
        { kind: 'exists' },
      );
      this.planGuards(plan, entity, record.id, new Map(), uniqueValues(entity, record));
      referenceDeltas(new Map(), referencedIds(entity, record), record);
      if (!context.bookkeeping)
        add(plan, auditPut(this.table, { action: 'create', entity, before: undefined, after: record, context }), { kind: 'exists' });
      return { plan, deltas, record };
    }
    const current = stripStorage(operation.current);
    const merged = { ...current, ...operation.changes };
    for (const [key, value] of Object.entries(merged)) if (value === null || value === undefined) delete merged[key];
    if (sameRecord(current, merged)) return undefined;
    const next = {
      ...merged,
      id: current.id,
      created_at: current.created_at,
      updated_at: now,
      version: current.version + 1,
    } as EntityRecord;
    add(plan, { Update: this.overwriteRecord(operation.current, storageItem(entity, next), current.version) }, { kind: 'version' });
    this.planGuards(plan, entity, current.id, uniqueValues(entity, current), uniqueValues(entity, next));
    referenceDeltas(referencedIds(entity, current), referencedIds(entity, next), next);
    if (!context.bookkeeping)
      add(plan, auditPut(this.table, { action: 'update', entity, before: current, after: next, context }), { kind: 'exists' });
    return { plan, deltas, record: next };
  }

  private counterUpdate(delta: CounterDelta): TransactItem {
    return {
      Update: {
        TableName: this.table,
        Key: delta.key,
        UpdateExpression: 'ADD #counter :amount, #revision :one',
        ConditionExpression: delta.datacenterId ? 'attribute_exists(pk) AND datacenter_id = :dc' : 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#counter': delta.counter, '#revision': REFERENCE_REVISION },
        ExpressionAttributeValues: { ':amount': delta.amount, ':one': 1, ...(delta.datacenterId ? { ':dc': delta.datacenterId } : {}) },
      },
    };
  }

  /** Raw items of one entity type under a datacenter (the by-datacenter index), for diffing a sync. */
  async itemsOfDatacenter(entity: EntityDefinition, datacenterId: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await guardThrottling(() =>
        this.db.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: INDEXES.byDatacenter.name,
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
            ExpressionAttributeNames: { '#pk': INDEXES.byDatacenter.partitionKey, '#sk': INDEXES.byDatacenter.sortKey },
            ExpressionAttributeValues: { ':pk': `DATACENTER#${datacenterId}`, ':prefix': `${entity.prefix}#` },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  // ---------------------------------------------------------------- planning helpers

  /**
   * An UpdateItem that turns `previous` into `item` (SET its attributes, REMOVE the ones it no longer has), leaving
   * the reference counters alone. Not a Put: a Put writes back the counters read before the transaction, so a child
   * created meanwhile would vanish from the count and the parent could then be deleted under it.
   */
  private overwriteRecord(previous: Record<string, unknown>, item: Record<string, unknown>, version: number) {
    const untouched = (name: string) =>
      name === KEY_ATTRIBUTES.partitionKey || name === KEY_ATTRIBUTES.sortKey || name === REFERENCE_REVISION || name.startsWith('refs_');
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':version': version };
    const set: string[] = [];
    const remove: string[] = [];
    Object.entries(item).forEach(([name, value], position) => {
      // Only what this write changes: SETting an unchanged attribute writes back the value read before the
      // transaction, undoing unversioned bookkeeping done meanwhile (a user's `totp_last_step`, consumed recovery
      // codes and failed-login count; a key's `last_used_at`), which made a used TOTP or recovery code usable again.
      if (untouched(name) || JSON.stringify(previous[name]) === JSON.stringify(value)) return;
      names[`#s${position}`] = name;
      values[`:s${position}`] = value;
      set.push(`#s${position} = :s${position}`);
    });
    Object.keys(previous).forEach((name, position) => {
      if (untouched(name) || name in item) return;
      names[`#r${position}`] = name;
      remove.push(`#r${position}`);
    });
    return {
      TableName: this.table,
      Key: { [KEY_ATTRIBUTES.partitionKey]: item[KEY_ATTRIBUTES.partitionKey], [KEY_ATTRIBUTES.sortKey]: item[KEY_ATTRIBUTES.sortKey] },
      UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
      ConditionExpression: 'version = :version',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  private async rawItem(entity: EntityDefinition, id: string): Promise<Record<string, unknown> | undefined> {
    const result = await guardThrottling(() =>
      this.db.send(new GetCommand({ TableName: this.table, Key: entityKey(entity, id), ConsistentRead: true })),
    );
    return result.Item;
  }

  private planGuards(
    plan: PlannedWrite,
    entity: EntityDefinition,
    ownerId: string,
    before: Map<string, string>,
    after: Map<string, string>,
  ) {
    for (const [field, value] of before) {
      if (after.get(field) === value) continue;
      add(
        plan,
        {
          Delete: {
            TableName: this.table,
            Key: guardKey(entity, field, value),
            ConditionExpression: 'owner_id = :owner',
            ExpressionAttributeValues: { ':owner': ownerId },
          },
        },
        { kind: 'version' },
      );
    }
    for (const [field, value] of after) {
      if (before.get(field) === value) continue;
      add(
        plan,
        {
          Put: {
            TableName: this.table,
            Item: {
              ...guardKey(entity, field, value),
              [KEY_ATTRIBUTES.type]: 'unique_guard',
              owner_type: entity.type,
              owner_id: ownerId,
              field,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        { kind: 'guard', field },
      );
    }
  }

  private planReferences(
    plan: PlannedWrite,
    entity: EntityDefinition,
    before: Map<string, string>,
    after: Map<string, string>,
    datacenterOfRecord?: string,
  ) {
    const counter = referenceCounter(entity);
    for (const reference of entity.references) {
      const oldId = before.get(reference.field);
      const newId = after.get(reference.field);
      if (oldId === newId) continue;
      const target = reference.target();
      if (oldId !== undefined) {
        add(
          plan,
          {
            Update: {
              TableName: this.table,
              Key: entityKey(target, oldId),
              UpdateExpression: 'ADD #counter :minus, #revision :one',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeNames: { '#counter': counter, '#revision': REFERENCE_REVISION },
              ExpressionAttributeValues: { ':minus': -1, ':one': 1 },
            },
          },
          { kind: 'version' },
        );
      }
      if (newId !== undefined) {
        const datacenterId = reference.sameDatacenter ? datacenterOfRecord : undefined;
        add(
          plan,
          {
            Update: {
              TableName: this.table,
              Key: entityKey(target, newId),
              UpdateExpression: 'ADD #counter :plus, #revision :one',
              // The same-datacenter rule is re-checked inside the transaction, so a racing move cannot break it.
              ConditionExpression: datacenterId ? 'attribute_exists(pk) AND datacenter_id = :dc' : 'attribute_exists(pk)',
              ExpressionAttributeNames: { '#counter': counter, '#revision': REFERENCE_REVISION },
              ExpressionAttributeValues: { ':plus': 1, ':one': 1, ...(datacenterId ? { ':dc': datacenterId } : {}) },
            },
          },
          { kind: 'reference', field: reference.field, label: target.label },
        );
      }
    }
  }

  private planTagLink(plan: PlannedWrite, entity: EntityDefinition, entityId: string, tagId: string, action: 'add' | 'remove') {
    const tagItemKey = entityKey({ prefix: 'TAG' }, tagId);
    const link = tagLinkKey(tagId, entity, entityId);
    if (action === 'add') {
      add(
        plan,
        {
          Update: {
            TableName: this.table,
            Key: tagItemKey,
            UpdateExpression: 'ADD #counter :plus, #revision :one',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#counter': referenceCounter({ type: 'entity_tag' }), '#revision': REFERENCE_REVISION },
            ExpressionAttributeValues: { ':plus': 1, ':one': 1 },
          },
        },
        { kind: 'reference', field: 'tag_ids', label: 'tag' },
      );
      add(
        plan,
        {
          Put: {
            TableName: this.table,
            Item: { ...link, [KEY_ATTRIBUTES.type]: 'entity_tag', tag_id: tagId, entity_type: entity.type, entity_id: entityId },
          },
        },
        { kind: 'version' },
      );
    } else {
      add(
        plan,
        {
          Update: {
            TableName: this.table,
            Key: tagItemKey,
            UpdateExpression: 'ADD #counter :minus, #revision :one',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#counter': referenceCounter({ type: 'entity_tag' }), '#revision': REFERENCE_REVISION },
            ExpressionAttributeValues: { ':minus': -1, ':one': 1 },
          },
        },
        { kind: 'version' },
      );
      add(plan, { Delete: { TableName: this.table, Key: link } }, { kind: 'version' });
    }
  }

  private async execute(plan: PlannedWrite, entity: EntityDefinition): Promise<void> {
    if (plan.items.length > MAX_TRANSACTION_ITEMS) {
      throw validationError(`This change touches too many objects at once (${plan.items.length}); split it.`);
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await guardThrottling(() => this.db.send(new TransactWriteCommand({ TransactItems: plan.items })));
        return;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = error.CancellationReasons ?? [];
        const failed = reasons.flatMap((reason, position) => (reason.Code === 'ConditionalCheckFailed' ? [position] : []));
        if (failed.length === 0) {
          // TransactionConflict or throttling inside the transaction: back off and retry a few times.
          const throttled = reasons.some((reason) => reason.Code === 'ThrottlingError' || reason.Code === 'ProvisionedThroughputExceeded');
          if (attempt < 4) {
            await sleep(20 * 2 ** attempt + Math.random() * 20);
            continue;
          }
          if (throttled) throw serviceBusy();
          throw conflict(`The ${entity.label} is being changed by another request; retry.`);
        }
        throw explainFailure(
          entity,
          failed.map((position) => plan.meanings[position]),
        );
      }
    }
  }
}

let shared: Repository | undefined;
/** One repository per container, created on first use (not at import, so CDK and OpenAPI need no table). */
export function repo(): Repository {
  shared ??= new Repository();
  return shared;
}

export type BulkOperation =
  | { kind: 'create'; data: Record<string, unknown>; id?: string }
  /** `current` is the raw stored item (as read from an index); `changes` the fields to set (null clears). */
  | { kind: 'update'; id: string; current: Record<string, unknown>; changes: Record<string, unknown> };

export interface BulkResult {
  written: EntityRecord[];
  failed: { operation: BulkOperation; error: unknown }[];
  transactions: number;
  /** Items written by the packed transactions (objects, guards, counters, audit records). */
  items: number;
}

interface CounterDelta {
  key: { pk: string; sk: string };
  counter: string;
  amount: number;
  datacenterId: string | undefined;
  label: string;
}

function newChunk() {
  return {
    plan: { items: [], meanings: [] } as PlannedWrite,
    ops: [] as BulkOperation[],
    records: [] as EntityRecord[],
    deltas: new Map<string, CounterDelta>(),
    keys: new Set<string>(),
  };
}

function itemKeyOf(item: TransactItem): string {
  const key = item.Put?.Item ?? item.Update?.Key ?? item.Delete?.Key ?? item.ConditionCheck?.Key ?? ({} as Record<string, unknown>);
  return `${String(key.pk)}|${String(key.sk)}`;
}

export interface ListOptions {
  filters: Record<string, unknown>;
  /** Tag name filter and its resolved id (undefined id with a name means "no such tag": the caller returns empty). */
  tag?: string;
  tagId?: string;
  limit: number;
  cursor?: string;
  visible: (record: EntityRecord) => boolean;
  /** Other list parameters that shape `visible` (time ranges): they bind the cursor too. */
  scopeExtras?: Record<string, unknown>;
}

export interface ListPage {
  items: EntityRecord[];
  next_cursor: string | null;
}

interface PageSource {
  name: string;
  fetch: (
    position: CursorPosition | undefined,
    wanted: number,
  ) => Promise<{ entries: { record: EntityRecord; position: CursorPosition }[]; next: CursorPosition | undefined }>;
}

/** DynamoDB allows 100 actions per transaction. */
export const MAX_TRANSACTION_ITEMS = 100;
const MAX_ROUNDS_PER_PAGE = 20;
/** Packed transactions in flight at once during a bulk write. */
const BULK_CONCURRENCY = Number(process.env.BULK_WRITE_CONCURRENCY ?? 4);
/** Retries of a write without If-Match that lost a race; a 409 after that says "retry" to the client. */
const MAX_CONTENDED_ATTEMPTS = 6;
const FILTERED_PAGE_READ = 500;

class VersionConflict extends Error {}

function add(plan: PlannedWrite, item: TransactItem, meaning: FailureMeaning) {
  plan.items.push(item);
  plan.meanings.push(meaning);
}

function explainFailure(entity: EntityDefinition, meanings: (FailureMeaning | undefined)[]): Error {
  const details: ErrorDetail[] = [];
  for (const meaning of meanings) {
    if (!meaning) continue;
    switch (meaning.kind) {
      case 'guard':
        return conflict(`Another ${entity.label} already has this ${meaning.field}.`, [
          { path: meaning.field, message: `must be unique; another ${entity.label} already uses this value` },
        ]);
      case 'reference':
        details.push({ path: meaning.field, message: `no such ${meaning.label}` });
        break;
      case 'other':
        return meaning.error();
      case 'children':
        return conflict(`The ${entity.label} is still referenced by other objects.`);
      case 'exists':
        return conflict(`The ${entity.label} already exists.`);
      case 'version':
        return new VersionConflict();
    }
  }
  if (details.length > 0) return validationError('A referenced object does not exist.', details);
  return new VersionConflict();
}

function referenceBlockers(item: Record<string, unknown>): string[] {
  return Object.entries(countersOf(item))
    .filter(([, value]) => typeof value === 'number' && value > 0)
    .map(([name, value]) => `${value} ${name.slice('refs_'.length).replaceAll('_', ' ')}${value === 1 ? '' : 's'}`);
}

function stillReferenced(entity: EntityDefinition, blockers: string[]): ApiError {
  const readable = blockers.map((blocker) =>
    blocker.replace(/entity tags?$/, (match) => (match.endsWith('s') ? 'tagged objects' : 'tagged object')),
  );
  return conflict(`The ${entity.label} still has ${readable.join(', ')}; remove or move them first.`);
}

export function tagIdsOf(record: EntityRecord): string[] {
  const value = record.tag_ids;
  return Array.isArray(value) ? value.filter((tag): tag is string => typeof tag === 'string') : [];
}

function sameRecord(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([x], [y]) => x.localeCompare(y)))
      : inner,
  );
}

function matches(record: EntityRecord, filters: Record<string, unknown>): boolean {
  return Object.entries(filters).every(([name, value]) => record[name] === value);
}

function pick(item: Record<string, unknown>, names: readonly string[]): CursorPosition {
  const picked: CursorPosition = {};
  for (const name of names) {
    const value = item[name];
    if (typeof value === 'string') picked[name] = value;
  }
  return picked;
}

function stringifyKey(key: Record<string, unknown>): CursorPosition {
  const position: CursorPosition = {};
  for (const [name, value] of Object.entries(key)) position[name] = String(value);
  return position;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const serviceBusy = () => new ApiError('service_unavailable', 'The database is busy; retry shortly.');

/** After the SDK's own retries, throttling is a 503 the client may retry, never a 500. */
async function guardThrottling<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (
      error instanceof ProvisionedThroughputExceededException ||
      error instanceof ThrottlingException ||
      error instanceof RequestLimitExceeded ||
      (error instanceof Error && (error.name === 'ThrottlingException' || error.name === 'ProvisionedThroughputExceededException'))
    ) {
      throw serviceBusy();
    }
    if (error instanceof ConditionalCheckFailedException) throw new VersionConflict();
    throw error;
  }
}
