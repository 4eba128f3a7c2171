import { createHash } from 'node:crypto';
import { z } from 'zod';
import { childSortKey } from '#shared/db/keys';
import { defineEntity, type EntityDefinition, type EntityRecord } from '#shared/model/entity';
import { longText, text, uuid } from '#shared/model/fields';

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const ALERT_STATUSES = ['firing', 'acknowledged', 'resolved', 'suppressed'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];
export const RELATED_ENTITIES = [
  'datacenter',
  'server',
  'vm',
  'storage_bay',
  'network_configuration',
  'backup',
  'sync',
  'security_policy',
] as const;

/** An open alert (not resolved) holds its fingerprint: a repost updates it instead of opening another. */
export function isOpen(record: EntityRecord | Record<string, unknown>): boolean {
  return record.status !== 'resolved';
}

/**
 * An alert (the seed's `alert` table, columns kept: source, severity, message, related_entity, related_id,
 * user_id, created_at) plus datacenter, status, fingerprint (dedup key), first/last seen and who acknowledged or
 * resolved it.
 */
export const alertEntity: EntityDefinition = defineEntity({
  type: 'alert',
  collection: 'alerts',
  schemaName: 'Alert',
  fields: z.object({
    source: text(100).meta({ description: 'Who raised it: vm-monitor, backup-agent, kafka, monitoring, ...' }),
    severity: z.enum(SEVERITIES),
    message: longText(2000).pipe(z.string().min(1)),
    related_entity: z.enum(RELATED_ENTITIES).nullable().optional(),
    related_id: uuid().nullable().optional(),
    datacenter_id: uuid().nullable().optional(),
    fingerprint: text(255)
      .nullable()
      .optional()
      .meta({ description: 'Dedup key; defaults to a hash of source, related entity and id, and message' }),
    labels: z.record(z.string().max(64), z.string().max(255)).nullable().optional(),
  }),
  immutable: ['source', 'related_entity', 'related_id', 'datacenter_id', 'fingerprint'],
  readOnly: z.object({
    user_id: z.string().nullable().meta({ description: 'The user who triggered it (null for system alerts)' }),
    status: z.enum(ALERT_STATUSES),
    first_seen_at: z.string(),
    last_seen_at: z.string(),
    occurrences: z.number().int(),
    acknowledged_by: z.string().nullable(),
    acknowledged_at: z.string().nullable(),
    resolved_by: z.string().nullable(),
    resolved_at: z.string().nullable(),
    notified_at: z.string().nullable(),
  }),
  unique: [{ field: 'fingerprint', value: (record) => (isOpen(record) ? String(record.fingerprint) : undefined) }],
  indexKeys: (record) => ({
    ...(typeof record.datacenter_id === 'string'
      ? { byDatacenter: { pk: `DATACENTER#${record.datacenter_id}`, sk: childSortKey(alertEntity, record.id) } }
      : {}),
    byParent: { pk: `ALERTS#${String(record.status)}`, sk: childSortKey(alertEntity, record.id) },
  }),
  listAccess: [
    { param: 'status', index: 'byParent', partition: (value) => `ALERTS#${value}` },
    { param: 'datacenter_id', index: 'byDatacenter', partition: (value) => `DATACENTER#${value}` },
  ],
  filters: z.object({
    severity: z.enum(SEVERITIES).optional(),
    status: z.enum(ALERT_STATUSES).optional(),
    source: z.string().max(100).optional(),
    datacenter_id: uuid().optional(),
    related_entity: z.enum(RELATED_ENTITIES).optional(),
    related_id: uuid().optional(),
    fingerprint: z.string().max(255).optional(),
  }),
  datacenterOf: (record) => (typeof record.datacenter_id === 'string' ? record.datacenter_id : undefined),
});

export function defaultFingerprint(alert: { source: unknown; related_entity?: unknown; related_id?: unknown; message: unknown }): string {
  const basis = JSON.stringify([alert.source, alert.related_entity ?? null, alert.related_id ?? null, alert.message]);
  return createHash('sha256').update(basis).digest('hex').slice(0, 32);
}
