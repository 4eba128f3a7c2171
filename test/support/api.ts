/**
 * Black-box access to the real local gateway (the same server `npm start` runs) in this test process: HTTP over
 * loopback, the real authorizer, the real handlers, DynamoDB Local.
 */
import { ensureBootstrapAdminKey, SYSTEM_BOOTSTRAP } from '#shared/auth/bootstrap';
import type { DatacenterAccess, Role, Scope } from '#shared/auth/principal';
import { repo } from '#shared/db/repository';
import { apiKeyEntity } from '#shared/domains/identity/api-key';
import { issueApiKey } from '#shared/domains/identity/keys';
import { userEntity } from '#shared/domains/identity/user';
import { uuidv7 } from '#shared/model/ids';
import { startLocalServer } from '#local/server';

export interface TestResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  rawBody?: string;
  key?: string | null;
  headers?: Record<string, string>;
}

export interface KeySpec {
  name?: string;
  /** The owner's role; the key is issued while the owner is admin, then the owner takes this role (a demotion). */
  role?: Role;
  scopes?: Scope[];
  datacenter_access?: DatacenterAccess;
  /** A past value makes an expired key (written directly: the API refuses to issue one). */
  expires_at?: string | null;
}

export interface TestKey {
  key: string;
  id: string;
  userId: string;
}

export interface TestApi {
  url: string;
  adminKey: string;
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<TestResponse<T>>;
  createKey(spec: KeySpec): Promise<string>;
  createKeyWithIds(spec: KeySpec): Promise<TestKey>;
  close(): Promise<void>;
}

export const TEST_ADMIN_KEY = 'test-admin-key-0123456789-0123456789-abcdef';

const system = { principal: SYSTEM_BOOTSTRAP, requestId: 'test-setup' };

/** A user of the given role and access with one API key, made through the same domain code the API uses. */
export async function createTestKey(spec: KeySpec): Promise<TestKey> {
  const user = await repo().create(
    userEntity,
    {
      username: `user-${uuidv7().slice(-12)}`,
      email: `${uuidv7().slice(-12)}@example.test`,
      role: 'admin',
      datacenter_access: spec.datacenter_access ?? 'all',
      disabled: false,
      mfa_enabled: false,
    },
    system,
  );
  const future = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const { record, key } = await issueApiKey(
    { name: spec.name ?? 'test key', user_id: user.id, scopes: spec.scopes ?? ['admin'], expires_at: future },
    system,
  );
  if (spec.role && spec.role !== 'admin') await repo().update(userEntity, user.id, () => ({ role: spec.role }), system);
  if (spec.expires_at && Date.parse(spec.expires_at) <= Date.now()) {
    await repo().update(apiKeyEntity, record.id, () => ({ expires_at: spec.expires_at }), system);
  }
  return { key, id: record.id, userId: user.id };
}

export async function startTestApi(): Promise<TestApi> {
  await ensureBootstrapAdminKey(TEST_ADMIN_KEY);
  const { url, close } = await startLocalServer({ port: 0 });
  const request = async <T>(method: string, path: string, requestOptions: RequestOptions = {}): Promise<TestResponse<T>> => {
    const headers: Record<string, string> = { ...(requestOptions.headers ?? {}) };
    const key = requestOptions.key === undefined ? TEST_ADMIN_KEY : requestOptions.key;
    if (key !== null) headers['x-api-key'] = key;
    let body: string | undefined = requestOptions.rawBody;
    if (requestOptions.body !== undefined) {
      body = JSON.stringify(requestOptions.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  };
  return {
    url,
    adminKey: TEST_ADMIN_KEY,
    request,
    createKey: async (spec) => (await createTestKey(spec)).key,
    createKeyWithIds: createTestKey,
    close,
  };
}
