/**
 * Property-based fuzzing of every route in the route table: random and malformed bodies, valid bodies with one
 * field replaced by junk, random paths, methods, headers and query strings. "No input, however malformed,
 * produces a 5xx": every answer must be below 500, carry x-request-id, and errors must have the documented shape.
 * The run is bounded (about 600 requests) and seeded; set FUZZ_SEED to replay a failure.
 */
import fc from 'fast-check';
import { allRoutes } from '#shared/routes';
import type { TestResponse } from '../support/api';
import { bayBody, created, inParallel, nicBody, tagBody, useApi, world } from './helpers';

const h = useApi();
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2_147_483_647);

interface FuzzRequest {
  method: string;
  path: string;
  rawBody?: string;
  headers: Record<string, string>;
}

/** Real ids per collection, filled before the run, so some requests reach the handlers' deeper paths. */
const real: Record<string, string[]> = {};
/** One valid create body per collection (parents exist), for single-field mutations. */
const validBodies: Record<string, Record<string, unknown>> = {};
/** Field names per collection, from the OpenAPI document (black-box). */
const fieldsOf: Record<string, string[]> = {};

beforeAll(async () => {
  const { send } = h;
  const a = await world(send);
  const bay = await created(send, 'storage-bays', bayBody(a.dc.id));
  const nic = await created(send, 'network-configurations', nicBody({ server_id: a.server.id }));
  const tag = await created(send, 'tags', tagBody());
  Object.assign(real, {
    datacenters: [a.dc.id],
    servers: [a.server.id],
    vms: [a.vm.id],
    'storage-bays': [bay.id],
    'network-configurations': [nic.id],
    tags: [tag.id],
  });
  Object.assign(validBodies, {
    datacenters: { name: 'Fuzz DC', timezone: 'Africa/Tunis', location: 'Sfax' },
    servers: { datacenter_id: a.dc.id, hostname: 'fuzz-esx-01', status: 'active', cpu_sockets: 2, memory_bytes: 1024 },
    vms: { datacenter_id: a.dc.id, server_id: a.server.id, name: 'fuzz-vm', power_state: 'powered_on', cpu_count: 2 },
    'storage-bays': { datacenter_id: a.dc.id, name: 'fuzz-bay', type: 'san', total_capacity_bytes: 100, used_capacity_bytes: 10 },
    'network-configurations': { vm_id: a.vm.id, interface_name: 'eth0', ip_addresses: ['10.0.0.1'], vlan_id: 10 },
    tags: { name: 'fuzz', color: '#aabbcc' },
    tagset: { tag_ids: [tag.id] },
  });
  const document = (await send('GET', '/v1/openapi.json', { key: null })).body;
  for (const [name, schema] of Object.entries<any>(document.components.schemas)) {
    if (name.endsWith('Create') && schema.properties) fieldsOf[name] = Object.keys(schema.properties);
  }
});

const collectionOf = (path: string) => path.split('/')[2] as string;

// ---------------------------------------------------------------- arbitraries

/** JSON texts JSON.stringify cannot produce, or produces rarely: huge, tiny and negative-zero numbers, lone surrogates, NULs. */
const specialJson = fc.constantFrom(
  '1e400',
  '-1e400',
  '1e-400',
  '-0',
  '123456789012345678901234567890',
  '9007199254740993',
  '0.5',
  '4096.0',
  '"\\ud800"',
  '"\\udfff\\ud800x"',
  '"a\\u0000b"',
  '"\\u202e\\ufeff"',
  `"${'z'.repeat(5000)}"`,
  `${'['.repeat(3000)}${']'.repeat(3000)}`,
  `${'{"a":'.repeat(500)}1${'}'.repeat(500)}`,
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '[]',
  '{}',
  'null',
  'true',
  '""',
);

const junkValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: specialJson },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value) ?? 'null') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.double().map((value) => (Number.isFinite(value) ? JSON.stringify(value) : '1e999')) },
);

/** A whole body: valid-looking JSON, junk JSON, or not JSON at all. */
const anyBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: junkValue },
  { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
  {
    weight: 2,
    arbitrary: fc.anything({ maxDepth: 3, withNullPrototype: true, withObjectString: true, withBoxedValues: true }).map((value) => {
      try {
        return JSON.stringify(value) ?? 'undefined';
      } catch {
        return 'undefined';
      }
    }),
  },
  { weight: 2, arbitrary: fc.dictionary(fc.string({ maxLength: 12 }), junkValue, { maxKeys: 6 }).map(rawObject) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '{', '{"a":1,}', "{'a':1}", '\u0000', '\ufeff{}', 'NaN', '{"a":1}{"b":2}') },
);

function rawObject(entries: Record<string, string>): string {
  return `{${Object.entries(entries)
    .map(([key, value]) => `${JSON.stringify(key)}:${value}`)
    .join(',')}}`;
}

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'text/plain',
      '',
      'application/json, text/plain',
      'multipart/form-data; boundary=x',
      'APPLICATION/JSON',
    ),
  },
);

const asciiHeaderValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 300 });

const extraHeaders = fc.record(
  {
    'if-match': fc.oneof(fc.constantFrom('"1"', 'W/"1"', '*', '"999999999999999"', '"99999999999999999999"', '1', ''), asciiHeaderValue),
    'idempotency-key': asciiHeaderValue,
  },
  { requiredKeys: [] },
);

const knownParams = [
  'limit',
  'cursor',
  'tag',
  'datacenter_id',
  'server_id',
  'vm_id',
  'status',
  'power_state',
  'name',
  'hostname',
  'type',
  'vlan_id',
  'mac_address',
  'timezone',
  'vendor',
  'os',
  'portgroup',
];

const idLike = (collection: string) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...(real[collection] ?? ['none'])) },
    { weight: 2, arbitrary: fc.constantFrom(...Object.values(real).flat()) },
    { weight: 2, arbitrary: fc.uuid({ version: 7 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }).map((value) => encodeURIComponent(value) || 'x') },
    {
      weight: 1,
      arbitrary: fc.constantFrom('..', '%2e%2e', '%00', '%ZZ', 'null', 'undefined', '__proto__', 'constructor', 'x'.repeat(2000)),
    },
  );

// Arbitraries that use the real ids are built lazily, after beforeAll has filled them in.
const queryString = () =>
  fc
    .array(
      fc.tuple(
        fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...knownParams) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) }),
        fc.oneof(
          { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
          { weight: 2, arbitrary: fc.constantFrom('1', '0', '500', '501', '-1', '1e3', 'NaN', 'active', 'powered_on', 'san', '') },
          { weight: 1, arbitrary: fc.uuid({ version: 7 }) },
          { weight: 1, arbitrary: fc.constantFrom(...Object.values(real).flat()) },
        ),
      ),
      { maxLength: 5 },
    )
    .map((pairs) => {
      if (pairs.length === 0) return '';
      return `?${pairs.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join('&')}`;
    });

const rawQuery = fc.constantFrom(
  '?%',
  '?%zz=1',
  '?a=%E0%A4%A',
  '?limit',
  '?=1',
  '?&&&',
  '?limit=1&limit=1',
  '?tag=%00',
  '?__proto__=1',
  '?constructor=x',
);

function fillPath(template: string): fc.Arbitrary<string> {
  if (!template.includes('{id}')) return fc.constant(template);
  return idLike(collectionOf(template)).map((id) => template.replace('{id}', id));
}

const writeRoutes = allRoutes.filter((route) => route.method === 'POST' || route.method === 'PATCH' || route.method === 'PUT');

/** Random bodies against every write route. */
const bodyRequest = (): fc.Arbitrary<FuzzRequest> =>
  fc
    .constantFrom(...writeRoutes)
    .chain((route) =>
      fc.record({
        method: fc.constant(route.method),
        path: fillPath(route.path),
        rawBody: anyBody,
        type: contentType,
        headers: extraHeaders,
      }),
    )
    .map(({ type, headers, ...rest }) => ({ ...rest, headers: { ...headers, ...(type ? { 'content-type': type } : {}) } }));

/** A valid body with one field replaced by junk, or one junk field added. */
const mutationRequest = (): fc.Arbitrary<FuzzRequest> =>
  fc
    .constantFrom(...writeRoutes)
    .chain((route) => {
      const collection = collectionOf(route.path);
      const valid = route.path.endsWith('/tags') ? validBodies.tagset : validBodies[collection];
      const schemaName = Object.keys(fieldsOf).find((name) =>
        name.toLowerCase().startsWith(collection.replaceAll('-', '').replace(/s$/, '')),
      );
      const fields = [
        ...Object.keys(valid ?? {}),
        ...(schemaName ? (fieldsOf[schemaName] ?? []) : []),
        'id',
        'version',
        'tag_ids',
        'bogus',
      ];
      return fc.record({
        method: fc.constant(route.method),
        path: fillPath(route.path),
        field: fc.constantFrom(...fields),
        value: junkValue,
        valid: fc.constant(valid ?? {}),
        headers: extraHeaders,
      });
    })
    .map(({ method, path, field, value, valid, headers }) => {
      const rest = Object.fromEntries(Object.entries(valid).filter(([name]) => name !== field));
      const entries = Object.fromEntries(Object.entries(rest).map(([name, inner]) => [name, JSON.stringify(inner)]));
      return {
        method,
        path,
        rawBody: rawObject({ ...entries, [field]: value }),
        headers: { ...headers, 'content-type': 'application/json' },
      };
    });

