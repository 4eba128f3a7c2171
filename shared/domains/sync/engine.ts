/**
 * The sync of one datacenter from its vCenter: a handful of bulk reads, then a diff against what we store, then
 * only the changed records written (packed transactions, each object with its audit record).
 *
 * - Identity is `<vCenter instance UUID>/<moref>` (and a VM's instance UUID), so a rename or a vMotion updates the
 *   same record; a server or bay created by hand is adopted by host name / name.
 * - Fields people own (status, owner, notes, tags, rack location) are never written.
 * - An object gone from vCenter keeps its record with `missing_since`; nothing is marked missing unless the read
 *   was complete (no failure, no skipped record of that kind).
 * - One sync per datacenter: the caller holds the datacenter's lease, renewed while the run lasts.
 */
import { SYSTEM_SYNC } from '#shared/auth/principal';
import type { WriteContext } from '#shared/db/audit';
import { type BulkOperation, type BulkResult, canonicalJson, repo, stripStorage } from '#shared/db/repository';
import { networkConfigurationEntity } from '#shared/domains/inventory/network-configuration';
import { serverEntity } from '#shared/domains/inventory/server';
import { storageBayEntity } from '#shared/domains/inventory/storage-bay';
import { vmEntity } from '#shared/domains/inventory/vm';
import { evaluateAfterSync, trackMonitoring } from '#shared/domains/monitoring/evaluation';
import { evaluateSecurityPolicies } from '#shared/domains/operations/security-evaluation';
import { vsphereConnectionEntity } from '#shared/domains/sync/connection';
import { SYNCED_KINDS, type SyncCounts, syncHistoryEntity } from '#shared/domains/sync/history';
import { acquireLease, releaseLease, renewLease } from '#shared/domains/sync/lease';
import type { SyncJob } from '#shared/domains/sync/trigger';
import { clientFor, describeVcenterError } from '#shared/domains/sync/vcenter';
import type { EntityDefinition, EntityRecord } from '#shared/model/entity';
import { clock } from '#shared/model/ids';
import { describeError, log } from '#shared/log';
import { readInventory, type VsphereInventory } from '#shared/vsphere/inventory';
import type { NetworkConfigurationRecord, ServerRecord, StorageBayRecord, VmRecord } from '#shared/vsphere/mapping';

type Kind = (typeof SYNCED_KINDS)[number];
type Counts = Record<Kind, SyncCounts>;

interface SyncError {
  kind: string;
  ref: string | null;
  message: string;
}

export interface SyncOutcome {
  status: 'succeeded' | 'partial' | 'failed';
  counts: Counts;
  errors: SyncError[];
  stats: Record<string, number>;
}

const MAX_ERRORS = 100;
const LEASE_RENEW_MS = 60_000;

// ------------------------------------------------------------------ the desired state of each record, from vCenter

const round1 = (value: number | null) => (value === null ? null : Math.round(value * 10) / 10);

function serverFields(record: ServerRecord): Record<string, unknown> {
  return {
    hostname: record.hostname,
    vendor: record.vendor,
    model: record.model,
    serial_number: record.serial_number,
    cpu_model: record.cpu_model,
    cpu_sockets: record.cpu_sockets,
    cpu_cores: record.cpu_cores,
    cpu_threads: record.cpu_threads,
    cpu_mhz: record.cpu_mhz,
    memory_bytes: record.memory_bytes,
    source_key: record.source_key,
    vcenter_uuid: record.vcenter_uuid,
    moref: record.moref,
    vsphere_datacenter: record.vsphere_datacenter,
    hardware_uuid: record.hardware_uuid,
    esxi_version: record.esxi_version,
    esxi_build: record.esxi_build,
    esxi_full_name: record.esxi_full_name,
    connection_state: record.connection_state,
    power_state: record.power_state,
    in_maintenance_mode: record.in_maintenance_mode,
    cluster: record.cluster,
    cpu_usage_pct: round1(record.cpu_usage_percent),
    memory_usage_pct: round1(record.memory_usage_percent),
    missing_since: null,
  };
}

