/**
 * Shared pieces of the black-box integration suite: a checked client over the real local gateway, unique names,
 * one valid create body per inventory collection, and error assertions. Every response that passes through
 * `checked` must carry `x-request-id` and must not be a 5xx, so every test also proves those two conventions.
 */
import { randomBytes } from 'node:crypto';
import { type RequestOptions, startTestApi, type TestApi, type TestResponse } from '../support/api';

export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
/** A syntactically valid UUID v7 that no object will ever have. */
export const MISSING_ID = '01900000-0000-7000-8000-00000000dead';

export type Send = <T = any>(method: string, path: string, options?: RequestOptions) => Promise<TestResponse<T>>;

export interface Harness {
  api: TestApi;
  /** Like `api.request`, but fails the test on a missing x-request-id or any 5xx. */
  send: Send;
}

export function checked(api: TestApi): Send {
  return async (method, path, options) => {
    const response = await api.request(method, path, options);
    if (!response.headers.get('x-request-id')) {
      throw new Error(`${method} ${path} answered ${response.status} without x-request-id`);
    }
    if (response.status >= 500) throw new Error(`${method} ${path} answered ${response.status}: ${response.text}`);
    return response;
  };
}

/** Starts the gateway for one test file and closes it afterwards. */
export function useApi(): Harness {
  const harness = {} as Harness;
  beforeAll(async () => {
    harness.api = await startTestApi();
    harness.send = checked(harness.api);
  });
  afterAll(async () => harness.api?.close());
  return harness;
}

let counter = 0;
/** A name no other test in this run uses; valid as a host name, a tag name and a datacenter name. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${randomBytes(3).toString('hex')}`;
}

export function expectError(response: TestResponse, status: number, code: string): void {
  expect({ status: response.status, code: response.body?.error?.code }).toEqual({ status, code });
  expect(typeof response.body.error.message).toBe('string');
  expect(Array.isArray(response.body.error.details)).toBe(true);
}

export function detailPaths(response: TestResponse): string[] {
  return (response.body?.error?.details ?? []).map((detail: { path: string }) => detail.path);
}

export async function created(send: Send, collection: string, body: Record<string, unknown>): Promise<any> {
  const response = await send('POST', `/v1/${collection}`, { body });
  if (response.status !== 201) throw new Error(`POST /v1/${collection} answered ${response.status}: ${response.text}`);
  return response.body;
}

export const datacenterBody = () => ({ name: unique('DC'), timezone: 'Africa/Tunis' });
export const serverBody = (datacenterId: string) => ({ datacenter_id: datacenterId, hostname: unique('esx') });
export const vmBody = (datacenterId: string, serverId?: string) => ({
  datacenter_id: datacenterId,
  name: unique('vm'),
  ...(serverId ? { server_id: serverId } : {}),
});
export const bayBody = (datacenterId: string) => ({
  datacenter_id: datacenterId,
  name: unique('bay'),
  type: 'san',
  total_capacity_bytes: 1_000_000,
});
export const nicBody = (owner: { server_id: string } | { vm_id: string }) => ({ ...owner, interface_name: 'vmnic0' });
export const tagBody = () => ({ name: unique('tag') });

export interface World {
  dc: any;
  server: any;
  vm: any;
}

/** A datacenter with one server and one VM on it. */
export async function world(send: Send): Promise<World> {
  const dc = await created(send, 'datacenters', datacenterBody());
  const server = await created(send, 'servers', serverBody(dc.id));
  const vm = await created(send, 'vms', vmBody(dc.id, server.id));
  return { dc, server, vm };
}

export interface EntitySpec {
  collection: string;
  taggable: boolean;
  /** A valid create body (creates the parents it needs). */
  body: (send: Send) => Promise<Record<string, unknown>>;
  /** A required field of the create body. */
  required: string;
  /** A field and a value of the wrong JSON type. */
  wrongType: [string, unknown];
  /** A PATCH that changes something. */
  patch: Record<string, unknown>;
}

export const ENTITIES: EntitySpec[] = [
  {
    collection: 'datacenters',
    taggable: false,
    body: async () => datacenterBody(),
    required: 'timezone',
    wrongType: ['name', 42],
    patch: { location: 'Route de la Marsa, Tunis', description: 'primary site' },
  },
  {
    collection: 'servers',
    taggable: true,
    // Non-default values for defaulted fields, so a PATCH that resets them is caught.
    body: async (send) => ({
      ...serverBody((await created(send, 'datacenters', datacenterBody())).id),
      status: 'offline',
      rack_location: 'R12',
    }),
    required: 'hostname',
    wrongType: ['cpu_sockets', 'two'],
    patch: { vendor: 'Dell', cpu_sockets: 2, status: 'maintenance' },
  },
  {
    collection: 'vms',
    taggable: true,
    body: async (send) => ({ ...vmBody((await created(send, 'datacenters', datacenterBody())).id), status: 'planned', cpu_count: 4 }),
    required: 'name',
    wrongType: ['memory_bytes', '8GB'],
    patch: { os: 'Ubuntu 24.04', power_state: 'powered_on' },
  },
  {
    collection: 'storage-bays',
    taggable: true,
    body: async (send) => ({
      ...bayBody((await created(send, 'datacenters', datacenterBody())).id),
      used_capacity_bytes: 1000,
      type: 'nas',
    }),
    required: 'total_capacity_bytes',
    wrongType: ['total_capacity_bytes', '1TB'],
    patch: { vendor: 'NetApp', status: 'degraded' },
  },
  {
    collection: 'network-configurations',
    taggable: false,
    body: async (send) => ({ ...nicBody({ server_id: (await world(send)).server.id }), ip_addresses: ['192.0.2.10'], connected: true }),
    required: 'interface_name',
    wrongType: ['vlan_id', '10'],
    patch: { vlan_id: 120, mac_address: '00:50:56:AA:BB:CC' },
  },
  {
    collection: 'tags',
    taggable: false,
    body: async () => tagBody(),
    required: 'name',
    wrongType: ['color', 123456],
    patch: { color: '#1f77b4', description: 'hosts running production workloads' },
  },
];

/** All pages of a list, following next_cursor. */
export async function listAll(send: Send, path: string): Promise<{ items: any[]; pages: number[] }> {
  const items: any[] = [];
  const pages: number[] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const response: TestResponse = await send('GET', cursor ? `${path}${separator}cursor=${encodeURIComponent(cursor)}` : path);
    if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}: ${response.text}`);
    items.push(...response.body.items);
    pages.push(response.body.items.length);
    cursor = response.body.next_cursor;
  } while (cursor !== null && pages.length < 100);
  return { items, pages };
}

/** Runs `task` over `inputs` with at most `width` in flight. */
export async function inParallel<I, O>(inputs: readonly I[], width: number, task: (input: I, index: number) => Promise<O>): Promise<O[]> {
  const results: O[] = new Array(inputs.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(width, inputs.length) }, async () => {
    while (next < inputs.length) {
      const index = next++;
      results[index] = await task(inputs[index] as I, index);
    }
  });
  await Promise.all(workers);
  return results;
}
