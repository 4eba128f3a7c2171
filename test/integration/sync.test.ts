/**
 * The vCenter sync end to end: the real local gateway, DynamoDB Local and govmomi's simulator with two vSphere
 * datacenters mapped to two of ours through one vCenter. Expected counts come from the simulator's own model.
 */
import { readInventory, type VsphereInventory } from '#shared/vsphere/inventory';
import { VimClient } from '#shared/vsphere/client';
import { startVcsim, type Vcsim, VcsimAdmin } from '../support/vcsim';
import { createServer, type Server } from 'node:net';
import { acquireLease, currentLease, releaseLease, renewLease } from '#shared/domains/sync/lease';
import { useApi, unique } from './helpers';

const h = useApi();
let sim: Vcsim;
let admin: VcsimAdmin;
const dc: Record<'DC0' | 'DC1', string> = { DC0: '', DC1: '' };
const connection: Record<'DC0' | 'DC1', string> = { DC0: '', DC1: '' };

async function listAll(path: string): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const response: { status: number; body: any } = await h.send(
      'GET',
      `${path}${separator}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    expect(response.status).toBe(200);
    items.push(...response.body.items);
    cursor = response.body.next_cursor;
  } while (cursor);
  return items;
}

async function syncAndWait(datacenterId: string): Promise<any> {
  const started = await h.send('POST', `/v1/datacenters/${datacenterId}/sync`);
  expect(started.status).toBe(202);
  const id = started.body.sync_id as string;
  for (let attempt = 0; attempt < 300; attempt++) {
    const history = await h.send('GET', `/v1/sync-history/${id}`);
    if (history.body.status !== 'running') return history.body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`sync ${id} did not finish`);
}

async function auditCount(): Promise<number> {
  return (await listAll('/v1/audit-events')).length;
}

function rawInventory(): Promise<VsphereInventory> {
  const client = new VimClient({ endpoint: sim.url, username: sim.username, password: sim.password, allowHttp: true, timeoutMs: 30_000 });
  return client.withSession((session) => readInventory(session));
}

beforeAll(async () => {
  sim = await startVcsim({ datacenters: 2, clustersPerDatacenter: 1, hostsPerCluster: 2, standaloneHostsPerDatacenter: 1, vmsPerPool: 2 });
  admin = new VcsimAdmin(sim);
  for (const name of ['DC0', 'DC1'] as const) {
    const created = await h.send('POST', '/v1/datacenters', { body: { name: unique(`sync-${name}`), timezone: 'Africa/Tunis' } });
    dc[name] = created.body.id;
    const conn = await h.send('POST', '/v1/vsphere-connections', {
      body: { datacenter_id: dc[name], endpoint_url: sim.url, username: sim.username, password: sim.password, vsphere_datacenter: name },
    });
    expect(conn.status).toBe(201);
    expect(JSON.stringify(conn.body)).not.toContain(sim.password);
    connection[name] = conn.body.id;
  }
}, 240_000);

afterAll(async () => {
  await admin?.close();
  await sim?.stop();
});

test('the connection test logs in and reports the vCenter version; a wrong password is a clear error', async () => {
  const ok = await h.send('POST', `/v1/vsphere-connections/${connection.DC0}/test`);
  expect(ok.body).toMatchObject({ ok: true, version: '6.5.0', error: null });
  const bad = await h.send('POST', '/v1/vsphere-connections', {
    body: {
      datacenter_id: (await h.send('POST', '/v1/datacenters', { body: { name: unique('bad'), timezone: 'UTC' } })).body.id,
      endpoint_url: sim.url,
      username: sim.username,
      password: 'wrong',
    },
  });
  const result = await h.send('POST', `/v1/vsphere-connections/${bad.body.id}/test`);
  expect(result.body).toMatchObject({ ok: false, error: { kind: 'invalid_login' } });
});

test('a first sync matches the simulator exactly, per vSphere datacenter', async () => {
  const raw = await rawInventory();
  for (const name of ['DC0', 'DC1'] as const) {
    const history = await syncAndWait(dc[name]);
    expect(history).toMatchObject({ status: 'succeeded', trigger: 'manual', vcenter_version: '6.5.0' });
    const servers = await listAll(`/v1/servers?datacenter_id=${dc[name]}`);
    const vms = await listAll(`/v1/vms?datacenter_id=${dc[name]}`);
    const bays = await listAll(`/v1/storage-bays?datacenter_id=${dc[name]}`);
    const nics = await listAll(`/v1/network-configurations?datacenter_id=${dc[name]}`);
    const expected = {
      servers: raw.servers.filter((record) => record.vsphere_datacenter === name),
      vms: raw.vms.filter((record) => record.vsphere_datacenter === name),
      bays: raw.storageBays.filter((record) => record.vsphere_datacenter === name),
      nics: raw.networkConfigurations.filter((record) => record.vsphere_datacenter === name),
    };
    expect(expected.servers.length).toBeGreaterThan(0);
    expect({ servers: servers.length, vms: vms.length, bays: bays.length, nics: nics.length }).toEqual({
      servers: expected.servers.length,
      vms: expected.vms.length,
      bays: expected.bays.length,
      nics: expected.nics.length,
    });
    expect(history.counts.vms).toEqual({ created: expected.vms.length, updated: 0, unchanged: 0, missing: 0 });
    expect(servers.map((server) => server.hostname).sort()).toEqual(expected.servers.map((record) => record.hostname).sort());
    const host = expected.servers[0]!;
    expect(servers.find((server) => server.source_key === host.source_key)).toMatchObject({
      hostname: host.hostname,
      cpu_cores: host.cpu_cores,
      memory_bytes: host.memory_bytes,
      esxi_version: host.esxi_version,
      cluster: host.cluster,
      vsphere_datacenter: name,
    });
    // Every VM sits on a server of its own datacenter.
    const serverIds = new Set(servers.map((server) => server.id));
    for (const vm of vms) expect(serverIds.has(vm.server_id)).toBe(true);
  }
  expect(sim.counts.hosts).toBe(6);
});

test('a re-sync with nothing changed writes nothing and adds nothing to the audit trail', async () => {
  const before = await auditCount();
  const history = await syncAndWait(dc.DC0);
  expect(history.status).toBe('succeeded');
  expect(history.stats.inventory_items_written).toBe(0);
  for (const counts of Object.values<any>(history.counts)) expect(counts).toMatchObject({ created: 0, updated: 0, missing: 0 });
  expect(await auditCount()).toBe(before);
});

test('power-off, rename, vMotion, destroy and create in vCenter show up after the next sync; ids survive', async () => {
  const vms = await listAll(`/v1/vms?datacenter_id=${dc.DC0}`);
  const servers = await listAll(`/v1/servers?datacenter_id=${dc.DC0}`);
  const [renamed, powered, moved, destroyed] = vms as [any, any, any, any];
  // People's fields on a synced object must survive every sync.
  await h.send('PATCH', `/v1/vms/${renamed.id}`, { body: { notes: 'kept by people', owner: 'ops-team', status: 'planned' } });

  await admin.rename(renamed.moref, 'renamed-vm-007');
  await admin.powerOff(powered.moref);
  const target =
    servers.find((server) => server.id !== moved.server_id && server.cluster === servers.find((s) => s.id === moved.server_id)?.cluster) ??
    servers.find((server) => server.id !== moved.server_id);
  await admin.migrate(moved.moref, target.moref);
  await admin.powerOff(destroyed.moref);
  await admin.destroy(destroyed.moref);
  const created = await admin.createVm({ name: 'brand-new-vm', datacenter: 'DC0', host: servers[0].moref });
  expect(created.moref).toBeDefined();

  const history = await syncAndWait(dc.DC0);
  expect(history.status).toBe('succeeded');
  expect(history.counts.vms).toMatchObject({ created: 1, missing: 1 });

  const after = new Map((await listAll(`/v1/vms?datacenter_id=${dc.DC0}`)).map((vm) => [vm.id, vm]));
  expect(after.get(renamed.id)).toMatchObject({ name: 'renamed-vm-007', notes: 'kept by people', owner: 'ops-team', status: 'planned' });
  expect(after.get(powered.id)).toMatchObject({ power_state: 'powered_off' });
  expect(after.get(moved.id)).toMatchObject({ server_id: target.id });
  expect(after.get(destroyed.id)?.missing_since).toEqual(expect.any(String));
  expect([...after.values()].filter((vm) => vm.name === 'brand-new-vm')).toHaveLength(1);
  expect(after.size).toBe(vms.length + 1);
});

test('an unreachable vCenter or a wrong password fails the run and marks nothing missing', async () => {
  const beforeVms = await listAll(`/v1/vms?datacenter_id=${dc.DC1}`);
  await h.send('PATCH', `/v1/vsphere-connections/${connection.DC1}`, { body: { password: 'not-the-password' } });
  const wrongPassword = await syncAndWait(dc.DC1);
  expect(wrongPassword).toMatchObject({ status: 'failed', errors: [expect.objectContaining({ kind: 'invalid_login' })] });

  await h.send('PATCH', `/v1/vsphere-connections/${connection.DC1}`, {
    body: { password: sim.password, endpoint_url: 'http://127.0.0.1:9/sdk' },
  });
  const unreachable = await syncAndWait(dc.DC1);
  expect(unreachable).toMatchObject({ status: 'failed', errors: [expect.objectContaining({ kind: 'unreachable' })] });

  const afterVms = await listAll(`/v1/vms?datacenter_id=${dc.DC1}`);
  expect(afterVms.map((vm) => vm.missing_since)).toEqual(beforeVms.map(() => null));
  await h.send('PATCH', `/v1/vsphere-connections/${connection.DC1}`, { body: { endpoint_url: sim.url } });
  expect((await syncAndWait(dc.DC1)).status).toBe('succeeded');
});

test('one sync per datacenter at a time: a second trigger while one runs is a 409', async () => {
  const first = await h.send('POST', `/v1/datacenters/${dc.DC1}/sync`);
  const second = await h.send('POST', `/v1/datacenters/${dc.DC1}/sync`);
  expect(first.status).toBe(202);
  expect(second.status).toBe(409);
  for (let attempt = 0; attempt < 300; attempt++) {
    if ((await h.send('GET', `/v1/sync-history/${first.body.sync_id}`)).body.status !== 'running') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

test('a vCenter that accepts connections but never answers fails the run by timeout, marking nothing missing', async () => {
  const sockets: import('node:net').Socket[] = [];
  const silent: Server = createServer((socket) => {
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
  const port = (silent.address() as { port: number }).port;
  const previous = process.env.VSPHERE_CALL_TIMEOUT_MS;
  process.env.VSPHERE_CALL_TIMEOUT_MS = '800';
  try {
    await h.send('PATCH', `/v1/vsphere-connections/${connection.DC1}`, { body: { endpoint_url: `http://127.0.0.1:${port}/sdk` } });
    const history = await syncAndWait(dc.DC1);
    expect(history).toMatchObject({ status: 'failed', errors: [expect.objectContaining({ kind: 'timeout' })] });
    const vms = await listAll(`/v1/vms?datacenter_id=${dc.DC1}`);
    expect(vms.every((vm) => vm.missing_since === null)).toBe(true);
  } finally {
    process.env.VSPHERE_CALL_TIMEOUT_MS = previous;
    for (const socket of sockets) socket.destroy();
    silent.close();
    await h.send('PATCH', `/v1/vsphere-connections/${connection.DC1}`, { body: { endpoint_url: sim.url } });
  }
});