function vmFields(record: VmRecord, serverId: string | null): Record<string, unknown> {
  return {
    name: record.name,
    os: record.guest_os,
    cpu_count: record.cpu_count,
    memory_bytes: record.memory_bytes,
    storage_bytes: record.storage_bytes,
    power_state: record.power_state,
    server_id: serverId,
    source_key: record.source_key,
    vcenter_uuid: record.vcenter_uuid,
    moref: record.moref,
    vsphere_datacenter: record.vsphere_datacenter,
    instance_uuid: record.instance_uuid,
    bios_uuid: record.bios_uuid,
    guest_id: record.guest_id,
    disks: record.disks.map((disk) => ({
      label: disk.label,
      capacity_bytes: disk.capacity_bytes,
      datastore: disk.datastore_name,
      file_name: disk.file_name,
      thin_provisioned: disk.thin_provisioned,
    })),
    committed_bytes: record.committed_bytes,
    tools_status: record.tools_status,
    tools_running_status: record.tools_running_status,
    guest_hostname: record.guest_hostname,
    ip_addresses: record.ip_addresses,
    is_template: record.is_template,
    cpu_usage_pct: round1(record.cpu_usage_percent),
    memory_usage_pct: round1(record.memory_usage_percent),
    missing_since: null,
  };
}

function bayFields(record: StorageBayRecord): Record<string, unknown> {
  return {
    name: record.name,
    type: record.type,
    total_capacity_bytes: record.capacity_bytes,
    used_capacity_bytes: record.used_bytes,
    source_key: record.source_key,
    vcenter_uuid: record.vcenter_uuid,
    moref: record.moref,
    vsphere_datacenter: record.vsphere_datacenter,
    free_capacity_bytes: record.free_bytes,
    uncommitted_bytes: record.uncommitted_bytes,
    url: record.url,
    accessible: record.accessible,
    maintenance_mode: record.maintenance_mode,
    vsphere_type: record.raw_type,
    missing_since: null,
  };
}

function nicFields(record: NetworkConfigurationRecord): Record<string, unknown> {
  return {
    interface_name: record.interface_name,
    mac_address: record.mac_address,
    ip_addresses: record.ip_addresses,
    vlan_id: record.vlan_id,
    portgroup: record.portgroup,
    connected: record.connected,
    source_key: record.source_key,
    vcenter_uuid: record.vcenter_uuid,
    interface_kind: record.interface_kind,
    vlan_type: record.vlan_type,
    vlan_ranges: record.vlan_ranges,
    missing_since: null,
  };
}

/** Only the fields that differ; a null desired value equals an absent stored one. */
export function changedFields(current: Record<string, unknown>, desired: Record<string, unknown>): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(desired)) {
    const stored = current[field] ?? null;
    const wanted = value ?? null;
    // Key order of nested maps is not preserved by DynamoDB: compare canonically.
    if (canonicalJson(stored) !== canonicalJson(wanted)) changes[field] = wanted;
  }
  return changes;
}

// ------------------------------------------------------------------ the run

class Run {
  readonly counts: Counts = Object.fromEntries(
    SYNCED_KINDS.map((kind) => [kind, { created: 0, updated: 0, unchanged: 0, missing: 0 }]),
  ) as Counts;
  readonly errors: SyncError[] = [];
  readonly stats: Record<string, number> = { inventory_transactions: 0, inventory_items_written: 0 };
  readonly context: WriteContext;
  readonly now = clock.now().toISOString();

  constructor(
    readonly job: SyncJob,
    readonly datacenterId: string,
  ) {
    this.context = { principal: SYSTEM_SYNC, requestId: `sync:${job.sync_id}` };
  }

  error(kind: string, ref: string | null, message: string) {
    if (this.errors.length < MAX_ERRORS) this.errors.push({ kind, ref, message: message.slice(0, 500) });
  }

  /** Writes a phase's operations and counts them; returns the written records by id. */
  async write(kind: Kind, entity: EntityDefinition, operations: BulkOperation[]): Promise<Map<string, EntityRecord>> {
    const started = performance.now();
    // Objects of one parent together: their transactions share that parent's counter, other chunks run alongside.
    const parentOf = (operation: BulkOperation) => {
      const fields = operation.kind === 'create' ? operation.data : { ...operation.current, ...operation.changes };
      return String(fields.server_id ?? fields.vm_id ?? '');
    };
    const ordered = [...operations].sort((a, b) => parentOf(a).localeCompare(parentOf(b)));
    const result: BulkResult = await repo().bulkWrite(entity, ordered, this.context);
    this.stats[`${kind}_write_ms`] = Math.round(performance.now() - started);
    this.stats.inventory_transactions = (this.stats.inventory_transactions ?? 0) + result.transactions;
    this.stats.inventory_items_written = (this.stats.inventory_items_written ?? 0) + result.items;
    for (const failure of result.failed) {
      const ref = failure.operation.kind === 'create' ? String(failure.operation.data.source_key ?? '') : failure.operation.id;
      const message = failure.error instanceof Error ? failure.error.message : String(failure.error);
      this.error(`${kind}_write`, ref, message);
    }
    return new Map(result.written.map((record) => [record.id, record]));
  }
}

