import { z } from 'zod';
import { childSortKey } from '#shared/db/keys';
import { defineEntity, type EntityDefinition } from '#shared/model/entity';
import { bytes, longText, text, uuid } from '#shared/model/fields';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import { storageBayVsphereFields } from '#shared/domains/inventory/vsphere-fields';

export const STORAGE_BAY_TYPES = ['san', 'nas', 'das', 'vmfs', 'nfs', 'vsan', 'vvol', 'other'] as const;
export const STORAGE_BAY_STATUSES = ['online', 'degraded', 'offline', 'maintenance', 'decommissioned'] as const;

/** A storage array, bay or datastore with its capacity. Names are unique within a datacenter. */
export const storageBayEntity: EntityDefinition = defineEntity({
  type: 'storage_bay',
  collection: 'storage-bays',
  schemaName: 'StorageBay',
  fields: z.object({
    datacenter_id: uuid(),
    name: text(255),
    type: z.enum(STORAGE_BAY_TYPES),
    total_capacity_bytes: bytes(),
    used_capacity_bytes: bytes().default(0),
    status: z.enum(STORAGE_BAY_STATUSES).default('online'),
    vendor: text(100).nullable().optional(),
    model: text(100).nullable().optional(),
    notes: longText().nullable().optional(),
  }),
  immutable: ['datacenter_id'],
  readOnly: storageBayVsphereFields,
  unique: [{ field: 'name', value: (record) => `${record.datacenter_id}#${String(record.name).toLowerCase()}` }],
  references: [{ field: 'datacenter_id', target: () => datacenterEntity }],
  indexKeys: (record) => ({ byDatacenter: { pk: `DATACENTER#${record.datacenter_id}`, sk: childSortKey(storageBayEntity, record.id) } }),
  listAccess: [{ param: 'datacenter_id', index: 'byDatacenter', partition: (value) => `DATACENTER#${value}` }],
  filters: z.object({
    datacenter_id: uuid().optional(),
    status: z.enum(STORAGE_BAY_STATUSES).optional(),
    type: z.enum(STORAGE_BAY_TYPES).optional(),
    name: z.string().max(255).optional(),
  }),
  taggable: true,
  datacenterOf: (record) => record.datacenter_id as string,
  validate: (record) =>
    Number(record.used_capacity_bytes ?? 0) > Number(record.total_capacity_bytes)
      ? [{ path: 'used_capacity_bytes', message: 'must not exceed total_capacity_bytes' }]
      : [],
});
