import {
  createMappingContext,
  datacenterOf,
  dropDuplicates,
  dvPortgroupVlan,
  indexTopologyObject,
  type MappingContext,
  mapDatastore,
  mapHost,
  mapVm,
  standardPortgroupVlan,
} from '#shared/vsphere/mapping';
import { MoRef, type ObjectContent, type VimData, type VimValue } from '#shared/vsphere/xml';

const VC = 'dbed6e0c-bd88-4ef6-b594-21283e1c677f';

function object(type: string, value: string, props: Record<string, VimValue>): ObjectContent {
  return { obj: new MoRef(type, value), props, missing: [], missingFaults: {} };
}

/** Two datacenters: DC-East (cluster C1 + standalone host) and DC-West inside a folder; DVPGs with each VLAN kind. */
function context(): MappingContext {
  const ctx = createMappingContext(VC);
  const topology = [
    object('Folder', 'group-d1', { name: 'Datacenters' }),
    object('Datacenter', 'datacenter-2', { name: 'DC-East', parent: new MoRef('Folder', 'group-d1') }),
    object('Folder', 'group-h4', { name: 'host', parent: new MoRef('Datacenter', 'datacenter-2') }),
    object('Folder', 'group-v3', { name: 'vm', parent: new MoRef('Datacenter', 'datacenter-2') }),
    object('Folder', 'group-s5', { name: 'datastore', parent: new MoRef('Datacenter', 'datacenter-2') }),
    object('Folder', 'group-n6', { name: 'network', parent: new MoRef('Datacenter', 'datacenter-2') }),
    object('ClusterComputeResource', 'domain-c7', { name: 'C1', parent: new MoRef('Folder', 'group-h4') }),
    object('ComputeResource', 'domain-s8', { name: 'esx-standalone', parent: new MoRef('Folder', 'group-h4') }),
    object('Folder', 'group-f9', { name: 'EU', parent: new MoRef('Folder', 'group-d1') }),
    object('Datacenter', 'datacenter-10', { name: 'DC-West', parent: new MoRef('Folder', 'group-f9') }),
    object('Folder', 'group-v11', { name: 'vm', parent: new MoRef('Datacenter', 'datacenter-10') }),
    object('DistributedVirtualPortgroup', 'dvportgroup-20', {
      name: 'Prod-100',
      key: 'dvportgroup-20',
      parent: new MoRef('Folder', 'group-n6'),
      'config.defaultPortConfig': {
        _type: 'VMwareDVSPortSetting',
        vlan: { _type: 'VmwareDistributedVirtualSwitchVlanIdSpec', inherited: 'false', vlanId: '100' },
      },
    }),
    object('DistributedVirtualPortgroup', 'dvportgroup-21', {
      name: 'Uplinks',
      key: 'dvportgroup-21',
      'config.defaultPortConfig': {
        _type: 'VMwareDVSPortSetting',
        vlan: {
          _type: 'VmwareDistributedVirtualSwitchTrunkVlanSpec',
          vlanId: [
            { start: '0', end: '99' },
            { start: '200', end: '299' },
          ],
        },
      },
    }),
    object('DistributedVirtualPortgroup', 'dvportgroup-22', {
      name: 'Isolated',
      key: 'dvportgroup-22',
      'config.defaultPortConfig': {
        _type: 'VMwareDVSPortSetting',
        vlan: { _type: 'VmwareDistributedVirtualSwitchPvlanSpec', pvlanId: '501' },
      },
    }),
  ];
  for (const item of topology) indexTopologyObject(ctx, item);
  return ctx;
}