/** Plans creates, updates and missing-marks of one kind against the stored records. */
function planKind<R extends { source_key: string }>(
  run: Run,
  kind: Kind,
  stored: Record<string, unknown>[],
  records: readonly R[],
  options: {
    vcenterUuid: string;
    inScope: (item: EntityRecord) => boolean;
    desired: (record: R) => Record<string, unknown> | undefined;
    createExtras: (record: R) => Record<string, unknown> | undefined;
    adopt?: (record: R, unclaimed: EntityRecord[]) => EntityRecord | undefined;
    alsoMatch?: (record: R, byField: Map<string, Record<string, unknown>>) => Record<string, unknown> | undefined;
    complete: boolean;
    seenKeys: Set<string>;
  },
): BulkOperation[] {
  const bySourceKey = new Map<string, Record<string, unknown>>();
  const byInstance = new Map<string, Record<string, unknown>>();
  for (const item of stored) {
    if (typeof item.source_key === 'string') bySourceKey.set(item.source_key, item);
    if (typeof item.instance_uuid === 'string') byInstance.set(`${item.vcenter_uuid}/${item.instance_uuid}`, item);
  }
  const claimed = new Set<string>();
  const operations: BulkOperation[] = [];
  for (const record of records) {
    const desired = options.desired(record);
    if (!desired) continue;
    let current = bySourceKey.get(record.source_key) ?? options.alsoMatch?.(record, byInstance);
    if (!current && options.adopt) {
      const unclaimed = stored.filter((item) => item.source_key === undefined && !claimed.has(String(item.id))).map(stripStorage);
      const adopted = options.adopt(record, unclaimed);
      if (adopted) current = stored.find((item) => item.id === adopted.id);
    }
    if (current) {
      claimed.add(String(current.id));
      const changes = changedFields(stripStorage(current), desired);
      if (Object.keys(changes).length === 0) run.counts[kind].unchanged += 1;
      else {
        run.counts[kind].updated += 1;
        log.debug('sync change', { kind, id: current.id, fields: Object.keys(changes) });
        operations.push({ kind: 'update', id: String(current.id), current, changes });
      }
      continue;
    }
    const extras = options.createExtras(record);
    if (!extras) continue;
    run.counts[kind].created += 1;
    const data = { ...extras, ...desired };
    for (const [key, value] of Object.entries(data)) if (value === null) delete data[key];
    operations.push({ kind: 'create', data });
  }
  // Gone from vCenter: keep the record, say since when it is missing. Only after a complete read.
  if (options.complete) {
    for (const item of stored) {
      if (claimed.has(String(item.id)) || item.vcenter_uuid !== options.vcenterUuid) continue;
      if (typeof item.source_key !== 'string' || options.seenKeys.has(item.source_key)) continue;
      if (!options.inScope(stripStorage(item))) continue;
      if (typeof item.missing_since === 'string') continue;
      run.counts[kind].missing += 1;
      operations.push({ kind: 'update', id: String(item.id), current: item, changes: { missing_since: run.now } });
    }
  }
  return operations;
}

/** Why a delivered job does nothing: async invocations can arrive twice (Lambda retries after a timeout or crash). */
async function staleJob(job: SyncJob): Promise<string | undefined> {
  const history = await repo().get(syncHistoryEntity, job.sync_id);
  if (!history) return 'no such sync';
  if (history.status !== 'running') return `already ${String(history.status)}`;
  // The admitting request took the lease for this run; a retry after the lease lapsed must take it back first.
  if (!(await acquireLease(job.datacenter_id, job.sync_id))) return 'another sync of this datacenter holds the lease';
  return undefined;
}

