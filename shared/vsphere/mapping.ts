/**
 * Mapping from decoded vSphere objects (ObjectContent) to plain inventory records, without I/O. The only state is
 * the MappingContext: topology objects, hosts and datastores add to it what later objects need (datacenter names,
 * VLANs, datastore names), which is why `readInventory` reads topology, then infrastructure, then VMs.
 *
 * Every record carries its stable identity: the vCenter `about.instanceUuid` plus the object's moref (VMs also carry
 * `config.instanceUuid`), and the vSphere datacenter (name and moref) it belongs to, so the sync can attach it to
 * one of our datacenters. Every record is validated as a whole: a record with a control character in a name, a
 * name over 255 characters, a missing identity or a malformed number is skipped and reported as
 * `{ kind, moref, reason }`, never stored half-valid and never "repaired" (no trimming, no truncation).
 *
 * Units: bytes for memory and capacities, MHz for CPU, percentages 0..100 (a host can exceed 100 under turbo boost).
 */
import { z } from 'zod';
import { ipAddress, macAddress, text } from '#shared/model/fields';
import { asData, asList, asMoRef, at, boolean, field, finiteNumber, integer, stringOf } from '#shared/vsphere/values';
import type { MoRef, ObjectContent, VimValue } from '#shared/vsphere/xml';

/* ------------------------------------------------------------------------------------------------------------ */
/* Record schemas and types                                                                                       */
/* ------------------------------------------------------------------------------------------------------------ */

// biome-ignore lint/suspicious/noControlCharactersInRegex: identifiers with control characters are rejected
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
const identifier = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((value) => !CONTROL_CHARACTERS.test(value), { message: 'must not contain control characters' });
const moref = () => identifier(1024);
const wholeNumber = () => z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const percent = () => z.number().finite().min(0);
const vlanId = () => z.number().int().min(0).max(4094);

export const VM_POWER_STATES = ['powered_on', 'powered_off', 'suspended'] as const;
export const HOST_POWER_STATES = ['powered_on', 'powered_off', 'standby', 'unknown'] as const;
export const HOST_CONNECTION_STATES = ['connected', 'disconnected', 'not_responding'] as const;
export const STORAGE_TYPES = ['vmfs', 'nfs', 'vsan', 'vvol', 'other'] as const;
export const VLAN_TYPES = ['access', 'trunk', 'pvlan'] as const;
export const INTERFACE_KINDS = ['vm_nic', 'vmkernel', 'physical'] as const;
export const RECORD_KINDS = ['server', 'vm', 'storage_bay', 'network_configuration'] as const;

const identity = {
  /** `<vcenter instanceUuid>/<moref>`: unique across vCenters, stable for the object's life. */
  source_key: identifier(1100),
  vcenter_uuid: identifier(64),
  moref: moref(),
  vsphere_datacenter: text(255),
  vsphere_datacenter_moref: moref(),
};

export const serverRecordSchema = z.object({
  ...identity,
  hostname: text(255),
  vendor: text(255).nullable(),
  model: text(255).nullable(),
  serial_number: text(255).nullable(),
  hardware_uuid: text(64).nullable(),
  cpu_model: text(255).nullable(),
  cpu_sockets: wholeNumber().nullable(),
  cpu_cores: wholeNumber().nullable(),
  cpu_threads: wholeNumber().nullable(),
  cpu_mhz: wholeNumber().nullable(),
  memory_bytes: wholeNumber().nullable(),
  esxi_version: text(64).nullable(),
  esxi_build: text(64).nullable(),
  esxi_full_name: text(255).nullable(),
  connection_state: z.enum(HOST_CONNECTION_STATES).nullable(),
  power_state: z.enum(HOST_POWER_STATES).nullable(),
  in_maintenance_mode: z.boolean().nullable(),
  /** Name of the vSphere cluster; null for a standalone host. */
  cluster: text(255).nullable(),
  cpu_usage_percent: percent().nullable(),
  memory_usage_percent: percent().nullable(),
});
export type ServerRecord = z.output<typeof serverRecordSchema>;

export const vmDiskSchema = z.object({
  device_key: z.number().int(),
  label: text(255).nullable(),
  capacity_bytes: wholeNumber(),
  datastore_moref: moref().nullable(),
  datastore_name: text(255).nullable(),
  file_name: text(2048).nullable(),
  thin_provisioned: z.boolean().nullable(),
});
export type VmDisk = z.output<typeof vmDiskSchema>;

