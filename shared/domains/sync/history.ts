import { z } from 'zod';
import { childSortKey } from '#shared/db/keys';
import { defineEntity, type EntityDefinition } from '#shared/model/entity';
import { uuid } from '#shared/model/fields';

export const SYNC_TRIGGERS = ['schedule', 'manual'] as const;
export type SyncTrigger = (typeof SYNC_TRIGGERS)[number];
export const SYNC_STATUSES = ['running', 'succeeded', 'partial', 'failed'] as const;
export const SYNCED_KINDS = ['servers', 'vms', 'storage_bays', 'network_configurations'] as const;

const countsSchema = z.object({
  created: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  missing: z.number().int(),
});
export type SyncCounts = z.infer<typeof countsSchema>;

/**
 * One sync run of a datacenter (the seed's datacenter_sync_history): trigger, status, times, per-type counts and
 * errors. Written by the sync only; read-only through the API.
 */
export const syncHistoryEntity: EntityDefinition = defineEntity({
  type: 'datacenter_sync_history',
  collection: 'sync-history',
  schemaName: 'SyncHistory',
  label: 'sync history record',
  fields: z.object({
    datacenter_id: uuid(),
    connection_id: uuid(),
    trigger: z.enum(SYNC_TRIGGERS),
    status: z.enum(SYNC_STATUSES),
    started_at: z.string(),
    finished_at: z.string().nullable().optional(),
    duration_ms: z.number().int().nullable().optional(),
    vcenter_version: z.string().nullable().optional(),
    vcenter_instance_uuid: z.string().nullable().optional(),
    counts: z.record(z.enum(SYNCED_KINDS), countsSchema).optional(),
    /** Objects skipped as invalid, and failures; at most 100 kept. */
    errors: z
      .array(z.object({ kind: z.string(), ref: z.string().nullable(), message: z.string() }))
      .max(100)
      .optional(),
    /** vCenter calls and DynamoDB writes of the run, for the operators' curiosity and the benchmarks. */
    stats: z.record(z.string(), z.number()).optional(),
  }),
  indexKeys: (record) => ({ byDatacenter: { pk: `DATACENTER#${record.datacenter_id}`, sk: childSortKey(syncHistoryEntity, record.id) } }),
  listAccess: [{ param: 'datacenter_id', index: 'byDatacenter', partition: (value) => `DATACENTER#${value}` }],
  filters: z.object({
    datacenter_id: uuid().optional(),
    status: z.enum(SYNC_STATUSES).optional(),
    trigger: z.enum(SYNC_TRIGGERS).optional(),
  }),
  datacenterOf: (record) => record.datacenter_id as string,
});
