/**
 * References between objects (existence, same datacenter, derived datacenter), uniqueness (409) and
 * delete restrictions (409 while referenced). A failed request writes nothing.
 */
import {
  bayBody,
  created,
  datacenterBody,
  detailPaths,
  expectError,
  listAll,
  MISSING_ID,
  nicBody,
  type Send,
  serverBody,
  tagBody,
  unique,
  useApi,
  vmBody,
  world,
} from './helpers';

const h = useApi();

async function count(send: Send, path: string): Promise<number> {
  return (await listAll(send, path)).items.length;
}

describe('references', () => {
  test('a server, VM or storage bay in a nonexistent datacenter is a 400 on datacenter_id and writes nothing', async () => {
    const { send } = h;
    const before = await Promise.all(['servers', 'vms', 'storage-bays'].map((collection) => count(send, `/v1/${collection}`)));
    for (const [collection, body] of [
      ['servers', serverBody(MISSING_ID)],
      ['vms', vmBody(MISSING_ID)],
      ['storage-bays', bayBody(MISSING_ID)],
    ] as const) {
      const response = await send('POST', `/v1/${collection}`, { body });
      expectError(response, 400, 'validation_error');
      expect(detailPaths(response)).toEqual(['datacenter_id']);
    }
    const after = await Promise.all(['servers', 'vms', 'storage-bays'].map((collection) => count(send, `/v1/${collection}`)));
    expect(after).toEqual(before);
    // The hostname was not reserved by the failed create.
    const dc = await created(send, 'datacenters', datacenterBody());
    const body = serverBody(MISSING_ID);
    await send('POST', '/v1/servers', { body });
    expect((await send('POST', '/v1/servers', { body: { ...body, datacenter_id: dc.id } })).status).toBe(201);
  });

  test('a VM on a server of another datacenter is a 400 on server_id', async () => {
    const { send } = h;
    const a = await world(send);
    const b = await world(send);
    const response = await send('POST', '/v1/vms', { body: vmBody(a.dc.id, b.server.id) });
    expectError(response, 400, 'validation_error');
    expect(detailPaths(response)).toEqual(['server_id']);
    const missing = await send('POST', '/v1/vms', { body: vmBody(a.dc.id, MISSING_ID) });
    expectError(missing, 400, 'validation_error');
    expect(detailPaths(missing)).toEqual(['server_id']);
    expect(await count(send, `/v1/vms?datacenter_id=${a.dc.id}`)).toBe(1);
  });

  test('moving a VM to a server of another datacenter is a 400; moving within it works and lists follow', async () => {
    const { send } = h;
    const a = await world(send);
    const b = await world(send);
    const across = await send('PATCH', `/v1/vms/${a.vm.id}`, { body: { server_id: b.server.id } });
    expectError(across, 400, 'validation_error');
    expect(detailPaths(across)).toEqual(['server_id']);
    const unchanged = await send('GET', `/v1/vms/${a.vm.id}`);
    expect(unchanged.body).toEqual(a.vm);

    const second = await created(send, 'servers', serverBody(a.dc.id));
    const moved = await send('PATCH', `/v1/vms/${a.vm.id}`, { body: { server_id: second.id } });
    expect(moved.status).toBe(200);
    expect(moved.body.server_id).toBe(second.id);
    expect(moved.body.version).toBe(2);
    expect((await listAll(send, `/v1/vms?server_id=${a.server.id}`)).items).toEqual([]);
    expect((await listAll(send, `/v1/vms?server_id=${second.id}`)).items.map((vm) => vm.id)).toEqual([a.vm.id]);

    // The old server is free to go now; the new one is not.
    expectError(await send('DELETE', `/v1/servers/${second.id}`), 409, 'conflict');
    expect((await send('DELETE', `/v1/servers/${a.server.id}`)).status).toBe(204);

    // Unplacing the VM (server_id null) frees the second server too.
    const unplaced = await send('PATCH', `/v1/vms/${a.vm.id}`, { body: { server_id: null } });
    expect(unplaced.status).toBe(200);
    expect(unplaced.body.server_id).toBeNull();
    expect((await listAll(send, `/v1/vms?server_id=${second.id}`)).items).toEqual([]);
    expect((await send('DELETE', `/v1/servers/${second.id}`)).status).toBe(204);
  });

  test('a network configuration needs exactly one of server_id and vm_id, and takes its datacenter from its owner', async () => {
    const { send } = h;
    const { dc, server, vm } = await world(send);
    const before = await count(send, '/v1/network-configurations');

    const both = await send('POST', '/v1/network-configurations', { body: { interface_name: 'eth0', server_id: server.id, vm_id: vm.id } });
    expectError(both, 400, 'validation_error');
    expect(detailPaths(both)).toContain('server_id');
    const neither = await send('POST', '/v1/network-configurations', { body: { interface_name: 'eth0' } });
    expectError(neither, 400, 'validation_error');
    expect(detailPaths(neither)).toContain('server_id');
    const nulls = await send('POST', '/v1/network-configurations', { body: { interface_name: 'eth0', server_id: null, vm_id: null } });
    expectError(nulls, 400, 'validation_error');
    const missingOwner = await send('POST', '/v1/network-configurations', { body: nicBody({ vm_id: MISSING_ID }) });
    expectError(missingOwner, 400, 'validation_error');
    expect(detailPaths(missingOwner)).toEqual(['vm_id']);
    const readOnly = await send('POST', '/v1/network-configurations', {
      body: { ...nicBody({ server_id: server.id }), datacenter_id: dc.id },
    });
    expectError(readOnly, 400, 'validation_error');
    expect(detailPaths(readOnly)).toEqual(['datacenter_id']);
    expect(await count(send, '/v1/network-configurations')).toBe(before);

    const onServer = await created(send, 'network-configurations', nicBody({ server_id: server.id }));
    const onVm = await created(send, 'network-configurations', nicBody({ vm_id: vm.id }));
    expect(onServer).toMatchObject({ server_id: server.id, vm_id: null, datacenter_id: dc.id });
    expect(onVm).toMatchObject({ server_id: null, vm_id: vm.id, datacenter_id: dc.id });

    // The owner cannot be swapped or doubled by a PATCH, and datacenter_id is not writable.
    for (const patch of [{ vm_id: vm.id }, { server_id: server.id }, { datacenter_id: dc.id }]) {
      expectError(await send('PATCH', `/v1/network-configurations/${onServer.id}`, { body: patch }), 400, 'validation_error');
    }
  });

  test('a storage bay cannot use more than its capacity, on create or on update', async () => {
    const { send } = h;
    const dc = await created(send, 'datacenters', datacenterBody());
    const over = await send('POST', '/v1/storage-bays', {
      body: { ...bayBody(dc.id), total_capacity_bytes: 100, used_capacity_bytes: 101 },
    });
    expectError(over, 400, 'validation_error');
    expect(detailPaths(over)).toEqual(['used_capacity_bytes']);
    const full = await created(send, 'storage-bays', { ...bayBody(dc.id), total_capacity_bytes: 100, used_capacity_bytes: 100 });
    expectError(await send('PATCH', `/v1/storage-bays/${full.id}`, { body: { used_capacity_bytes: 101 } }), 400, 'validation_error');
    const shrink = await send('PATCH', `/v1/storage-bays/${full.id}`, { body: { total_capacity_bytes: 99 } });
    expectError(shrink, 400, 'validation_error');
    expect(detailPaths(shrink)).toEqual(['used_capacity_bytes']);
    expect((await send('GET', `/v1/storage-bays/${full.id}`)).body).toEqual(full);
    expect(await count(send, `/v1/storage-bays?datacenter_id=${dc.id}`)).toBe(1);
  });
});

