/**
 * Optimistic concurrency (ETag / If-Match / 412), Idempotency-Key on POST, and races between a parent's write
 * and its children's: the reference rules must hold however requests interleave.
 */
import {
  created,
  datacenterBody,
  detailPaths,
  ENTITIES,
  expectError,
  listAll,
  serverBody,
  tagBody,
  useApi,
  vmBody,
  world,
} from './helpers';

const h = useApi();

describe.each(ENTITIES)('If-Match on $collection', (spec) => {
  test('a stale If-Match is a 412 on PATCH and DELETE; the current one succeeds', async () => {
    const { send } = h;
    const object = await created(send, spec.collection, await spec.body(send));
    const path = `/v1/${spec.collection}/${object.id}`;

    const ok = await send('PATCH', path, { body: spec.patch, headers: { 'if-match': '"1"' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('"2"');

    for (const stale of ['"1"', '1', 'W/"1"', '"3"', '"abc"', '""']) {
      expectError(await send('PATCH', path, { body: { ...spec.patch }, headers: { 'if-match': stale } }), 412, 'precondition_failed');
      expectError(await send('DELETE', path, { headers: { 'if-match': stale } }), 412, 'precondition_failed');
    }
    const unchanged = await send('GET', path);
    expect(unchanged.body).toEqual(ok.body);

    // Weak and bare forms of the current version match too, as does `*`.
    const firstField = Object.keys(spec.patch)[0] as string;
    const revert = { [firstField]: object[firstField] ?? null };
    const weak = await send('PATCH', path, { body: revert, headers: { 'if-match': 'W/"2"' } });
    expect(weak.status).toBe(200);
    expect(weak.body.version).toBe(3);
    expect((await send('PATCH', path, { body: spec.patch, headers: { 'if-match': '*' } })).body.version).toBe(4);

    const removed = await send('DELETE', path, { headers: { 'if-match': '"4"' } });
    expect(removed.status).toBe(204);
    expectError(await send('GET', path), 404, 'not_found');
  });
});

test('20 parallel PATCHes with the same If-Match: exactly one 200, nineteen 412, version +1', async () => {
  const { send } = h;
  for (const collection of ['datacenters', 'servers'] as const) {
    const spec = ENTITIES.find((entity) => entity.collection === collection);
    const object = await created(send, collection, await (spec?.body(send) as Promise<Record<string, unknown>>));
    const path = `/v1/${collection}/${object.id}`;
    const field = collection === 'datacenters' ? 'description' : 'notes';
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        send('PATCH', path, { body: { [field]: `writer ${index}` }, headers: { 'if-match': '"1"' } }),
      ),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([200, ...Array(19).fill(412)]);
    for (const response of responses.filter((r) => r.status === 412)) expect(response.body.error.code).toBe('precondition_failed');
    const winner = responses.find((response) => response.status === 200);
    const final = await send('GET', path);
    expect(final.body.version).toBe(2);
    expect(final.headers.get('etag')).toBe('"2"');
    expect(final.body).toEqual(winner?.body);
  }
});

test('parallel DELETEs with the same If-Match delete once', async () => {
  const { send } = h;
  const tag = await created(send, 'tags', tagBody());
  const responses = await Promise.all(
    Array.from({ length: 8 }, () => send('DELETE', `/v1/tags/${tag.id}`, { headers: { 'if-match': '"1"' } })),
  );
  const statuses = responses.map((response) => response.status);
  expect(statuses.filter((status) => status === 204)).toHaveLength(1);
  expect(statuses.every((status) => status === 204 || status === 404 || status === 412)).toBe(true);
  expectError(await send('GET', `/v1/tags/${tag.id}`), 404, 'not_found');
});

describe('Idempotency-Key on POST', () => {
  test('a replay returns the first status and body, and only one object exists', async () => {
    const { send } = h;
    const body = tagBody();
    const headers = { 'idempotency-key': `create-${body.name}` };
    const first = await send('POST', '/v1/tags', { body, headers });
    expect(first.status).toBe(201);
    for (let replay = 0; replay < 3; replay++) {
      const again = await send('POST', '/v1/tags', { body, headers });
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('location')).toBe(first.headers.get('location'));
      expect(again.headers.get('etag')).toBe(first.headers.get('etag'));
      expect(again.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));
    }
    expect((await listAll(send, `/v1/tags?name=${body.name}`)).items).toHaveLength(1);
  });

  test('the same key with another body is a 422 and writes nothing', async () => {
    const { send } = h;
    const { dc, vm } = await world(send);
    const headers = { 'idempotency-key': 'vm-create-1' };
    const first = await send('POST', '/v1/vms', { body: vmBody(dc.id), headers });
    expect(first.status).toBe(201);
    const other = await send('POST', '/v1/vms', { body: vmBody(dc.id), headers });
    expectError(other, 422, 'idempotency_key_reused');
    // The same key on another collection is another request, hence also a 422.
    expectError(await send('POST', '/v1/tags', { body: tagBody(), headers }), 422, 'idempotency_key_reused');
    // The world's own VM and the first one, nothing else.
    const vms = (await listAll(send, `/v1/vms?datacenter_id=${dc.id}`)).items.map((vm) => vm.id);
    expect(vms.sort()).toEqual([first.body.id, vm.id].sort());
  });

  test('different callers with the same key do not share it', async () => {
    const { api, send } = h;
    const { dc } = await world(send);
    const other = await api.createKey({ role: 'admin', scopes: ['admin'] });
    const body = vmBody(dc.id);
    const headers = { 'idempotency-key': 'shared-key' };
    const mine = await send('POST', '/v1/vms', { body, headers });
    const theirs = await send('POST', '/v1/vms', { body, headers, key: other });
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    expect(theirs.body.id).not.toBe(mine.body.id);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    // Each caller replays its own.
    expect((await send('POST', '/v1/vms', { body, headers, key: other })).body.id).toBe(theirs.body.id);
    expect((await send('POST', '/v1/vms', { body, headers })).body.id).toBe(mine.body.id);
    expect((await listAll(send, `/v1/vms?datacenter_id=${dc.id}&name=${body.name}`)).items).toHaveLength(2);
  });

  test('a failed request does not consume its key', async () => {
    const { send } = h;
    const taken = await created(send, 'tags', tagBody());
    const headers = { 'idempotency-key': `retry-${taken.name}` };
    expectError(await send('POST', '/v1/tags', { body: { name: taken.name }, headers }), 409, 'conflict');
    expectError(await send('POST', '/v1/tags', { body: { name: taken.name }, headers }), 409, 'conflict');
    expect((await send('DELETE', `/v1/tags/${taken.id}`)).status).toBe(204);
    const retried = await send('POST', '/v1/tags', { body: { name: taken.name }, headers });
    expect(retried.status).toBe(201);
  });

  test('parallel replays create one object; the others replay it or are told it is in flight', async () => {
    const { send } = h;
    const body = tagBody();
    const headers = { 'idempotency-key': `parallel-${body.name}` };
    const responses = await Promise.all(Array.from({ length: 10 }, () => send('POST', '/v1/tags', { body, headers })));
    for (const response of responses) expect([201, 409]).toContain(response.status);
    const ids = new Set(responses.filter((response) => response.status === 201).map((response) => response.body.id));
    expect(ids.size).toBe(1);
    expect((await listAll(send, `/v1/tags?name=${body.name}`)).items).toHaveLength(1);
  });

  test('an Idempotency-Key longer than 255 characters is a 400', async () => {
    const { send } = h;
    const response = await send('POST', '/v1/tags', { body: tagBody(), headers: { 'idempotency-key': 'k'.repeat(256) } });
    expectError(response, 400, 'validation_error');
    expect(detailPaths(response)).toEqual(['header.idempotency-key']);
    expect((await send('POST', '/v1/tags', { body: tagBody(), headers: { 'idempotency-key': 'k'.repeat(255) } })).status).toBe(201);
  });
});

