/**
 * API keys (/v1/api-keys): made by a user for themself (admins for anyone), shown once, stored as a keyed hash,
 * scopes within the owner's role, expiry required and at most a year, optional source CIDRs, revocable, and always
 * acting with the intersection of their scopes and the owner's CURRENT rights.
 */
import { datacenterBody, detailPaths, expectError, MISSING_ID, serverBody, tagBody, world } from './helpers';
import {
  bearer,
  fastUser,
  inDays,
  type PasswordUser,
  restoreClock,
  scanTable,
  sessionOf,
  testNoSecretLeaks,
  travelTo,
  useIdentityApi,
} from './identity-helpers';

const h = useIdentityApi();
afterEach(restoreClock);

let operator: PasswordUser;
let session: { key: null; headers: Record<string, string> };

beforeAll(async () => {
  operator = await fastUser({ role: 'operator' });
  session = bearer(await sessionOf(h.send, operator));
});

const keyBody = (fields: Record<string, unknown> = {}) => ({
  name: 'deploy script',
  scopes: ['inventory:read', 'inventory:write'],
  expires_at: inDays(30),
  ...fields,
});

test('a user creates a key for themself from a session: shown once, stored only as a keyed hash', async () => {
  const { send } = h;
  const response = await send('POST', '/v1/api-keys', { ...session, body: keyBody() });
  expect(response.status).toBe(201);
  const { key, ...resource } = response.body;
  expect(key).toMatch(/^dci_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/);
  expect(key.startsWith(resource.prefix)).toBe(true);
  expect(resource).toMatchObject({
    user_id: operator.id,
    created_by: operator.id,
    scopes: ['inventory:read', 'inventory:write'],
    revoked_at: null,
    last_used_at: null,
    allowed_cidrs: null,
  });
  expect(response.headers.get('location')).toBe(`/v1/api-keys/${resource.id}`);
  expect(response.text).not.toContain('secret_hash');

  // Shown once: neither the key nor its hash ever comes back.
  const item = (await scanTable()).find((candidate) => candidate.pk === `API_KEY#${resource.id}`) as Record<string, any>;
  expect(typeof item.secret_hash).toBe('string');
  expect(item.secret_hash).not.toContain(key.slice('dci_'.length + 33));
  expect(JSON.stringify(await scanTable())).not.toContain(key);
  for (const read of [
    await send('GET', `/v1/api-keys/${resource.id}`, session),
    await send('GET', '/v1/api-keys', session),
    await send('GET', `/v1/api-keys/${resource.id}`),
    await send('GET', '/v1/api-keys?limit=500'),
  ]) {
    expect(read.status).toBe(200);
    expect(read.text).not.toContain(key);
    expect(read.text).not.toContain(item.secret_hash);
    expect(read.text).not.toContain('secret_hash');
  }
  expect((await send('GET', `/v1/api-keys/${resource.id}`, session)).body).toEqual(resource);

  // The key works, as its owner.
  const me = await send('GET', '/v1/me', { key });
  expect(me.body.credential).toEqual({ kind: 'api_key', id: resource.id });
  expect(me.body.user.id).toBe(operator.id);
  expect((await send('POST', '/v1/tags', { key, body: tagBody() })).status).toBe(201);
});

