import { z } from 'zod';
import { childSortKey } from '#shared/db/keys';
import { defineEntity, type EntityDefinition } from '#shared/model/entity';
import { bytes, count, longText, text, uuid } from '#shared/model/fields';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import { serverEntity } from '#shared/domains/inventory/server';
import { vmVsphereFields } from '#shared/domains/inventory/vsphere-fields';

export const POWER_STATES = ['powered_on', 'powered_off', 'suspended'] as const;
export const VM_STATUSES = ['planned', 'active', 'offline', 'decommissioned'] as const;

/** A virtual machine. It stays in its datacenter; its server (host placement) may change within it. */
export const vmEntity: EntityDefinition = defineEntity({
  type: 'vm',
  collection: 'vms',
  schemaName: 'Vm',
  label: 'VM',
  fields: z.object({
    datacenter_id: uuid(),
    server_id: uuid().nullable().optional(),
    name: text(255),
    os: text(255).nullable().optional(),
    cpu_count: count(1024).nullable().optional(),
    memory_bytes: bytes().nullable().optional(),
    storage_bytes: bytes().nullable().optional(),
    power_state: z.enum(POWER_STATES).default('powered_off'),
    status: z.enum(VM_STATUSES).default('active'),
    owner: text(100).nullable().optional(),
    notes: longText().nullable().optional(),
  }),
  immutable: ['datacenter_id'],
  readOnly: vmVsphereFields,
  references: [
    // A placed VM is protected through its server (which the datacenter counts), so only unplaced VMs count here.
    { field: 'datacenter_id', target: () => datacenterEntity, uncountedWhen: (record) => typeof record.server_id === 'string' },
    { field: 'server_id', target: () => serverEntity, sameDatacenter: true },
  ],
  indexKeys: (record) => ({
    byDatacenter: { pk: `DATACENTER#${record.datacenter_id}`, sk: childSortKey(vmEntity, record.id) },
    ...(typeof record.server_id === 'string'
      ? { byParent: { pk: `SERVER#${record.server_id}`, sk: childSortKey(vmEntity, record.id) } }
      : {}),
  }),
  listAccess: [
    { param: 'server_id', index: 'byParent', partition: (value) => `SERVER#${value}` },
    { param: 'datacenter_id', index: 'byDatacenter', partition: (value) => `DATACENTER#${value}` },
  ],
  filters: z.object({
    datacenter_id: uuid().optional(),
    server_id: uuid().optional(),
    power_state: z.enum(POWER_STATES).optional(),
    status: z.enum(VM_STATUSES).optional(),
    name: z.string().max(255).optional(),
    os: z.string().max(255).optional(),
  }),
  taggable: true,
  datacenterOf: (record) => record.datacenter_id as string,
});
