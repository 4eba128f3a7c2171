/**
 * Lists: pages, cursors (opaque, signed, bound to one list and filter) and filters returning exactly the
 * matching objects.
 */
import { createHmac } from 'node:crypto';
import {
  bayBody,
  created,
  datacenterBody,
  expectError,
  inParallel,
  listAll,
  MISSING_ID,
  nicBody,
  serverBody,
  tagBody,
  useApi,
  vmBody,
} from './helpers';

const h = useApi();

const ids = (items: { id: string }[]) => items.map((item) => item.id).sort();

describe('a 250-object list', () => {
  let dc: any;
  let other: any;
  const vms: any[] = [];

  beforeAll(async () => {
    const { send } = h;
    dc = await created(send, 'datacenters', datacenterBody());
    other = await created(send, 'datacenters', datacenterBody());
    const specs = Array.from({ length: 250 }, (_, index) => ({
      ...vmBody(dc.id),
      power_state: index % 5 === 0 ? 'powered_on' : 'powered_off',
    }));
    vms.push(...(await inParallel(specs, 4, (body) => created(send, 'vms', body))));
    // Noise in another datacenter that the datacenter filter must leave out.
    await inParallel([1, 2, 3], 3, () => created(send, 'vms', { ...vmBody(other.id), power_state: 'powered_on' }));
  });

  test('limit 100 gives exactly 100, 100, 50 with no duplicates and a null cursor at the end', async () => {
    const { items, pages } = await listAll(h.send, `/v1/vms?datacenter_id=${dc.id}&limit=100`);
    expect(pages).toEqual([100, 100, 50]);
    expect(new Set(ids(items)).size).toBe(250);
    expect(ids(items)).toEqual(ids(vms));
  });

  test('the unfiltered list pages over every object of the collection', async () => {
    const { items, pages } = await listAll(h.send, '/v1/vms?limit=100');
    expect(pages).toEqual([100, 100, 53]);
    expect(new Set(ids(items)).size).toBe(253);
  });

  test('the default page size is 50', async () => {
    const page = await h.send('GET', `/v1/vms?datacenter_id=${dc.id}`);
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(50);
    expect(typeof page.body.next_cursor).toBe('string');
  });

  test('a filtered list pages over exactly the matching objects', async () => {
    const expected = ids(vms.filter((vm) => vm.power_state === 'powered_on'));
    const { items, pages } = await listAll(h.send, `/v1/vms?datacenter_id=${dc.id}&power_state=powered_on&limit=20`);
    expect(pages).toEqual([20, 20, 10]);
    expect(ids(items)).toEqual(expected);

    const everywhere = await listAll(h.send, '/v1/vms?power_state=powered_on&limit=7');
    expect(everywhere.items).toHaveLength(53);
    expect(new Set(ids(everywhere.items)).size).toBe(53);
    expect(everywhere.items.every((vm) => vm.power_state === 'powered_on')).toBe(true);
  });

  test('a page boundary that falls exactly on the end gives a null cursor or an empty last page, never a duplicate', async () => {
    const { items, pages } = await listAll(h.send, `/v1/vms?datacenter_id=${dc.id}&limit=125`);
    expect(pages.filter((size) => size > 0)).toEqual([125, 125]);
    expect(new Set(ids(items)).size).toBe(250);
  });

  test('tampered, malformed and expired cursors are 400 invalid_cursor', async () => {
    const { send } = h;
    const first = await send('GET', `/v1/vms?datacenter_id=${dc.id}&limit=10`);
    const cursor: string = first.body.next_cursor;
    expect(typeof cursor).toBe('string');
    const [payload, signature] = cursor.split('.') as [string, string];

    const flip = (text: string, at: number) => `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`;
    const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const forgedPosition = Buffer.from(JSON.stringify({ ...decoded, p: { ...decoded.p, pk: 'APIKEY#x' } })).toString('base64url');
    const bad = [
      flip(cursor, 5),
      `${payload}.${flip(signature, 3)}`,
      `${forgedPosition}.${signature}`,
      payload,
      `${payload}.`,
      `.${signature}`,
      `${cursor}.extra`,
      'garbage',
      'a.b',
      '%%%',
      Buffer.from('{"s":"x","p":{},"e":99999999999}').toString('base64url'),
    ];
    for (const candidate of bad) {
      const response = await send('GET', `/v1/vms?datacenter_id=${dc.id}&limit=10&cursor=${encodeURIComponent(candidate)}`);
      expectError(response, 400, 'invalid_cursor');
    }

    // Expired: the same position, re-signed with the test signing key but with an expiry in the past.
    const expiredPayload = Buffer.from(JSON.stringify({ ...decoded, e: Math.floor(Date.now() / 1000) - 10 })).toString('base64url');
    const expiredSignature = createHmac('sha256', process.env.CURSOR_SIGNING_KEY as string)
      .update(expiredPayload)
      .digest('base64url');
    expectError(
      await send('GET', `/v1/vms?datacenter_id=${dc.id}&limit=10&cursor=${expiredPayload}.${expiredSignature}`),
      400,
      'invalid_cursor',
    );
    // Control: the untouched cursor works, also with another page size.
    expect((await send('GET', `/v1/vms?datacenter_id=${dc.id}&limit=10&cursor=${encodeURIComponent(cursor)}`)).status).toBe(200);
    expect((await send('GET', `/v1/vms?datacenter_id=${dc.id}&limit=3&cursor=${encodeURIComponent(cursor)}`)).status).toBe(200);
    // An empty cursor is a plain validation error.
    expectError(await send('GET', `/v1/vms?datacenter_id=${dc.id}&cursor=`), 400, 'validation_error');
  });

  test('a cursor from another list or another filter is 400 invalid_cursor', async () => {
    const { send } = h;
    const fromDc = (await send('GET', `/v1/vms?datacenter_id=${dc.id}&limit=10`)).body.next_cursor as string;
    const fromAll = (await send('GET', '/v1/vms?limit=10')).body.next_cursor as string;
    const fromFiltered = (await send('GET', `/v1/vms?datacenter_id=${dc.id}&power_state=powered_on&limit=5`)).body.next_cursor as string;
    for (const cursor of [fromDc, fromAll, fromFiltered]) expect(typeof cursor).toBe('string');

    const misuse: [string, string][] = [
      ['/v1/vms?limit=10', fromDc],
      [`/v1/vms?datacenter_id=${other.id}&limit=10`, fromDc],
      [`/v1/vms?datacenter_id=${dc.id}&power_state=powered_on&limit=10`, fromDc],
      [`/v1/vms?datacenter_id=${dc.id}&power_state=powered_off&limit=10`, fromFiltered],
      [`/v1/vms?datacenter_id=${dc.id}&limit=10`, fromAll],
      ['/v1/servers?limit=10', fromAll],
      ['/v1/tags?limit=10', fromAll],
      ['/v1/datacenters?limit=10', fromDc],
      [`/v1/storage-bays?datacenter_id=${dc.id}&limit=10`, fromDc],
      [`/v1/network-configurations?datacenter_id=${dc.id}&limit=10`, fromDc],
    ];
    for (const [path, cursor] of misuse) {
      expectError(await send('GET', `${path}&cursor=${encodeURIComponent(cursor)}`), 400, 'invalid_cursor');
    }
  });
});