function hostProps(overrides: Record<string, VimValue> = {}): Record<string, VimValue> {
  return {
    name: 'esx01.example.test',
    parent: new MoRef('ClusterComputeResource', 'domain-c7'),
    'hardware.systemInfo': {
      _type: 'HostSystemInfo',
      vendor: 'Dell Inc.',
      model: 'PowerEdge R650',
      otherIdentifyingInfo: [
        { identifierValue: ' No Asset Tag', identifierType: { _type: 'ElementDescription', key: 'AssetTag' } },
        { identifierValue: 'ABC1234 ', identifierType: { _type: 'ElementDescription', key: 'ServiceTag' } },
      ],
    },
    'summary.hardware.vendor': 'Dell Inc.',
    'summary.hardware.model': 'PowerEdge R650',
    'summary.hardware.uuid': '4c4c4544-0042-3010-8050-b4c04f333532',
    'summary.hardware.cpuModel': 'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz',
    'summary.hardware.cpuMhz': 2000,
    'summary.hardware.numCpuPkgs': 2,
    'summary.hardware.numCpuCores': 64,
    'summary.hardware.numCpuThreads': 128,
    'summary.hardware.memorySize': 549755813888,
    'summary.config.product': { _type: 'AboutInfo', fullName: 'VMware ESXi 7.0.3 build-21930508', version: '7.0.3', build: '21930508' },
    'summary.runtime.connectionState': 'connected',
    'summary.runtime.powerState': 'poweredOn',
    'summary.runtime.inMaintenanceMode': false,
    'summary.quickStats.overallCpuUsage': 32000,
    'summary.quickStats.overallMemoryUsage': 131072,
    'config.network.vnic': [
      {
        device: 'vmk0',
        portgroup: 'Management Network',
        spec: {
          ip: {
            dhcp: 'false',
            ipAddress: '10.0.0.11',
            subnetMask: '255.255.255.0',
            ipV6Config: { ipV6Address: { ipAddress: 'fe80::1', prefixLength: '64' } },
          },
          mac: '00:50:56:6a:00:01',
        },
      },
      {
        device: 'vmk1',
        portgroup: '',
        spec: { ip: { ipAddress: '10.0.1.11' }, mac: '00:50:56:6a:00:02', distributedVirtualPort: { portgroupKey: 'dvportgroup-20' } },
      },
    ],
    'config.network.pnic': [
      { device: 'vmnic0', mac: 'B4:96:91:00:00:01', linkSpeed: { speedMb: '25000', duplex: 'true' } },
      { device: 'vmnic1', mac: 'b4:96:91:00:00:02' },
    ],
    'config.network.portgroup': [
      { spec: { name: 'Management Network', vlanId: '10', vswitchName: 'vSwitch0' } },
      { spec: { name: 'VM Network', vlanId: '0', vswitchName: 'vSwitch0' } },
      { spec: { name: 'All VLANs', vlanId: '4095', vswitchName: 'vSwitch0' } },
    ],
    ...overrides,
  };
}

function vmProps(overrides: Record<string, VimValue> = {}): Record<string, VimValue> {
  return {
    name: 'web01',
    parent: new MoRef('Folder', 'group-v3'),
    'config.uuid': '42001c4e-1111-2222-3333-444455556666',
    'config.instanceUuid': '50001c4e-aaaa-bbbb-cccc-ddddeeeeffff',
    'config.template': false,
    'config.guestFullName': 'Ubuntu Linux (64-bit)',
    'config.guestId': 'ubuntu64Guest',
    'config.hardware.numCPU': 4,
    'config.hardware.memoryMB': 8192,
    'config.hardware.device': [
      { _type: 'VirtualIDEController', key: '200', deviceInfo: { _type: 'Description', label: 'IDE 0' } },
      {
        _type: 'VirtualDisk',
        key: '2000',
        deviceInfo: { _type: 'Description', label: 'Hard disk 1' },
        backing: {
          _type: 'VirtualDiskFlatVer2BackingInfo',
          fileName: '[ds-prod-01] web01/web01.vmdk',
          datastore: new MoRef('Datastore', 'datastore-31'),
          thinProvisioned: 'true',
        },
        capacityInKB: '41943040',
        capacityInBytes: '42949672960',
      },
      {
        _type: 'VirtualDisk',
        key: '2001',
        deviceInfo: { _type: 'Description', label: 'Hard disk 2' },
        backing: {
          _type: 'VirtualDiskFlatVer2BackingInfo',
          fileName: '[ds-prod-01] web01/web01_1.vmdk',
          datastore: new MoRef('Datastore', 'datastore-31'),
        },
        capacityInKB: '1048576',
      },
      {
        _type: 'VirtualVmxnet3',
        key: '4000',
        deviceInfo: { _type: 'Description', label: 'Network adapter 1' },
        backing: {
          _type: 'VirtualEthernetCardDistributedVirtualPortBackingInfo',
          port: { switchUuid: 'aa bb', portgroupKey: 'dvportgroup-20' },
        },
        connectable: { startConnected: 'true', connected: 'true' },
        macAddress: '00:50:56:9a:00:01',
      },
      {
        _type: 'VirtualE1000e',
        key: '4001',
        deviceInfo: { _type: 'Description', label: 'Network adapter 2' },
        backing: { _type: 'VirtualEthernetCardNetworkBackingInfo', deviceName: 'All VLANs', network: new MoRef('Network', 'network-7') },
        connectable: { connected: 'false' },
        macAddress: '00:50:56:9a:00:02',
      },
    ],
    'runtime.powerState': 'poweredOn',
    'runtime.host': new MoRef('HostSystem', 'host-40'),
    'guest.guestFullName': 'Ubuntu 22.04.3 LTS',
    'guest.hostName': 'web01.example.test',
    'guest.ipAddress': '10.1.0.5',
    'guest.net': [
      { macAddress: '00:50:56:9a:00:01', connected: 'true', deviceConfigId: '4000', ipAddress: ['10.1.0.5', 'fe80::250:56ff:fe9a:1'] },
      // No deviceConfigId: matched on the MAC instead.
      { macAddress: '00:50:56:9A:00:02', connected: 'true', ipAddress: '192.168.7.9' },
    ],
    'guest.toolsStatus': 'toolsOk',
    'guest.toolsRunningStatus': 'guestToolsRunning',
    'summary.quickStats.overallCpuUsage': 1200,
    'summary.quickStats.guestMemoryUsage': 2048,
    'summary.runtime.maxCpuUsage': 8000,
    'summary.storage.committed': 21474836480,
    ...overrides,
  };
}

