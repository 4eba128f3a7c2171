/**
 * readInventory + mapping against govmomi's simulator (vcsim 0.24.2). Expected counts come from the simulator's
 * own model (printed by test/vcsim/main.go), not from a second read through the client under test.
 */
import { VimClient, type VimClientOptions } from '#shared/vsphere/client';
import { InvalidLoginError, VimTlsError } from '#shared/vsphere/errors';
import { readInventory, type VsphereInventory } from '#shared/vsphere/inventory';
import { startVcsim, type Vcsim, VcsimAdmin } from '../support/vcsim';

const BUILD_AND_START_MS = 240_000;

function clientOptions(sim: Vcsim, overrides: Partial<VimClientOptions> = {}): VimClientOptions {
  return { endpoint: sim.url, allowHttp: true, username: sim.username, password: sim.password, timeoutMs: 30_000, ...overrides };
}

function read(sim: Vcsim, overrides: Partial<VimClientOptions> = {}): Promise<VsphereInventory> {
  return new VimClient(clientOptions(sim, overrides)).withSession((client) => readInventory(client));
}

describe('vcsim: two vSphere datacenters', () => {
  let sim: Vcsim;
  let admin: VcsimAdmin;
  let inventory: VsphereInventory;

  beforeAll(async () => {
    // Per datacenter: one cluster of 2 hosts + 1 standalone host, 2 VMs per pool (cluster pool and standalone host).
    sim = await startVcsim({
      datacenters: 2,
      clustersPerDatacenter: 1,
      hostsPerCluster: 2,
      standaloneHostsPerDatacenter: 1,
      vmsPerPool: 2,
    });
    admin = new VcsimAdmin(sim);
    inventory = await read(sim);
  }, BUILD_AND_START_MS);

  afterAll(async () => {
    await admin?.close();
    await sim?.stop();
  });

  it('returns exactly the simulator model: hosts, VMs, datastores and NICs, nothing skipped', () => {
    expect(sim.counts).toMatchObject({ datacenters: 2, hosts: 6, vms: 8, datastores: 2 });
    expect(inventory.skipped).toEqual([]);
    expect(inventory.servers).toHaveLength(sim.counts.hosts);
    expect(inventory.vms).toHaveLength(sim.counts.vms);
    expect(inventory.storageBays).toHaveLength(sim.counts.datastores);
    expect(inventory.networkConfigurations).toHaveLength(sim.counts.vmNics + sim.counts.hostVnics + sim.counts.hostPnics);
    expect(inventory.networkConfigurations.filter((nic) => nic.interface_kind === 'vm_nic')).toHaveLength(sim.counts.vmNics);
    expect(inventory.networkConfigurations.filter((nic) => nic.interface_kind === 'vmkernel')).toHaveLength(sim.counts.hostVnics);
    expect(inventory.networkConfigurations.filter((nic) => nic.interface_kind === 'physical')).toHaveLength(sim.counts.hostPnics);
    expect(inventory.vcenter).toMatchObject({ instanceUuid: expect.any(String), apiVersion: '6.5', version: '6.5.0' });
  });

  it('uses a fixed handful of calls whatever the size (vcsim never pages)', () => {
    // 3 x (CreateContainerView + RetrievePropertiesEx + DestroyView).
    expect(inventory.stats).toMatchObject({ calls: 9, pages: 3 });
  });

  it('assigns every object to its vSphere datacenter', () => {
    expect(inventory.datacenters.map((datacenter) => datacenter.name)).toEqual(['DC0', 'DC1']);
    for (const name of ['DC0', 'DC1']) {
      expect(inventory.servers.filter((server) => server.vsphere_datacenter === name)).toHaveLength(3);
      expect(inventory.vms.filter((vm) => vm.vsphere_datacenter === name)).toHaveLength(4);
      expect(inventory.storageBays.filter((bay) => bay.vsphere_datacenter === name)).toHaveLength(1);
    }
    // Simulator names carry their datacenter as a prefix: DC1_C0_H0, DC1_H0_VM1, ...
    for (const server of inventory.servers) expect(server.hostname.startsWith(`${server.vsphere_datacenter}_`)).toBe(true);
    for (const vm of inventory.vms) expect(vm.name.startsWith(`${vm.vsphere_datacenter}_`)).toBe(true);
    // A VM's host is in the same datacenter.
    const hostDatacenter = new Map(inventory.servers.map((server) => [server.moref, server.vsphere_datacenter]));
    for (const vm of inventory.vms) expect(hostDatacenter.get(vm.host_moref ?? '')).toBe(vm.vsphere_datacenter);
  });

  it('fills the server fields, with cluster names for cluster hosts only', () => {
    for (const server of inventory.servers) {
      expect(server).toMatchObject({
        vendor: 'VMware, Inc.',
        model: 'VMware Virtual Platform',
        cpu_model: expect.stringContaining('Intel'),
        cpu_mhz: expect.any(Number),
        cpu_cores: expect.any(Number),
        cpu_threads: expect.any(Number),
        memory_bytes: expect.any(Number),
        esxi_version: '6.5.0',
        esxi_build: expect.stringMatching(/^\d+$/),
        connection_state: 'connected',
        power_state: 'powered_on',
        in_maintenance_mode: false,
        // vcsim's quickStats are static: 67 MHz and 1404 MB on every host.
        cpu_usage_percent: expect.any(Number),
        memory_usage_percent: expect.any(Number),
        serial_number: expect.any(String),
      });
      expect(server.cluster).toBe(server.hostname.includes('_C0_') ? `${server.vsphere_datacenter}_C0` : null);
    }
  });

  it('fills the VM fields: identity, sizing, disks with datastore, placement, tools', () => {
    const datastoreNames = new Set(inventory.storageBays.map((bay) => bay.name));
    for (const vm of inventory.vms) {
      expect(vm).toMatchObject({
        instance_uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
        bios_uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
        guest_id: 'otherGuest',
        cpu_count: 1,
        memory_bytes: 32 * 1048576,
        storage_bytes: 1024 * 1024,
        power_state: 'powered_on',
        is_template: false,
        tools_status: 'toolsNotInstalled',
        // VM quickStats are empty in vcsim: maxCpuUsage is 0, so no CPU percentage.
        cpu_usage_percent: null,
      });
      expect(vm.disks).toEqual([
        expect.objectContaining({ capacity_bytes: 1048576, thin_provisioned: true, datastore_moref: expect.any(String) }),
      ]);
      expect(datastoreNames.has(vm.disks[0]?.datastore_name ?? '')).toBe(true);
    }
    expect(new Set(inventory.vms.map((vm) => vm.instance_uuid)).size).toBe(inventory.vms.length);
  });

  it('resolves VM NIC portgroups and VLANs from the distributed portgroups of their own datacenter', () => {
    const vmNics = inventory.networkConfigurations.filter((nic) => nic.owner_kind === 'vm');
    for (const nic of vmNics) {
      expect(nic).toMatchObject({
        portgroup: `${nic.vsphere_datacenter}_DVPG0`,
        vlan_id: 0,
        vlan_type: 'access',
        mac_address: expect.stringMatching(/^00:0c:29:/),
      });
    }
    const hostNics = inventory.networkConfigurations.filter((nic) => nic.interface_kind === 'vmkernel');
    for (const nic of hostNics)
      expect(nic).toMatchObject({ interface_name: 'vmk0', portgroup: 'Management Network', ip_addresses: ['127.0.0.1'] });
  });

  it('fills the storage bay fields', () => {
    for (const bay of inventory.storageBays) {
      expect(bay).toMatchObject({ name: 'LocalDS_0', type: 'other', raw_type: 'OTHER', accessible: true, maintenance_mode: 'normal' });
      expect(bay.capacity_bytes).toBeGreaterThan(0);
      expect(bay.used_bytes + bay.free_bytes).toBe(bay.capacity_bytes);
    }
  });

  it('logs out: the simulator holds no session of ours after the read', async () => {
    await read(sim);
    // Only the admin helper's own session remains.
    expect(await admin.sessionCount()).toBe(1);
  });

  it('logs in again when the session is terminated under it', async () => {
    const client = new VimClient(clientOptions(sim));
    const result = await client.withSession(async (session) => {
      expect(await admin.terminateOtherSessions()).toBe(1);
      return readInventory(session);
    });
    expect(client.stats.relogins).toBe(1);
    expect(result.vms).toHaveLength(sim.counts.vms);
  });

  it('rejects a wrong password with InvalidLoginError', async () => {
    await expect(read(sim, { password: 'wrong' })).rejects.toBeInstanceOf(InvalidLoginError);
  });
});