test('scopes never exceed the owner role (400); expires_at is required, in the future and at most a year ahead (400)', async () => {
  const { send } = h;
  const beyond = await send('POST', '/v1/api-keys', { ...session, body: keyBody({ scopes: ['inventory:read', 'admin'] }) });
  expectError(beyond, 400, 'validation_error');
  expect(detailPaths(beyond)).toEqual(['scopes.1']);
  const { expires_at: _omitted, ...withoutExpiry } = keyBody();
  for (const body of [
    withoutExpiry,
    keyBody({ expires_at: inDays(-1) }),
    keyBody({ expires_at: inDays(367) }),
    keyBody({ expires_at: 'soon' }),
  ]) {
    const response = await send('POST', '/v1/api-keys', { ...session, body });
    expectError(response, 400, 'validation_error');
    expect(detailPaths(response)).toEqual(['expires_at']);
  }
  expect((await send('POST', '/v1/api-keys', { ...session, body: keyBody({ expires_at: inDays(365) }) })).status).toBe(201);

  // An admin creating a key for a viewer is held to the viewer's role too.
  const viewer = await fastUser({ role: 'viewer' });
  const forViewer = await send('POST', '/v1/api-keys', { body: keyBody({ user_id: viewer.id }) });
  expectError(forViewer, 400, 'validation_error');
  expect(detailPaths(forViewer)).toEqual(['scopes.1']);
  const ok = await send('POST', '/v1/api-keys', { body: keyBody({ user_id: viewer.id, scopes: ['inventory:read'] }) });
  expect(ok.status).toBe(201);
  expect(ok.body.user_id).toBe(viewer.id);

  // Extending a key later is held to the same year.
  const extend = await send('PATCH', `/v1/api-keys/${ok.body.id}`, { body: { expires_at: inDays(400) } });
  expectError(extend, 400, 'validation_error');
  expectError(await send('PATCH', `/v1/api-keys/${ok.body.id}`, { body: { scopes: ['inventory:read'] } }), 400, 'validation_error');
  expectError(await send('PATCH', `/v1/api-keys/${ok.body.id}`, { body: { user_id: operator.id } }), 400, 'validation_error');
});

test('non-admins: only their own keys (others are 404, lists exclude them), no keys for others, and a key cannot mint keys', async () => {
  const { api, send } = h;
  const other = await api.createKeyWithIds({ role: 'operator', scopes: ['inventory:read'] });
  const mine = (await send('POST', '/v1/api-keys', { ...session, body: keyBody({ scopes: ['inventory:read'] }) })).body;

  const missing = await send('GET', `/v1/api-keys/${MISSING_ID}`, session);
  expectError(missing, 404, 'not_found');
  for (const [method, path, body] of [
    ['GET', `/v1/api-keys/${other.id}`, undefined],
    ['PATCH', `/v1/api-keys/${other.id}`, { name: 'mine now' }],
    ['DELETE', `/v1/api-keys/${other.id}`, undefined],
    ['POST', `/v1/api-keys/${other.id}/revoke`, undefined],
  ] as const) {
    const response = await send(method, path, { ...session, ...(body ? { body } : {}) });
    expect({ method, path, status: response.status, text: response.text }).toEqual({ method, path, status: 404, text: missing.text });
  }
  const listed = await send('GET', '/v1/api-keys?limit=500', session);
  expect(listed.body.items.length).toBeGreaterThan(0);
  expect(listed.body.items.every((item: any) => item.user_id === operator.id)).toBe(true);
  expect(listed.body.items.map((item: any) => item.id)).toContain(mine.id);
  expect((await send('GET', `/v1/api-keys?user_id=${other.userId}`, session)).body.items).toEqual([]);
  // The other key is untouched and still works.
  expect((await send('GET', '/v1/me', { key: other.key })).status).toBe(200);

  expectError(await send('POST', '/v1/api-keys', { ...session, body: keyBody({ user_id: other.userId }) }), 403, 'forbidden');

  // A non-admin key can neither mint a key nor change one, not even for its own owner.
  expectError(await send('POST', '/v1/api-keys', { key: mine.key, body: keyBody({ scopes: ['inventory:read'] }) }), 403, 'forbidden');
  expectError(await send('PATCH', `/v1/api-keys/${mine.id}`, { key: mine.key, body: { expires_at: inDays(300) } }), 403, 'forbidden');
  // An admin sees every key.
  expect((await send('GET', `/v1/api-keys/${other.id}`)).status).toBe(200);
  expect((await send('GET', `/v1/api-keys?user_id=${other.userId}`)).body.items.map((item: any) => item.id)).toEqual([other.id]);
});