/** A context that has also read host-40 (the VMs' host) and datastore-31. */
function contextWithInfra(): MappingContext {
  const ctx = context();
  mapHost(ctx, object('HostSystem', 'host-40', hostProps()));
  mapDatastore(ctx, object('Datastore', 'datastore-31', datastoreProps()));
  return ctx;
}

function datastoreProps(overrides: Record<string, VimValue> = {}): Record<string, VimValue> {
  return {
    name: 'ds-prod-01',
    parent: new MoRef('Folder', 'group-s5'),
    'summary.capacity': 10995116277760,
    'summary.freeSpace': 4398046511104,
    'summary.uncommitted': 1099511627776,
    'summary.type': 'VMFS',
    'summary.url': 'ds:///vmfs/volumes/6123abcd-11111111-2222-333344445555/',
    'summary.accessible': true,
    'summary.maintenanceMode': 'normal',
    ...overrides,
  };
}

describe('hosts -> servers', () => {
  it('maps identity, hardware, version, state, cluster and usage', () => {
    const result = mapHost(context(), object('HostSystem', 'host-40', hostProps()));
    expect(result.skipped).toEqual([]);
    expect(result.record).toEqual({
      source_key: `${VC}/host-40`,
      vcenter_uuid: VC,
      moref: 'host-40',
      vsphere_datacenter: 'DC-East',
      vsphere_datacenter_moref: 'datacenter-2',
      hostname: 'esx01.example.test',
      vendor: 'Dell Inc.',
      model: 'PowerEdge R650',
      serial_number: 'ABC1234',
      hardware_uuid: '4c4c4544-0042-3010-8050-b4c04f333532',
      cpu_model: 'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz',
      cpu_sockets: 2,
      cpu_cores: 64,
      cpu_threads: 128,
      cpu_mhz: 2000,
      memory_bytes: 549755813888,
      esxi_version: '7.0.3',
      esxi_build: '21930508',
      esxi_full_name: 'VMware ESXi 7.0.3 build-21930508',
      connection_state: 'connected',
      power_state: 'powered_on',
      in_maintenance_mode: false,
      cluster: 'C1',
      // 32000 MHz / (2000 MHz * 64 cores) and 128 GiB / 512 GiB.
      cpu_usage_percent: 25,
      memory_usage_percent: 25,
    });
  });

  it('maps VMkernel and physical NICs with VLANs from standard and distributed portgroups', () => {
    const result = mapHost(context(), object('HostSystem', 'host-40', hostProps()));
    expect(
      result.networkConfigurations.map((nic) => [
        nic.interface_kind,
        nic.interface_name,
        nic.mac_address,
        nic.ip_addresses,
        nic.portgroup,
        nic.vlan_id,
        nic.connected,
      ]),
    ).toEqual([
      ['vmkernel', 'vmk0', '00:50:56:6a:00:01', ['10.0.0.11', 'fe80::1'], 'Management Network', 10, null],
      ['vmkernel', 'vmk1', '00:50:56:6a:00:02', ['10.0.1.11'], 'Prod-100', 100, null],
      ['physical', 'vmnic0', 'b4:96:91:00:00:01', [], null, null, true],
      ['physical', 'vmnic1', 'b4:96:91:00:00:02', [], null, null, false],
    ]);
    expect(result.networkConfigurations[0]?.source_key).toBe(`${VC}/host-40/vmk0`);
    expect(result.networkConfigurations[0]?.owner_source_key).toBe(`${VC}/host-40`);
  });

  it('gives a standalone host no cluster, prefers systemInfo.serialNumber, and tolerates missing optional data', () => {
    const result = mapHost(
      context(),
      object(
        'HostSystem',
        'host-41',
        hostProps({
          parent: new MoRef('ComputeResource', 'domain-s8'),
          'hardware.systemInfo': { _type: 'HostSystemInfo', serialNumber: 'SN-0042' },
          'summary.quickStats.overallCpuUsage': 0,
          'summary.runtime.inMaintenanceMode': true,
          'summary.runtime.powerState': 'standBy',
          'summary.hardware.numCpuCores': 0,
          'config.network.vnic': [],
          'config.network.pnic': [],
        }),
      ),
    );
    expect(result.record).toMatchObject({
      cluster: null,
      serial_number: 'SN-0042',
      in_maintenance_mode: true,
      power_state: 'standby',
      cpu_usage_percent: null,
    });
    const bare = mapHost(
      context(),
      object('HostSystem', 'host-42', { name: 'esx-bare', parent: new MoRef('ComputeResource', 'domain-s8') }),
    );
    expect(bare.record).toMatchObject({
      hostname: 'esx-bare',
      vendor: null,
      serial_number: null,
      cpu_usage_percent: null,
      memory_usage_percent: null,
    });
  });
});