describe('vcsim: inventory changes are picked up by the next read', () => {
  let sim: Vcsim;
  let admin: VcsimAdmin;

  beforeAll(async () => {
    sim = await startVcsim({
      datacenters: 2,
      clustersPerDatacenter: 1,
      hostsPerCluster: 2,
      standaloneHostsPerDatacenter: 1,
      vmsPerPool: 2,
    });
    admin = new VcsimAdmin(sim);
  }, BUILD_AND_START_MS);

  afterAll(async () => {
    await admin?.close();
    await sim?.stop();
  });

  it('reflects power-off, rename, migration, guest IP, creation, destruction and maintenance mode', async () => {
    const before = await read(sim);
    const dc0Vms = before.vms.filter((vm) => vm.vsphere_datacenter === 'DC0');
    const [renamed, migrated, withIp, destroyed] = dc0Vms;
    if (!renamed || !migrated || !withIp || !destroyed) throw new Error('expected 4 VMs in DC0');
    const otherHost = before.servers.find((server) => server.vsphere_datacenter === 'DC0' && server.moref !== migrated.host_moref);
    const dc1Host = before.servers.find((server) => server.vsphere_datacenter === 'DC1');
    const maintenanceHost = before.servers[0];
    if (!otherHost || !dc1Host || !maintenanceHost) throw new Error('expected hosts');

    expect(await admin.powerOff(renamed.moref)).toMatchObject({ state: 'success' });
    expect(await admin.rename(renamed.moref, '007')).toMatchObject({ state: 'success' });
    expect(await admin.migrate(migrated.moref, otherHost.moref)).toMatchObject({ state: 'success' });
    expect(await admin.setGuestIp(withIp.moref, '10.20.30.40', 'app01.example.test')).toMatchObject({ state: 'success' });
    // Destroying a running VM fails like on vCenter; power it off first.
    expect(await admin.destroy(destroyed.moref)).toMatchObject({ state: 'error', faultType: 'InvalidPowerState' });
    await admin.powerOff(destroyed.moref);
    expect(await admin.destroy(destroyed.moref)).toMatchObject({ state: 'success' });
    const created = await admin.createVm({ name: 'created-in-dc1', datacenter: 'DC1', host: dc1Host.moref, cpus: 2, memoryMB: 256 });
    expect(created.outcome).toMatchObject({ state: 'success' });
    expect(await admin.enterMaintenanceMode(maintenanceHost.moref)).toMatchObject({ state: 'success' });

    const after = await read(sim);
    const byMoref = new Map(after.vms.map((vm) => [vm.moref, vm]));
    expect(after.skipped).toEqual([]);
    expect(after.vms).toHaveLength(before.vms.length);
    expect(byMoref.get(renamed.moref)).toMatchObject({
      name: '007',
      power_state: 'powered_off',
      memory_usage_percent: null,
      instance_uuid: renamed.instance_uuid,
    });
    expect(byMoref.get(migrated.moref)?.host_moref).toBe(otherHost.moref);
    expect(byMoref.get(withIp.moref)).toMatchObject({ ip_addresses: ['10.20.30.40'], guest_hostname: 'app01.example.test' });
    expect(after.networkConfigurations.find((nic) => nic.owner_moref === withIp.moref)?.ip_addresses).toEqual(['10.20.30.40']);
    expect(byMoref.has(destroyed.moref)).toBe(false);
    expect(after.networkConfigurations.some((nic) => nic.owner_moref === destroyed.moref)).toBe(false);
    expect(byMoref.get(created.moref ?? '')).toMatchObject({
      name: 'created-in-dc1',
      vsphere_datacenter: 'DC1',
      host_moref: dc1Host.moref,
      cpu_count: 2,
      memory_bytes: 256 * 1048576,
      power_state: 'powered_off',
      // CreateVM_Task without devices: no disks, no NICs.
      disks: [],
    });
    expect(after.servers.find((server) => server.moref === maintenanceHost.moref)?.in_maintenance_mode).toBe(true);
  });
});

