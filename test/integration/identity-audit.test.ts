/**
 * The audit trail (GET /v1/audit-events, admin only): every mutation of a flow appears exactly once, with the
 * user behind the credential, the response's request id and the before/after of the changed fields; secrets are
 * [redacted]; a no-op write records nothing; filters (entity, actor, since/until) and the cursor work.
 */
import { created, datacenterBody, expectError, serverBody, tagBody, unique } from './helpers';
import {
  bearer,
  enableMfa,
  fastUser,
  inDays,
  listEvents,
  type PasswordUser,
  sessionOf,
  testNoSecretLeaks,
  useIdentityApi,
} from './identity-helpers';

const h = useIdentityApi();

interface Mutation {
  label: string;
  requestId: string;
  action: 'create' | 'update' | 'delete';
  entityType: string;
  entityId: string;
  actorId: string;
  /** The expected `changes`, exactly. */
  changes: Record<string, { before: unknown; after: unknown }>;
}

let operator: PasswordUser;
let adminUserId: string;
const mutations: Mutation[] = [];
const secrets: string[] = [];
let flowStart: string;
let serverId: string;
let operatorKeyId: string;

const R = '[redacted]';
const requestIdOf = (response: { headers: Headers }) => response.headers.get('x-request-id') as string;

beforeAll(async () => {
  const { api, send } = h;
  adminUserId = (await send('GET', '/v1/me')).body.user.id;
  operator = await fastUser({ role: 'operator' });
  const token = await sessionOf(send, operator);
  const session = bearer(token);
  secrets.push(token, operator.password, api.adminKey);
  const dc = await created(send, 'datacenters', datacenterBody());
  const tag = await created(send, 'tags', tagBody());
  flowStart = new Date().toISOString();
  const record = (
    label: string,
    response: { status: number; headers: Headers; text: string },
    expected: Omit<Mutation, 'label' | 'requestId'>,
  ) => {
    if (response.status >= 300) throw new Error(`${label} answered ${response.status}: ${response.text}`);
    mutations.push({ label, requestId: requestIdOf(response), ...expected });
  };

  // An admin (the bootstrap admin user behind the admin key) creates a user with a password.
  const password = `audited password ${unique('pw')}`;
  secrets.push(password);
  const userResponse = await send('POST', '/v1/users', {
    body: { username: unique('audited').replaceAll('-', '.'), email: `${unique('a')}@example.test`, role: 'viewer', password },
  });
  const newUser = userResponse.body;
  record('create user', userResponse, {
    action: 'create',
    entityType: 'user',
    entityId: newUser.id,
    actorId: adminUserId,
    changes: {
      username: { before: null, after: newUser.username },
      email: { before: null, after: newUser.email },
      role: { before: null, after: 'viewer' },
      datacenter_access: { before: null, after: [] },
      disabled: { before: null, after: false },
      mfa_enabled: { before: null, after: false },
      password_hash: { before: null, after: R },
      id: { before: null, after: newUser.id },
      created_at: { before: null, after: newUser.created_at },
    },
  });

  // The operator creates a key from a session; the key then does the server's lifecycle.
  const keyResponse = await send('POST', '/v1/api-keys', {
    ...session,
    body: { name: 'audited key', scopes: ['inventory:read', 'inventory:write'], expires_at: inDays(10) },
  });
  const key = keyResponse.body;
  secrets.push(key.key);
  operatorKeyId = key.id;
  const { key: _shownOnce, ...keyResource } = key;
  record('create key', keyResponse, {
    action: 'create',
    entityType: 'api_key',
    entityId: key.id,
    actorId: operator.id,
    changes: {
      ...Object.fromEntries(
        ['id', 'created_at', 'name', 'user_id', 'scopes', 'expires_at', 'prefix', 'created_by'].map((field) => [
          field,
          { before: null, after: keyResource[field] },
        ]),
      ),
      secret_hash: { before: null, after: R },
    },
  });

  const serverResponse = await send('POST', '/v1/servers', { key: key.key, body: serverBody(dc.id) });
  const server = serverResponse.body;
  serverId = server.id;
  const serverFields = Object.fromEntries(
    Object.entries(server).filter(([field, value]) => value !== null && !['updated_at', 'version', 'tag_ids'].includes(field)),
  );
  record('create server', serverResponse, {
    action: 'create',
    entityType: 'server',
    entityId: server.id,
    actorId: operator.id,
    changes: Object.fromEntries(Object.entries(serverFields).map(([field, value]) => [field, { before: null, after: value }])),
  });
  const patch = await send('PATCH', `/v1/servers/${server.id}`, { key: key.key, body: { notes: 'rack moved', vendor: 'Dell' } });
  record('patch server', patch, {
    action: 'update',
    entityType: 'server',
    entityId: server.id,
    actorId: operator.id,
    changes: { notes: { before: null, after: 'rack moved' }, vendor: { before: null, after: 'Dell' } },
  });
  // A PATCH that changes nothing, and a second revoke below, record nothing.
  const noop = await send('PATCH', `/v1/servers/${server.id}`, { key: key.key, body: { notes: 'rack moved' } });
  expect(noop.status).toBe(200);
  expect(noop.body.version).toBe(patch.body.version);
  const tagged = await send('PUT', `/v1/servers/${server.id}/tags`, { key: key.key, body: { tag_ids: [tag.id] } });
  record('tag server', tagged, {
    action: 'update',
    entityType: 'server',
    entityId: server.id,
    actorId: operator.id,
    changes: { tag_ids: { before: null, after: [tag.id] } },
  });
  const current = (await send('GET', `/v1/servers/${server.id}`)).body;
  const removed = await send('DELETE', `/v1/servers/${server.id}`, { key: key.key });
  record('delete server', removed, {
    action: 'delete',
    entityType: 'server',
    entityId: server.id,
    actorId: operator.id,
    changes: Object.fromEntries(
      Object.entries(current)
        .filter(([field, value]) => value !== null && !['updated_at', 'version'].includes(field))
        .map(([field, value]) => [field, { before: value, after: null }]),
    ),
  });

  const revoke = await send('POST', `/v1/api-keys/${key.id}/revoke`, session);
  record('revoke key', revoke, {
    action: 'update',
    entityType: 'api_key',
    entityId: key.id,
    actorId: operator.id,
    changes: { revoked_at: { before: null, after: revoke.body.revoked_at } },
  });
  expect((await send('POST', `/v1/api-keys/${key.id}/revoke`, session)).body.version).toBe(revoke.body.version);

  // Enabling MFA is two writes of the user: enrolment (a pending secret) and confirmation.
  const mfaRequests: string[] = [];
  const spy = async (method: string, path: string, options?: any) => {
    const response = await send(method, path, options);
    mfaRequests.push(requestIdOf(response));
    if (response.body?.otpauth_uri) secrets.push(new URL(response.body.otpauth_uri).searchParams.get('secret') as string);
    if (response.body?.recovery_codes) secrets.push(...response.body.recovery_codes);
    return response;
  };
  await enableMfa(spy as typeof send, token);
  const [enrolId, confirmId] = mfaRequests as [string, string];
  mutations.push(
    {
      label: 'enrol mfa',
      requestId: enrolId,
      action: 'update',
      entityType: 'user',
      entityId: operator.id,
      actorId: operator.id,
      changes: { totp_pending_sealed: { before: null, after: R } },
    },
    {
      label: 'confirm mfa',
      requestId: confirmId,
      action: 'update',
      entityType: 'user',
      entityId: operator.id,
      actorId: operator.id,
      changes: {
        mfa_enabled: { before: false, after: true },
        totp_pending_sealed: { before: R, after: null },
        totp_secret_sealed: { before: null, after: R },
        totp_last_step: { before: null, after: R },
        recovery_code_hashes: { before: null, after: R },
      },
    },
  );
});

