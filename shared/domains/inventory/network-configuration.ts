import { z } from 'zod';
import { childSortKey } from '#shared/db/keys';
import { defineEntity, type EntityDefinition } from '#shared/model/entity';
import { ipAddress, macAddress, text, uuid } from '#shared/model/fields';
import { serverEntity } from '#shared/domains/inventory/server';
import { vmEntity } from '#shared/domains/inventory/vm';
import { networkConfigurationVsphereFields } from '#shared/domains/inventory/vsphere-fields';

/** A NIC of exactly one server or VM: MAC, addresses, VLAN, port group. Its datacenter follows its owner. */
export const networkConfigurationEntity: EntityDefinition = defineEntity({
  type: 'network_configuration',
  collection: 'network-configurations',
  schemaName: 'NetworkConfiguration',
  fields: z.object({
    server_id: uuid().nullable().optional(),
    vm_id: uuid().nullable().optional(),
    interface_name: text(64),
    mac_address: macAddress().nullable().optional(),
    ip_addresses: z.array(ipAddress()).max(64).default([]),
    vlan_id: z.number().int().min(0).max(4095).nullable().optional(),
    portgroup: text(255).nullable().optional(),
    connected: z.boolean().nullable().optional(),
  }),
  immutable: ['server_id', 'vm_id'],
  readOnly: networkConfigurationVsphereFields.extend({
    datacenter_id: z.string().meta({ description: 'Datacenter of the owning server or VM' }),
  }),
  references: [
    { field: 'server_id', target: () => serverEntity },
    { field: 'vm_id', target: () => vmEntity },
  ],
  indexKeys: (record) => {
    const owner = typeof record.server_id === 'string' ? `SERVER#${record.server_id}` : `VM#${String(record.vm_id)}`;
    const sk = childSortKey(networkConfigurationEntity, record.id);
    return { byParent: { pk: owner, sk }, byDatacenter: { pk: `DATACENTER#${record.datacenter_id}`, sk } };
  },
  listAccess: [
    { param: 'server_id', index: 'byParent', partition: (value) => `SERVER#${value}` },
    { param: 'vm_id', index: 'byParent', partition: (value) => `VM#${value}` },
    { param: 'datacenter_id', index: 'byDatacenter', partition: (value) => `DATACENTER#${value}` },
  ],
  filters: z.object({
    server_id: uuid().optional(),
    vm_id: uuid().optional(),
    datacenter_id: uuid().optional(),
    mac_address: macAddress().optional(),
    vlan_id: z.coerce.number().int().min(0).max(4095).optional(),
    portgroup: z.string().max(255).optional(),
  }),
  datacenterOf: (record) => record.datacenter_id as string | undefined,
  validate: (record) =>
    (typeof record.server_id === 'string') === (typeof record.vm_id === 'string')
      ? [{ path: 'server_id', message: 'give exactly one of server_id and vm_id' }]
      : [],
  derive: (_record, targets) => {
    const owner = targets.get('server_id') ?? targets.get('vm_id');
    return owner ? { datacenter_id: owner.datacenter_id } : {};
  },
});