export const vmRecordSchema = z.object({
  ...identity,
  /** config.instanceUuid: vCenter-unique; survives moref changes only through re-registration, hence both keys. */
  instance_uuid: identifier(64),
  /** config.uuid (SMBIOS); clones can share it, so it is informative only. */
  bios_uuid: text(64).nullable(),
  name: text(255),
  guest_os: text(255).nullable(),
  guest_id: text(128).nullable(),
  cpu_count: wholeNumber().nullable(),
  memory_bytes: wholeNumber().nullable(),
  disks: z.array(vmDiskSchema).max(512),
  /** Sum of the virtual disks' provisioned capacity. */
  storage_bytes: wholeNumber(),
  /** summary.storage.committed: bytes actually used on datastores (thin disks, snapshots, swap). */
  committed_bytes: wholeNumber().nullable(),
  power_state: z.enum(VM_POWER_STATES),
  host_moref: moref().nullable(),
  host_source_key: identifier(1100).nullable(),
  tools_status: text(64).nullable(),
  tools_running_status: text(64).nullable(),
  guest_hostname: text(255).nullable(),
  ip_addresses: z.array(ipAddress()).max(256),
  is_template: z.boolean(),
  cpu_usage_percent: percent().nullable(),
  memory_usage_percent: percent().nullable(),
});
export type VmRecord = z.output<typeof vmRecordSchema>;

export const storageBayRecordSchema = z
  .object({
    ...identity,
    name: text(255),
    type: z.enum(STORAGE_TYPES),
    /** summary.type as vCenter reports it (VMFS, NFS, NFS41, vsan, VVOL, PMEM, ...). */
    raw_type: text(64).nullable(),
    capacity_bytes: wholeNumber(),
    free_bytes: wholeNumber(),
    used_bytes: wholeNumber(),
    uncommitted_bytes: wholeNumber().nullable(),
    url: text(2048).nullable(),
    accessible: z.boolean().nullable(),
    /** normal | enteringMaintenance | inMaintenance; null when vCenter does not report it. */
    maintenance_mode: text(64).nullable(),
  })
  .refine((record) => record.free_bytes <= record.capacity_bytes, { message: 'free space exceeds capacity', path: ['free_bytes'] });
export type StorageBayRecord = z.output<typeof storageBayRecordSchema>;

export const networkConfigurationRecordSchema = z.object({
  /** `<vcenter>/<owner moref>/<device>`: a VM NIC by its device key, a host NIC by its device name (vmk0, vmnic0). */
  source_key: identifier(1200),
  vcenter_uuid: identifier(64),
  owner_kind: z.enum(['server', 'vm']),
  owner_moref: moref(),
  owner_source_key: identifier(1100),
  vsphere_datacenter: text(255),
  vsphere_datacenter_moref: moref(),
  interface_kind: z.enum(INTERFACE_KINDS),
  interface_name: text(64),
  device_key: identifier(128),
  mac_address: macAddress().nullable(),
  ip_addresses: z.array(ipAddress()).max(64),
  portgroup: text(255).nullable(),
  /** Access VLAN (0 = untagged), or the primary PVLAN id; null for trunks and unknown backings. */
  vlan_id: vlanId().nullable(),
  vlan_type: z.enum(VLAN_TYPES).nullable(),
  /** Trunk ranges, e.g. `0-4094` or `100-199,300-300`. */
  vlan_ranges: text(1024).nullable(),
  connected: z.boolean().nullable(),
});
export type NetworkConfigurationRecord = z.output<typeof networkConfigurationRecordSchema>;

