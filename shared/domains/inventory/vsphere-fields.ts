/**
 * Read-only fields the vCenter sync maintains on inventory objects. They are not writable through the API (vCenter
 * is their source); fields people own (status, owner, notes, tags, rack location) are never written by the sync.
 */
import { z } from 'zod';

const nullableString = () => z.string().nullable();
const nullableNumber = () => z.number().nullable();

/** Identity in vCenter: `source_key` is `<vCenter instance UUID>/<moref>`, stable across renames and vMotions. */
export const vsphereIdentityFields = {
  source_key: nullableString().meta({ description: 'vCenter instance UUID + managed object id; null for objects not from vCenter' }),
  vcenter_uuid: nullableString(),
  moref: nullableString(),
  vsphere_datacenter: nullableString(),
  missing_since: nullableString().meta({ description: 'Set when a complete sync no longer finds the object in vCenter' }),
};

export const serverVsphereFields = z.object({
  ...vsphereIdentityFields,
  hardware_uuid: nullableString(),
  esxi_version: nullableString(),
  esxi_build: nullableString(),
  esxi_full_name: nullableString(),
  connection_state: z.enum(['connected', 'disconnected', 'not_responding']).nullable(),
  power_state: z.enum(['powered_on', 'powered_off', 'standby', 'unknown']).nullable(),
  in_maintenance_mode: z.boolean().nullable(),
  cluster: nullableString(),
  cpu_usage_pct: nullableNumber(),
  memory_usage_pct: nullableNumber(),
});

export const vmVsphereFields = z.object({
  ...vsphereIdentityFields,
  instance_uuid: nullableString(),
  bios_uuid: nullableString(),
  guest_id: nullableString(),
  disks: z
    .array(
      z.object({
        label: nullableString(),
        capacity_bytes: z.number(),
        datastore: nullableString(),
        file_name: nullableString(),
        thin_provisioned: z.boolean().nullable(),
      }),
    )
    .nullable(),
  committed_bytes: nullableNumber(),
  tools_status: nullableString(),
  tools_running_status: nullableString(),
  guest_hostname: nullableString(),
  ip_addresses: z.array(z.string()).nullable(),
  is_template: z.boolean().nullable(),
  cpu_usage_pct: nullableNumber(),
  memory_usage_pct: nullableNumber(),
});

export const storageBayVsphereFields = z.object({
  ...vsphereIdentityFields,
  free_capacity_bytes: nullableNumber(),
  uncommitted_bytes: nullableNumber(),
  url: nullableString(),
  accessible: z.boolean().nullable(),
  maintenance_mode: nullableString(),
  vsphere_type: nullableString().meta({ description: 'summary.type as vCenter reports it (VMFS, NFS41, vsan, ...)' }),
});

export const networkConfigurationVsphereFields = z.object({
  source_key: nullableString(),
  vcenter_uuid: nullableString(),
  missing_since: nullableString(),
  interface_kind: z.enum(['vm_nic', 'vmkernel', 'physical']).nullable(),
  vlan_type: z.enum(['access', 'trunk', 'pvlan']).nullable(),
  vlan_ranges: nullableString(),
});