describe('vcsim: datacenters and inventory inside folders', () => {
  let sim: Vcsim;

  beforeAll(async () => {
    sim = await startVcsim({ datacenters: 2, datacentersInFolders: 1, hostsPerCluster: 1, vmsPerPool: 1 });
  }, BUILD_AND_START_MS);

  afterAll(async () => {
    await sim?.stop();
  });

  it('walks nested folders up to the right datacenter', async () => {
    const inventory = await read(sim);
    expect(inventory.skipped).toEqual([]);
    expect(inventory.vms).toHaveLength(sim.counts.vms);
    expect(inventory.servers).toHaveLength(sim.counts.hosts);
    for (const vm of inventory.vms) expect(vm.name.startsWith(`${vm.vsphere_datacenter}_`)).toBe(true);
    expect(new Set(inventory.vms.map((vm) => vm.vsphere_datacenter))).toEqual(new Set(['DC0', 'DC1']));
    expect(new Set(inventory.storageBays.map((bay) => bay.vsphere_datacenter))).toEqual(new Set(['DC0', 'DC1']));
  });
});

describe('vcsim over https', () => {
  let sim: Vcsim;

  beforeAll(async () => {
    sim = await startVcsim({ tls: true, datacenters: 1, vmsPerPool: 1 });
  }, BUILD_AND_START_MS);

  afterAll(async () => {
    await sim?.stop();
  });

  it('serves https and prints the CA', () => {
    expect(sim.url.startsWith('https://127.0.0.1:')).toBe(true);
    expect(sim.caPem).toContain('BEGIN CERTIFICATE');
  });

  it('reads the inventory when the custom CA is given', async () => {
    const inventory = await read(sim, { allowHttp: false, caPem: sim.caPem });
    expect(inventory.vms).toHaveLength(sim.counts.vms);
  });

  it('refuses the unknown certificate without the CA, even with NODE_TLS_REJECT_UNAUTHORIZED=0', async () => {
    const previous = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    try {
      const client = new VimClient(clientOptions(sim, { allowHttp: false }));
      const error = await client.connect().catch((caught: unknown) => caught);
      await client.disconnect();
      expect(error).toBeInstanceOf(VimTlsError);
    } finally {
      if (previous === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = previous;
    }
  });
});
