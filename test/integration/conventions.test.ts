/**
 * The per-object conventions of API-CONVENTIONS.md, for every inventory collection: create/read/update/delete
 * shapes and headers, versioning, and the 400/404/413/415 answers for malformed requests.
 */
import { detailPaths, ENTITIES, expectError, ISO_UTC, MISSING_ID, useApi, UUID_V7 } from './helpers';

const h = useApi();
const JSON_TYPE = { 'content-type': 'application/json' };

describe.each(ENTITIES)('$collection', (spec) => {
  const base = `/v1/${spec.collection}`;

  test('create, read, update, no-op update, delete', async () => {
    const { send } = h;
    const body = await spec.body(send);

    const create = await send('POST', base, { body });
    expect(create.status).toBe(201);
    const object = create.body;
    expect(object.id).toMatch(UUID_V7);
    expect(create.headers.get('location')).toBe(`${base}/${object.id}`);
    expect(create.headers.get('etag')).toBe('"1"');
    expect(object.version).toBe(1);
    expect(object.created_at).toMatch(ISO_UTC);
    expect(object.updated_at).toBe(object.created_at);
    expect(object).toMatchObject(body);
    if (spec.taggable) expect(object.tag_ids).toEqual([]);

    const read = await send('GET', `${base}/${object.id}`);
    expect(read.status).toBe(200);
    expect(read.headers.get('etag')).toBe('"1"');
    expect(read.body).toEqual(object);

    const patch = await send('PATCH', `${base}/${object.id}`, { body: spec.patch });
    expect(patch.status).toBe(200);
    expect(patch.headers.get('etag')).toBe('"2"');
    expect(patch.body.version).toBe(2);
    expect(patch.body.id).toBe(object.id);
    expect(patch.body.created_at).toBe(object.created_at);
    expect(Date.parse(patch.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(object.created_at));
    const expected: Record<string, unknown> = { ...spec.patch };
    // MAC addresses are stored in their canonical lower-case form.
    if (typeof expected.mac_address === 'string') expected.mac_address = expected.mac_address.toLowerCase();
    expect(patch.body).toMatchObject(expected);
    // Fields the PATCH did not name are untouched, including those that have a create-time default.
    const untouched = Object.keys(object).filter((field) => !(field in spec.patch) && field !== 'version' && field !== 'updated_at');
    for (const field of untouched) expect({ field, value: patch.body[field] }).toEqual({ field, value: object[field] });

    const reread = await send('GET', `${base}/${object.id}`);
    expect(reread.body).toEqual(patch.body);
    expect(reread.headers.get('etag')).toBe('"2"');

    const noop = await send('PATCH', `${base}/${object.id}`, { body: spec.patch });
    expect(noop.status).toBe(200);
    expect(noop.body.version).toBe(2);
    expect(noop.headers.get('etag')).toBe('"2"');
    expect(noop.body).toEqual(patch.body);

    const removed = await send('DELETE', `${base}/${object.id}`);
    expect(removed.status).toBe(204);
    expect(removed.text).toBe('');
    expect(removed.headers.get('x-request-id')).toBeTruthy();

    expectError(await send('GET', `${base}/${object.id}`), 404, 'not_found');
    expectError(await send('PATCH', `${base}/${object.id}`, { body: spec.patch }), 404, 'not_found');
    expectError(await send('DELETE', `${base}/${object.id}`), 404, 'not_found');
  });

  test('a missing id is a 404 on read, update and delete, with x-request-id', async () => {
    const { send } = h;
    for (const [method, options] of [
      ['GET', {}],
      ['PATCH', { body: spec.patch }],
      ['DELETE', {}],
    ] as const) {
      const response = await send(method, `${base}/${MISSING_ID}`, options);
      expectError(response, 404, 'not_found');
      expect(response.headers.get('x-request-id')).toBeTruthy();
    }
  });

  test('400 validation_error with details[].path for bad create bodies', async () => {
    const { send } = h;
    const body = await spec.body(send);

    const { [spec.required]: _omitted, ...missing } = body;
    const missingResponse = await send('POST', base, { body: missing });
    expectError(missingResponse, 400, 'validation_error');
    expect(detailPaths(missingResponse)).toContain(spec.required);

    const [wrongField, wrongValue] = spec.wrongType;
    const wrongType = await send('POST', base, { body: { ...body, [wrongField]: wrongValue } });
    expectError(wrongType, 400, 'validation_error');
    expect(detailPaths(wrongType)).toContain(wrongField);

    const unknown = await send('POST', base, { body: { ...body, bogus_field: 1 } });
    expectError(unknown, 400, 'validation_error');
    expect(detailPaths(unknown)).toContain('bogus_field');

    const readOnly = { id: MISSING_ID, version: 7, created_at: '2020-01-01T00:00:00.000Z', updated_at: '2020-01-01T00:00:00.000Z' };
    for (const [field, value] of Object.entries(readOnly)) {
      const response = await send('POST', base, { body: { ...body, [field]: value } });
      expectError(response, 400, 'validation_error');
      expect(detailPaths(response)).toContain(field);
    }
    if (spec.taggable) {
      const tagIds = await send('POST', base, { body: { ...body, tag_ids: [] } });
      expectError(tagIds, 400, 'validation_error');
      expect(detailPaths(tagIds)).toContain('tag_ids');
    }

    const badJson = await send('POST', base, { rawBody: '{"name": ', headers: JSON_TYPE });
    expectError(badJson, 400, 'validation_error');
    expect(detailPaths(badJson)).toEqual(['']);

    for (const empty of ['', '   \n']) {
      const response = await send('POST', base, { rawBody: empty, headers: JSON_TYPE });
      expectError(response, 400, 'validation_error');
      expect(detailPaths(response)).toEqual(['']);
    }

    for (const nonObject of ['[]', '"text"', '42', 'null', 'true', `[${JSON.stringify(body)}]`]) {
      const response = await send('POST', base, { rawBody: nonObject, headers: JSON_TYPE });
      expectError(response, 400, 'validation_error');
      expect(detailPaths(response)).toEqual(['']);
    }

    // Nothing of the above was written.
    const list = await send('GET', `${base}?limit=500`);
    expect(list.status).toBe(200);
    const written = list.body.items.filter((item: any) => Object.entries(body).every(([field, value]) => item[field] === value));
    expect(written).toEqual([]);
  });

  test('400 validation_error for bad update bodies', async () => {
    const { send } = h;
    const { body: object } = await send('POST', base, { body: await spec.body(send) });
    const path = `${base}/${object.id}`;

    const empty = await send('PATCH', path, { body: {} });
    expectError(empty, 400, 'validation_error');

    const [wrongField, wrongValue] = spec.wrongType;
    const wrongType = await send('PATCH', path, { body: { [wrongField]: wrongValue } });
    expectError(wrongType, 400, 'validation_error');
    expect(detailPaths(wrongType)).toContain(wrongField);

    for (const field of ['id', 'version', 'created_at', 'updated_at', 'bogus_field']) {
      const response = await send('PATCH', path, { body: { ...spec.patch, [field]: field === 'version' ? 9 : MISSING_ID } });
      expectError(response, 400, 'validation_error');
      expect(detailPaths(response)).toContain(field);
    }

    const badJson = await send('PATCH', path, { rawBody: '{', headers: JSON_TYPE });
    expectError(badJson, 400, 'validation_error');
    expect(detailPaths(badJson)).toEqual(['']);
    expectError(await send('PATCH', path, { rawBody: '', headers: JSON_TYPE }), 400, 'validation_error');
    expectError(await send('PATCH', path, { rawBody: '[1]', headers: JSON_TYPE }), 400, 'validation_error');

    // Nothing changed.
    const read = await send('GET', path);
    expect(read.body).toEqual(object);
  });

  test('immutable references cannot be patched', async () => {
    const { send } = h;
    const { body: object } = await send('POST', base, { body: await spec.body(send) });
    const immutable = ['datacenter_id', 'server_id', 'vm_id'].filter((field) => field in object && object[field] !== null);
    for (const field of immutable) {
      if (spec.collection === 'vms' && field === 'server_id') continue; // a VM's host may change
      const response = await send('PATCH', `${base}/${object.id}`, { body: { [field]: MISSING_ID } });
      expectError(response, 400, 'validation_error');
      expect(detailPaths(response)).toContain(field);
    }
    expect((await send('GET', `${base}/${object.id}`)).body.version).toBe(1);
  });

  test('a path id that is not a UUID is a 400 on every item route', async () => {
    const { send } = h;
    const routes: [string, string][] = [
      ['GET', ''],
      ['PATCH', ''],
      ['DELETE', ''],
    ];
    if (spec.taggable) routes.push(['GET', '/tags'], ['PUT', '/tags']);
    for (const bad of ['not-a-uuid', '123', `${MISSING_ID}x`, '01900000-0000-7000-8000-00000000DEAD', '%E2%98%83']) {
      for (const [method, suffix] of routes) {
        const body = method === 'PATCH' ? spec.patch : method === 'PUT' ? { tag_ids: [] } : undefined;
        const response = await send(method, `${base}/${bad}${suffix}`, body ? { body } : {});
        expectError(response, 400, 'validation_error');
        expect(detailPaths(response)).toEqual(['path.id']);
      }
    }
  });

  test('query strings: unknown, repeated and out-of-range parameters are 400', async () => {
    const { send } = h;
    const unknown = await send('GET', `${base}?bogus=1`);
    expectError(unknown, 400, 'validation_error');
    expect(detailPaths(unknown)).toEqual(['query.bogus']);

    for (const limit of ['0', '501', 'abc', '-1', '1.5', '']) {
      const response = await send('GET', `${base}?limit=${limit}`);
      expectError(response, 400, 'validation_error');
      expect(detailPaths(response)).toEqual(['query.limit']);
    }
    for (const limit of ['1', '500']) expect((await send('GET', `${base}?limit=${limit}`)).status).toBe(200);

    const repeated = await send('GET', `${base}?limit=5&limit=6`);
    expectError(repeated, 400, 'validation_error');
    expect(detailPaths(repeated)).toEqual(['query.limit']);

    const { body: object } = await send('POST', base, { body: await spec.body(send) });
    const onItem = await send('GET', `${base}/${object.id}?fields=name`);
    expectError(onItem, 400, 'validation_error');
    expect(detailPaths(onItem)).toEqual(['query.fields']);

    if (!spec.taggable) {
      const tagFilter = await send('GET', `${base}?tag=production`);
      expectError(tagFilter, 400, 'validation_error');
      expect(detailPaths(tagFilter)).toEqual(['query.tag']);
    }
  });

  test('413 for a body over 1 MiB, 415 for a body that is not JSON', async () => {
    const { send } = h;
    const { body: object } = await send('POST', base, { body: await spec.body(send) });
    const huge = JSON.stringify({ notes: 'x'.repeat(1024 * 1024) });
    expectError(await send('POST', base, { rawBody: huge, headers: JSON_TYPE }), 413, 'payload_too_large');
    expectError(await send('PATCH', `${base}/${object.id}`, { rawBody: huge, headers: JSON_TYPE }), 413, 'payload_too_large');

    const json = JSON.stringify(spec.patch);
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'application/jsonx']) {
      const headers = { 'content-type': contentType };
      expectError(await send('POST', base, { rawBody: json, headers }), 415, 'unsupported_media_type');
      expectError(await send('PATCH', `${base}/${object.id}`, { rawBody: json, headers }), 415, 'unsupported_media_type');
      if (spec.taggable) {
        expectError(await send('PUT', `${base}/${object.id}/tags`, { rawBody: '{"tag_ids":[]}', headers }), 415, 'unsupported_media_type');
      }
    }
    // No content type at all is not JSON either.
    expectError(await send('POST', base, { rawBody: json }), 415, 'unsupported_media_type');
    // Parameters and case do not matter.
    const ok = await send('PATCH', `${base}/${object.id}`, {
      rawBody: json,
      headers: { 'content-type': 'Application/JSON; charset=utf-8' },
    });
    expect(ok.status).toBe(200);
  });
});