describe('races between a parent and its children', () => {
  test('a datacenter deleted while a server is created in it: never both', async () => {
    const { send } = h;
    for (let round = 0; round < 12; round++) {
      const dc = await created(send, 'datacenters', datacenterBody());
      const [server, removal] = await Promise.all([
        send('POST', '/v1/servers', { body: serverBody(dc.id) }),
        send('DELETE', `/v1/datacenters/${dc.id}`),
      ]);
      expect({ round, both: server.status === 201 && removal.status === 204 }).toEqual({ round, both: false });
      expect([201, 400]).toContain(server.status);
      expect([204, 409]).toContain(removal.status);
    }
  });

  test('a datacenter updated while servers are created in it keeps counting them', async () => {
    const { send } = h;
    for (let round = 0; round < 10; round++) {
      const dc = await created(send, 'datacenters', datacenterBody());
      const creates = Array.from({ length: 5 }, () => send('POST', '/v1/servers', { body: serverBody(dc.id) }));
      const update = send('PATCH', `/v1/datacenters/${dc.id}`, { body: { description: `round ${round}` } });
      const [patched, ...servers] = await Promise.all([update, ...creates]);
      // Writes that lose a race after their bounded retries answer 409 "retry"; they write nothing.
      for (const response of [patched, ...servers]) expect([200, 201, 409]).toContain(response?.status);
      const made = servers.filter((response) => response.status === 201).length;
      expect(made).toBeGreaterThan(0);
      expect((await listAll(send, `/v1/servers?datacenter_id=${dc.id}`)).items).toHaveLength(made);
      // Servers exist, so the datacenter must not be deletable: the update must not have lost their count.
      expect({ round, status: (await send('DELETE', `/v1/datacenters/${dc.id}`)).status }).toEqual({ round, status: 409 });
    }
  });

  test('a tag deleted while it is being attached: never both', async () => {
    const { send } = h;
    const { server } = await world(send);
    for (let round = 0; round < 10; round++) {
      const tag = await created(send, 'tags', tagBody());
      const [attach, removal] = await Promise.all([
        send('PUT', `/v1/servers/${server.id}/tags`, { body: { tag_ids: [tag.id] } }),
        send('DELETE', `/v1/tags/${tag.id}`),
      ]);
      expect({ round, both: attach.status === 200 && removal.status === 204 }).toEqual({ round, both: false });
      if (attach.status === 200) await send('PUT', `/v1/servers/${server.id}/tags`, { body: { tag_ids: [] } });
    }
  });
});