test('revocation (POST /{id}/revoke or DELETE) and expiry stop a key at once', async () => {
  const { api, send } = h;
  const revoked = (await send('POST', '/v1/api-keys', { ...session, body: keyBody() })).body;
  const deleted = (await send('POST', '/v1/api-keys', { ...session, body: keyBody() })).body;
  expect((await send('GET', '/v1/servers', { key: revoked.key })).status).toBe(200);

  const revoke = await send('POST', `/v1/api-keys/${revoked.id}/revoke`, session);
  expect(revoke.status).toBe(200);
  expect(revoke.body.revoked_at).not.toBeNull();
  expect(revoke.text).not.toContain(revoked.key);
  expectError(await send('GET', '/v1/servers', { key: revoked.key }), 401, 'unauthorized');
  // Revoking again changes nothing.
  const again = await send('POST', `/v1/api-keys/${revoked.id}/revoke`, session);
  expect(again.body).toEqual(revoke.body);

  expect((await send('DELETE', `/v1/api-keys/${deleted.id}`, session)).status).toBe(204);
  expectError(await send('GET', '/v1/servers', { key: deleted.key }), 401, 'unauthorized');
  expectError(await send('GET', `/v1/api-keys/${deleted.id}`, session), 404, 'not_found');

  // An expired key is refused, and a key stops working when its expiry passes.
  expectError(await send('GET', '/v1/me', { key: await api.createKey({ expires_at: inDays(-1) }) }), 401, 'unauthorized');
  const soon = (await send('POST', '/v1/api-keys', { ...session, body: keyBody({ expires_at: inDays(2) }) })).body;
  expect((await send('GET', '/v1/me', { key: soon.key })).status).toBe(200);
  travelTo(Date.parse(soon.expires_at) + 1000);
  expectError(await send('GET', '/v1/me', { key: soon.key }), 401, 'unauthorized');
});

test('allowed_cidrs: requests from other addresses get 401; the loopback source is accepted', async () => {
  const { send } = h;
  const invalid = await send('POST', '/v1/api-keys', { ...session, body: keyBody({ allowed_cidrs: ['10.0.0.0/33'] }) });
  expectError(invalid, 400, 'validation_error');
  expect(detailPaths(invalid)).toEqual(['allowed_cidrs.0']);

  const elsewhere = (await send('POST', '/v1/api-keys', { ...session, body: keyBody({ allowed_cidrs: ['10.0.0.0/8', '2001:db8::/32'] }) }))
    .body;
  const refused = await send('GET', '/v1/me', { key: elsewhere.key });
  expectError(refused, 401, 'unauthorized');
  expect(refused.text).toBe((await send('GET', '/v1/me', { key: 'y'.repeat(40) })).text);
  // Nor does a refused source count as a use.
  expect((await send('GET', `/v1/api-keys/${elsewhere.id}`, session)).body.last_used_at).toBeNull();

  const local = (
    await send('POST', '/v1/api-keys', { ...session, body: keyBody({ allowed_cidrs: ['10.0.0.0/8', '127.0.0.0/8', '::1/128'] }) })
  ).body;
  expect((await send('GET', '/v1/me', { key: local.key })).status).toBe(200);

  // Narrowing a key's addresses takes effect at once; clearing them opens it again.
  expect((await send('PATCH', `/v1/api-keys/${local.id}`, { ...session, body: { allowed_cidrs: ['192.0.2.0/24'] } })).status).toBe(200);
  expectError(await send('GET', '/v1/me', { key: local.key }), 401, 'unauthorized');
  expect((await send('PATCH', `/v1/api-keys/${local.id}`, { ...session, body: { allowed_cidrs: null } })).status).toBe(200);
  expect((await send('GET', '/v1/me', { key: local.key })).status).toBe(200);
});