export async function syncDatacenter(job: SyncJob): Promise<SyncOutcome> {
  const stale = await staleJob(job);
  if (stale) {
    log.warn('sync job skipped', { sync_id: job.sync_id, reason: stale });
    const counts = Object.fromEntries(SYNCED_KINDS.map((kind) => [kind, { created: 0, updated: 0, unchanged: 0, missing: 0 }])) as Counts;
    return { status: 'failed', counts, errors: [{ kind: 'skipped', ref: job.sync_id, message: stale }], stats: {} };
  }
  const run = new Run(job, job.datacenter_id);
  const started = Date.now();
  const renewal = setInterval(() => {
    renewLease(job.datacenter_id, job.sync_id).catch((error: unknown) => log.warn('lease renewal failed', describeError(error)));
  }, LEASE_RENEW_MS);
  renewal.unref();
  let outcome: SyncOutcome | undefined;
  let vcenter: VsphereInventory['vcenter'] | undefined;
  try {
    const connection = await repo().getOrThrow(vsphereConnectionEntity, job.connection_id);
    let inventory: VsphereInventory;
    try {
      const client = await clientFor(connection);
      inventory = await client.withSession((session) => readInventory(session));
      vcenter = inventory.vcenter;
      run.stats.vcenter_calls = inventory.stats.calls;
      run.stats.vcenter_pages = inventory.stats.pages;
      run.stats.vcenter_objects = inventory.stats.objects;
      run.stats.read_ms = Math.round(inventory.stats.durationMs);
    } catch (error) {
      const described = describeVcenterError(error);
      run.error(described.kind, null, described.message);
      outcome = { status: 'failed', counts: run.counts, errors: run.errors, stats: run.stats };
      return outcome;
    }
    outcome = await apply(run, connection, inventory);
    return outcome;
  } catch (error) {
    log.error('sync failed', { sync_id: job.sync_id, ...describeError(error) });
    run.error('internal', null, 'The sync failed unexpectedly.');
    outcome = { status: 'failed', counts: run.counts, errors: run.errors, stats: run.stats };
    return outcome;
  } finally {
    clearInterval(renewal);
    run.stats.duration_ms = Date.now() - started;
    // The lease goes first: whoever sees the finished history may start the next run at once.
    await releaseLease(job.datacenter_id, job.sync_id).catch(() => undefined);
    const settled = finish(run, outcome ?? { status: 'failed', counts: run.counts, errors: run.errors, stats: run.stats }, vcenter)
      .catch((error: unknown) => log.error('sync bookkeeping failed', { sync_id: job.sync_id, ...describeError(error) }))
      // Thresholds see the fresh inventory and last_sync_status (a failed sync feeds `sync_failed`). Tracked from
      // before `finish` so whoever sees the finished history can wait for monitoring; it never fails the sync.
      .then(() => evaluateAfterSync(job.datacenter_id, job.sync_id))
      // Security policies see the fresh inventory too; their failures are logged, never fail the sync.
      .then(() =>
        evaluateSecurityPolicies(job.datacenter_id).catch((error: unknown) =>
          log.error('security policy evaluation failed', { sync_id: job.sync_id, ...describeError(error) }),
        ),
      );
    trackMonitoring(job.datacenter_id, settled);
    await settled;
  }
}