export type RecordKind = (typeof RECORD_KINDS)[number];
export interface SkippedRecord {
  kind: RecordKind;
  /** The object's moref (for a NIC: `<owner moref>/<device>`), made printable and cut to 255 characters. */
  moref: string;
  reason: string;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Context: topology and network lookups built from earlier reads                                                 */
/* ------------------------------------------------------------------------------------------------------------ */

export interface TopologyEntry {
  type: string;
  name: string | undefined;
  parent: MoRef | undefined;
}

export interface VlanInfo {
  vlan_id: number | null;
  vlan_type: (typeof VLAN_TYPES)[number] | null;
  vlan_ranges: string | null;
}

export interface DvPortgroupInfo {
  name: string | undefined;
  vlan: VlanInfo;
}

export interface HostNetworkInfo {
  parent: MoRef | undefined;
  /** Standard portgroup name -> VLAN, from this host's config.network.portgroup. */
  portgroups: Map<string, VlanInfo>;
}

/** What mapping needs besides the object itself. Built by `readInventory` from the topology and infra reads. */
export interface MappingContext {
  vcenterUuid: string;
  /** `type:value` -> entry, for Datacenter, Folder, (Cluster)ComputeResource and DistributedVirtualPortgroup. */
  topology: Map<string, TopologyEntry>;
  /** DVPG key (what VM NIC backings reference) -> name and VLAN. */
  dvPortgroups: Map<string, DvPortgroupInfo>;
  /** Host moref value -> parent and standard portgroups. */
  hosts: Map<string, HostNetworkInfo>;
  /** Datastore moref value -> name. */
  datastoreNames: Map<string, string>;
}

export function createMappingContext(vcenterUuid: string): MappingContext {
  return { vcenterUuid, topology: new Map(), dvPortgroups: new Map(), hosts: new Map(), datastoreNames: new Map() };
}

export function refKey(ref: MoRef): string {
  return `${ref.type}:${ref.value}`;
}

/** Records a topology object (ManagedEntity name + parent); DVPGs also go into the portgroup index. */
export function indexTopologyObject(context: MappingContext, object: ObjectContent): void {
  context.topology.set(refKey(object.obj), {
    type: object.obj.type,
    name: stringOf(object.props.name),
    parent: asMoRef(object.props.parent),
  });
  if (object.obj.type === 'DistributedVirtualPortgroup') {
    const key = stringOf(object.props.key) ?? object.obj.value;
    context.dvPortgroups.set(key, {
      name: stringOf(object.props.name),
      vlan: dvPortgroupVlan(field(object.props['config.defaultPortConfig'], 'vlan')),
    });
  }
}

const MAX_TREE_DEPTH = 64;

/** The Datacenter above an entity, following parent links (guarded against loops in hostile data). */
export function datacenterOf(context: MappingContext, start: MoRef | undefined): { moref: string; name: string } | undefined {
  let current = start;
  const seen = new Set<string>();
  for (let depth = 0; current && depth < MAX_TREE_DEPTH; depth++) {
    const key = refKey(current);
    if (seen.has(key)) return undefined;
    seen.add(key);
    const entry = context.topology.get(key);
    if (!entry) return undefined;
    if (current.type === 'Datacenter') return entry.name === undefined ? undefined : { moref: current.value, name: entry.name };
    current = entry.parent;
  }
  return undefined;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* VLANs                                                                                                          */
/* ------------------------------------------------------------------------------------------------------------ */

const NO_VLAN: VlanInfo = { vlan_id: null, vlan_type: null, vlan_ranges: null };

/** DVPG `config.defaultPortConfig.vlan`, by its xsi:type: VLAN id, trunk ranges or private VLAN. */
export function dvPortgroupVlan(spec: VimValue | undefined): VlanInfo {
  const data = asData(spec);
  if (!data) return NO_VLAN;
  const type = data._type ?? '';
  if (type.endsWith('TrunkVlanSpec')) {
    const ranges = asList(data.vlanId).map((range) => `${stringOrNumber(field(range, 'start'))}-${stringOrNumber(field(range, 'end'))}`);
    return { vlan_id: null, vlan_type: 'trunk', vlan_ranges: ranges.length > 0 ? ranges.join(',') : null };
  }
  if (type.endsWith('PvlanSpec')) return accessVlan(integer(data.pvlanId), 'pvlan');
  if (type.endsWith('VlanIdSpec')) return accessVlan(integer(data.vlanId), 'access');
  return NO_VLAN;
}

/** Standard portgroup `spec.vlanId`: 0 untagged, 1-4094 tagged, 4095 all VLANs (trunk to the guest). */
export function standardPortgroupVlan(vlan: VimValue | undefined): VlanInfo {
  const id = integer(vlan);
  if (id === 4095) return { vlan_id: null, vlan_type: 'trunk', vlan_ranges: '0-4094' };
  return accessVlan(id, 'access');
}

function accessVlan(id: VimValue | undefined, type: 'access' | 'pvlan'): VlanInfo {
  // A malformed id is kept as-is in vlan_id only if it is a number; the schema rejects out-of-range numbers.
  return typeof id === 'number' ? { vlan_id: id, vlan_type: type, vlan_ranges: null } : NO_VLAN;
}

function stringOrNumber(value: VimValue | undefined): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '?';
}

/** Host `config.network.portgroup[]` -> name -> VLAN. */
export function hostPortgroups(portgroups: VimValue | undefined): Map<string, VlanInfo> {
  const result = new Map<string, VlanInfo>();
  for (const portgroup of asList(portgroups)) {
    const name = stringOf(at(portgroup, 'spec.name'));
    if (name !== undefined) result.set(name, standardPortgroupVlan(at(portgroup, 'spec.vlanId')));
  }
  return result;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Results                                                                                                        */
/* ------------------------------------------------------------------------------------------------------------ */

export interface Mapped<R> {
  /** The record, or undefined when it was skipped (then `skipped` says why). */
  record: R | undefined;
  /** NICs of the record; empty when the owner was skipped (they would reference nothing). */
  networkConfigurations: NetworkConfigurationRecord[];
  skipped: SkippedRecord[];
}

function validate<S extends z.ZodType>(
  schema: S,
  candidate: unknown,
  kind: RecordKind,
  ref: string,
): { record?: z.output<S>; skipped?: SkippedRecord } {
  const parsed = schema.safeParse(candidate);
  if (parsed.success) return { record: parsed.data };
  return { skipped: skippedRecord(kind, ref, describeIssues(parsed.error)) };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? issue.path.map(String).join('.') : 'record'}: ${issue.message}`)
    .join('; ');
}

/** A report entry; the moref comes from the server, so it is made printable and bounded before it is logged. */
export function skippedRecord(kind: RecordKind, ref: string, reason: string): SkippedRecord {
  return { kind, moref: printable(ref, 255), reason: printable(reason, 500) };
}

function printable(value: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are made visible in reports
  const visible = value.replace(/[\u0000-\u001f\u007f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return visible.length > max ? `${visible.slice(0, max - 1)}…` : visible;
}

function skip<R>(kind: RecordKind, ref: string, reason: string): Mapped<R> {
  return { record: undefined, networkConfigurations: [], skipped: [skippedRecord(kind, ref, reason)] };
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Hosts -> servers                                                                                               */
/* ------------------------------------------------------------------------------------------------------------ */

const HOST_POWER: Record<string, ServerRecord['power_state']> = {
  poweredOn: 'powered_on',
  poweredOff: 'powered_off',
  standBy: 'standby',
  unknown: 'unknown',
};
const HOST_CONNECTION: Record<string, ServerRecord['connection_state']> = {
  connected: 'connected',
  disconnected: 'disconnected',
  notResponding: 'not_responding',
};
/** otherIdentifyingInfo keys that carry a serial number, best first (Dell puts it in the service tag). */
const SERIAL_KEYS = ['SerialNumberTag', 'ServiceTag', 'EnclosureSerialNumberTag'];

/** Records the host's network context (needed for VM NIC VLANs) and maps it to a server plus its NICs. */
export function mapHost(context: MappingContext, object: ObjectContent): Mapped<ServerRecord> {
  const props = object.props;
  const ref = object.obj.value;
  const parent = asMoRef(props.parent);
  context.hosts.set(ref, { parent, portgroups: hostPortgroups(props['config.network.portgroup']) });

  const datacenter = datacenterOf(context, parent);
  if (!datacenter) return skip('server', ref, 'cannot determine the vSphere datacenter (no parent chain to a Datacenter)');
  const clusterEntry = parent && parent.type === 'ClusterComputeResource' ? context.topology.get(refKey(parent)) : undefined;

  const cpuMhz = finiteNumber(props['summary.hardware.cpuMhz']);
  const cores = finiteNumber(props['summary.hardware.numCpuCores']);
  const memorySize = finiteNumber(props['summary.hardware.memorySize']);
  const cpuUsage = finiteNumber(props['summary.quickStats.overallCpuUsage']);
  const memoryUsageMb = finiteNumber(props['summary.quickStats.overallMemoryUsage']);
  const product = props['summary.config.product'];
  const powerState = stringOf(props['summary.runtime.powerState']);
  const connectionState = stringOf(props['summary.runtime.connectionState']);

  const candidate = {
    ...identityFields(context, ref, datacenter),
    hostname: props.name,
    vendor: nullable(props['summary.hardware.vendor']),
    model: nullable(props['summary.hardware.model']),
    serial_number: hostSerial(props['hardware.systemInfo']),
    hardware_uuid: nullable(props['summary.hardware.uuid']),
    cpu_model: nullable(props['summary.hardware.cpuModel']),
    cpu_sockets: nullable(integer(props['summary.hardware.numCpuPkgs'])),
    cpu_cores: nullable(integer(props['summary.hardware.numCpuCores'])),
    cpu_threads: nullable(integer(props['summary.hardware.numCpuThreads'])),
    cpu_mhz: nullable(integer(props['summary.hardware.cpuMhz'])),
    memory_bytes: nullable(integer(props['summary.hardware.memorySize'])),
    esxi_version: nullable(field(product, 'version')),
    esxi_build: nullable(field(product, 'build')),
    esxi_full_name: nullable(field(product, 'fullName')),
    connection_state: connectionState === undefined ? null : (HOST_CONNECTION[connectionState] ?? connectionState),
    power_state: powerState === undefined ? null : (HOST_POWER[powerState] ?? powerState),
    in_maintenance_mode: nullable(boolean(props['summary.runtime.inMaintenanceMode'])),
    cluster: clusterEntry ? (clusterEntry.name ?? null) : null,
    cpu_usage_percent: cpuUsage !== undefined && cpuMhz && cores ? roundPercent((cpuUsage / (cpuMhz * cores)) * 100) : null,
    memory_usage_percent: memoryUsageMb !== undefined && memorySize ? roundPercent(((memoryUsageMb * 1048576) / memorySize) * 100) : null,
  };
  const { record, skipped } = validate(serverRecordSchema, candidate, 'server', ref);
  if (!record) return { record: undefined, networkConfigurations: [], skipped: skipped ? [skipped] : [] };

  const owner = { kind: 'server' as const, moref: ref, sourceKey: record.source_key, datacenter };
  const nics: NetworkConfigurationRecord[] = [];
  const nicSkips: SkippedRecord[] = [];
  const ownPortgroups = context.hosts.get(ref)?.portgroups ?? new Map<string, VlanInfo>();

  for (const vnic of asList(props['config.network.vnic'])) {
    const device = stringOf(field(vnic, 'device'));
    const standardName = nonEmpty(stringOf(field(vnic, 'portgroup')));
    const dvKey = stringOf(at(vnic, 'spec.distributedVirtualPort.portgroupKey'));
    const dv = dvKey === undefined ? undefined : context.dvPortgroups.get(dvKey);
    const ips = [
      ...nonEmptyValues([at(vnic, 'spec.ip.ipAddress')]),
      ...nonEmptyValues(asList(at(vnic, 'spec.ip.ipV6Config.ipV6Address')).map((address) => field(address, 'ipAddress'))),
    ];
    collectNic(nics, nicSkips, owner, context, {
      interface_kind: 'vmkernel',
      device: device ?? field(vnic, 'device'),
      interface_name: field(vnic, 'device'),
      mac_address: nullable(at(vnic, 'spec.mac')),
      ip_addresses: unique(ips),
      portgroup: standardName ?? dv?.name ?? null,
      vlan: standardName !== undefined ? (ownPortgroups.get(standardName) ?? NO_VLAN) : (dv?.vlan ?? NO_VLAN),
      connected: null,
    });
  }
  for (const pnic of asList(props['config.network.pnic'])) {
    collectNic(nics, nicSkips, owner, context, {
      interface_kind: 'physical',
      device: field(pnic, 'device'),
      interface_name: field(pnic, 'device'),
      mac_address: nullable(field(pnic, 'mac')),
      ip_addresses: [],
      portgroup: null,
      vlan: NO_VLAN,
      // linkSpeed is set only while the link is up.
      connected: field(pnic, 'linkSpeed') !== undefined,
    });
  }
  return { record, networkConfigurations: nics, skipped: nicSkips };
}

function hostSerial(systemInfo: VimValue | undefined): string | null | VimValue {
  const direct = field(systemInfo, 'serialNumber');
  if (typeof direct === 'string' && direct.trim() !== '') return direct.trim();
  const identifiers = asList(field(systemInfo, 'otherIdentifyingInfo'));
  for (const key of SERIAL_KEYS) {
    for (const info of identifiers) {
      if (stringOf(at(info, 'identifierType.key')) !== key) continue;
      const value = stringOf(field(info, 'identifierValue'))?.trim();
      // DMI strings are space-padded; trimming is the one normalisation applied, and only to serials.
      if (value) return value;
    }
  }
  return null;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Datastores -> storage bays                                                                                     */
/* ------------------------------------------------------------------------------------------------------------ */

const STORAGE_TYPE_BY_SUMMARY: Record<string, StorageBayRecord['type']> = {
  VMFS: 'vmfs',
  NFS: 'nfs',
  NFS41: 'nfs',
  CIFS: 'other',
  vsan: 'vsan',
  VSAN: 'vsan',
  VVOL: 'vvol',
  vvol: 'vvol',
};

export function mapDatastore(context: MappingContext, object: ObjectContent): Mapped<StorageBayRecord> {
  const props = object.props;
  const ref = object.obj.value;
  const name = stringOf(props.name);
  if (name !== undefined) context.datastoreNames.set(ref, name);
  const datacenter = datacenterOf(context, asMoRef(props.parent));
  if (!datacenter) return skip('storage_bay', ref, 'cannot determine the vSphere datacenter (no parent chain to a Datacenter)');

  const capacity = integer(props['summary.capacity']);
  const free = integer(props['summary.freeSpace']);
  const rawType = stringOf(props['summary.type']);
  const candidate = {
    ...identityFields(context, ref, datacenter),
    name: props.name,
    type: rawType === undefined ? 'other' : (STORAGE_TYPE_BY_SUMMARY[rawType] ?? 'other'),
    raw_type: nullable(props['summary.type']),
    capacity_bytes: capacity,
    free_bytes: free,
    used_bytes: typeof capacity === 'number' && typeof free === 'number' ? Math.max(0, capacity - free) : undefined,
    uncommitted_bytes: nullable(integer(props['summary.uncommitted'])),
    url: nullable(props['summary.url']),
    accessible: nullable(boolean(props['summary.accessible'])),
    maintenance_mode: nullable(props['summary.maintenanceMode']),
  };
  const { record, skipped } = validate(storageBayRecordSchema, candidate, 'storage_bay', ref);
  return { record, networkConfigurations: [], skipped: skipped ? [skipped] : [] };
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Virtual machines -> vms                                                                                        */
/* ------------------------------------------------------------------------------------------------------------ */

const VM_POWER: Record<string, VmRecord['power_state']> = {
  poweredOn: 'powered_on',
  poweredOff: 'powered_off',
  suspended: 'suspended',
};

export function mapVm(context: MappingContext, object: ObjectContent): Mapped<VmRecord> {
  const props = object.props;
  const ref = object.obj.value;
  const host = asMoRef(props['runtime.host']);
  // VMs inside a vApp have no folder parent: their host's datacenter is the same one.
  const datacenter =
    datacenterOf(context, asMoRef(props.parent)) ?? datacenterOf(context, host ? context.hosts.get(host.value)?.parent : undefined);
  if (!datacenter) return skip('vm', ref, 'cannot determine the vSphere datacenter (no folder or host leading to a Datacenter)');

  const rawPower = stringOf(props['runtime.powerState']);
  const powerState = rawPower === undefined ? undefined : VM_POWER[rawPower];
  if (powerState === undefined) return skip('vm', ref, `unknown power state ${JSON.stringify(rawPower ?? null)}`);

  const devices = asList(props['config.hardware.device']);
  const disks = devices.filter((device) => field(device, '_type') === 'VirtualDisk').map((device) => diskCandidate(context, device));
  const storageBytes = disks.reduce<number | undefined>(
    (sum, disk) => (sum !== undefined && typeof disk.capacity_bytes === 'number' ? sum + disk.capacity_bytes : undefined),
    0,
  );
  const memoryMb = finiteNumber(props['config.hardware.memoryMB']);
  const cpuUsage = finiteNumber(props['summary.quickStats.overallCpuUsage']);
  const maxCpu = finiteNumber(props['summary.runtime.maxCpuUsage']);
  const guestMemory = finiteNumber(props['summary.quickStats.guestMemoryUsage']);
  const poweredOn = powerState === 'powered_on';
  const guestNics = asList(props['guest.net']);

  const candidate = {
    ...identityFields(context, ref, datacenter),
    instance_uuid: props['config.instanceUuid'],
    bios_uuid: nullable(props['config.uuid']),
    name: props.name,
    guest_os: nullable(nonEmptyValue(props['guest.guestFullName']) ?? props['config.guestFullName']),
    guest_id: nullable(nonEmptyValue(props['guest.guestId']) ?? props['config.guestId']),
    cpu_count: nullable(integer(props['config.hardware.numCPU'])),
    memory_bytes: memoryMb === undefined ? nullable(integer(props['config.hardware.memoryMB'])) : memoryMb * 1048576,
    disks,
    storage_bytes: storageBytes,
    committed_bytes: nullable(integer(props['summary.storage.committed'])),
    power_state: powerState,
    host_moref: host ? host.value : null,
    host_source_key: host ? `${context.vcenterUuid}/${host.value}` : null,
    tools_status: nullable(props['guest.toolsStatus']),
    tools_running_status: nullable(props['guest.toolsRunningStatus']),
    guest_hostname: nullable(nonEmptyValue(props['guest.hostName'])),
    ip_addresses: unique([
      ...nonEmptyValues([props['guest.ipAddress']]),
      ...guestNics.flatMap((nic) => nonEmptyValues(asList(field(nic, 'ipAddress')))),
    ]),
    is_template: boolean(props['config.template'] ?? false),
    // Usage is only meaningful while running; vCenter reports maxCpuUsage 0 for a VM that is off.
    cpu_usage_percent: poweredOn && cpuUsage !== undefined && maxCpu ? roundPercent((cpuUsage / maxCpu) * 100) : null,
    memory_usage_percent: poweredOn && guestMemory !== undefined && memoryMb ? roundPercent((guestMemory / memoryMb) * 100) : null,
  };
  const { record, skipped } = validate(vmRecordSchema, candidate, 'vm', ref);
  if (!record) return { record: undefined, networkConfigurations: [], skipped: skipped ? [skipped] : [] };

  const owner = { kind: 'vm' as const, moref: ref, sourceKey: record.source_key, datacenter };
  const hostPortgroups = host ? context.hosts.get(host.value)?.portgroups : undefined;
  const nics: NetworkConfigurationRecord[] = [];
  const nicSkips: SkippedRecord[] = [];
  for (const device of devices) {
    if (!isEthernetCard(device)) continue;
    const key = integer(field(device, 'key'));
    const mac = stringOf(field(device, 'macAddress'));
    const backing = field(device, 'backing');
    const backingType = stringOf(field(backing, '_type')) ?? '';
    let portgroup: VimValue | null = null;
    let vlan = NO_VLAN;
    if (backingType === 'VirtualEthernetCardDistributedVirtualPortBackingInfo') {
      const dv = context.dvPortgroups.get(stringOf(at(backing, 'port.portgroupKey')) ?? '');
      portgroup = dv?.name ?? null;
      vlan = dv?.vlan ?? NO_VLAN;
    } else if (backingType === 'VirtualEthernetCardNetworkBackingInfo') {
      const name = stringOf(field(backing, 'deviceName'));
      portgroup = nullable(field(backing, 'deviceName'));
      vlan = (name === undefined ? undefined : hostPortgroups?.get(name)) ?? NO_VLAN;
    }
    // Guest NICs point at their device by deviceConfigId (= device key); fall back to the MAC.
    const guestNic =
      guestNics.find((nic) => integer(field(nic, 'deviceConfigId')) === key) ??
      (mac === undefined ? undefined : guestNics.find((nic) => stringOf(field(nic, 'macAddress'))?.toLowerCase() === mac.toLowerCase()));
    collectNic(nics, nicSkips, owner, context, {
      interface_kind: 'vm_nic',
      device: key,
      interface_name: at(device, 'deviceInfo.label') ?? (typeof key === 'number' ? `nic-${key}` : undefined),
      mac_address: nullable(field(device, 'macAddress')),
      ip_addresses: unique(nonEmptyValues(asList(field(guestNic, 'ipAddress')))),
      portgroup,
      vlan,
      connected: nullable(boolean(at(device, 'connectable.connected'))),
    });
  }
  return { record, networkConfigurations: nics, skipped: nicSkips };
}

const ETHERNET_CARD_TYPES = new Set([
  'VirtualE1000',
  'VirtualE1000e',
  'VirtualPCNet32',
  'VirtualVmxnet',
  'VirtualVmxnet2',
  'VirtualVmxnet3',
  'VirtualVmxnet3Vrdma',
  'VirtualSriovEthernetCard',
  'VirtualEthernetCard',
]);

function isEthernetCard(device: VimValue): boolean {
  const type = stringOf(field(device, '_type'));
  return (type !== undefined && ETHERNET_CARD_TYPES.has(type)) || field(device, 'macAddress') !== undefined;
}

function diskCandidate(context: MappingContext, device: VimValue) {
  const bytes = integer(field(device, 'capacityInBytes'));
  const kilobytes = integer(field(device, 'capacityInKB'));
  const datastore = asMoRef(at(device, 'backing.datastore'));
  return {
    device_key: integer(field(device, 'key')),
    label: nullable(at(device, 'deviceInfo.label')),
    // capacityInBytes exists since vSphere 5.5; vcsim sets only capacityInKB.
    capacity_bytes: bytes !== undefined ? bytes : typeof kilobytes === 'number' ? kilobytes * 1024 : kilobytes,
    datastore_moref: datastore ? datastore.value : null,
    datastore_name: datastore ? (context.datastoreNames.get(datastore.value) ?? null) : null,
    file_name: nullable(at(device, 'backing.fileName')),
    thin_provisioned: nullable(boolean(at(device, 'backing.thinProvisioned'))),
  };
}

/* ------------------------------------------------------------------------------------------------------------ */
/* NICs                                                                                                           */
/* ------------------------------------------------------------------------------------------------------------ */

interface NicOwner {
  kind: 'server' | 'vm';
  moref: string;
  sourceKey: string;
  datacenter: { moref: string; name: string };
}

interface NicCandidate {
  interface_kind: NetworkConfigurationRecord['interface_kind'];
  device: VimValue | undefined;
  interface_name: VimValue | undefined;
  mac_address: VimValue | null;
  ip_addresses: VimValue[];
  portgroup: VimValue | null;
  vlan: VlanInfo;
  connected: VimValue | null;
}

function collectNic(
  into: NetworkConfigurationRecord[],
  skipped: SkippedRecord[],
  owner: NicOwner,
  context: MappingContext,
  nic: NicCandidate,
): void {
  const device = typeof nic.device === 'number' || typeof nic.device === 'string' ? String(nic.device) : undefined;
  const ref = `${owner.moref}/${device ?? '?'}`;
  if (device === undefined || device === '') {
    skipped.push(skippedRecord('network_configuration', ref, 'NIC without a device key or name'));
    return;
  }
  const result = validate(
    networkConfigurationRecordSchema,
    {
      source_key: `${context.vcenterUuid}/${owner.moref}/${device}`,
      vcenter_uuid: context.vcenterUuid,
      owner_kind: owner.kind,
      owner_moref: owner.moref,
      owner_source_key: owner.sourceKey,
      vsphere_datacenter: owner.datacenter.name,
      vsphere_datacenter_moref: owner.datacenter.moref,
      interface_kind: nic.interface_kind,
      interface_name: nic.interface_name,
      device_key: device,
      mac_address: nic.mac_address,
      ip_addresses: nic.ip_addresses,
      portgroup: nic.portgroup,
      vlan_id: nic.vlan.vlan_id,
      vlan_type: nic.vlan.vlan_type,
      vlan_ranges: nic.vlan.vlan_ranges,
      connected: nic.connected,
    },
    'network_configuration',
    ref,
  );
  if (result.record) into.push(result.record);
  if (result.skipped) skipped.push(result.skipped);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Duplicates                                                                                                     */
/* ------------------------------------------------------------------------------------------------------------ */

/**
 * Keeps the first entry per key and reports the others. Used on morefs (duplicated objects in hostile or buggy
 * responses) and on VM instance UUIDs (which the sync may key on). Entries carry their NICs so both go together.
 */
export function dropDuplicates<E>(
  entries: readonly E[],
  keys: ReadonlyArray<{ label: string; of: (entry: E) => string | undefined }>,
  kind: RecordKind,
  morefOf: (entry: E) => string,
): { kept: E[]; skipped: SkippedRecord[] } {
  const seen = keys.map(() => new Map<string, string>());
  const kept: E[] = [];
  const skipped: SkippedRecord[] = [];
  for (const entry of entries) {
    let duplicate: string | undefined;
    keys.forEach((key, index) => {
      const value = key.of(entry);
      const first = value === undefined ? undefined : seen[index]?.get(value);
      if (duplicate === undefined && first !== undefined) duplicate = `duplicate ${key.label} (first seen on ${first})`;
    });
    if (duplicate !== undefined) {
      skipped.push(skippedRecord(kind, morefOf(entry), duplicate));
      continue;
    }
    keys.forEach((key, index) => {
      const value = key.of(entry);
      if (value !== undefined) seen[index]?.set(value, morefOf(entry));
    });
    kept.push(entry);
  }
  return { kept, skipped };
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Small helpers                                                                                                  */
/* ------------------------------------------------------------------------------------------------------------ */

function identityFields(context: MappingContext, ref: string, datacenter: { moref: string; name: string }) {
  return {
    source_key: `${context.vcenterUuid}/${ref}`,
    vcenter_uuid: context.vcenterUuid,
    moref: ref,
    vsphere_datacenter: datacenter.name,
    vsphere_datacenter_moref: datacenter.moref,
  };
}

/** Absent -> null (optional field); present values go to the schema as they are. */
function nullable<T>(value: T | undefined): T | null {
  return value === undefined ? null : value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Empty strings mean "not reported" in vim25 (unset guest fields); other values pass through. */
function nonEmptyValue(value: VimValue | undefined): VimValue | undefined {
  return value === '' ? undefined : value;
}

function nonEmptyValues(values: ReadonlyArray<VimValue | undefined>): VimValue[] {
  return values.filter((value): value is VimValue => value !== undefined && value !== '');
}

/** Same address listed twice (guest.ipAddress and guest.net) is one address. */
function unique(values: VimValue[]): VimValue[] {
  const seen = new Set<VimValue>();
  const result: VimValue[] = [];
  for (const value of values) {
    if (seen.has(value)) continue;
    seen.add(value);
    result.push(value);
  }
  return result;
}

function roundPercent(value: number): number | null {
  return Number.isFinite(value) ? Math.round(value * 100) / 100 : null;
}
