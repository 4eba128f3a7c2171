/**
 * The whole vCenter inventory in a small, fixed number of bulk reads, whatever its size:
 *
 *   1. topology view  [Datacenter, ComputeResource, Folder, DistributedVirtualPortgroup]
 *        ManagedEntity name+parent, plus DVPG key and default port config (VLAN)
 *   2. infra view     [HostSystem, Datastore]   hosts (hardware, state, usage, NICs, standard portgroups), datastores
 *   3. VM view        [VirtualMachine]          identity, sizing, disks, NICs, guest info, usage
 *
 * Each is one CreateContainerView + RetrievePropertiesEx (+ ContinueRetrievePropertiesEx per extra page) +
 * DestroyView. The order matters: VLANs and datacenter names come from (1), host portgroups and datastore names from
 * (2), so each VM is mapped the moment its XML element is parsed and only the compact record is kept.
 *
 * Leaf property paths are requested wherever a zero is a real value (quickStats, maintenance flag): asking for the
 * parent struct lets servers omit zero fields (vcsim does).
 */
import type { PropertySpec, VcenterAbout, VimClient } from '#shared/vsphere/client';
import { viewFilterSpec } from '#shared/vsphere/client';
import {
  createMappingContext,
  dropDuplicates,
  indexTopologyObject,
  type Mapped,
  type MappingContext,
  mapDatastore,
  mapHost,
  mapVm,
  type NetworkConfigurationRecord,
  type ServerRecord,
  type SkippedRecord,
  type StorageBayRecord,
  type VmRecord,
} from '#shared/vsphere/mapping';
import type { ObjectContent } from '#shared/vsphere/xml';

export const TOPOLOGY_TYPES = ['Datacenter', 'ComputeResource', 'Folder', 'DistributedVirtualPortgroup'] as const;
export const INFRA_TYPES = ['HostSystem', 'Datastore'] as const;
export const VM_TYPES = ['VirtualMachine'] as const;

export const TOPOLOGY_PROPERTIES: readonly PropertySpec[] = [
  { type: 'ManagedEntity', pathSet: ['name', 'parent'] },
  { type: 'DistributedVirtualPortgroup', pathSet: ['key', 'config.defaultPortConfig'] },
];

export const HOST_PATHS = [
  'name',
  'parent',
  // Whole struct on purpose: serialNumber only exists from API 6.7, and a path unknown to an older vCenter would
  // fault the whole call.
  'hardware.systemInfo',
  'summary.hardware.vendor',
  'summary.hardware.model',
  'summary.hardware.uuid',
  'summary.hardware.cpuModel',
  'summary.hardware.cpuMhz',
  'summary.hardware.numCpuPkgs',
  'summary.hardware.numCpuCores',
  'summary.hardware.numCpuThreads',
  'summary.hardware.memorySize',
  'summary.config.product',
  'summary.runtime.connectionState',
  'summary.runtime.powerState',
  'summary.runtime.inMaintenanceMode',
  'summary.quickStats.overallCpuUsage',
  'summary.quickStats.overallMemoryUsage',
  'config.network.vnic',
  'config.network.pnic',
  'config.network.portgroup',
] as const;

export const DATASTORE_PATHS = [
  'name',
  'parent',
  'summary.capacity',
  'summary.freeSpace',
  'summary.uncommitted',
  'summary.type',
  'summary.url',
  'summary.accessible',
  'summary.maintenanceMode',
] as const;

export const VM_PATHS = [
  'name',
  'parent',
  'config.uuid',
  'config.instanceUuid',
  'config.template',
  'config.guestFullName',
  'config.guestId',
  'config.hardware.numCPU',
  'config.hardware.memoryMB',
  'config.hardware.device',
  'runtime.powerState',
  'runtime.host',
  'guest.guestFullName',
  'guest.guestId',
  'guest.hostName',
  'guest.ipAddress',
  'guest.net',
  'guest.toolsStatus',
  'guest.toolsRunningStatus',
  'summary.quickStats.overallCpuUsage',
  'summary.quickStats.guestMemoryUsage',
  'summary.runtime.maxCpuUsage',
  'summary.storage.committed',
] as const;

export interface ReadInventoryOptions {
  /** Objects per page. Default 500 for VMs (about 5 MB of XML per page on real VMs), 200 for hosts. */
  vmPageSize?: number;
  infraPageSize?: number;
  topologyPageSize?: number;
  /** Per-call timeout for the bulk reads (default: the client's). */
  timeoutMs?: number;
  /** Called after each page with running totals, e.g. for progress logs. */
  onPage?: (progress: { phase: 'topology' | 'infra' | 'vms'; objects: number; pages: number }) => void;
}

export interface VsphereDatacenter {
  moref: string;
  name: string;
}

export interface VsphereInventory {
  vcenter: VcenterAbout;
  datacenters: VsphereDatacenter[];
  servers: ServerRecord[];
  vms: VmRecord[];
  storageBays: StorageBayRecord[];
  networkConfigurations: NetworkConfigurationRecord[];
  skipped: SkippedRecord[];
  stats: { calls: number; pages: number; objects: number; durationMs: number };
}

interface Entry<R> {
  record: R;
  networkConfigurations: NetworkConfigurationRecord[];
}