async function apply(run: Run, connection: EntityRecord, inventory: VsphereInventory): Promise<SyncOutcome> {
  const datacenterId = run.datacenterId;
  const wanted = typeof connection.vsphere_datacenter === 'string' ? connection.vsphere_datacenter : undefined;
  if (wanted && !inventory.datacenters.some((datacenter) => datacenter.name === wanted)) {
    const found = inventory.datacenters.map((datacenter) => datacenter.name).join(', ') || 'none';
    run.error('configuration', wanted, `vCenter has no vSphere datacenter named "${wanted}" (it has: ${found}).`);
    return { status: 'failed', counts: run.counts, errors: run.errors, stats: run.stats };
  }
  const inScope = (record: { vsphere_datacenter?: unknown } | Record<string, unknown>) => !wanted || record.vsphere_datacenter === wanted;
  const vcenterUuid = inventory.vcenter.instanceUuid;

  const skippedByKind = new Map<string, Set<string>>();
  for (const skipped of inventory.skipped) {
    run.error(`${skipped.kind}_skipped`, skipped.moref, skipped.reason);
    const set = skippedByKind.get(skipped.kind) ?? new Set<string>();
    skippedByKind.set(skipped.kind, set);
    set.add(`${vcenterUuid}/${skipped.moref.split('/')[0]}`);
  }
  // A kind is complete when nothing of it was skipped: only then may its absent objects be marked missing.
  const completeFor = (kind: string) => !skippedByKind.has(kind);
  const seen = (records: readonly { source_key: string }[], kind: string) =>
    new Set([...records.map((record) => record.source_key), ...(skippedByKind.get(kind) ?? [])]);

  // 1. Servers (hosts).
  const servers = inventory.servers.filter(inScope);
  const storedServers = await repo().itemsOfDatacenter(serverEntity, datacenterId);
  const writtenServers = await run.write(
    'servers',
    serverEntity,
    planKind(run, 'servers', storedServers, servers, {
      vcenterUuid,
      inScope,
      desired: serverFields,
      createExtras: () => ({ datacenter_id: datacenterId, status: 'active' }),
      adopt: (record, unclaimed) => unclaimed.find((item) => String(item.hostname).toLowerCase() === record.hostname.toLowerCase()),
      complete: completeFor('server'),
      seenKeys: seen(inventory.servers, 'server'),
    }),
  );
  const serverIdBySource = new Map<string, string>();
  // What is stored now: what was there, overlaid with what this run wrote (no second read of the index).
  for (const item of [...storedServers, ...writtenServers.values()]) {
    if (typeof item.source_key === 'string') serverIdBySource.set(item.source_key, String(item.id));
  }

  // 2. Storage bays (datastores).
  const bays = inventory.storageBays.filter(inScope);
  const storedBays = await repo().itemsOfDatacenter(storageBayEntity, datacenterId);
  await run.write(
    'storage_bays',
    storageBayEntity,
    planKind(run, 'storage_bays', storedBays, bays, {
      vcenterUuid,
      inScope,
      desired: bayFields,
      createExtras: () => ({ datacenter_id: datacenterId, status: 'online' }),
      adopt: (record, unclaimed) => unclaimed.find((item) => String(item.name).toLowerCase() === record.name.toLowerCase()),
      complete: completeFor('storage_bay'),
      seenKeys: seen(inventory.storageBays, 'storage_bay'),
    }),
  );

  // 3. VMs, placed on their host's server record.
  const vms = inventory.vms.filter(inScope);
  const storedVms = await repo().itemsOfDatacenter(vmEntity, datacenterId);
  const writtenVms = await run.write(
    'vms',
    vmEntity,
    planKind(run, 'vms', storedVms, vms, {
      vcenterUuid,
      inScope,
      desired: (record) => vmFields(record, record.host_source_key ? (serverIdBySource.get(record.host_source_key) ?? null) : null),
      createExtras: () => ({ datacenter_id: datacenterId, status: 'active' }),
      // A VM re-registered in vCenter gets a new moref but keeps its instance UUID.
      alsoMatch: (record, byInstance) => byInstance.get(`${record.vcenter_uuid}/${record.instance_uuid}`),
      complete: completeFor('vm'),
      seenKeys: seen(inventory.vms, 'vm'),
    }),
  );
  const vmIdBySource = new Map<string, string>();
  for (const item of [...storedVms, ...writtenVms.values()]) {
    if (typeof item.source_key === 'string') vmIdBySource.set(item.source_key, String(item.id));
  }

  // 4. NICs of hosts and VMs (their owners now exist).
  const nics = inventory.networkConfigurations.filter(inScope);
  const storedNics = await repo().itemsOfDatacenter(networkConfigurationEntity, datacenterId);
  await run.write(
    'network_configurations',
    networkConfigurationEntity,
    planKind(run, 'network_configurations', storedNics, nics, {
      vcenterUuid,
      inScope: () => true,
      desired: nicFields,
      createExtras: (record) => {
        const ownerId = (record.owner_kind === 'server' ? serverIdBySource : vmIdBySource).get(record.owner_source_key);
        if (!ownerId) return undefined; // its owner was skipped or failed; reported there
        return { [record.owner_kind === 'server' ? 'server_id' : 'vm_id']: ownerId, datacenter_id: datacenterId };
      },
      complete: completeFor('network_configuration') && completeFor('vm') && completeFor('server'),
      seenKeys: seen(inventory.networkConfigurations, 'network_configuration'),
    }),
  );

  const status = run.errors.length > 0 ? 'partial' : 'succeeded';
  return { status, counts: run.counts, errors: run.errors, stats: run.stats };
}

async function finish(run: Run, outcome: SyncOutcome, vcenter: VsphereInventory['vcenter'] | undefined): Promise<void> {
  const finished = clock.now().toISOString();
  const bookkeeping = { ...run.context, bookkeeping: true };
  await repo().update(
    syncHistoryEntity,
    run.job.sync_id,
    () => ({
      status: outcome.status,
      finished_at: finished,
      duration_ms: run.stats.duration_ms ?? null,
      counts: outcome.counts,
      errors: outcome.errors,
      stats: outcome.stats,
      vcenter_version: vcenter?.version ?? null,
      vcenter_instance_uuid: vcenter?.instanceUuid ?? null,
    }),
    bookkeeping,
  );
  await repo().update(
    vsphereConnectionEntity,
    run.job.connection_id,
    () => ({ last_sync_id: run.job.sync_id, last_sync_at: finished, last_sync_status: outcome.status }),
    bookkeeping,
  );
}
