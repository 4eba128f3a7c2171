/**
 * Credentials and access: one identical 401 for every bad key, 403 for role/scope, and datacenter access
 * (objects outside it are the same 404 as missing ones; writes with read-only access are 403; nothing is written).
 */
import { randomBytes } from 'node:crypto';
import { revokeApiKey } from '#shared/domains/identity/keys';
import { SYSTEM_BOOTSTRAP } from '#shared/auth/bootstrap';
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
  type World,
} from './helpers';

const h = useApi();

const hexOfKey = (key: string) => key.split('_')[1] as string;
const idOfKey = (key: string) => {
  const hex = hexOfKey(key);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};
const secret43 = () => randomBytes(32).toString('base64url');

describe('401 unauthorized', () => {
  test('every kind of bad credential gets the byte-identical body', async () => {
    const { api, send } = h;
    const valid = await api.createKey({ role: 'admin', scopes: ['admin'] });
    const expired = await api.createKey({ role: 'admin', scopes: ['admin'], expires_at: new Date(Date.now() - 1000).toISOString() });
    const revoked = await api.createKey({ role: 'admin', scopes: ['admin'] });
    // Both keys work before they are revoked/used.
    expect((await send('GET', '/v1/datacenters', { key: revoked })).status).toBe(200);
    await revokeApiKey(idOfKey(revoked), { principal: SYSTEM_BOOTSTRAP, requestId: 'test' });

    const credentials: Record<string, string | null> = {
      none: null,
      empty: '',
      malformed: 'not-a-key',
      'malformed dci': 'dci_xyz_abc',
      'wrong prefix': `dcx_${randomBytes(16).toString('hex')}_${secret43()}`,
      'unknown well-formed': `dci_${randomBytes(16).toString('hex')}_${secret43()}`,
      'right id, wrong secret': `dci_${hexOfKey(valid)}_${secret43()}`,
      'a key presented as a session token': `Bearer ${valid}`,
      'right id, truncated secret': valid.slice(0, -1),
      'unknown free-form (32+ chars)': 'x'.repeat(40),
      overlong: `${valid}${'a'.repeat(300)}`,
      'admin key with a suffix': `${api.adminKey}x`,
      expired,
      revoked,
    };
    const routes: [string, string, Record<string, unknown>][] = [
      ['GET', '/v1/datacenters', {}],
      ['GET', `/v1/servers/${MISSING_ID}`, {}],
      ['POST', '/v1/tags', { body: { name: 'x' } }],
      ['POST', '/v1/tags', { rawBody: '{bad json', headers: { 'content-type': 'application/json' } }],
      ['DELETE', '/v1/vms/not-a-uuid', {}],
      ['GET', '/v1/vms?bogus=1', {}],
    ];
    const seen = new Set<string>();
    for (const [label, key] of Object.entries(credentials)) {
      for (const [method, path, options] of routes) {
        const response = await send(method, path, { ...options, key });
        expect({ label, method, path, status: response.status }).toEqual({ label, method, path, status: 401 });
        expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
        seen.add(response.text);
      }
    }
    expect(seen.size).toBe(1);
    const [text] = [...seen];
    expect(JSON.parse(text as string)).toEqual({ error: { code: 'unauthorized', message: expect.any(String), details: [] } });

    // The key is never read from the query string.
    const inQuery = await send('GET', `/v1/datacenters?x-api-key=${encodeURIComponent(api.adminKey)}`, { key: null });
    expect(inQuery.status).toBe(401);
    expect(inQuery.text).toBe(text);
    // Nothing was created by any of the refused POSTs.
    expect((await send('GET', '/v1/tags?name=x')).body.items).toEqual([]);
    // The valid key still works.
    expect((await send('GET', '/v1/datacenters', { key: valid })).status).toBe(200);
  });
});

