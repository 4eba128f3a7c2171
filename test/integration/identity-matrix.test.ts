/**
 * The authorization matrix: every non-public route of `allRoutes` × eight principals. The expected status is
 * computed from the route's declared auth and the principal's effective scopes (an independent table here, not the
 * app's functions): 401 for expired and revoked keys; 403 when the route's scope is missing (`admin` implies every
 * scope) or the route is for sessions only; for the user limited to datacenter A, B's objects are the same 404 as
 * a missing id, lists never show them and creating into B is refused. Every refusal writes nothing: a digest of a
 * full table Scan is the same before and after (ignoring `last_used_at` on keys and idempotency records).
 */
import type { Scope } from '#shared/auth/principal';
import type { RouteDefinition } from '#shared/http/route';
import { allRoutes } from '#shared/routes';
import type { TestResponse } from '../support/api';
import { bayBody, created, datacenterBody, MISSING_ID, nicBody, serverBody, tagBody, unique, vmBody, type World, world } from './helpers';
import { inDays, tableDigest, testNoSecretLeaks, useIdentityApi } from './identity-helpers';

const h = useIdentityApi();

const OPERATOR: Scope[] = [
  'inventory:read',
  'inventory:write',
  'sync:run',
  'alerts:read',
  'alerts:write',
  'operations:read',
  'operations:write',
];
const VIEWER: Scope[] = ['inventory:read', 'alerts:read', 'operations:read'];

interface Principal {
  name: string;
  key: string;
  /** Effective scopes; null for a credential that must be refused (401). */
  scopes: readonly Scope[] | null;
  /** Limited to datacenter A (write). */
  limited?: boolean;
}

/** Routes a key may never use, whatever its scopes: they act on the caller's login session. */
const SESSION_ONLY = new Set(['/v1/auth/logout', '/v1/me/password', '/v1/me/mfa/enroll', '/v1/me/mfa/confirm', '/v1/me/mfa/disable']);
/** Collections whose objects belong to a datacenter (the datacenter itself included). */
const DATACENTER_SCOPED = new Set(['datacenters', 'servers', 'vms', 'storage-bays', 'network-configurations']);

const has = (principal: Principal, scope: Scope) =>
  principal.scopes !== null && (principal.scopes.includes(scope) || principal.scopes.includes('admin'));
const isAdmin = (principal: Principal) => has(principal, 'admin');
const collectionOf = (route: RouteDefinition) => route.path.split('/')[2] as string;

type Expectation = { status: number; code: string } | 'allowed';