describe('uniqueness', () => {
  test('datacenter names are unique case-insensitively; renaming frees the old name', async () => {
    const { send } = h;
    const name = unique('Tunis');
    const first = await created(send, 'datacenters', { name, timezone: 'Africa/Tunis' });
    for (const variant of [name, name.toUpperCase(), name.toLowerCase()]) {
      const duplicate = await send('POST', '/v1/datacenters', { body: { name: variant, timezone: 'UTC' } });
      expectError(duplicate, 409, 'conflict');
      expect(detailPaths(duplicate)).toEqual(['name']);
    }
    const second = await created(send, 'datacenters', datacenterBody());
    const taken = await send('PATCH', `/v1/datacenters/${second.id}`, { body: { name: name.toUpperCase() } });
    expectError(taken, 409, 'conflict');
    expect((await send('GET', `/v1/datacenters/${second.id}`)).body).toEqual(second);

    // A change of case only is a rename onto itself.
    const recased = await send('PATCH', `/v1/datacenters/${first.id}`, { body: { name: name.toUpperCase() } });
    expect(recased.status).toBe(200);
    const renamed = await send('PATCH', `/v1/datacenters/${first.id}`, { body: { name: `${name}-renamed` } });
    expect(renamed.status).toBe(200);
    expect((await send('POST', '/v1/datacenters', { body: { name, timezone: 'UTC' } })).status).toBe(201);

    // Deleting frees the name too.
    expect((await send('DELETE', `/v1/datacenters/${second.id}`)).status).toBe(204);
    expect((await send('POST', '/v1/datacenters', { body: { name: second.name, timezone: 'UTC' } })).status).toBe(201);
  });

  test('host names are unique within a datacenter, not across datacenters', async () => {
    const { send } = h;
    const [a, b] = [await created(send, 'datacenters', datacenterBody()), await created(send, 'datacenters', datacenterBody())];
    const hostname = `${unique('esx')}.corp.example`;
    const first = await created(send, 'servers', { datacenter_id: a.id, hostname });
    for (const variant of [hostname, hostname.toUpperCase(), `${hostname}.`]) {
      const duplicate = await send('POST', '/v1/servers', { body: { datacenter_id: a.id, hostname: variant } });
      expectError(duplicate, 409, 'conflict');
      expect(detailPaths(duplicate)).toEqual(['hostname']);
    }
    const elsewhere = await send('POST', '/v1/servers', { body: { datacenter_id: b.id, hostname } });
    expect(elsewhere.status).toBe(201);

    const second = await created(send, 'servers', serverBody(a.id));
    expectError(await send('PATCH', `/v1/servers/${second.id}`, { body: { hostname } }), 409, 'conflict');
    expect((await send('PATCH', `/v1/servers/${first.id}`, { body: { hostname: `${hostname}-old` } })).status).toBe(200);
    expect((await send('PATCH', `/v1/servers/${second.id}`, { body: { hostname } })).status).toBe(200);
    expect(await count(send, `/v1/servers?datacenter_id=${a.id}`)).toBe(2);
  });

  test('tag names are unique case-insensitively; renaming frees the old name', async () => {
    const { send } = h;
    const name = unique('Production');
    const first = await created(send, 'tags', { name });
    const duplicate = await send('POST', '/v1/tags', { body: { name: name.toLowerCase() } });
    expectError(duplicate, 409, 'conflict');
    expect(detailPaths(duplicate)).toEqual(['name']);
    const second = await created(send, 'tags', tagBody());
    expectError(await send('PATCH', `/v1/tags/${second.id}`, { body: { name: name.toUpperCase() } }), 409, 'conflict');
    expect((await send('PATCH', `/v1/tags/${first.id}`, { body: { name: `${name}-old` } })).status).toBe(200);
    expect((await send('POST', '/v1/tags', { body: { name } })).status).toBe(201);
  });

  test('storage bay names are unique within a datacenter, not across datacenters', async () => {
    const { send } = h;
    const [a, b] = [await created(send, 'datacenters', datacenterBody()), await created(send, 'datacenters', datacenterBody())];
    const name = unique('SAN');
    const first = await created(send, 'storage-bays', { ...bayBody(a.id), name });
    const duplicate = await send('POST', '/v1/storage-bays', { body: { ...bayBody(a.id), name: name.toLowerCase() } });
    expectError(duplicate, 409, 'conflict');
    expect(detailPaths(duplicate)).toEqual(['name']);
    expect((await send('POST', '/v1/storage-bays', { body: { ...bayBody(b.id), name } })).status).toBe(201);
    const second = await created(send, 'storage-bays', bayBody(a.id));
    expectError(await send('PATCH', `/v1/storage-bays/${second.id}`, { body: { name } }), 409, 'conflict');
    expect((await send('PATCH', `/v1/storage-bays/${first.id}`, { body: { name: `${name}-old` } })).status).toBe(200);
    expect((await send('PATCH', `/v1/storage-bays/${second.id}`, { body: { name } })).status).toBe(200);
  });
});