describe('datastores -> storage bays', () => {
  it('maps capacity, usage, type, URL, accessibility and maintenance mode', () => {
    const result = mapDatastore(context(), object('Datastore', 'datastore-31', datastoreProps()));
    expect(result.record).toEqual({
      source_key: `${VC}/datastore-31`,
      vcenter_uuid: VC,
      moref: 'datastore-31',
      vsphere_datacenter: 'DC-East',
      vsphere_datacenter_moref: 'datacenter-2',
      name: 'ds-prod-01',
      type: 'vmfs',
      raw_type: 'VMFS',
      capacity_bytes: 10995116277760,
      free_bytes: 4398046511104,
      used_bytes: 6597069766656,
      uncommitted_bytes: 1099511627776,
      url: 'ds:///vmfs/volumes/6123abcd-11111111-2222-333344445555/',
      accessible: true,
      maintenance_mode: 'normal',
    });
  });

  it.each([
    ['NFS41', 'nfs'],
    ['vsan', 'vsan'],
    ['VVOL', 'vvol'],
    ['OTHER', 'other'],
    ['PMEM', 'other'],
  ])('maps summary.type %s to %s', (raw, expected) => {
    expect(mapDatastore(context(), object('Datastore', 'ds-x', datastoreProps({ 'summary.type': raw }))).record?.type).toBe(expected);
  });

  it('skips a datastore whose free space exceeds its capacity', () => {
    const result = mapDatastore(context(), object('Datastore', 'ds-bad', datastoreProps({ 'summary.freeSpace': 20995116277760 })));
    expect(result.record).toBeUndefined();
    expect(result.skipped).toEqual([{ kind: 'storage_bay', moref: 'ds-bad', reason: 'free_bytes: free space exceeds capacity' }]);
  });
});