test('every mutation of the flow appears exactly once, with actor, request id and the exact diff', async () => {
  const { send } = h;
  const events = await listEvents(send, `/v1/audit-events?since=${encodeURIComponent(flowStart)}&limit=500`);
  // Nothing else was written since the flow began: no login, key use or no-op left a record.
  expect(events.map((event) => event.request_id).sort()).toEqual(mutations.map((mutation) => mutation.requestId).sort());
  for (const mutation of mutations) {
    const matching = events.filter((event) => event.request_id === mutation.requestId);
    expect({ label: mutation.label, count: matching.length }).toEqual({ label: mutation.label, count: 1 });
    const [event] = matching;
    expect({ label: mutation.label, ...event }).toEqual({
      label: mutation.label,
      id: expect.any(String),
      at: expect.any(String),
      action: mutation.action,
      entity_type: mutation.entityType,
      entity_id: mutation.entityId,
      actor: expect.stringMatching(/^(api_key|session):[0-9a-f-]{36}$/),
      actor_id: mutation.actorId,
      request_id: mutation.requestId,
      changes: mutation.changes,
    });
    expect(Date.parse(event.at)).toBeGreaterThanOrEqual(Date.parse(flowStart));
  }
  // The credential is named too: the server's writes by the key, the revoke by the session.
  const byLabel = (label: string) => events.find((event) => event.request_id === mutations.find((m) => m.label === label)?.requestId);
  expect(byLabel('create server').actor).toBe(`api_key:${operatorKeyId}`);
  expect(byLabel('revoke key').actor).toMatch(/^session:/);
  // Newest first.
  const times = events.map((event) => event.at);
  expect([...times].sort().reverse()).toEqual(times);
});

