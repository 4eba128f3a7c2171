/**
 * Users (/v1/users, admin only) and the caller (/v1/me, /v1/me/password, logout): unique username and email
 * (case-insensitive, 409), password rules and storage (scrypt N=2^17 r=8 p=1, self-describing, never returned),
 * datacenter grants that must exist, and who-am-I for both key and session principals.
 */
import { created, datacenterBody, detailPaths, expectError, ISO_UTC, UUID_V7, unique } from './helpers';
import { bearer, login, scanTable, sessionOf, testNoSecretLeaks, useIdentityApi } from './identity-helpers';

const h = useIdentityApi();

const PUBLIC_USER_FIELDS = [
  'id',
  'created_at',
  'updated_at',
  'version',
  'username',
  'email',
  'role',
  'datacenter_access',
  'disabled',
  'mfa_enabled',
  'last_login_at',
  'last_login_ip',
  'locked_until',
].sort();

const userBody = (fields: Record<string, unknown> = {}) => {
  const username = unique('u').replaceAll('-', '.');
  return { username, email: `${username}@example.test`, role: 'viewer', ...fields };
};

async function storedUser(id: string): Promise<Record<string, any>> {
  const item = (await scanTable()).find((candidate) => candidate.pk === `USER#${id}`);
  if (!item) throw new Error(`no item for user ${id}`);
  return item;
}

test('create: 201 with the public fields only; the password is stored as $scrypt$ln=17,r=8,p=1 and never returned', async () => {
  const { send } = h;
  const password = `a long enough password ${unique('pw')}`;
  const body = userBody({ role: 'operator', datacenter_access: 'all', password });
  const response = await send('POST', '/v1/users', { body });
  expect(response.status).toBe(201);
  expect(response.headers.get('location')).toBe(`/v1/users/${response.body.id}`);
  expect(Object.keys(response.body).sort()).toEqual(PUBLIC_USER_FIELDS);
  expect(response.body).toMatchObject({
    username: body.username,
    email: body.email,
    role: 'operator',
    datacenter_access: 'all',
    disabled: false,
    mfa_enabled: false,
    last_login_at: null,
    last_login_ip: null,
    version: 1,
  });
  expect(response.body.id).toMatch(UUID_V7);
  expect(response.body.created_at).toMatch(ISO_UTC);

  const item = await storedUser(response.body.id);
  expect(item.password_hash).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  expect(JSON.stringify(item)).not.toContain(password);

  const reads = [
    response,
    await send('GET', `/v1/users/${response.body.id}`),
    await send('GET', `/v1/users?username=${body.username}`),
    await send('GET', '/v1/users?limit=500'),
  ];
  for (const read of reads) {
    expect(read.status).toBeLessThan(300);
    for (const forbidden of ['password', '$scrypt$', item.password_hash, 'totp', 'recovery', 'failed_login']) {
      expect(read.text).not.toContain(forbidden);
    }
  }
  expect((await send('GET', `/v1/users?username=${body.username}`)).body.items.map((user: any) => user.id)).toEqual([response.body.id]);
});

test('username and email are unique, case-insensitively (409), on create and on update', async () => {
  const { send } = h;
  const first = await created(send, 'users', userBody());
  const second = await created(send, 'users', userBody());

  const sameUsername = await send('POST', '/v1/users', { body: userBody({ username: first.username.toUpperCase() }) });
  expectError(sameUsername, 409, 'conflict');
  expect(detailPaths(sameUsername)).toEqual(['username']);
  const sameEmail = await send('POST', '/v1/users', { body: userBody({ email: first.email.toUpperCase() }) });
  expectError(sameEmail, 409, 'conflict');
  expect(detailPaths(sameEmail)).toEqual(['email']);

  const renamed = await send('PATCH', `/v1/users/${second.id}`, { body: { username: first.username.toUpperCase() } });
  expectError(renamed, 409, 'conflict');
  const reEmailed = await send('PATCH', `/v1/users/${second.id}`, { body: { email: first.email.toUpperCase() } });
  expectError(reEmailed, 409, 'conflict');
  expect((await send('GET', `/v1/users/${second.id}`)).body).toEqual(second);

  // A user may change the case of their own username (it is still theirs).
  const recased = await send('PATCH', `/v1/users/${first.id}`, { body: { username: first.username.toUpperCase() } });
  expect(recased.status).toBe(200);
  expect(recased.body.username).toBe(first.username.toUpperCase());
});

test('a password under 12 characters is a 400 (create and update); read-only and secret fields cannot be written', async () => {
  const { send } = h;
  const short = await send('POST', '/v1/users', { body: userBody({ password: 'elevenchars' }) });
  expectError(short, 400, 'validation_error');
  expect(detailPaths(short)).toEqual(['password']);
  const user = await created(send, 'users', userBody());
  expectError(await send('PATCH', `/v1/users/${user.id}`, { body: { password: 'short' } }), 400, 'validation_error');
  for (const field of [
    { password_hash: '$scrypt$ln=1,r=1,p=1$AAAA$AAAA' },
    { mfa_enabled: true },
    { last_login_at: '2024-01-01T00:00:00Z' },
    { locked_until: null },
    { totp_secret_sealed: 'x' },
  ]) {
    expectError(await send('PATCH', `/v1/users/${user.id}`, { body: field }), 400, 'validation_error');
    expectError(await send('POST', '/v1/users', { body: userBody(field) }), 400, 'validation_error');
  }
  expect((await send('GET', `/v1/users/${user.id}`)).body).toEqual(user);
});