describe('deletes are refused while something references the object', () => {
  test('a datacenter with a server, a VM or a storage bay is a 409 until they are gone', async () => {
    const { send } = h;
    for (const child of ['servers', 'vms', 'storage-bays'] as const) {
      const dc = await created(send, 'datacenters', datacenterBody());
      const body = child === 'servers' ? serverBody(dc.id) : child === 'vms' ? vmBody(dc.id) : bayBody(dc.id);
      const object = await created(send, child, body);
      const refused = await send('DELETE', `/v1/datacenters/${dc.id}`);
      expectError(refused, 409, 'conflict');
      expect((await send('GET', `/v1/datacenters/${dc.id}`)).body).toEqual(dc);
      expect((await send('DELETE', `/v1/${child}/${object.id}`)).status).toBe(204);
      expect((await send('DELETE', `/v1/datacenters/${dc.id}`)).status).toBe(204);
    }
  });

  test('a datacenter with several kinds of children needs all of them removed', async () => {
    const { send } = h;
    const { dc, server, vm } = await world(send);
    const bay = await created(send, 'storage-bays', bayBody(dc.id));
    const steps: [string, string][] = [
      ['vms', vm.id],
      ['servers', server.id],
      ['storage-bays', bay.id],
    ];
    for (const [collection, id] of steps) {
      expectError(await send('DELETE', `/v1/datacenters/${dc.id}`), 409, 'conflict');
      expect((await send('DELETE', `/v1/${collection}/${id}`)).status).toBe(204);
    }
    expect((await send('DELETE', `/v1/datacenters/${dc.id}`)).status).toBe(204);
  });

  test('a server with VMs or network configurations, and a VM with network configurations, is a 409', async () => {
    const { send } = h;
    const { server, vm } = await world(send);
    expectError(await send('DELETE', `/v1/servers/${server.id}`), 409, 'conflict');
    expect((await send('PATCH', `/v1/vms/${vm.id}`, { body: { server_id: null } })).status).toBe(200);
    const serverNic = await created(send, 'network-configurations', nicBody({ server_id: server.id }));
    const vmNic = await created(send, 'network-configurations', nicBody({ vm_id: vm.id }));
    expectError(await send('DELETE', `/v1/servers/${server.id}`), 409, 'conflict');
    expectError(await send('DELETE', `/v1/vms/${vm.id}`), 409, 'conflict');
    expect((await send('DELETE', `/v1/network-configurations/${serverNic.id}`)).status).toBe(204);
    expect((await send('DELETE', `/v1/network-configurations/${vmNic.id}`)).status).toBe(204);
    expect((await send('DELETE', `/v1/servers/${server.id}`)).status).toBe(204);
    expect((await send('DELETE', `/v1/vms/${vm.id}`)).status).toBe(204);
  });

  test('a tag in use is a 409 until it is removed from every object', async () => {
    const { send } = h;
    const { server, vm } = await world(send);
    const tag = await created(send, 'tags', tagBody());
    for (const [collection, id] of [
      ['servers', server.id],
      ['vms', vm.id],
    ]) {
      expect((await send('PUT', `/v1/${collection}/${id}/tags`, { body: { tag_ids: [tag.id] } })).status).toBe(200);
    }
    expectError(await send('DELETE', `/v1/tags/${tag.id}`), 409, 'conflict');
    expect((await send('PUT', `/v1/servers/${server.id}/tags`, { body: { tag_ids: [] } })).status).toBe(200);
    expectError(await send('DELETE', `/v1/tags/${tag.id}`), 409, 'conflict');
    // Deleting the tagged object releases its tags too.
    expect((await send('DELETE', `/v1/vms/${vm.id}`)).status).toBe(204);
    expect((await send('DELETE', `/v1/tags/${tag.id}`)).status).toBe(204);
  });
});