test('every error body has the documented shape and a request id, and request ids differ', async () => {
  const { send } = h;
  const ids = new Set<string>();
  const responses = [
    await send('GET', '/v1/datacenters/nope'),
    await send('GET', `/v1/datacenters/${MISSING_ID}`),
    await send('GET', '/v1/nowhere'),
    await send('GET', '/v1/datacenters', { key: null }),
    await send('GET', '/v1/datacenters'),
    await send('GET', '/v1/health', { key: null }),
  ];
  for (const response of responses) {
    ids.add(response.headers.get('x-request-id') as string);
    if (response.status >= 400) {
      expect(Object.keys(response.body)).toEqual(['error']);
      expect(Object.keys(response.body.error).sort()).toEqual(['code', 'details', 'message']);
      expect(response.body.error.code).toMatch(/^[a-z]+(_[a-z]+)*$/);
    }
  }
  expect(ids.size).toBe(responses.length);
});

test('health answers without credentials', async () => {
  const response = await h.send('GET', '/v1/health', { key: null });
  expect(response.status).toBe(200);
  expect(response.body).toEqual({ status: 'ok' });
});

test('query parameters and headers named like Object.prototype members are plain data', async () => {
  const { send } = h;
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    const list = await send('GET', `/v1/datacenters?${name}=1`);
    expectError(list, 400, 'validation_error');
    expect(detailPaths(list)).toEqual([`query.${name}`]);
    expectError(await send('GET', `/v1/health?${name}=x`, { key: null }), 400, 'validation_error');
    expect((await send('GET', '/v1/datacenters', { headers: { [name === '__proto__' ? 'x-proto' : name]: '1' } })).status).toBe(200);
  }
  expect((await send('GET', '/v1/datacenters', { headers: { constructor: 'x', tostring: 'y' } })).status).toBe(200);
});
