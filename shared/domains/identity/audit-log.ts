/**
 * Reading the audit trail, newest first. The access path follows the filters: one object's history (its own
 * partition), one actor's actions (by-parent index keyed `ACTOR#<id>`), or everything (by-type index); time bounds
 * become key conditions because sort keys are time-ordered (ISO time or UUID v7).
 */
import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { serverSecrets, tableName } from '#shared/config';
import { documentClient } from '#shared/db/client';
import { decodeCursor, encodeCursor, listScope } from '#shared/db/cursor';
import { INDEXES } from '#shared/db/table';

export const AuditQuerySchema = z
  .object({
    entity_type: z
      .string()
      .regex(/^[a-z_]{1,40}$/, 'an entity type such as server or api_key')
      .optional(),
    entity_id: z.string().max(64).optional(),
    actor_id: z.string().max(64).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().min(1).max(4096).optional(),
  })
  .strict()
  .refine((query) => query.entity_id === undefined || query.entity_type !== undefined, {
    message: 'entity_id needs entity_type',
    path: ['entity_id'],
  });
export type AuditQuery = z.infer<typeof AuditQuerySchema>;

export const AuditEventSchema = z
  .object({
    id: z.string(),
    at: z.string(),
    action: z.enum(['create', 'update', 'delete']),
    entity_type: z.string(),
    entity_id: z.string(),
    actor: z.string().meta({ description: 'The credential: api_key:<id>, session:<id>, or a system actor such as system:sync' }),
    actor_id: z.string().meta({ description: 'The user behind the credential, or the system actor' }),
    request_id: z.string(),
    changes: z.record(z.string(), z.object({ before: z.unknown(), after: z.unknown() })),
  })
  .meta({ id: 'AuditEvent' });

/** Smallest and largest UUID v7 of a millisecond, for key conditions on time-ordered ids. */
function uuidBound(iso: string, end: 'low' | 'high'): string {
  const hex = Date.parse(iso).toString(16).padStart(12, '0');
  const rest = end === 'low' ? '0000-0000-0000-000000000000' : 'ffff-ffff-ffff-ffffffffffff';
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${rest}`;
}

/** `since`/`until` may carry any offset; sort keys hold UTC `toISOString()` text, so compare in that form. */
const utc = (iso: string | undefined) => (iso === undefined ? undefined : new Date(iso).toISOString());

export async function listAuditEvents(query: AuditQuery) {
  const since = utc(query.since);
  const until = utc(query.until);
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const input: QueryCommandInput = { TableName: tableName(), ScanIndexForward: false, Limit: query.limit };
  const sortBetween = (sortKey: string, low: string, high: string) => {
    names['#sk'] = sortKey;
    values[':low'] = low;
    values[':high'] = high;
    return ' AND #sk BETWEEN :low AND :high';
  };
  const filters: string[] = [];
  if (query.entity_type && query.entity_id) {
    names['#pk'] = 'pk';
    values[':pk'] = `AUDIT#${query.entity_type}#${query.entity_id}`;
    // The sort key is `<at>#<id>`: compared as text, so the bounds must be normalised UTC (`+02:00` or a missing
    // millisecond part would otherwise sort wrongly and let events outside the window in, or keep ones inside out).
    input.KeyConditionExpression = `#pk = :pk${sortBetween('sk', since ?? '0', `${until ?? '9999'}#\uffff`)}`;
    if (query.actor_id) filters.push('actor_id = :actor');
  } else {
    const index = query.actor_id ? INDEXES.byParent : INDEXES.byType;
    input.IndexName = index.name;
    names['#pk'] = index.partitionKey;
    values[':pk'] = query.actor_id ? `ACTOR#${query.actor_id}` : 'audit_event';
    input.KeyConditionExpression = `#pk = :pk${sortBetween(
      index.sortKey,
      since ? uuidBound(since, 'low') : '0',
      until ? uuidBound(until, 'high') : 'g',
    )}`;
    if (query.entity_type) filters.push('entity_type = :type');
    if (query.actor_id) filters.push('#type = :audit');
  }
  if (filters.some((filter) => filter.includes(':actor'))) values[':actor'] = query.actor_id;
  if (filters.some((filter) => filter.includes(':type'))) values[':type'] = query.entity_type;
  if (filters.some((filter) => filter.includes(':audit'))) {
    values[':audit'] = 'audit_event';
    names['#type'] = 'type';
  }
  if (filters.length > 0) input.FilterExpression = filters.join(' AND ');
  input.ExpressionAttributeNames = names;
  input.ExpressionAttributeValues = values;

  const { cursor_key: key } = await serverSecrets();
  const { limit: _limit, cursor, ...identity } = query;
  const scope = listScope({ collection: 'audit-events', ...identity });
  let start = cursor ? decodeCursor(key, scope, cursor) : undefined;
  const items: Record<string, unknown>[] = [];
  let next: Record<string, string> | undefined;
  for (let round = 0; round < 20 && items.length < query.limit; round++) {
    const result = await documentClient().send(
      new QueryCommand({ ...input, Limit: query.limit - items.length, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    items.push(...(result.Items ?? []));
    next = result.LastEvaluatedKey
      ? Object.fromEntries(Object.entries(result.LastEvaluatedKey).map(([name, value]) => [name, String(value)]))
      : undefined;
    if (!next) break;
    start = next;
  }
  return {
    items: items.map((item) => AuditEventSchema.parse(item)),
    next_cursor: next ? encodeCursor(key, scope, next) : null,
  };
}
