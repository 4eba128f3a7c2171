import { z } from 'zod';
import { childSortKey } from '#shared/db/keys';
import { type EntityRecord, defineEntity, type EntityDefinition } from '#shared/model/entity';
import { bytes, count, hostname, ipAddress, longText, text, uuid } from '#shared/model/fields';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import { serverVsphereFields } from '#shared/domains/inventory/vsphere-fields';

export const SERVER_STATUSES = ['planned', 'active', 'maintenance', 'offline', 'failed', 'decommissioned'] as const;

/** A physical server (ESXi host). Host names are unique within a datacenter, case-insensitively. */
export const serverEntity: EntityDefinition = defineEntity({
  type: 'server',
  collection: 'servers',
  schemaName: 'Server',
  fields: z.object({
    datacenter_id: uuid(),
    hostname: hostname(),
    status: z.enum(SERVER_STATUSES).default('active'),
    vendor: text(100).nullable().optional(),
    model: text(100).nullable().optional(),
    serial_number: text(100).nullable().optional(),
    cpu_model: text(200).nullable().optional(),
    cpu_sockets: count(64).nullable().optional(),
    cpu_cores: count(4096).nullable().optional(),
    cpu_threads: count(8192).nullable().optional(),
    cpu_mhz: count(100_000).nullable().optional(),
    memory_bytes: bytes().nullable().optional(),
    management_ip: ipAddress().nullable().optional(),
    rack_location: text(100).nullable().optional(),
    owner: text(100).nullable().optional(),
    notes: longText().nullable().optional(),
  }),
  immutable: ['datacenter_id'],
  readOnly: serverVsphereFields,
  unique: [{ field: 'hostname', value: (record) => `${record.datacenter_id}#${normalizeHostname(record)}` }],
  references: [{ field: 'datacenter_id', target: () => datacenterEntity }],
  indexKeys: (record) => ({ byDatacenter: { pk: `DATACENTER#${record.datacenter_id}`, sk: childSortKey(serverEntity, record.id) } }),
  listAccess: [{ param: 'datacenter_id', index: 'byDatacenter', partition: (value) => `DATACENTER#${value}` }],
  filters: z.object({
    datacenter_id: uuid().optional(),
    status: z.enum(SERVER_STATUSES).optional(),
    hostname: z.string().max(253).optional(),
    vendor: z.string().max(100).optional(),
    model: z.string().max(100).optional(),
    serial_number: z.string().max(100).optional(),
  }),
  taggable: true,
  datacenterOf: (record) => record.datacenter_id as string,
});

function normalizeHostname(record: EntityRecord): string {
  return String(record.hostname).toLowerCase().replace(/\.$/, '');
}