describe('VMs -> vms', () => {
  it('maps identity, sizing, disks, placement, guest info and usage', () => {
    const result = mapVm(contextWithInfra(), object('VirtualMachine', 'vm-100', vmProps()));
    expect(result.skipped).toEqual([]);
    expect(result.record).toEqual({
      source_key: `${VC}/vm-100`,
      vcenter_uuid: VC,
      moref: 'vm-100',
      vsphere_datacenter: 'DC-East',
      vsphere_datacenter_moref: 'datacenter-2',
      instance_uuid: '50001c4e-aaaa-bbbb-cccc-ddddeeeeffff',
      bios_uuid: '42001c4e-1111-2222-3333-444455556666',
      name: 'web01',
      guest_os: 'Ubuntu 22.04.3 LTS',
      guest_id: 'ubuntu64Guest',
      cpu_count: 4,
      memory_bytes: 8589934592,
      disks: [
        {
          device_key: 2000,
          label: 'Hard disk 1',
          capacity_bytes: 42949672960,
          datastore_moref: 'datastore-31',
          datastore_name: 'ds-prod-01',
          file_name: '[ds-prod-01] web01/web01.vmdk',
          thin_provisioned: true,
        },
        {
          device_key: 2001,
          label: 'Hard disk 2',
          // capacityInKB * 1024 when capacityInBytes is absent (vcsim, old hosts).
          capacity_bytes: 1073741824,
          datastore_moref: 'datastore-31',
          datastore_name: 'ds-prod-01',
          file_name: '[ds-prod-01] web01/web01_1.vmdk',
          thin_provisioned: null,
        },
      ],
      storage_bytes: 44023414784,
      committed_bytes: 21474836480,
      power_state: 'powered_on',
      host_moref: 'host-40',
      host_source_key: `${VC}/host-40`,
      tools_status: 'toolsOk',
      tools_running_status: 'guestToolsRunning',
      guest_hostname: 'web01.example.test',
      ip_addresses: ['10.1.0.5', 'fe80::250:56ff:fe9a:1', '192.168.7.9'],
      is_template: false,
      cpu_usage_percent: 15,
      memory_usage_percent: 25,
    });
  });

  it('maps NICs: DVPG VLAN by portgroup key, standard portgroup VLAN from the VM host, IPs by device key or MAC', () => {
    const result = mapVm(contextWithInfra(), object('VirtualMachine', 'vm-100', vmProps()));
    expect(result.networkConfigurations).toEqual([
      expect.objectContaining({
        source_key: `${VC}/vm-100/4000`,
        owner_kind: 'vm',
        owner_moref: 'vm-100',
        interface_kind: 'vm_nic',
        interface_name: 'Network adapter 1',
        device_key: '4000',
        mac_address: '00:50:56:9a:00:01',
        ip_addresses: ['10.1.0.5', 'fe80::250:56ff:fe9a:1'],
        portgroup: 'Prod-100',
        vlan_id: 100,
        vlan_type: 'access',
        connected: true,
        vsphere_datacenter: 'DC-East',
      }),
      expect.objectContaining({
        interface_name: 'Network adapter 2',
        ip_addresses: ['192.168.7.9'],
        portgroup: 'All VLANs',
        vlan_id: null,
        vlan_type: 'trunk',
        vlan_ranges: '0-4094',
        connected: false,
      }),
    ]);
  });

  it.each([
    ['poweredOff', 'powered_off'],
    ['suspended', 'suspended'],
  ])('maps power state %s to %s and reports no usage while not running', (raw, expected) => {
    const record = mapVm(contextWithInfra(), object('VirtualMachine', 'vm-1', vmProps({ 'runtime.powerState': raw }))).record;
    expect(record).toMatchObject({ power_state: expected, cpu_usage_percent: null, memory_usage_percent: null });
  });

  it('reports no CPU usage when vCenter gives no maxCpuUsage (vcsim), and marks templates', () => {
    const record = mapVm(
      contextWithInfra(),
      object('VirtualMachine', 'vm-1', vmProps({ 'summary.runtime.maxCpuUsage': 0, 'config.template': true, 'guest.guestFullName': '' })),
    ).record;
    expect(record).toMatchObject({ cpu_usage_percent: null, is_template: true, guest_os: 'Ubuntu Linux (64-bit)' });
  });

  it('keeps a name like 007 exactly', () => {
    expect(mapVm(contextWithInfra(), object('VirtualMachine', 'vm-7', vmProps({ name: '007' }))).record?.name).toBe('007');
  });

  it('finds the datacenter of a vApp VM (no folder parent) through its host', () => {
    const { parent: _parent, ...withoutParent } = vmProps();
    const record = mapVm(contextWithInfra(), object('VirtualMachine', 'vm-8', withoutParent)).record;
    expect(record?.vsphere_datacenter).toBe('DC-East');
  });

  it('reports the vSphere datacenter of VMs in a datacenter inside a folder', () => {
    const record = mapVm(
      contextWithInfra(),
      object('VirtualMachine', 'vm-9', vmProps({ parent: new MoRef('Folder', 'group-v11') })),
    ).record;
    expect(record).toMatchObject({ vsphere_datacenter: 'DC-West', vsphere_datacenter_moref: 'datacenter-10' });
  });
});