test('last_used_at is written at most once a minute', async () => {
  const { send } = h;
  const key = (await send('POST', '/v1/api-keys', { ...session, body: keyBody() })).body;
  const lastUsed = async () => (await send('GET', `/v1/api-keys/${key.id}`, session)).body.last_used_at;
  const t0 = Date.now();
  travelTo(t0);
  await send('GET', '/v1/me', { key: key.key });
  expect(await lastUsed()).toBe(new Date(t0).toISOString());
  travelTo(t0 + 30_000);
  await send('GET', '/v1/me', { key: key.key });
  expect(await lastUsed()).toBe(new Date(t0).toISOString());
  travelTo(t0 + 61_000);
  await send('GET', '/v1/me', { key: key.key });
  expect(await lastUsed()).toBe(new Date(t0 + 61_000).toISOString());
  // Bookkeeping, not a change of the key: no audit record, no version bump.
  expect((await send('GET', `/v1/api-keys/${key.id}`, session)).body.version).toBe(1);
  const audit = await send('GET', `/v1/audit-events?entity_type=api_key&entity_id=${key.id}`);
  expect(audit.body.items.map((event: any) => event.action)).toEqual(['create']);
});

test("a key outlives its owner's demotion only with the owner's current rights; disabling the owner kills it", async () => {
  const { api, send } = h;
  const a = await world(send);
  const b = await world(send);
  const owner = await api.createKeyWithIds({ role: 'operator', scopes: ['inventory:read', 'inventory:write'] });
  const key = owner.key;
  const patchOwner = async (body: Record<string, unknown>) => {
    const response = await send('PATCH', `/v1/users/${owner.userId}`, { body });
    expect(response.status).toBe(200);
  };

  expect((await send('POST', '/v1/servers', { key, body: serverBody(a.dc.id) })).status).toBe(201);
  expect((await send('PATCH', `/v1/servers/${a.server.id}`, { key, body: { notes: 'by operator' } })).status).toBe(200);

  await patchOwner({ role: 'viewer' });
  expectError(await send('POST', '/v1/servers', { key, body: serverBody(a.dc.id) }), 403, 'forbidden');
  expectError(await send('PATCH', `/v1/servers/${a.server.id}`, { key, body: { notes: 'by viewer' } }), 403, 'forbidden');
  expectError(await send('POST', '/v1/datacenters', { key, body: datacenterBody() }), 403, 'forbidden');
  expect((await send('GET', `/v1/servers/${a.server.id}`, { key })).status).toBe(200);
  expect((await send('GET', '/v1/servers', { key })).status).toBe(200);
  expect((await send('GET', '/v1/me', { key })).body.scopes).toEqual(['inventory:read']);

  await patchOwner({ disabled: true });
  expectError(await send('GET', `/v1/servers/${a.server.id}`, { key }), 401, 'unauthorized');
  expectError(await send('GET', '/v1/me', { key }), 401, 'unauthorized');

  await patchOwner({ disabled: false });
  expect((await send('GET', `/v1/servers/${a.server.id}`, { key })).status).toBe(200);
  expectError(await send('PATCH', `/v1/servers/${a.server.id}`, { key, body: { notes: 'still a viewer' } }), 403, 'forbidden');

  await patchOwner({ role: 'operator' });
  expect((await send('PATCH', `/v1/servers/${a.server.id}`, { key, body: { notes: 'operator again' } })).status).toBe(200);

  // Narrowing the owner's datacenters narrows the key too: B's objects become the same 404 as missing ones.
  await patchOwner({ datacenter_access: [{ datacenter_id: a.dc.id, access: 'write' }] });
  const missing = await send('GET', `/v1/servers/${MISSING_ID}`, { key });
  const hidden = await send('GET', `/v1/servers/${b.server.id}`, { key });
  expect({ status: hidden.status, text: hidden.text }).toEqual({ status: 404, text: missing.text });
  expect((await send('GET', '/v1/servers?limit=500', { key })).body.items.map((item: any) => item.datacenter_id)).not.toContain(b.dc.id);
  expect((await send('GET', `/v1/servers/${a.server.id}`, { key })).status).toBe(200);
  expect((await send('GET', `/v1/servers/${a.server.id}`)).body.notes).toBe('operator again');
});

testNoSecretLeaks(h);
