/**
 * `npm run seed:demo`: fills a RUNNING local API (`npm start`) with a small, realistic demo estate over HTTP:
 * three datacenters (Tunis, Sousse, Sfax), a tag catalogue, ESXi hosts, VMs, storage bays, NICs and tag
 * assignments.
 *
 * Idempotent: every object is looked up before it is created (by its natural key: datacenter name, tag name,
 * hostname, VM name, storage bay name, NIC interface name), a 409 on create falls back to the lookup, and every
 * POST carries an Idempotency-Key so a retried request cannot create a duplicate. Tags are merged into an object's
 * existing tag set, never removed. Running it again changes nothing and prints the same totals as "existing".
 *
 * Env: API_URL (default http://127.0.0.1:3000), ADMIN_API_KEY (default: the key in .data/admin-api-key,
 * or $DATA_DIR/admin-api-key).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const GiB = 1024 ** 3;
const TiB = 1024 ** 4;

// ---------------------------------------------------------------- configuration

const API_BASE = `${(process.env.API_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '').replace(/\/v1$/, '')}/v1`;
const RUN_ID = randomUUID();

function adminKey(): string {
  const fromEnv = process.env.ADMIN_API_KEY?.trim();
  if (fromEnv) return fromEnv;
  const file = join(resolve(process.env.DATA_DIR ?? '.data'), 'admin-api-key');
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    if (key) return key;
  }
  throw new SeedError(`No admin API key: set ADMIN_API_KEY or start the API once with \`npm start\` (it writes ${file}).`);
}

class SeedError extends Error {}

// ---------------------------------------------------------------- HTTP client

interface ApiResult<T> {
  status: number;
  body: T;
}

type Json = Record<string, unknown>;
interface ErrorBody {
  error?: { code?: string; message?: string; details?: unknown[] };
}
type Page = { items: Json[]; next_cursor: string | null };

const errorOf = (body: unknown) => (typeof body === 'object' && body !== null ? (body as ErrorBody).error : undefined);

let KEY = '';
let requestCount = 0;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** One API call with retries for transient trouble (network, 429, 503, idempotent request still in flight). */
async function api<T = Json>(
  method: string,
  path: string,
  options: { body?: unknown; idempotencyKey?: string; expect?: number[] } = {},
): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { 'x-api-key': KEY, accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  const expected = options.expect ?? [200, 201];
  for (let attempt = 0; ; attempt++) {
    let response: Response;
    try {
      requestCount++;
      response = await fetch(`${API_BASE}${path}`, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      if (cause === 'ECONNREFUSED')
        throw new SeedError(`Cannot reach the API at ${API_BASE} (connection refused). Start it with \`npm start\`.`);
      if (attempt < 4) {
        await sleep(200 * 2 ** attempt);
        continue;
      }
      throw new SeedError(`${method} ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const error = errorOf(body);
    const inFlight = response.status === 409 && options.idempotencyKey !== undefined && /Idempotency-Key/i.test(error?.message ?? '');
    if ((response.status === 429 || response.status === 503 || inFlight) && attempt < 6) {
      await sleep(250 * 2 ** attempt);
      continue;
    }
    if (response.status === 401) throw new SeedError('The API refused the admin key (401): check ADMIN_API_KEY or .data/admin-api-key.');
    if (!expected.includes(response.status)) {
      const detail = error
        ? `${error.code}: ${error.message}${error.details?.length ? ` ${JSON.stringify(error.details)}` : ''}`
        : text.slice(0, 300);
      throw new SeedError(`${method} ${path} -> ${response.status} ${detail}`);
    }
    return { status: response.status, body: body as T };
  }
}

/** Every item of a list, following cursors. */
async function listAll(collection: string, query: Record<string, string> = {}): Promise<Json[]> {
  const items: Json[] = [];
  let cursor: string | null = null;
  do {
    const params: URLSearchParams = new URLSearchParams({ ...query, limit: '500', ...(cursor ? { cursor } : {}) });
    const page: ApiResult<Page> = await api<Page>('GET', `/${collection}?${params}`);
    items.push(...page.body.items);
    cursor = page.body.next_cursor;
  } while (cursor);
  return items;
}

// ---------------------------------------------------------------- find-or-create

type Outcome = 'created' | 'existing';
const stats = new Map<string, { created: number; existing: number }>();
const tagStats = { changed: 0, unchanged: 0 };

function count(collection: string, outcome: Outcome) {
  const entry = stats.get(collection) ?? { created: 0, existing: 0 };
  entry[outcome]++;
  stats.set(collection, entry);
}

/**
 * Returns the object `find` locates, or creates it. A 409 (someone created it meanwhile, or a case variant of the
 * name exists) falls back to `find`. The Idempotency-Key is per run and object, so a retried POST in this run
 * replays instead of duplicating, while a later run (which found nothing) really creates again.
 */
async function ensure(collection: string, logicalKey: string, find: () => Promise<Json | undefined>, body: Json): Promise<Json> {
  const found = await find();
  if (found) {
    count(collection, 'existing');
    return found;
  }
  const idempotencyKey = `seed-demo:${RUN_ID}:${collection}:${logicalKey}`;
  for (let attempt = 0; ; attempt++) {
    const created = await api('POST', `/${collection}`, { body, idempotencyKey, expect: [201, 409] });
    if (created.status === 201) {
      count(collection, 'created');
      return created.body;
    }
    // 409: the object exists (unique value taken), or a parent was busy with another write ("retry").
    const again = await find();
    if (again) {
      count(collection, 'existing');
      return again;
    }
    if (attempt >= 5) throw new SeedError(`POST /${collection} (${logicalKey}) -> 409 ${errorOf(created.body)?.message ?? ''}`);
    await sleep(100 * 2 ** attempt + Math.random() * 100);
  }
}

const first = (items: Json[]) => items[0];
const sameText = (a: unknown, b: string) => String(a ?? '').toLowerCase() === b.toLowerCase();

/** Adds the tags to an object's tag set (PUT replaces, so the set sent is the union with what it already has). */
async function ensureTags(collection: string, object: Json, tagNames: readonly string[], tags: Map<string, Json>) {
  if (tagNames.length === 0) return;
  const current = Array.isArray(object.tag_ids) ? (object.tag_ids as string[]) : [];
  const wanted = tagNames.map((name) => {
    const tag = tags.get(name.toLowerCase());
    if (!tag) throw new SeedError(`Unknown tag ${name}`);
    return String(tag.id);
  });
  if (wanted.every((id) => current.includes(id))) {
    tagStats.unchanged++;
    return;
  }
  await api('PUT', `/${collection}/${object.id}/tags`, { body: { tag_ids: [...new Set([...current, ...wanted])] } });
  tagStats.changed++;
}

/** Runs `work` over `items` with at most `limit` in flight (keeps the demo quick without hammering the API). */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index] as T, index);
    }
  });
  await Promise.all(workers);
}

// ---------------------------------------------------------------- the demo estate

const TAGS = [
  { name: 'production', color: '#2e7d32', description: 'Serves production workloads' },
  { name: 'backup', color: '#1565c0', description: 'Backup infrastructure or backup targets' },
  { name: 'GPU', color: '#6a1b9a', description: 'Has GPU accelerators' },
  { name: 'staging', color: '#f9a825', description: 'Pre-production and test workloads' },
  { name: 'critical', color: '#c62828', description: 'Business critical: page the on-call engineer' },
] as const;

interface ServerModel {
  vendor: string;
  model: string;
  cpu_model: string;
  cpu_sockets: number;
  cores_per_socket: number;
  cpu_mhz: number;
  memory_gib: number;
  serial: (n: number) => string;
}

const MODELS: Record<string, ServerModel> = {
  r750: {
    vendor: 'Dell Inc.',
    model: 'PowerEdge R750',
    cpu_model: 'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz',
    cpu_sockets: 2,
    cores_per_socket: 32,
    cpu_mhz: 2000,
    memory_gib: 512,
    serial: (n) => `7XK${n}M93`,
  },
  r650: {
    vendor: 'Dell Inc.',
    model: 'PowerEdge R650',
    cpu_model: 'Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz',
    cpu_sockets: 2,
    cores_per_socket: 16,
    cpu_mhz: 2400,
    memory_gib: 256,
    serial: (n) => `4HQ${n}R72`,
  },
  r7525: {
    vendor: 'Dell Inc.',
    model: 'PowerEdge R7525',
    cpu_model: 'AMD EPYC 7763 64-Core Processor',
    cpu_sockets: 2,
    cores_per_socket: 64,
    cpu_mhz: 2450,
    memory_gib: 1024,
    serial: (n) => `9FZ${n}T41`,
  },
  dl380: {
    vendor: 'HPE',
    model: 'ProLiant DL380 Gen10 Plus',
    cpu_model: 'Intel(R) Xeon(R) Gold 6330 CPU @ 2.00GHz',
    cpu_sockets: 2,
    cores_per_socket: 28,
    cpu_mhz: 2000,
    memory_gib: 384,
    serial: (n) => `CZJ21${n}0K7P`,
  },
  dl360: {
    vendor: 'HPE',
    model: 'ProLiant DL360 Gen10',
    cpu_model: 'Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz',
    cpu_sockets: 2,
    cores_per_socket: 24,
    cpu_mhz: 3000,
    memory_gib: 384,
    serial: (n) => `MXQ93${n}04LD`,
  },
  sr650: {
    vendor: 'Lenovo',
    model: 'ThinkSystem SR650 V2',
    cpu_model: 'Intel(R) Xeon(R) Gold 5318Y CPU @ 2.10GHz',
    cpu_sockets: 2,
    cores_per_socket: 24,
    cpu_mhz: 2100,
    memory_gib: 512,
    serial: (n) => `J30A${n}B7C`,
  },
  sr665: {
    vendor: 'Lenovo',
    model: 'ThinkSystem SR665',
    cpu_model: 'AMD EPYC 7543 32-Core Processor',
    cpu_sockets: 2,
    cores_per_socket: 32,
    cpu_mhz: 2800,
    memory_gib: 1024,
    serial: (n) => `J90B${n}K2F`,
  },
};

interface VmSpec {
  name: string;
  os: string;
  cpu: number;
  memory_gib: number;
  disk_gib: number;
  power: 'powered_on' | 'powered_off' | 'suspended';
  tags: string[];
  vlan?: number;
  owner?: string;
}

interface ServerSpec {
  n: number;
  model: keyof typeof MODELS;
  status?: 'active' | 'maintenance';
  tags: string[];
  notes?: string;
  vms: VmSpec[];
}

interface StorageSpec {
  name: string;
  type: 'san' | 'nas';
  vendor: string;
  model: string;
  total_tib: number;
  used_tib: number;
  tags: string[];
  notes?: string;
}

interface DatacenterSpec {
  name: string;
  code: string;
  /** Second octet of the datacenter's 10.x address plan. */
  net: number;
  location: string;
  description: string;
  servers: ServerSpec[];
  storage: StorageSpec[];
}

const ON = 'powered_on';
const OFF = 'powered_off';
const SUSPENDED = 'suspended';

/** A VM: name, guest OS, vCPUs, memory GiB, disk GiB, power state, tags, owner, and its VLAN if it has a NIC. */
function vm(
  name: string,
  os: string,
  cpu: number,
  memory_gib: number,
  disk_gib: number,
  power: VmSpec['power'],
  tags: string[],
  owner: string,
  vlan?: number,
): VmSpec {
  return { name, os, cpu, memory_gib, disk_gib, power, tags, owner, ...(vlan !== undefined ? { vlan } : {}) };
}

const W22 = 'Microsoft Windows Server 2022 (64-bit)';
const W19 = 'Microsoft Windows Server 2019 (64-bit)';
const RHEL9 = 'Red Hat Enterprise Linux 9 (64-bit)';
const RHEL8 = 'Red Hat Enterprise Linux 8 (64-bit)';
const UBU22 = 'Ubuntu Linux 22.04 LTS (64-bit)';
const DEB12 = 'Debian GNU/Linux 12 (64-bit)';
const ROCKY9 = 'Rocky Linux 9 (64-bit)';
const PHOTON = 'VMware Photon OS (64-bit)';

const DATACENTERS: DatacenterSpec[] = [
  {
    name: 'Tunis',
    code: 'tun',
    net: 10,
    location: 'Tunis, Les Berges du Lac, Tunisia',
    description: 'Primary datacenter: production, ERP and corporate services.',
    servers: [
      {
        n: 1,
        model: 'r750',
        tags: ['production', 'critical'],
        vms: [
          vm('tun-vcsa-01', PHOTON, 4, 19, 579, ON, ['production', 'critical'], 'infra', 10),
          vm('tun-ad-dc01', W22, 4, 8, 100, ON, ['production', 'critical'], 'infra', 100),
          vm('tun-sql-prod01', W22, 16, 128, 2048, ON, ['production', 'critical'], 'dba', 110),
        ],
      },
      {
        n: 2,
        model: 'r750',
        tags: ['production'],
        vms: [
          vm('tun-ad-dc02', W22, 4, 8, 100, ON, ['production', 'critical'], 'infra', 100),
          vm('tun-erp-app01', RHEL9, 8, 64, 500, ON, ['production'], 'erp', 110),
          vm('tun-erp-app02', RHEL9, 8, 64, 500, ON, ['production'], 'erp', 110),
          vm('tun-web-01', UBU22, 4, 16, 80, ON, ['production'], 'web', 120),
        ],
      },
      {
        n: 3,
        model: 'dl380',
        tags: ['production'],
        vms: [
          vm('tun-exch-01', W19, 8, 64, 1024, ON, ['production', 'critical'], 'messaging', 100),
          vm('tun-k8s-master-01', UBU22, 4, 16, 120, ON, ['production'], 'platform', 130),
          vm('tun-k8s-worker-01', UBU22, 16, 64, 200, ON, ['production'], 'platform', 130),
        ],
      },
      {
        n: 4,
        model: 'r7525',
        tags: ['production', 'GPU'],
        notes: '2x NVIDIA A100 80GB PCIe, vGPU profiles grid_a100-40c.',
        vms: [
          vm('tun-ml-train-01', UBU22, 32, 256, 2048, ON, ['production', 'GPU'], 'data-science', 140),
          vm('tun-ml-infer-01', UBU22, 16, 128, 500, SUSPENDED, ['GPU', 'staging'], 'data-science', 140),
        ],
      },
      {
        n: 5,
        model: 'sr650',
        status: 'maintenance',
        tags: ['staging'],
        notes: 'DIMM B4 replaced, memory test in progress.',
        vms: [
          vm('tun-web-stg01', UBU22, 2, 8, 60, OFF, ['staging'], 'web'),
          vm('tun-erp-stg01', RHEL9, 4, 32, 250, OFF, ['staging'], 'erp'),
          vm('tun-veeam-proxy01', W22, 8, 16, 100, OFF, ['backup'], 'backup'),
        ],
      },
    ],
    storage: [
      {
        name: 'TUN-SAN-01',
        type: 'san',
        vendor: 'Dell',
        model: 'PowerStore 3200T',
        total_tib: 200,
        used_tib: 131.5,
        tags: ['production', 'critical'],
        notes: 'FC 32G, dual fabric',
      },
      { name: 'TUN-SAN-02', type: 'san', vendor: 'HPE', model: 'Primera A630', total_tib: 120, used_tib: 64, tags: ['production'] },
      {
        name: 'TUN-NAS-01',
        type: 'nas',
        vendor: 'NetApp',
        model: 'FAS2750',
        total_tib: 360,
        used_tib: 212,
        tags: ['backup'],
        notes: 'Veeam repository, NFS 4.1',
      },
    ],
  },
  {
    name: 'Sousse',
    code: 'sou',
    net: 20,
    location: 'Sousse, Technopole de Sousse, Tunisia',
    description: 'Secondary datacenter: disaster recovery and staging.',
    servers: [
      {
        n: 1,
        model: 'dl380',
        tags: ['production'],
        vms: [
          vm('sou-ad-dc01', W22, 4, 8, 100, ON, ['production', 'critical'], 'infra', 100),
          vm('sou-sql-dr01', W22, 16, 128, 2048, ON, ['production', 'backup'], 'dba', 110),
          vm('sou-vcsa-01', PHOTON, 4, 19, 579, ON, ['production'], 'infra', 10),
        ],
      },
      {
        n: 2,
        model: 'dl360',
        tags: ['staging'],
        vms: [
          vm('sou-app-stg01', RHEL8, 4, 16, 120, ON, ['staging'], 'erp', 210),
          vm('sou-app-stg02', RHEL8, 4, 16, 120, OFF, ['staging'], 'erp'),
          vm('sou-jenkins-01', DEB12, 8, 32, 500, ON, ['staging'], 'devops', 210),
        ],
      },
      {
        n: 3,
        model: 'sr650',
        tags: ['backup'],
        vms: [
          vm('sou-veeam-01', W22, 8, 32, 200, ON, ['backup', 'critical'], 'backup', 200),
          vm('sou-veeam-proxy01', W22, 8, 16, 100, ON, ['backup'], 'backup', 200),
        ],
      },
      {
        n: 4,
        model: 'r650',
        tags: ['staging'],
        vms: [
          vm('sou-k8s-stg-01', UBU22, 8, 32, 200, ON, ['staging'], 'platform', 230),
          vm('sou-gitlab-runner01', UBU22, 8, 16, 150, OFF, ['staging'], 'devops'),
        ],
      },
    ],
    storage: [
      {
        name: 'SOU-SAN-01',
        type: 'san',
        vendor: 'HPE',
        model: 'Alletra 6030',
        total_tib: 150,
        used_tib: 88,
        tags: ['production'],
        notes: 'Replication target of TUN-SAN-01',
      },
      { name: 'SOU-NAS-01', type: 'nas', vendor: 'Synology', model: 'RS3621xs+', total_tib: 180, used_tib: 97.25, tags: ['backup'] },
    ],
  },
  {
    name: 'Sfax',
    code: 'sfx',
    net: 30,
    location: 'Sfax, Route de Tunis km 4, Tunisia',
    description: 'Regional datacenter: southern branches, analytics and GPU workloads.',
    servers: [
      {
        n: 1,
        model: 'sr650',
        tags: ['production'],
        vms: [
          vm('sfx-ad-dc01', W22, 2, 8, 100, ON, ['production', 'critical'], 'infra', 100),
          vm('sfx-file-01', W19, 4, 16, 4096, ON, ['production'], 'infra', 100),
          vm('sfx-zabbix-01', ROCKY9, 4, 16, 250, ON, ['production'], 'monitoring', 10),
        ],
      },
      {
        n: 2,
        model: 'sr665',
        tags: ['production', 'GPU'],
        notes: '4x NVIDIA L40S 48GB.',
        vms: [
          vm('sfx-bi-01', W22, 16, 128, 1024, ON, ['production'], 'analytics', 150),
          vm('sfx-ml-01', UBU22, 32, 256, 2048, ON, ['GPU', 'production'], 'data-science', 150),
        ],
      },
      {
        n: 3,
        model: 'dl360',
        tags: ['staging'],
        vms: [
          vm('sfx-web-stg01', DEB12, 2, 4, 40, OFF, ['staging'], 'web'),
          vm('sfx-db-stg01', RHEL9, 4, 32, 300, ON, ['staging'], 'dba', 310),
        ],
      },
      {
        n: 4,
        model: 'r650',
        tags: ['backup'],
        vms: [vm('sfx-veeam-proxy01', W22, 4, 16, 100, ON, ['backup'], 'backup', 200)],
      },
    ],
    storage: [
      {
        name: 'SFX-SAN-01',
        type: 'san',
        vendor: 'Pure Storage',
        model: 'FlashArray//X20',
        total_tib: 90,
        used_tib: 41,
        tags: ['production', 'critical'],
      },
      { name: 'SFX-NAS-01', type: 'nas', vendor: 'HPE', model: 'StoreEasy 1660', total_tib: 96, used_tib: 60.5, tags: ['backup'] },
    ],
  },
];

const hex2 = (value: number) => (value & 0xff).toString(16).padStart(2, '0');
/** VMware OUI 00:50:56, then datacenter, server and NIC numbers: stable across runs. */
const vmMac = (net: number, server: number, vm: number) => `00:50:56:${hex2(net)}:${hex2(server)}:${hex2(vm)}`;
/** Physical NIC MACs (Broadcom/Intel style OUI), stable across runs. */
const hostMac = (net: number, server: number, nic: number) => `b4:96:91:${hex2(net)}:${hex2(server)}:${hex2(nic)}`;

// ---------------------------------------------------------------- seeding

async function seedTags(): Promise<Map<string, Json>> {
  const byName = new Map<string, Json>();
  for (const tag of TAGS) {
    const record = await ensure(
      'tags',
      tag.name.toLowerCase(),
      async () => {
        const exact = first((await api<Page>('GET', `/tags?${new URLSearchParams({ name: tag.name })}`)).body.items);
        return exact ?? (await listAll('tags')).find((item) => sameText(item.name, tag.name));
      },
      { ...tag },
    );
    byName.set(tag.name.toLowerCase(), record);
  }
  return byName;
}

async function seedDatacenter(spec: DatacenterSpec, tags: Map<string, Json>) {
  const datacenter = await ensure(
    'datacenters',
    spec.code,
    async () => {
      const exact = first((await api<Page>('GET', `/datacenters?${new URLSearchParams({ name: spec.name })}`)).body.items);
      return exact ?? (await listAll('datacenters')).find((item) => sameText(item.name, spec.name));
    },
    {
      name: spec.name,
      location: spec.location,
      timezone: 'Africa/Tunis',
      vcenter_url: `https://vcenter-${spec.code}.dc.local`,
      description: spec.description,
    },
  );
  const dcId = String(datacenter.id);
  // One listing per collection up front, so lookups are cheap and a re-run costs a handful of requests.
  const [servers, vms, bays] = await Promise.all([
    listAll('servers', { datacenter_id: dcId }),
    listAll('vms', { datacenter_id: dcId }),
    listAll('storage-bays', { datacenter_id: dcId }),
  ]);
  let vmCount = 0;
  let nicCount = 0;

  await inParallel(spec.servers, 3, async (serverSpec) => {
    const model = MODELS[serverSpec.model] as ServerModel;
    const number = String(serverSpec.n).padStart(2, '0');
    const hostname = `esx-${spec.code}-${number}.dc.local`;
    const server = await ensure(
      'servers',
      `${spec.code}:${hostname}`,
      async () =>
        servers.find((item) => sameText(item.hostname, hostname)) ??
        first((await api<Page>('GET', `/servers?${new URLSearchParams({ datacenter_id: dcId, hostname })}`)).body.items),
      {
        datacenter_id: dcId,
        hostname,
        status: serverSpec.status ?? 'active',
        vendor: model.vendor,
        model: model.model,
        serial_number: model.serial(spec.net + serverSpec.n),
        cpu_model: model.cpu_model,
        cpu_sockets: model.cpu_sockets,
        cpu_cores: model.cpu_sockets * model.cores_per_socket,
        cpu_threads: model.cpu_sockets * model.cores_per_socket * 2,
        cpu_mhz: model.cpu_mhz,
        memory_bytes: model.memory_gib * GiB,
        management_ip: `10.${spec.net}.0.${10 + serverSpec.n}`,
        rack_location: `Row ${serverSpec.n <= 3 ? 'A' : 'B'} / Rack ${String(serverSpec.n).padStart(2, '0')} / U${10 + 2 * serverSpec.n}`,
        owner: 'infra',
        ...(serverSpec.notes ? { notes: serverSpec.notes } : {}),
      },
    );
    const serverId = String(server.id);
    await ensureTags('servers', server, serverSpec.tags, tags);

    // Host NICs: management and vMotion on every host.
    const hostNics = await listAll('network-configurations', { server_id: serverId });
    const nicPlan = [
      { interface_name: 'vmnic0', vlan_id: 10, portgroup: 'Management Network', ip: `10.${spec.net}.10.${10 + serverSpec.n}` },
      { interface_name: 'vmnic1', vlan_id: 20, portgroup: 'vMotion', ip: `10.${spec.net}.20.${10 + serverSpec.n}` },
    ];
    for (const [position, nic] of nicPlan.entries()) {
      await ensure(
        'network-configurations',
        `${serverId}:${nic.interface_name}`,
        async () => hostNics.find((item) => item.interface_name === nic.interface_name),
        {
          server_id: serverId,
          interface_name: nic.interface_name,
          mac_address: hostMac(spec.net, serverSpec.n, position),
          ip_addresses: [nic.ip],
          vlan_id: nic.vlan_id,
          portgroup: nic.portgroup,
          connected: true,
        },
      );
      nicCount++;
    }

    for (const [position, vmSpec] of serverSpec.vms.entries()) {
      const vm = await ensure(
        'vms',
        `${spec.code}:${vmSpec.name}`,
        async () =>
          vms.find((item) => item.name === vmSpec.name) ??
          first((await api<Page>('GET', `/vms?${new URLSearchParams({ datacenter_id: dcId, name: vmSpec.name })}`)).body.items),
        {
          datacenter_id: dcId,
          server_id: serverId,
          name: vmSpec.name,
          os: vmSpec.os,
          cpu_count: vmSpec.cpu,
          memory_bytes: vmSpec.memory_gib * GiB,
          storage_bytes: vmSpec.disk_gib * GiB,
          power_state: vmSpec.power,
          status: vmSpec.power === 'powered_off' ? 'offline' : 'active',
          ...(vmSpec.owner ? { owner: vmSpec.owner } : {}),
        },
      );
      vmCount++;
      await ensureTags('vms', vm, vmSpec.tags, tags);
      // VM NICs for the VMs that sit on a VLAN.
      if (vmSpec.vlan !== undefined) {
        const vmId = String(vm.id);
        await ensure(
          'network-configurations',
          `${vmId}:nic1`,
          async () =>
            (await listAll('network-configurations', { vm_id: vmId })).find((item) => item.interface_name === 'Network adapter 1'),
          {
            vm_id: vmId,
            interface_name: 'Network adapter 1',
            mac_address: vmMac(spec.net, serverSpec.n, position + 1),
            ip_addresses:
              vmSpec.power === 'powered_off' ? [] : [`10.${spec.net}.${vmSpec.vlan % 256}.${20 + serverSpec.n * 10 + position}`],
            vlan_id: vmSpec.vlan,
            portgroup: `PG-${spec.code.toUpperCase()}-VLAN${vmSpec.vlan}`,
            connected: vmSpec.power === 'powered_on',
          },
        );
        nicCount++;
      }
    }
  });

  for (const baySpec of spec.storage) {
    const bay = await ensure(
      'storage-bays',
      `${spec.code}:${baySpec.name}`,
      async () =>
        bays.find((item) => sameText(item.name, baySpec.name)) ??
        first((await api<Page>('GET', `/storage-bays?${new URLSearchParams({ datacenter_id: dcId, name: baySpec.name })}`)).body.items),
      {
        datacenter_id: dcId,
        name: baySpec.name,
        type: baySpec.type,
        total_capacity_bytes: Math.round(baySpec.total_tib * TiB),
        used_capacity_bytes: Math.round(baySpec.used_tib * TiB),
        status: 'online',
        vendor: baySpec.vendor,
        model: baySpec.model,
        ...(baySpec.notes ? { notes: baySpec.notes } : {}),
      },
    );
    await ensureTags('storage-bays', bay, baySpec.tags, tags);
  }
  return { name: spec.name, id: dcId, servers: spec.servers.length, vms: vmCount, bays: spec.storage.length, nics: nicCount };
}

async function main() {
  const started = Date.now();
  KEY = adminKey();
  await api('GET', '/health');
  process.stdout.write(`Seeding demo data into ${API_BASE}\n`);
  const tags = await seedTags();
  const summaries = [];
  for (const spec of DATACENTERS) summaries.push(await seedDatacenter(spec, tags));

  process.stdout.write('\nDatacenters:\n');
  for (const summary of summaries) {
    process.stdout.write(
      `  ${summary.name.padEnd(7)} ${summary.id}  ${summary.servers} servers, ${summary.vms} VMs, ${summary.bays} storage bays, ${summary.nics} NICs\n`,
    );
  }
  process.stdout.write(`\n  ${'objects'.padEnd(24)} created  existing\n`);
  for (const collection of ['datacenters', 'tags', 'servers', 'vms', 'storage-bays', 'network-configurations']) {
    const entry = stats.get(collection) ?? { created: 0, existing: 0 };
    process.stdout.write(`  ${collection.padEnd(24)} ${String(entry.created).padStart(7)} ${String(entry.existing).padStart(9)}\n`);
  }
  process.stdout.write(`  tag sets: ${tagStats.changed} updated, ${tagStats.unchanged} already up to date\n`);
  process.stdout.write(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s, ${requestCount} requests.\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `seed:demo failed: ${error instanceof SeedError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