test('hostile data in vCenter: the bad VM is skipped and reported, the run is partial, and nothing is marked missing', async () => {
  const vms = await listAll(`/v1/vms?datacenter_id=${dc.DC1}`);
  const victim = vms[0];
  await admin.rename(victim.moref, 'x'.repeat(300)); // longer than any name we accept
  const history = await syncAndWait(dc.DC1);
  expect(history.status).toBe('partial');
  expect(history.errors).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'vm_skipped', ref: victim.moref })]));
  expect(history.counts.vms.missing).toBe(0);
  const after = await h.send('GET', `/v1/vms/${victim.id}`);
  expect(after.body).toMatchObject({ name: victim.name, missing_since: null });
  await admin.rename(victim.moref, victim.name);
});

test('the lease admits one holder, and a lapsed lease (a dead sync) can be taken over', async () => {
  const datacenter = `lease-${unique('dc')}`;
  expect(await acquireLease(datacenter, 'first', 60)).toBe(true);
  expect(await acquireLease(datacenter, 'second', 60)).toBe(false);
  expect((await currentLease(datacenter))?.holder).toBe('first');
  // The first holder dies: its lease lapses (simulated by letting its last renewal end in the past).
  expect(await renewLease(datacenter, 'first', -1)).toBe(true);
  expect(await currentLease(datacenter)).toBeUndefined();
  expect(await acquireLease(datacenter, 'second', 60)).toBe(true);
  await releaseLease(datacenter, 'first'); // not the holder: no effect
  expect((await currentLease(datacenter))?.holder).toBe('second');
});