describe('hostile data is skipped and reported, never half-valid', () => {
  const cases: Array<[string, Record<string, VimValue>, RegExp]> = [
    ['a control character in the name', { name: 'web\u000101' }, /^name: must not contain control characters/],
    ['a name over 255 characters', { name: 'x'.repeat(256) }, /^name: /],
    ['an empty name', { name: '' }, /^name: /],
    ['a missing instance UUID', { 'config.instanceUuid': undefined as unknown as VimValue }, /^instance_uuid: /],
    ['a name that is not text', { name: { _type: 'Weird' } as VimData }, /^name: /],
    [
      'a malformed disk capacity',
      { 'config.hardware.device': [{ _type: 'VirtualDisk', key: '2000', capacityInKB: '12abc' }] },
      /^disks\.0\.capacity_bytes: /,
    ],
    ['an invalid guest IP', { 'guest.ipAddress': '10.0.0.999' }, /^ip_addresses\.0: /],
  ];

  it.each(cases)('skips a VM with %s', (_label, overrides, reason) => {
    const props = vmProps(overrides);
    for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete props[key];
    const result = mapVm(contextWithInfra(), object('VirtualMachine', 'vm-66', props));
    expect(result.record).toBeUndefined();
    expect(result.networkConfigurations).toEqual([]);
    expect(result.skipped).toHaveLength(1);
    expect(result.skipped[0]).toMatchObject({ kind: 'vm', moref: 'vm-66' });
    expect(result.skipped[0]?.reason).toMatch(reason);
  });

  it('skips a VM with an unknown power state', () => {
    const result = mapVm(contextWithInfra(), object('VirtualMachine', 'vm-67', vmProps({ 'runtime.powerState': 'exploded' })));
    expect(result.skipped).toEqual([{ kind: 'vm', moref: 'vm-67', reason: 'unknown power state "exploded"' }]);
  });

  it('skips a host with a control character in its name and an unknown connection state', () => {
    expect(mapHost(context(), object('HostSystem', 'host-66', hostProps({ name: 'esx\u001b[31m' }))).skipped[0]).toMatchObject({
      kind: 'server',
      reason: expect.stringMatching(/^hostname: must not contain control characters/),
    });
    expect(
      mapHost(context(), object('HostSystem', 'host-67', hostProps({ 'summary.runtime.connectionState': 'haunted' }))).skipped[0]?.reason,
    ).toMatch(/^connection_state: /);
  });

  it('skips objects whose parent chain does not reach a datacenter, including parent loops', () => {
    const ctx = context();
    indexTopologyObject(ctx, object('Folder', 'loop-a', { name: 'a', parent: new MoRef('Folder', 'loop-b') }));
    indexTopologyObject(ctx, object('Folder', 'loop-b', { name: 'b', parent: new MoRef('Folder', 'loop-a') }));
    expect(datacenterOf(ctx, new MoRef('Folder', 'loop-a'))).toBeUndefined();
    const result = mapVm(
      ctx,
      object(
        'VirtualMachine',
        'vm-68',
        vmProps({ parent: new MoRef('Folder', 'loop-a'), 'runtime.host': new MoRef('HostSystem', 'nowhere') }),
      ),
    );
    expect(result.skipped).toEqual([
      { kind: 'vm', moref: 'vm-68', reason: expect.stringContaining('cannot determine the vSphere datacenter') },
    ]);
  });

  it('skips only the bad NIC (invalid MAC) and keeps a valid VM', () => {
    const devices = vmProps()['config.hardware.device'] as VimData[];
    const badNic = { ...(devices[3] as VimData), key: '4002', macAddress: 'not-a-mac' };
    const result = mapVm(
      contextWithInfra(),
      object('VirtualMachine', 'vm-69', vmProps({ 'config.hardware.device': [...devices, badNic] })),
    );
    expect(result.record?.moref).toBe('vm-69');
    expect(result.networkConfigurations).toHaveLength(2);
    expect(result.skipped).toEqual([
      { kind: 'network_configuration', moref: 'vm-69/4002', reason: expect.stringMatching(/^mac_address: /) },
    ]);
  });

  it('makes reported morefs printable and bounded', () => {
    const result = mapVm(contextWithInfra(), object('VirtualMachine', `vm-\u0007${'z'.repeat(400)}`, vmProps({ name: '' })));
    const reported = result.skipped[0]?.moref ?? '';
    expect(reported.startsWith('vm-\\u0007zzz')).toBe(true);
    expect(reported.length).toBeLessThanOrEqual(255);
  });

  it('drops duplicates by moref and by instance UUID, keeping the first', () => {
    const ctx = contextWithInfra();
    const entries = [
      mapVm(ctx, object('VirtualMachine', 'vm-1', vmProps({ 'config.instanceUuid': 'uuid-a' }))),
      mapVm(ctx, object('VirtualMachine', 'vm-1', vmProps({ 'config.instanceUuid': 'uuid-b' }))),
      mapVm(ctx, object('VirtualMachine', 'vm-2', vmProps({ 'config.instanceUuid': 'UUID-A' }))),
      mapVm(ctx, object('VirtualMachine', 'vm-3', vmProps({ 'config.instanceUuid': 'uuid-c' }))),
    ].map((mapped) => ({
      record: mapped.record as NonNullable<typeof mapped.record>,
      networkConfigurations: mapped.networkConfigurations,
    }));
    const { kept, skipped } = dropDuplicates(
      entries,
      [
        { label: 'moref', of: (entry) => entry.record.moref },
        { label: 'instance UUID', of: (entry) => entry.record.instance_uuid.toLowerCase() },
      ],
      'vm',
      (entry) => entry.record.moref,
    );
    expect(kept.map((entry) => entry.record.instance_uuid)).toEqual(['uuid-a', 'uuid-c']);
    expect(skipped).toEqual([
      { kind: 'vm', moref: 'vm-1', reason: 'duplicate moref (first seen on vm-1)' },
      { kind: 'vm', moref: 'vm-2', reason: 'duplicate instance UUID (first seen on vm-1)' },
    ]);
  });
});