test('datacenter_access must name existing datacenters (400), on create and on update', async () => {
  const { send } = h;
  const dc = await created(send, 'datacenters', datacenterBody());
  const missing = '01900000-0000-7000-8000-00000000beef';
  const bad = await send('POST', '/v1/users', {
    body: userBody({
      datacenter_access: [
        { datacenter_id: dc.id, access: 'read' },
        { datacenter_id: missing, access: 'write' },
      ],
    }),
  });
  expectError(bad, 400, 'validation_error');
  expect(detailPaths(bad)).toEqual(['datacenter_access.1.datacenter_id']);
  expectError(
    await send('POST', '/v1/users', { body: userBody({ datacenter_access: [{ datacenter_id: dc.id, access: 'admin' }] }) }),
    400,
    'validation_error',
  );

  const good = await created(send, 'users', userBody({ datacenter_access: [{ datacenter_id: dc.id, access: 'write' }] }));
  expect(good.datacenter_access).toEqual([{ datacenter_id: dc.id, access: 'write' }]);
  const patch = await send('PATCH', `/v1/users/${good.id}`, { body: { datacenter_access: [{ datacenter_id: missing, access: 'read' }] } });
  expectError(patch, 400, 'validation_error');
  expect((await send('GET', `/v1/users/${good.id}`)).body.datacenter_access).toEqual([{ datacenter_id: dc.id, access: 'write' }]);
  // A new user without grants sees nothing.
  expect((await created(send, 'users', userBody())).datacenter_access).toEqual([]);
});

test('GET /v1/me for an API key and for a session; logout ends the session', async () => {
  const { api, send } = h;
  const dc = await created(send, 'datacenters', datacenterBody());
  const access = [{ datacenter_id: dc.id as string, access: 'read' as const }];
  const key = await api.createKeyWithIds({
    role: 'operator',
    scopes: ['inventory:read', 'alerts:read', 'admin'],
    datacenter_access: access,
  });
  const viaKey = await send('GET', '/v1/me', { key: key.key });
  expect(viaKey.status).toBe(200);
  expect(viaKey.body.credential).toEqual({ kind: 'api_key', id: key.id });
  expect(viaKey.body.user.id).toBe(key.userId);
  expect(viaKey.body.role).toBe('operator');
  // `admin` in a key means "everything the owner's role allows"; the operator owner narrows it.
  expect([...viaKey.body.scopes].sort()).toEqual(
    ['alerts:read', 'alerts:write', 'inventory:read', 'inventory:write', 'operations:read', 'operations:write', 'sync:run'].sort(),
  );
  expect(viaKey.body.datacenter_access).toEqual(access);
  expect(viaKey.text).not.toContain(key.key);

  const password = `a long enough password ${unique('pw')}`;
  const person = await created(send, 'users', userBody({ role: 'viewer', password, datacenter_access: 'all' }));
  const token = await sessionOf(send, { ...person, password });
  const viaSession = await send('GET', '/v1/me', bearer(token));
  expect(viaSession.status).toBe(200);
  expect(viaSession.body.credential.kind).toBe('session');
  expect(viaSession.body.user).toMatchObject({ id: person.id, username: person.username, last_login_at: expect.stringMatching(ISO_UTC) });
  expect(viaSession.body.scopes.sort()).toEqual(['alerts:read', 'inventory:read', 'operations:read']);
  expect(viaSession.text).not.toContain(token);

  expect((await send('POST', '/v1/auth/logout', bearer(token))).status).toBe(204);
  expectError(await send('GET', '/v1/me', bearer(token)), 401, 'unauthorized');
  expectError(await send('POST', '/v1/auth/logout', bearer(token)), 401, 'unauthorized');
});

test('passwords change: by the user (needs the current one) and by an admin (a password-only PATCH)', async () => {
  const { send } = h;
  const first = `first password ${unique('pw')}`;
  const person = await created(send, 'users', userBody({ role: 'operator', password: first }));
  const token = await sessionOf(send, { ...person, password: first });

  const second = `second password ${unique('pw')}`;
  const wrongCurrent = await send('POST', '/v1/me/password', {
    ...bearer(token),
    body: { current_password: 'not it at all', new_password: second },
  });
  expectError(wrongCurrent, 400, 'validation_error');
  expectError(
    await send('POST', '/v1/me/password', { ...bearer(token), body: { current_password: first, new_password: 'too short' } }),
    400,
    'validation_error',
  );
  expect(
    (await send('POST', '/v1/me/password', { ...bearer(token), body: { current_password: first, new_password: second } })).status,
  ).toBe(204);
  expect((await login(send, { username: person.username, password: second })).status).toBe(200);

  // An admin resets it with a PATCH that names only the password.
  const third = `third password ${unique('pw')}`;
  const reset = await send('PATCH', `/v1/users/${person.id}`, { body: { password: third } });
  expect(reset.status).toBe(200);
  expect(reset.body.version).toBe(person.version + 2);
  expect(reset.text).not.toContain(third);
  expectError(await login(send, { username: person.username, password: second }), 401, 'unauthorized');
  expect((await login(send, { username: person.username, password: third })).status).toBe(200);
});

testNoSecretLeaks(h);
