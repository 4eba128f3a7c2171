/**
 * Black-box access to the real local gateway (the same server `npm start` runs) in this test process: HTTP over
 * loopback, the real authorizer, the real handlers, DynamoDB Local.
 */
import { storeApiKey, type NewApiKey } from '#shared/auth/api-keys';
import { ensureBootstrapAdminKey } from '#shared/auth/bootstrap';
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

export interface TestApi {
  url: string;
  adminKey: string;
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<TestResponse<T>>;
  createKey(spec: Partial<NewApiKey>): Promise<string>;
  close(): Promise<void>;
}

export const TEST_ADMIN_KEY = 'test-admin-key-0123456789-0123456789-abcdef';

export async function startTestApi(options: { authorizerCacheTtlSeconds?: number } = {}): Promise<TestApi> {
  await ensureBootstrapAdminKey(TEST_ADMIN_KEY);
  const { url, close } = await startLocalServer({ port: 0, authorizerCacheTtlSeconds: options.authorizerCacheTtlSeconds ?? 0 });
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
    createKey: async (spec) => {
      const { key } = await storeApiKey({
        name: spec.name ?? 'test key',
        role: spec.role ?? 'admin',
        scopes: spec.scopes ?? ['admin'],
        datacenter_access: spec.datacenter_access ?? 'all',
        expires_at: spec.expires_at ?? null,
        user_id: spec.user_id ?? null,
      });
      return key;
    },
    close,
  };
}