describe('VLAN specs', () => {
  it('reads DVPG VLAN id, trunk ranges and private VLAN', () => {
    expect(dvPortgroupVlan({ _type: 'VmwareDistributedVirtualSwitchVlanIdSpec', vlanId: '0' })).toEqual({
      vlan_id: 0,
      vlan_type: 'access',
      vlan_ranges: null,
    });
    expect(dvPortgroupVlan({ _type: 'VmwareDistributedVirtualSwitchTrunkVlanSpec', vlanId: { start: '0', end: '4094' } })).toEqual({
      vlan_id: null,
      vlan_type: 'trunk',
      vlan_ranges: '0-4094',
    });
    expect(dvPortgroupVlan({ _type: 'VmwareDistributedVirtualSwitchPvlanSpec', pvlanId: '501' })).toEqual({
      vlan_id: 501,
      vlan_type: 'pvlan',
      vlan_ranges: null,
    });
    expect(dvPortgroupVlan(undefined)).toEqual({ vlan_id: null, vlan_type: null, vlan_ranges: null });
  });

  it('reads standard portgroup VLANs: 0 untagged, 4095 trunk', () => {
    expect(standardPortgroupVlan('0')).toEqual({ vlan_id: 0, vlan_type: 'access', vlan_ranges: null });
    expect(standardPortgroupVlan('120')).toEqual({ vlan_id: 120, vlan_type: 'access', vlan_ranges: null });
    expect(standardPortgroupVlan('4095')).toEqual({ vlan_id: null, vlan_type: 'trunk', vlan_ranges: '0-4094' });
  });

  it('maps a VM NIC on a private VLAN portgroup', () => {
    const devices = vmProps()['config.hardware.device'] as VimData[];
    const pvlanNic = {
      ...(devices[3] as VimData),
      backing: { _type: 'VirtualEthernetCardDistributedVirtualPortBackingInfo', port: { portgroupKey: 'dvportgroup-22' } },
    };
    const nics = mapVm(
      contextWithInfra(),
      object('VirtualMachine', 'vm-5', vmProps({ 'config.hardware.device': [pvlanNic] })),
    ).networkConfigurations;
    expect(nics[0]).toMatchObject({ portgroup: 'Isolated', vlan_id: 501, vlan_type: 'pvlan' });
  });
});