describe('403 forbidden', () => {
  test('a viewer key reads but cannot write', async () => {
    const { api, send } = h;
    const { dc, server } = await world(send);
    const viewer = await api.createKey({ role: 'viewer', scopes: ['inventory:read'] });
    expect((await send('GET', `/v1/servers/${server.id}`, { key: viewer })).status).toBe(200);
    expect((await send('GET', '/v1/servers', { key: viewer })).status).toBe(200);
    await expectNoWrites(send, viewer, { dc, server });
  });

  test('a key with only inventory:read cannot write, whatever its role', async () => {
    const { api, send } = h;
    const { dc, server } = await world(send);
    for (const role of ['admin', 'operator'] as const) {
      const key = await api.createKey({ role, scopes: ['inventory:read'] });
      expect((await send('GET', `/v1/datacenters/${dc.id}`, { key })).status).toBe(200);
      await expectNoWrites(send, key, { dc, server });
    }
  });

  test("a role caps a key's scopes: a viewer key asking for admin or write scopes still cannot write", async () => {
    const { api, send } = h;
    const { dc, server } = await world(send);
    for (const scopes of [['admin'], ['inventory:read', 'inventory:write']] as const) {
      const key = await api.createKey({ role: 'viewer', scopes: [...scopes] });
      await expectNoWrites(send, key, { dc, server });
    }
    const writeOnly = await api.createKey({ role: 'viewer', scopes: ['inventory:write'] });
    expectError(await send('GET', '/v1/datacenters', { key: writeOnly }), 403, 'forbidden');
  });

  async function expectNoWrites(send: Send, key: string, objects: { dc: any; server: any }) {
    const { dc, server } = objects;
    const attempts: [string, string, unknown][] = [
      ['POST', '/v1/datacenters', datacenterBody()],
      ['POST', '/v1/servers', serverBody(dc.id)],
      ['POST', '/v1/vms', vmBody(dc.id)],
      ['POST', '/v1/storage-bays', bayBody(dc.id)],
      ['POST', '/v1/network-configurations', nicBody({ server_id: server.id })],
      ['POST', '/v1/tags', tagBody()],
      ['PATCH', `/v1/servers/${server.id}`, { vendor: 'HPE' }],
      ['PATCH', `/v1/datacenters/${dc.id}`, { location: 'x' }],
      ['PUT', `/v1/servers/${server.id}/tags`, { tag_ids: [] }],
      ['DELETE', `/v1/servers/${server.id}`, undefined],
      ['DELETE', `/v1/datacenters/${dc.id}`, undefined],
    ];
    for (const [method, path, body] of attempts) {
      const response = await send(method, path, { key, ...(body !== undefined ? { body } : {}) });
      expect({ method, path, status: response.status, code: response.body?.error?.code }).toEqual({
        method,
        path,
        status: 403,
        code: 'forbidden',
      });
    }
    expect((await send('GET', `/v1/servers/${server.id}`)).body).toEqual(server);
    expect((await send('GET', `/v1/datacenters/${dc.id}`)).body).toEqual(dc);
    expect((await listAll(send, `/v1/servers?datacenter_id=${dc.id}`)).items).toHaveLength(1);
  }
});