test('a sync job delivered twice (a Lambda retry) runs once: the second delivery finds its run finished and does nothing', async () => {
  const history = await syncAndWait(dc.DC0);
  const { syncDatacenter } = await import('#shared/domains/sync/engine');
  const again = await syncDatacenter({ datacenter_id: dc.DC0, connection_id: connection.DC0, sync_id: history.id, trigger: 'manual' });
  expect(again).toMatchObject({ status: 'failed', errors: [expect.objectContaining({ kind: 'skipped' })] });
  const after = (await h.send('GET', `/v1/sync-history/${history.id}`)).body;
  expect(after).toEqual(history);
});

test('a security policy against synced inventory: exactly the uncovered production VMs violate it, after the sync and on demand; covering one clears it', async () => {
  const { monitoringSettled } = await import('#shared/domains/monitoring/evaluation');
  const vms = (await listAll(`/v1/vms?datacenter_id=${dc.DC0}`)).filter((vm) => vm.missing_since === null);
  const production = (await h.send('POST', '/v1/tags', { body: { name: unique('production') } })).body;
  const tagged = vms.slice(0, 2);
  for (const vm of tagged) expect((await h.send('PUT', `/v1/vms/${vm.id}/tags`, { body: { tag_ids: [production.id] } })).status).toBe(200);
  const policy = await h.send('POST', '/v1/security-policies', {
    body: {
      name: 'Production VMs must have a backup policy',
      datacenter_id: dc.DC0,
      category: 'backup',
      severity: 'critical',
      mode: 'enforce',
      rule: { entity_type: 'vm', tag: production.name, field: 'backup_policy', operator: 'exists', value: null },
    },
  });
  expect(policy.status).toBe(201);

  await syncAndWait(dc.DC0);
  await monitoringSettled(dc.DC0);
  const alerts = (await h.send('GET', `/v1/alerts?source=security-policy&datacenter_id=${dc.DC0}&status=firing`)).body.items;
  expect(alerts.map((alert: any) => alert.related_id).sort()).toEqual(tagged.map((vm) => vm.id).sort());
  expect(alerts.every((alert: any) => alert.severity === 'critical')).toBe(true);
  const violations = (await h.send('GET', `/v1/security-policies/${policy.body.id}/violations`)).body.violations;
  expect(violations.map((violation: any) => violation.entity_id).sort()).toEqual(tagged.map((vm) => vm.id).sort());

  const covered = tagged[0];
  const backup = await h.send('POST', '/v1/backup-policies', {
    body: {
      name: 'nightly',
      datacenter_id: dc.DC0,
      scope_kind: 'vm',
      vm_id: covered.id,
      schedule_cron: '0 2 * * *',
      retention: { daily: 7, weekly: 4, monthly: 12, yearly: 1 },
      target: 'backup-repo-1',
      rpo_hours: 26,
    },
  });
  expect(backup.status).toBe(201);
  const after = (await h.send('GET', `/v1/security-policies/${policy.body.id}/violations`)).body.violations;
  expect(after.map((violation: any) => violation.entity_id)).toEqual([tagged[1].id]);
  await syncAndWait(dc.DC0);
  await monitoringSettled(dc.DC0);
  const open = (await h.send('GET', `/v1/alerts?source=security-policy&datacenter_id=${dc.DC0}&status=firing`)).body.items;
  expect(open.map((alert: any) => alert.related_id)).toEqual([tagged[1].id]);
});