test('secrets appear only as [redacted]', async () => {
  const { send } = h;
  const all = await send('GET', `/v1/audit-events?since=${encodeURIComponent(flowStart)}&limit=500`);
  expect(all.text).toContain('[redacted]');
  for (const secret of secrets) expect(all.text).not.toContain(secret);
  expect(all.text).not.toContain('$scrypt$');
});

test('filters: entity_type + entity_id, actor_id, since/until (any offset), and the cursor', async () => {
  const { send } = h;
  const all = await listEvents(send, '/v1/audit-events?limit=500');

  const ofServer = await listEvents(send, `/v1/audit-events?entity_type=server&entity_id=${serverId}`);
  expect(ofServer.map((event) => event.action)).toEqual(['delete', 'update', 'update', 'create']);
  expect(ofServer).toEqual(all.filter((event) => event.entity_id === serverId));

  const ofUsers = await listEvents(send, '/v1/audit-events?entity_type=user&limit=500');
  expect(ofUsers).toEqual(all.filter((event) => event.entity_type === 'user'));

  const byOperator = await listEvents(send, `/v1/audit-events?actor_id=${operator.id}&limit=500`);
  expect(byOperator.map((event) => event.request_id).sort()).toEqual(
    mutations
      .filter((mutation) => mutation.actorId === operator.id)
      .map((mutation) => mutation.requestId)
      .sort(),
  );
  const operatorKeys = await listEvents(send, `/v1/audit-events?actor_id=${operator.id}&entity_type=api_key`);
  expect(operatorKeys.map((event) => event.action)).toEqual(['update', 'create']);
  // The bootstrap (a system actor) is recorded as such.
  const bootstrap = await listEvents(send, '/v1/audit-events?actor_id=system:bootstrap&limit=500');
  const adminKeyId = (await send('GET', '/v1/me')).body.credential.id;
  const bootstrapWrites = bootstrap.map((event) => [event.action, event.entity_type, event.entity_id, event.actor]);
  expect(bootstrapWrites).toContainEqual(['create', 'user', adminUserId, 'system:bootstrap']);
  expect(bootstrapWrites).toContainEqual(['create', 'api_key', adminKeyId, 'system:bootstrap']);
  expect(bootstrap.every((event) => event.actor_id === 'system:bootstrap')).toBe(true);

  // since/until bound `at` inclusively, on both access paths; an offset other than Z means the same instant.
  const [patchEvent, tagEvent] = ofServer.slice(1, 3).reverse();
  const since = patchEvent.at;
  const until = tagEvent.at;
  const inWindow = (events: any[]) => events.filter((event) => event.at >= since && event.at <= until);
  const plus2 = (iso: string) => {
    const shifted = new Date(Date.parse(iso) + 2 * 3600_000).toISOString().replace('Z', '+02:00');
    return encodeURIComponent(shifted);
  };
  for (const [path, expected] of [
    [`/v1/audit-events?entity_type=server&entity_id=${serverId}`, inWindow(ofServer)],
    [`/v1/audit-events?entity_type=server`, inWindow(all.filter((event) => event.entity_type === 'server'))],
    [`/v1/audit-events?actor_id=${operator.id}`, inWindow(byOperator)],
  ] as const) {
    expect(expected.length).toBeGreaterThanOrEqual(2);
    const zulu = await listEvents(send, `${path}&since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}`);
    expect(zulu).toEqual(expected);
    expect(await listEvents(send, `${path}&since=${plus2(since)}&until=${plus2(until)}`)).toEqual(expected);
  }
  expect(
    await listEvents(send, `/v1/audit-events?entity_type=server&entity_id=${serverId}&until=${encodeURIComponent(flowStart)}`),
  ).toEqual([]);

  // Paging with a small limit yields the same events in the same order.
  const paged = await listEvents(send, `/v1/audit-events?actor_id=${operator.id}&limit=2`);
  expect(paged).toEqual(byOperator);
  // Bad filters are 400s.
  for (const query of ['entity_id=x', 'bogus=1', 'since=yesterday', 'limit=0', 'cursor=tampered']) {
    expectError(await send('GET', `/v1/audit-events?${query}`), 400, query.startsWith('cursor') ? 'invalid_cursor' : 'validation_error');
  }
});

test('only admins read the trail: viewer and operator keys, and an operator session, get 403', async () => {
  const { api, send } = h;
  for (const role of ['viewer', 'operator'] as const) {
    const key = await api.createKey({ role, scopes: ['admin'] });
    expectError(await send('GET', '/v1/audit-events', { key }), 403, 'forbidden');
  }
  // An admin-owned key without the admin scope is refused as well.
  expectError(await send('GET', '/v1/audit-events', { key: await api.createKey({ scopes: ['inventory:read'] }) }), 403, 'forbidden');
  const token = await sessionOf(send, await fastUser({ role: 'operator' }));
  expectError(await send('GET', '/v1/audit-events', bearer(token)), 403, 'forbidden');
});

testNoSecretLeaks(h);