describe('datacenter access', () => {
  let a: World & { bay: any; nic: any };
  let b: World & { bay: any; nic: any };
  let writerA: string;
  let readerA: string;

  beforeAll(async () => {
    const { api, send } = h;
    const make = async () => {
      const base = await world(send);
      const bay = await created(send, 'storage-bays', bayBody(base.dc.id));
      const nic = await created(send, 'network-configurations', nicBody({ vm_id: base.vm.id }));
      return { ...base, bay, nic };
    };
    a = await make();
    b = await make();
    const scopes = ['inventory:read', 'inventory:write'] as ('inventory:read' | 'inventory:write')[];
    writerA = await api.createKey({ role: 'operator', scopes, datacenter_access: [{ datacenter_id: a.dc.id, access: 'write' }] });
    readerA = await api.createKey({ role: 'operator', scopes, datacenter_access: [{ datacenter_id: a.dc.id, access: 'read' }] });
  });

  test('a key limited to some datacenters cannot create a datacenter (403), and nothing is written', async () => {
    const { send } = h;
    const name = unique('dc-limited');
    const response = await send('POST', '/v1/datacenters', { key: writerA, body: { ...datacenterBody(), name } });
    expectError(response, 403, 'forbidden');
    expect((await send('GET', `/v1/datacenters?name=${encodeURIComponent(name)}`)).body.items).toEqual([]);
  });

  const objectsOf = (w: World & { bay: any; nic: any }): [string, any][] => [
    ['datacenters', w.dc],
    ['servers', w.server],
    ['vms', w.vm],
    ['storage-bays', w.bay],
    ['network-configurations', w.nic],
  ];

  test('objects of another datacenter are the same 404 as missing ones, for reads and writes', async () => {
    const { send } = h;
    for (const key of [writerA, readerA]) {
      for (const [collection, object] of objectsOf(b)) {
        const missing = await send('GET', `/v1/${collection}/${MISSING_ID}`, { key });
        expectError(missing, 404, 'not_found');
        const hidden = await send('GET', `/v1/${collection}/${object.id}`, { key });
        expect({ collection, status: hidden.status, text: hidden.text }).toEqual({ collection, status: 404, text: missing.text });
        const patch = collection === 'datacenters' ? { location: 'x' } : { notes: 'x' };
        const hiddenPatch = await send('PATCH', `/v1/${collection}/${object.id}`, {
          key,
          body: collection === 'network-configurations' ? { vlan_id: 5 } : patch,
        });
        expect({ collection, status: hiddenPatch.status, text: hiddenPatch.text }).toEqual({ collection, status: 404, text: missing.text });
        const hiddenDelete = await send('DELETE', `/v1/${collection}/${object.id}`, { key });
        expect({ collection, status: hiddenDelete.status, text: hiddenDelete.text }).toEqual({
          collection,
          status: 404,
          text: missing.text,
        });
      }
      for (const collection of ['servers', 'vms', 'storage-bays']) {
        const object = collection === 'servers' ? b.server : collection === 'vms' ? b.vm : b.bay;
        const missing = await send('GET', `/v1/${collection}/${MISSING_ID}/tags`, { key });
        const hidden = await send('GET', `/v1/${collection}/${object.id}/tags`, { key });
        expect({ status: hidden.status, text: hidden.text }).toEqual({ status: 404, text: missing.text });
        const hiddenPut = await send('PUT', `/v1/${collection}/${object.id}/tags`, { key, body: { tag_ids: [] } });
        expect({ status: hiddenPut.status, text: hiddenPut.text }).toEqual({ status: 404, text: missing.text });
      }
    }
    // Nothing of B changed.
    for (const [collection, object] of objectsOf(b)) expect((await send('GET', `/v1/${collection}/${object.id}`)).body).toEqual(object);
  });

  test("lists never include another datacenter's objects", async () => {
    const { send } = h;
    for (const key of [writerA, readerA]) {
      for (const [collection] of objectsOf(a)) {
        const { items } = await listAll(
          async (method, path, options) => send(method, path, { ...options, key }),
          `/v1/${collection}?limit=1`,
        );
        const ids = items.map((item) => item.id);
        const own = objectsOf(a).find(([name]) => name === collection)?.[1];
        const foreign = objectsOf(b).find(([name]) => name === collection)?.[1];
        expect(ids).toContain(own.id);
        expect(ids).not.toContain(foreign.id);
        if (collection !== 'datacenters') {
          expect((await send('GET', `/v1/${collection}?datacenter_id=${b.dc.id}`, { key })).body).toEqual({ items: [], next_cursor: null });
        }
      }
      expect((await send('GET', `/v1/vms?server_id=${b.server.id}`, { key })).body.items).toEqual([]);
      expect((await send('GET', `/v1/network-configurations?vm_id=${b.vm.id}`, { key })).body.items).toEqual([]);
    }
  });

  test('creating objects in another datacenter or on its objects is refused and writes nothing', async () => {
    const { send } = h;
    const countB = async () =>
      Promise.all(
        ['servers', 'vms', 'storage-bays', 'network-configurations'].map(
          async (c) => (await listAll(send, `/v1/${c}?datacenter_id=${b.dc.id}`)).items.length,
        ),
      );
    const before = await countB();
    const server = serverBody(b.dc.id);
    const attempts: [string, unknown, string][] = [
      ['servers', server, 'datacenter_id'],
      ['vms', vmBody(b.dc.id), 'datacenter_id'],
      ['storage-bays', bayBody(b.dc.id), 'datacenter_id'],
      ['vms', vmBody(a.dc.id, b.server.id), 'server_id'],
      ['network-configurations', nicBody({ server_id: b.server.id }), 'server_id'],
      ['network-configurations', nicBody({ vm_id: b.vm.id }), 'vm_id'],
    ];
    for (const [collection, body, path] of attempts) {
      const response = await send('POST', `/v1/${collection}`, { key: writerA, body });
      expect({ collection, status: response.status }).toEqual({ collection, status: 400 });
      expect(detailPaths(response)).toEqual([path]);
    }
    expect(await countB()).toEqual(before);
    // The refused server's hostname is still free in B.
    expect((await send('POST', '/v1/servers', { body: server })).status).toBe(201);

    // A VM of A cannot be moved onto B's server either.
    const move = await send('PATCH', `/v1/vms/${a.vm.id}`, { key: writerA, body: { server_id: b.server.id } });
    expectError(move, 400, 'validation_error');
    expect((await send('GET', `/v1/vms/${a.vm.id}`)).body.server_id).toBe(a.server.id);
  });

  test('write access to A allows the full lifecycle in A', async () => {
    const { send } = h;
    const key = writerA;
    const server = await send('POST', '/v1/servers', { key, body: serverBody(a.dc.id) });
    expect(server.status).toBe(201);
    const vm = await send('POST', '/v1/vms', { key, body: vmBody(a.dc.id, server.body.id) });
    expect(vm.status).toBe(201);
    expect((await send('PATCH', `/v1/vms/${vm.body.id}`, { key, body: { server_id: a.server.id } })).status).toBe(200);
    const tag = await send('POST', '/v1/tags', { key, body: tagBody() });
    expect(tag.status).toBe(201);
    expect((await send('PUT', `/v1/vms/${vm.body.id}/tags`, { key, body: { tag_ids: [tag.body.id] } })).status).toBe(200);
    expect((await send('GET', `/v1/vms?tag=${encodeURIComponent(tag.body.name)}`, { key })).body.items.map((item: any) => item.id)).toEqual(
      [vm.body.id],
    );
    expect((await send('DELETE', `/v1/vms/${vm.body.id}`, { key })).status).toBe(204);
    expect((await send('DELETE', `/v1/servers/${server.body.id}`, { key })).status).toBe(204);
    expect((await send('PATCH', `/v1/datacenters/${a.dc.id}`, { key, body: { description: 'managed by A' } })).status).toBe(200);
  });

  test('read-only access to A reads A but every write in A is a 403 and writes nothing', async () => {
    const { send } = h;
    const key = readerA;
    for (const [collection, object] of objectsOf(a)) {
      expect((await send('GET', `/v1/${collection}/${object.id}`, { key })).status).toBe(200);
    }
    const current = await Promise.all(
      objectsOf(a).map(async ([collection, object]) => (await send('GET', `/v1/${collection}/${object.id}`)).body),
    );
    const tag = await created(send, 'tags', tagBody());
    const attempts: [string, string, unknown][] = [
      ['POST', '/v1/servers', serverBody(a.dc.id)],
      ['POST', '/v1/vms', vmBody(a.dc.id)],
      ['POST', '/v1/storage-bays', bayBody(a.dc.id)],
      ['POST', '/v1/network-configurations', nicBody({ server_id: a.server.id })],
      ['PATCH', `/v1/datacenters/${a.dc.id}`, { location: 'elsewhere' }],
      ['PATCH', `/v1/servers/${a.server.id}`, { vendor: 'HPE' }],
      ['PATCH', `/v1/vms/${a.vm.id}`, { os: 'Windows' }],
      ['PATCH', `/v1/storage-bays/${a.bay.id}`, { notes: 'x' }],
      ['PATCH', `/v1/network-configurations/${a.nic.id}`, { vlan_id: 7 }],
      ['PUT', `/v1/servers/${a.server.id}/tags`, { tag_ids: [tag.id] }],
      ['DELETE', `/v1/network-configurations/${a.nic.id}`, undefined],
      ['DELETE', `/v1/storage-bays/${a.bay.id}`, undefined],
      ['DELETE', `/v1/datacenters/${a.dc.id}`, undefined],
    ];
    for (const [method, path, body] of attempts) {
      const response = await send(method, path, { key, ...(body !== undefined ? { body } : {}) });
      expect({ method, path, status: response.status, code: response.body?.error?.code }).toEqual({
        method,
        path,
        status: 403,
        code: 'forbidden',
      });
    }
    const after = await Promise.all(
      objectsOf(a).map(async ([collection, object]) => (await send('GET', `/v1/${collection}/${object.id}`)).body),
    );
    expect(after).toEqual(current);
    expect((await listAll(send, `/v1/servers?datacenter_id=${a.dc.id}`)).items).toHaveLength(1);
  });
});