/** Any route (and some that do not exist) with random methods, ids and query strings. */
const pathRequest = (): fc.Arbitrary<FuzzRequest> =>
  fc
    .record({
      route: fc.constantFrom(...allRoutes),
      method: fc.oneof(
        { weight: 4, arbitrary: fc.constant('') },
        { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD') },
      ),
      suffix: fc.oneof(
        { weight: 6, arbitrary: fc.constant('') },
        { weight: 1, arbitrary: fc.constantFrom('/', '/x', '/tags', '/tags/x', '//', '/%2F') },
      ),
      query: fc.oneof({ weight: 4, arbitrary: queryString() }, { weight: 1, arbitrary: rawQuery }),
      headers: extraHeaders,
    })
    .chain(({ route, method, suffix, query, headers }) =>
      fillPath(route.path).map((path) => {
        const verb = method || route.method;
        const withBody = verb === 'POST' || verb === 'PATCH' || verb === 'PUT';
        return {
          method: verb,
          path: `${path}${suffix}${query}`,
          ...(withBody ? { rawBody: '{}' } : {}),
          headers: { ...headers, ...(withBody ? { 'content-type': 'application/json' } : {}) },
        };
      }),
    );

// ---------------------------------------------------------------- the runs

async function run(arbitrary: fc.Arbitrary<FuzzRequest>, count: number, salt: number) {
  const requests = fc.sample(arbitrary, { numRuns: count, seed: SEED + salt });
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  await inParallel(requests, 4, async (request) => {
    let response: TestResponse;
    try {
      response = await h.api.request(request.method, request.path, {
        ...(request.rawBody !== undefined ? { rawBody: request.rawBody } : {}),
        headers: request.headers,
      });
    } catch (error) {
      failures.push(`${request.method} ${request.path}: request failed: ${String(error)}`);
      return;
    }
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    const problems: string[] = [];
    if (response.status >= 500) problems.push(`status ${response.status}: ${response.text.slice(0, 300)}`);
    if (!response.headers.get('x-request-id')) problems.push('no x-request-id');
    if (response.status >= 400 && request.method !== 'HEAD') {
      const error = response.body?.error;
      if (!error || typeof error.code !== 'string' || typeof error.message !== 'string' || !Array.isArray(error.details)) {
        problems.push(`error body not in the documented shape: ${response.text.slice(0, 200)}`);
      }
    }
    if (problems.length > 0) {
      failures.push(
        `${request.method} ${request.path.slice(0, 200)} body=${(request.rawBody ?? '').slice(0, 200)} -> ${problems.join('; ')}`,
      );
    }
  });
  return { failures, statuses };
}

test(`random and malformed bodies on every write route never give a 5xx (seed ${SEED})`, async () => {
  const { failures, statuses } = await run(bodyRequest(), 250, 1);
  expect(failures).toEqual([]);
  // The run reached the validation layer, not only the gateway.
  expect(statuses.get(400) ?? 0).toBeGreaterThan(50);
});

test(`valid bodies with one junk field never give a 5xx (seed ${SEED})`, async () => {
  const { failures, statuses } = await run(mutationRequest(), 200, 2);
  expect(failures).toEqual([]);
  expect(statuses.get(400) ?? 0).toBeGreaterThan(20);
});

test(`random paths, methods, headers and query strings on every route never give a 5xx (seed ${SEED})`, async () => {
  const { failures, statuses } = await run(pathRequest(), 200, 3);
  expect(failures).toEqual([]);
  expect([...statuses.keys()].some((status) => status < 300)).toBe(true);
});

test('after the fuzzing, lists answer and every reference still points at an existing object', async () => {
  const { send } = h;
  const all: Record<string, any[]> = {};
  for (const collection of Object.keys(real)) {
    const list = await send('GET', `/v1/${collection}?limit=500`);
    expect(list.status).toBe(200);
    expect(list.body.next_cursor).toBeNull();
    all[collection] = list.body.items;
    // A seeded object is either still there (and listed) or was deleted by a fuzzed DELETE (and is not listed).
    const read = await send('GET', `/v1/${collection}/${real[collection]?.[0]}`);
    expect([200, 404]).toContain(read.status);
    expect(all[collection]?.some((item) => item.id === real[collection]?.[0])).toBe(read.status === 200);
  }
  const ids = (collection: string) => new Set((all[collection] ?? []).map((item) => item.id));
  const [datacenters, servers, vms, tags] = [ids('datacenters'), ids('servers'), ids('vms'), ids('tags')];
  const dangling: string[] = [];
  for (const collection of ['servers', 'vms', 'storage-bays', 'network-configurations']) {
    for (const item of all[collection] ?? []) {
      if (!datacenters.has(item.datacenter_id)) dangling.push(`${collection}/${item.id} datacenter_id`);
      if (item.server_id && !servers.has(item.server_id)) dangling.push(`${collection}/${item.id} server_id`);
      if (item.vm_id && !vms.has(item.vm_id)) dangling.push(`${collection}/${item.id} vm_id`);
      for (const tagId of item.tag_ids ?? []) if (!tags.has(tagId)) dangling.push(`${collection}/${item.id} tag ${tagId}`);
    }
  }
  expect(dangling).toEqual([]);
});