function expected(route: RouteDefinition, principal: Principal): Expectation {
  const refuse = (status: number) => ({
    status,
    code: ({ 400: 'validation_error', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found' } as Record<number, string>)[
      status
    ] as string,
  });
  if (principal.scopes === null) return refuse(401);
  if ('scope' in route.auth && !has(principal, route.auth.scope)) return refuse(403);
  if ('authenticated' in route.auth) {
    if (SESSION_ONLY.has(route.path)) return refuse(403);
    if (collectionOf(route) === 'api-keys' && !isAdmin(principal)) {
      if (route.method === 'GET' && route.path === '/v1/api-keys') return 'allowed';
      // A non-admin key can neither mint nor change keys; someone else's key is invisible.
      if (route.method === 'POST' && route.path === '/v1/api-keys') return refuse(403);
      if (route.method === 'PATCH') return refuse(403);
      return refuse(404);
    }
    return 'allowed';
  }
  if (principal.limited && DATACENTER_SCOPED.has(collectionOf(route))) {
    if (route.path.includes('{id}')) return refuse(404);
    if (route.method === 'POST') return refuse(collectionOf(route) === 'datacenters' ? 403 : 400);
  }
  return 'allowed';
}

interface Fixtures {
  a: World & { bay: any; nic: any };
  b: World & { bay: any; nic: any };
  tag: any;
  user: any;
  apiKey: { id: string };
}

let fixtures: Fixtures;
let principals: Principal[];

beforeAll(async () => {
  const { api, send } = h;
  const make = async () => {
    const base = await world(send);
    return {
      ...base,
      bay: await created(send, 'storage-bays', bayBody(base.dc.id)),
      nic: await created(send, 'network-configurations', nicBody({ vm_id: base.vm.id })),
    };
  };
  const a = await make();
  const b = await make();
  fixtures = {
    a,
    b,
    tag: await created(send, 'tags', tagBody()),
    user: await created(send, 'users', { username: unique('victim'), email: `${unique('victim')}@example.test`, role: 'viewer' }),
    // A key of another user: the target of the api-keys routes.
    apiKey: await api.createKeyWithIds({ role: 'operator', scopes: ['inventory:read'] }),
  };
  const revoked = await api.createKeyWithIds({});
  if ((await send('POST', `/v1/api-keys/${revoked.id}/revoke`)).status !== 200) throw new Error('revoke failed');
  principals = [
    { name: 'expired', key: await api.createKey({ expires_at: inDays(-1) }), scopes: null },
    { name: 'revoked', key: revoked.key, scopes: null },
    { name: 'viewer', key: await api.createKey({ role: 'viewer', scopes: [...VIEWER] }), scopes: VIEWER },
    { name: 'read-only', key: await api.createKey({ role: 'operator', scopes: ['inventory:read'] }), scopes: ['inventory:read'] },
    {
      name: 'limited to A',
      key: await api.createKey({
        role: 'operator',
        scopes: ['inventory:read', 'inventory:write'],
        datacenter_access: [{ datacenter_id: a.dc.id, access: 'write' }],
      }),
      scopes: ['inventory:read', 'inventory:write'],
      limited: true,
    },
    {
      name: 'write',
      key: await api.createKey({ role: 'operator', scopes: ['inventory:read', 'inventory:write'] }),
      scopes: ['inventory:read', 'inventory:write'],
    },
    { name: 'operator', key: await api.createKey({ role: 'operator', scopes: [...OPERATOR] }), scopes: OPERATOR },
    { name: 'admin', key: await api.createKey({}), scopes: ['admin'] },
  ];
});

/**
 * The real object of B (or the user / key) that fills `{id}`. Collections without a fixture here (made by other
 * domains, e.g. sync history) get a missing id: their refusals are still checked, their allowed reads may be 404.
 */
const hasFixture = (route: RouteDefinition) =>
  ['datacenters', 'servers', 'vms', 'storage-bays', 'network-configurations', 'tags', 'users', 'api-keys'].includes(collectionOf(route));

function idFor(route: RouteDefinition): string {
  const { b, tag, user, apiKey } = fixtures;
  const ids: Record<string, string> = {
    datacenters: b.dc.id,
    servers: b.server.id,
    vms: b.vm.id,
    'storage-bays': b.bay.id,
    'network-configurations': b.nic.id,
    tags: tag.id,
    users: user.id,
    'api-keys': apiKey.id,
  };
  return ids[collectionOf(route)] ?? MISSING_ID;
}

/** A valid body where one is easy (so a refusal is never a 400 in disguise), else {}. */
function bodyFor(route: RouteDefinition): unknown {
  if (!route.body) return undefined;
  const { b } = fixtures;
  const collection = collectionOf(route);
  if (route.path.endsWith('/tags')) return { tag_ids: [] };
  if (route.method === 'POST' && route.path === `/v1/${collection}`) {
    const bodies: Record<string, () => unknown> = {
      datacenters: datacenterBody,
      servers: () => serverBody(b.dc.id),
      vms: () => vmBody(b.dc.id),
      'storage-bays': () => bayBody(b.dc.id),
      'network-configurations': () => nicBody({ server_id: b.server.id }),
      tags: tagBody,
      users: () => ({ username: unique('made'), email: `${unique('made')}@example.test`, role: 'viewer' }),
      'api-keys': () => ({ name: 'matrix', scopes: ['inventory:read'], expires_at: inDays(5) }),
    };
    return bodies[collection]?.() ?? {};
  }
  if (route.method === 'PATCH') {
    const patches: Record<string, () => unknown> = {
      datacenters: () => ({ description: unique('patched') }),
      servers: () => ({ notes: unique('patched') }),
      vms: () => ({ notes: unique('patched') }),
      'storage-bays': () => ({ notes: unique('patched') }),
      'network-configurations': () => ({ vlan_id: 42 }),
      tags: () => ({ description: unique('patched') }),
      users: () => ({ email: `${unique('patched')}@example.test` }),
      'api-keys': () => ({ name: unique('patched') }),
    };
    return patches[collection]?.() ?? {};
  }
  const others: Record<string, unknown> = {
    '/v1/me/password': { current_password: 'whatever it is', new_password: 'a long enough new password' },
    '/v1/me/mfa/confirm': { code: '123456' },
    '/v1/me/mfa/disable': { code: '123456' },
    '/v1/settings/security': { mfa_required_roles: [] },
  };
  return others[route.path] ?? {};
}

/** Writes last: deletions and revocations must not remove the objects other rows still need. */
function order(route: RouteDefinition): number {
  if (route.method === 'DELETE') return 2;
  if (route.path.endsWith('/revoke')) return 1;
  return 0;
}

test('every non-public route × eight principals: the status the route auth implies, and no write on refusal', async () => {
  const { send } = h;
  const routes = allRoutes.filter((route) => !('public' in route.auth)).sort((x, y) => order(x) - order(y));
  expect(routes.length).toBeGreaterThanOrEqual(50);
  const bIds = new Set(Object.values(fixtures.b).map((object: any) => object.id));
  const problems: unknown[] = [];
  let refusals = 0;
  let stale = true;
  let digest = '';

  for (const route of routes) {
    const path = route.path.replace('{id}', idFor(route)).replace('{revision}', '1');
    const call = (principal: Principal, target = path): Promise<TestResponse> => {
      const body = bodyFor(route);
      return send(route.method, target, { key: principal.key, ...(body !== undefined ? { body } : {}) });
    };
    // Refusals first, while every fixture still exists; all of them must leave the table as it was.
    const refused = principals.filter((principal) => expected(route, principal) !== 'allowed');
    const allowed = principals.filter((principal) => expected(route, principal) === 'allowed');
    if (refused.length > 0) {
      if (stale) digest = await tableDigest();
      for (const principal of refused) {
        const want = expected(route, principal) as { status: number; code: string };
        const response = await call(principal);
        refusals += 1;
        const got = { status: response.status, code: response.body?.error?.code };
        if (got.status !== want.status || got.code !== want.code) {
          problems.push({ route: `${route.method} ${route.path}`, principal: principal.name, want, got: { ...got, text: response.text } });
        }
        // B's objects answer exactly like a missing id.
        if (principal.limited && want.status === 404) {
          const missing = await call(principal, route.path.replace('{id}', MISSING_ID).replace('{revision}', '1'));
          if (missing.text !== response.text) {
            problems.push({
              route: `${route.method} ${route.path}`,
              principal: principal.name,
              hidden: response.text,
              missing: missing.text,
            });
          }
        }
      }
      const after = await tableDigest();
      if (after !== digest) problems.push({ route: `${route.method} ${route.path}`, wrote: refused.map((principal) => principal.name) });
      digest = after;
      stale = false;
    }
    for (const principal of allowed) {
      const response = await call(principal);
      stale = true;
      const readFailed = route.method === 'GET' && response.status !== 200 && !(response.status === 404 && !hasFixture(route));
      if ([401, 403].includes(response.status) || readFailed) {
        problems.push({
          route: `${route.method} ${route.path}`,
          principal: principal.name,
          want: 'allowed',
          got: response.status,
          text: response.text,
        });
      }
      // Lists never show what the caller may not see.
      if (principal.limited && route.method === 'GET' && !route.path.includes('{id}') && Array.isArray(response.body?.items)) {
        const leaked = response.body.items.filter((item: any) => bIds.has(item.id) || item.datacenter_id === fixtures.b.dc.id);
        if (leaked.length > 0) problems.push({ route: route.path, principal: principal.name, leaked: leaked.map((item: any) => item.id) });
      }
    }
  }
  expect(problems).toEqual([]);
  // The matrix really refused something of every kind.
  expect(refusals).toBeGreaterThan(200);
});

testNoSecretLeaks(h);
