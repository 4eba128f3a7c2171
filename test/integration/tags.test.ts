/**
 * Tags on servers, VMs and storage bays: `GET`/`PUT /v1/{collection}/{id}/tags`, `tag_ids` on the object, the
 * `?tag=<name>` list filter (case-insensitive), If-Match, and unknown tag ids.
 */
import { bayBody, created, detailPaths, expectError, listAll, MISSING_ID, type Send, unique, useApi, vmBody, world } from './helpers';

const h = useApi();

const TAGGABLE = ['servers', 'vms', 'storage-bays'] as const;

async function objectOf(send: Send, collection: (typeof TAGGABLE)[number]) {
  const { dc, server, vm } = await world(send);
  if (collection === 'servers') return server;
  if (collection === 'vms') return vm;
  return created(send, 'storage-bays', bayBody(dc.id));
}

describe.each(TAGGABLE)('%s', (collection) => {
  test('PUT replaces the set, GET returns it, the object shows tag_ids, and versions move', async () => {
    const { send } = h;
    const object = await objectOf(send, collection);
    const path = `/v1/${collection}/${object.id}/tags`;
    const [red, green, blue] = [
      await created(send, 'tags', { name: unique('Red') }),
      await created(send, 'tags', { name: unique('Green') }),
      await created(send, 'tags', { name: unique('Blue') }),
    ];

    const empty = await send('GET', path);
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ tag_ids: [], tags: [] });
    expect(empty.headers.get('etag')).toBe('"1"');

    const put = await send('PUT', path, { body: { tag_ids: [red.id, green.id, red.id] } });
    expect(put.status).toBe(200);
    expect([...put.body.tag_ids].sort()).toEqual([red.id, green.id].sort());
    expect(put.body.tags.map((tag: any) => tag.id).sort()).toEqual([red.id, green.id].sort());
    expect(put.body.tags.find((tag: any) => tag.id === red.id)).toEqual(red);
    expect(put.headers.get('etag')).toBe('"2"');

    const read = await send('GET', path);
    expect(read.body).toEqual(put.body);
    const onObject = await send('GET', `/v1/${collection}/${object.id}`);
    expect([...onObject.body.tag_ids].sort()).toEqual([red.id, green.id].sort());
    expect(onObject.body.version).toBe(2);

    const replaced = await send('PUT', path, { body: { tag_ids: [blue.id, green.id] } });
    expect([...replaced.body.tag_ids].sort()).toEqual([blue.id, green.id].sort());
    expect(replaced.headers.get('etag')).toBe('"3"');

    // The same set again changes nothing.
    const same = await send('PUT', path, { body: { tag_ids: [green.id, blue.id] } });
    expect(same.status).toBe(200);
    expect(same.headers.get('etag')).toBe('"3"');

    // A PATCH of another field keeps the tags.
    const patched = await send('PATCH', `/v1/${collection}/${object.id}`, { body: { notes: 'tagged' } });
    expect(patched.status).toBe(200);
    expect([...patched.body.tag_ids].sort()).toEqual([blue.id, green.id].sort());

    // The removed tag is free to delete; the ones in use are not.
    expect((await send('DELETE', `/v1/tags/${red.id}`)).status).toBe(204);
    expectError(await send('DELETE', `/v1/tags/${blue.id}`), 409, 'conflict');

    const cleared = await send('PUT', path, { body: { tag_ids: [] } });
    expect(cleared.body).toEqual({ tag_ids: [], tags: [] });
    expect((await send('GET', `/v1/${collection}/${object.id}`)).body.tag_ids).toEqual([]);
    expect((await send('DELETE', `/v1/tags/${blue.id}`)).status).toBe(204);
  });

  test('an unknown or malformed tag id is a 400 and changes nothing', async () => {
    const { send } = h;
    const object = await objectOf(send, collection);
    const path = `/v1/${collection}/${object.id}/tags`;
    const tag = await created(send, 'tags', { name: unique('Known') });

    const unknown = await send('PUT', path, { body: { tag_ids: [tag.id, MISSING_ID] } });
    expectError(unknown, 400, 'validation_error');
    expect(detailPaths(unknown)).toEqual(['tag_ids']);

    const malformed = await send('PUT', path, { body: { tag_ids: ['production'] } });
    expectError(malformed, 400, 'validation_error');
    expect(detailPaths(malformed)).toEqual(['tag_ids.0']);

    for (const body of [{}, { tag_ids: 'x' }, { tag_ids: [tag.id], extra: 1 }, []]) {
      expectError(await send('PUT', path, { body }), 400, 'validation_error');
    }
    const tooMany = Array.from({ length: 33 }, () => tag.id);
    expectError(await send('PUT', path, { body: { tag_ids: tooMany } }), 400, 'validation_error');

    const after = await send('GET', `/v1/${collection}/${object.id}`);
    expect(after.body.version).toBe(1);
    expect(after.body.tag_ids).toEqual([]);
    // The known tag did not get a dangling use from the failed request.
    expect((await send('DELETE', `/v1/tags/${tag.id}`)).status).toBe(204);
  });

  test('If-Match is honoured on PUT tags', async () => {
    const { send } = h;
    const object = await objectOf(send, collection);
    const path = `/v1/${collection}/${object.id}/tags`;
    const tag = await created(send, 'tags', { name: unique('Gpu') });
    expectError(await send('PUT', path, { body: { tag_ids: [tag.id] }, headers: { 'if-match': '"7"' } }), 412, 'precondition_failed');
    expect((await send('GET', path)).body.tag_ids).toEqual([]);
    const ok = await send('PUT', path, { body: { tag_ids: [tag.id] }, headers: { 'if-match': '"1"' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('"2"');
    expectError(await send('PUT', path, { body: { tag_ids: [] }, headers: { 'if-match': '"1"' } }), 412, 'precondition_failed');
    expect((await send('GET', path)).body.tag_ids).toEqual([tag.id]);
  });

  test('tags of a missing object are a 404', async () => {
    const { send } = h;
    expectError(await send('GET', `/v1/${collection}/${MISSING_ID}/tags`), 404, 'not_found');
    expectError(await send('PUT', `/v1/${collection}/${MISSING_ID}/tags`, { body: { tag_ids: [] } }), 404, 'not_found');
  });
});

test('?tag=<name> returns exactly the tagged objects, case-insensitively, and paginates', async () => {
  const { send } = h;
  const { dc, server } = await world(send);
  const name = unique('Production');
  const production = await created(send, 'tags', { name });
  const backup = await created(send, 'tags', { name: unique('Backup') });

  const vms = [];
  for (let index = 0; index < 7; index++) vms.push(await created(send, 'vms', vmBody(dc.id, index < 4 ? server.id : undefined)));
  const tagged = vms.filter((_, index) => index % 2 === 0);
  for (const vm of tagged) await send('PUT', `/v1/vms/${vm.id}/tags`, { body: { tag_ids: [production.id] } });
  await send('PUT', `/v1/vms/${vms[1].id}/tags`, { body: { tag_ids: [backup.id] } });
  await send('PUT', `/v1/servers/${server.id}/tags`, { body: { tag_ids: [production.id] } });

  const ids = (items: any[]) => items.map((item) => item.id).sort();
  for (const variant of [name, name.toUpperCase(), name.toLowerCase()]) {
    const { items } = await listAll(send, `/v1/vms?tag=${encodeURIComponent(variant)}`);
    expect(ids(items)).toEqual(ids(tagged));
  }
  const paged = await listAll(send, `/v1/vms?tag=${encodeURIComponent(name)}&limit=3`);
  expect(paged.pages).toEqual([3, 1]);
  expect(ids(paged.items)).toEqual(ids(tagged));

  // Combined with another filter.
  const onServer = await listAll(send, `/v1/vms?tag=${encodeURIComponent(name)}&server_id=${server.id}`);
  expect(ids(onServer.items)).toEqual(ids(tagged.filter((vm) => vm.server_id === server.id)));

  // The tag filter is per collection.
  expect(ids((await listAll(send, `/v1/servers?tag=${encodeURIComponent(name)}`)).items)).toEqual([server.id]);
  expect((await listAll(send, `/v1/storage-bays?tag=${encodeURIComponent(name)}`)).items).toEqual([]);

  // An unknown tag is an empty list, not an error.
  const unknown = await send('GET', '/v1/vms?tag=no-such-tag');
  expect(unknown.status).toBe(200);
  expect(unknown.body).toEqual({ items: [], next_cursor: null });

  // A renamed tag is found under its new name only.
  await send('PATCH', `/v1/tags/${production.id}`, { body: { name: `${name}-renamed` } });
  expect((await listAll(send, `/v1/vms?tag=${encodeURIComponent(name)}`)).items).toEqual([]);
  expect(ids((await listAll(send, `/v1/vms?tag=${encodeURIComponent(`${name}-RENAMED`)}`)).items)).toEqual(ids(tagged));

  // A cursor from the tag list is bound to it.
  const page = await send('GET', `/v1/vms?tag=${encodeURIComponent(`${name}-renamed`)}&limit=1`);
  const foreign = await send('GET', `/v1/vms?limit=1&cursor=${encodeURIComponent(page.body.next_cursor)}`);
  expectError(foreign, 400, 'invalid_cursor');
});

test('the largest tag set can be swapped for another in one PUT; one more tag is a 400', async () => {
  const { send } = h;
  const { server } = await world(send);
  const makeTags = async (count: number) =>
    Promise.all(Array.from({ length: count }, async () => (await created(send, 'tags', { name: unique('swap') })).id as string));
  const first = await makeTags(24);
  const second = await makeTags(24);
  expect((await send('PUT', `/v1/servers/${server.id}/tags`, { body: { tag_ids: first } })).status).toBe(200);
  const swapped = await send('PUT', `/v1/servers/${server.id}/tags`, { body: { tag_ids: second } });
  expect(swapped.status).toBe(200);
  expect([...swapped.body.tag_ids].sort()).toEqual([...second].sort());
  const tooMany = await send('PUT', `/v1/servers/${server.id}/tags`, { body: { tag_ids: [...second, first[0]] } });
  expectError(tooMany, 400, 'validation_error');
  expect(detailPaths(tooMany)).toEqual(['tag_ids']);
  expect((await send('GET', `/v1/servers/${server.id}/tags`)).body.tag_ids.sort()).toEqual([...second].sort());
});