describe('filters return exactly the matching objects', () => {
  test('servers by datacenter_id, status and hostname', async () => {
    const { send } = h;
    const [a, b] = [await created(send, 'datacenters', datacenterBody()), await created(send, 'datacenters', datacenterBody())];
    const servers = [
      await created(send, 'servers', { ...serverBody(a.id), status: 'active' }),
      await created(send, 'servers', { ...serverBody(a.id), status: 'maintenance' }),
      await created(send, 'servers', { ...serverBody(a.id), status: 'maintenance' }),
      await created(send, 'servers', { ...serverBody(b.id), status: 'maintenance' }),
    ];
    const check = async (query: string, expected: any[]) => {
      const { items } = await listAll(send, `/v1/servers?${query}`);
      expect({ query, ids: ids(items) }).toEqual({ query, ids: ids(expected) });
    };
    await check(`datacenter_id=${a.id}`, servers.slice(0, 3));
    await check(`datacenter_id=${b.id}`, servers.slice(3));
    await check(`datacenter_id=${a.id}&status=maintenance`, servers.slice(1, 3));
    await check(`datacenter_id=${a.id}&status=maintenance&limit=1`, servers.slice(1, 3));
    await check(`datacenter_id=${b.id}&status=active`, []);
    await check(`hostname=${servers[3].hostname}`, [servers[3]]);
    await check(`datacenter_id=${MISSING_ID}`, []);
    const all = await listAll(send, '/v1/servers?status=maintenance');
    expect(all.items.every((server) => server.status === 'maintenance')).toBe(true);
    expect(ids(all.items)).toEqual(expect.arrayContaining(ids(servers.slice(1))));

    expectError(await send('GET', '/v1/servers?status=exploded'), 400, 'validation_error');
    expectError(await send('GET', '/v1/servers?datacenter_id=nope'), 400, 'validation_error');
  });

  test('VMs by datacenter_id, server_id, power_state and status', async () => {
    const { send } = h;
    const dc = await created(send, 'datacenters', datacenterBody());
    const [s1, s2] = [await created(send, 'servers', serverBody(dc.id)), await created(send, 'servers', serverBody(dc.id))];
    const vms = [
      await created(send, 'vms', { ...vmBody(dc.id, s1.id), power_state: 'powered_on', status: 'active' }),
      await created(send, 'vms', { ...vmBody(dc.id, s1.id), power_state: 'suspended', status: 'active' }),
      await created(send, 'vms', { ...vmBody(dc.id, s2.id), power_state: 'powered_on', status: 'offline' }),
      await created(send, 'vms', { ...vmBody(dc.id), power_state: 'powered_on', status: 'planned' }),
    ];
    const check = async (query: string, expected: any[]) => {
      const { items } = await listAll(send, `/v1/vms?${query}`);
      expect({ query, ids: ids(items) }).toEqual({ query, ids: ids(expected) });
    };
    await check(`datacenter_id=${dc.id}`, vms);
    await check(`server_id=${s1.id}`, vms.slice(0, 2));
    await check(`server_id=${s2.id}`, [vms[2]]);
    await check(`server_id=${s1.id}&power_state=powered_on`, [vms[0]]);
    await check(`datacenter_id=${dc.id}&power_state=powered_on`, [vms[0], vms[2], vms[3]]);
    await check(`datacenter_id=${dc.id}&status=planned`, [vms[3]]);
    await check(`datacenter_id=${dc.id}&server_id=${s2.id}&status=offline`, [vms[2]]);
    await check(`server_id=${s2.id}&status=active`, []);
    await check(`name=${vms[1].name}`, [vms[1]]);
  });

  test('storage bays, network configurations, datacenters and tags by their filters', async () => {
    const { send } = h;
    const dc = await created(send, 'datacenters', datacenterBody());
    const bays = [
      await created(send, 'storage-bays', { ...bayBody(dc.id), type: 'nas', status: 'degraded' }),
      await created(send, 'storage-bays', { ...bayBody(dc.id), type: 'san' }),
    ];
    const check = async (path: string, expected: any[]) => {
      const { items } = await listAll(send, path);
      expect({ path, ids: ids(items) }).toEqual({ path, ids: ids(expected) });
    };
    await check(`/v1/storage-bays?datacenter_id=${dc.id}`, bays);
    await check(`/v1/storage-bays?datacenter_id=${dc.id}&type=nas`, [bays[0]]);
    await check(`/v1/storage-bays?datacenter_id=${dc.id}&status=online`, [bays[1]]);
    await check(`/v1/storage-bays?datacenter_id=${dc.id}&type=vsan`, []);

    const server = await created(send, 'servers', serverBody(dc.id));
    const vm = await created(send, 'vms', vmBody(dc.id, server.id));
    const nics = [
      await created(send, 'network-configurations', {
        ...nicBody({ server_id: server.id }),
        vlan_id: 10,
        mac_address: '00:50:56:00:00:01',
      }),
      await created(send, 'network-configurations', { ...nicBody({ vm_id: vm.id }), vlan_id: 20 }),
      await created(send, 'network-configurations', { ...nicBody({ vm_id: vm.id }), vlan_id: 10 }),
    ];
    await check(`/v1/network-configurations?datacenter_id=${dc.id}`, nics);
    await check(`/v1/network-configurations?server_id=${server.id}`, [nics[0]]);
    await check(`/v1/network-configurations?vm_id=${vm.id}`, nics.slice(1));
    await check(`/v1/network-configurations?datacenter_id=${dc.id}&vlan_id=10`, [nics[0], nics[2]]);
    await check(`/v1/network-configurations?vm_id=${vm.id}&vlan_id=20`, [nics[1]]);
    await check(`/v1/network-configurations?mac_address=00-50-56-00-00-01`, [nics[0]]);

    await check(`/v1/datacenters?name=${encodeURIComponent(dc.name)}`, [dc]);
    const tag = await created(send, 'tags', tagBody());
    await check(`/v1/tags?name=${encodeURIComponent(tag.name)}`, [tag]);
    await check('/v1/tags?name=nothing-named-so', []);
  });
});
