/**
 * A maintenance window (minimal: one-off windows). While it is active, monitoring still tracks states of the objects
 * it covers but does not notify (alerts are `suppressed`). Covers the whole datacenter unless narrowed to servers
 * (and the VMs on them) or to objects carrying a tag. A later issue adds recurring windows.
 */
import { z } from 'zod';
import { childSortKey } from '#shared/db/keys';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import { defineEntity, type EntityDefinition } from '#shared/model/entity';
import { longText, text, uuid } from '#shared/model/fields';

export const maintenanceWindowEntity: EntityDefinition = defineEntity({
  type: 'maintenance_window',
  collection: 'maintenance-windows',
  schemaName: 'MaintenanceWindow',
  fields: z.object({
    datacenter_id: uuid(),
    name: text(255),
    starts_at: z.iso.datetime({ offset: true }),
    ends_at: z.iso.datetime({ offset: true }),
    server_ids: z
      .array(uuid())
      .max(500)
      .nullable()
      .optional()
      .meta({ description: 'Only these servers and their VMs; null: as far as `tag` allows' }),
    tag: text(100).nullable().optional().meta({ description: 'Only objects carrying the tag of this name' }),
    description: longText().nullable().optional(),
  }),
  immutable: ['datacenter_id'],
  references: [{ field: 'datacenter_id', target: () => datacenterEntity }],
  indexKeys: (record) => ({
    byDatacenter: { pk: `DATACENTER#${record.datacenter_id}`, sk: childSortKey(maintenanceWindowEntity, record.id) },
  }),
  listAccess: [{ param: 'datacenter_id', index: 'byDatacenter', partition: (value) => `DATACENTER#${value}` }],
  filters: z.object({ datacenter_id: uuid().optional() }),
  datacenterOf: (record) => record.datacenter_id as string,
  validate: (record) =>
    Date.parse(String(record.ends_at)) > Date.parse(String(record.starts_at))
      ? []
      : [{ path: 'ends_at', message: 'must be after starts_at' }],
});