/** Reads and maps the whole inventory. The client must be connected (see `VimClient.withSession`). */
export async function readInventory(client: VimClient, options: ReadInventoryOptions = {}): Promise<VsphereInventory> {
  const started = performance.now();
  const before = { ...client.stats };
  const context = createMappingContext(client.about.instanceUuid);
  const skipped: SkippedRecord[] = [];
  const pages = { topology: 0, infra: 0, vms: 0 };
  const objects = { topology: 0, infra: 0, vms: 0 };
  const progress = (phase: 'topology' | 'infra' | 'vms', count: number) => {
    pages[phase]++;
    objects[phase] += count;
    options.onPage?.({ phase, objects: objects[phase], pages: pages[phase] });
  };

  // 1. Topology: names and parents, DVPG VLANs.
  await readView(
    client,
    TOPOLOGY_TYPES,
    TOPOLOGY_PROPERTIES,
    options.topologyPageSize ?? 1000,
    options.timeoutMs,
    (page: ObjectContent[]) => {
      for (const object of page) indexTopologyObject(context, object);
      progress('topology', page.length);
    },
  );

  // 2. Hosts and datastores, mapped as they arrive; hosts also fill the network context VMs need.
  const hostEntries: Entry<ServerRecord>[] = [];
  const datastoreEntries: Entry<StorageBayRecord>[] = [];
  await readView(
    client,
    INFRA_TYPES,
    [
      { type: 'HostSystem', pathSet: HOST_PATHS },
      { type: 'Datastore', pathSet: DATASTORE_PATHS },
    ],
    options.infraPageSize ?? 200,
    options.timeoutMs,
    (page: ObjectContent[]) => {
      // Order within the view does not matter: datastore names are only needed for VM disks, which come later.
      for (const object of page) {
        if (object.obj.type === 'HostSystem') collect(hostEntries, skipped, mapHost(context, object));
        else if (object.obj.type === 'Datastore') collect(datastoreEntries, skipped, mapDatastore(context, object));
      }
      progress('infra', page.length);
    },
  );

  // 3. VMs, mapped inside the XML stream: each page keeps only compact records.
  const vmEntries: Entry<VmRecord>[] = [];
  await readView(
    client,
    VM_TYPES,
    [{ type: 'VirtualMachine', pathSet: VM_PATHS }],
    options.vmPageSize ?? 500,
    options.timeoutMs,
    (page: Mapped<VmRecord>[]) => {
      for (const mapped of page) collect(vmEntries, skipped, mapped);
      progress('vms', page.length);
    },
    (object) => mapVm(context, object),
  );

  const hosts = dropDuplicates(
    hostEntries,
    [{ label: 'moref', of: (entry) => entry.record.moref }],
    'server',
    (entry) => entry.record.moref,
  );
  const datastores = dropDuplicates(
    datastoreEntries,
    [{ label: 'moref', of: (entry) => entry.record.moref }],
    'storage_bay',
    (entry) => entry.record.moref,
  );
  const vms = dropDuplicates(
    vmEntries,
    [
      { label: 'moref', of: (entry) => entry.record.moref },
      { label: 'instance UUID', of: (entry) => entry.record.instance_uuid.toLowerCase() },
    ],
    'vm',
    (entry) => entry.record.moref,
  );
  const owners = [...hosts.kept, ...vms.kept];
  const nics = dropDuplicates(
    owners.flatMap((entry) => entry.networkConfigurations),
    [{ label: 'NIC key', of: (nic) => nic.source_key }],
    'network_configuration',
    (nic) => `${nic.owner_moref}/${nic.device_key}`,
  );

  return {
    vcenter: client.about,
    datacenters: datacentersOf(context),
    servers: hosts.kept.map((entry) => entry.record),
    vms: vms.kept.map((entry) => entry.record),
    storageBays: datastores.kept.map((entry) => entry.record),
    networkConfigurations: nics.kept,
    skipped: [...skipped, ...hosts.skipped, ...datastores.skipped, ...vms.skipped, ...nics.skipped],
    stats: {
      calls: client.stats.calls - before.calls,
      pages: client.stats.pages - before.pages,
      objects: client.stats.objects - before.objects,
      durationMs: Math.round(performance.now() - started),
    },
  };
}

/** One view: create, read every page, destroy (also when a page handler throws). */
async function readView<T = ObjectContent>(
  client: VimClient,
  types: readonly string[],
  propSet: readonly PropertySpec[],
  maxObjects: number,
  timeoutMs: number | undefined,
  onPage: (page: T[]) => void,
  map?: (object: ObjectContent) => T | undefined,
): Promise<void> {
  const view = await client.createContainerView(types);
  try {
    const pages = client.retrieve<T>([viewFilterSpec(view, propSet)], {
      maxObjects,
      ...(map ? { map } : {}),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    for await (const page of pages) onPage(page);
  } catch (error) {
    // A failed cleanup must not hide why the read failed; the view dies with the session at Logout anyway.
    await client.destroyView(view).catch(() => undefined);
    throw error;
  }
  await client.destroyView(view);
}

function collect<R>(into: Entry<R>[], skipped: SkippedRecord[], mapped: Mapped<R>): void {
  skipped.push(...mapped.skipped);
  if (mapped.record !== undefined) into.push({ record: mapped.record, networkConfigurations: mapped.networkConfigurations });
}

function datacentersOf(context: MappingContext): VsphereDatacenter[] {
  const result: VsphereDatacenter[] = [];
  for (const [key, entry] of context.topology) {
    if (entry.type === 'Datacenter' && entry.name !== undefined) result.push({ moref: key.slice('Datacenter:'.length), name: entry.name });
  }
  return result.sort((a, b) => a.name.localeCompare(b.name));
}
