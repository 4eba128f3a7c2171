/**
 * The metrics thresholds can watch. Each one says which kind of object it is measured on and how its value is read
 * from the stored record, so evaluation stays a loop over (threshold, object) pairs and a new metric is one entry.
 * Readers are pure: everything they need is on the record or in the per-datacenter facts.
 */
import type { EntityRecord } from '#shared/model/entity';

export const METRIC_ENTITY_TYPES = ['server', 'vm', 'storage_bay', 'datacenter'] as const;
export type MetricEntityType = (typeof METRIC_ENTITY_TYPES)[number];

/** Facts about the datacenter that are not stored on the measured record itself. */
export interface MetricFacts {
  /** The datacenter's vSphere connection `last_sync_status` (null: no connection or never synced). */
  readonly last_sync_status: string | null;
}

export interface MetricDefinition {
  readonly name: MetricName;
  readonly entity_type: MetricEntityType;
  /** Human label for alert messages: "host memory usage". */
  readonly label: string;
  /** Unit shown after values ('%'), empty for 0/1 conditions. */
  readonly unit: string;
  /** The value, or null when the object does not report it (no data: evaluation keeps the previous state). */
  readonly read: (record: EntityRecord, facts: MetricFacts) => number | null;
}

const numberOrNull = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

export const METRIC_NAMES = [
  'host_cpu_usage_pct',
  'host_memory_usage_pct',
  'host_disconnected',
  'vm_cpu_usage_pct',
  'vm_memory_usage_pct',
  'storage_used_pct',
  'sync_failed',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export const METRICS: readonly MetricDefinition[] = [
  {
    name: 'host_cpu_usage_pct',
    entity_type: 'server',
    label: 'host CPU usage',
    unit: '%',
    read: (record) => numberOrNull(record.cpu_usage_pct),
  },
  {
    name: 'host_memory_usage_pct',
    entity_type: 'server',
    label: 'host memory usage',
    unit: '%',
    read: (record) => numberOrNull(record.memory_usage_pct),
  },
  {
    name: 'host_disconnected',
    entity_type: 'server',
    label: 'host disconnected',
    unit: '',
    // A server never synced from vCenter has no connection state: no data rather than "disconnected".
    read: (record) => (typeof record.connection_state === 'string' ? (record.connection_state === 'connected' ? 0 : 1) : null),
  },
  {
    name: 'vm_cpu_usage_pct',
    entity_type: 'vm',
    label: 'VM CPU usage',
    unit: '%',
    read: (record) => numberOrNull(record.cpu_usage_pct),
  },
  {
    name: 'vm_memory_usage_pct',
    entity_type: 'vm',
    label: 'VM memory usage',
    unit: '%',
    read: (record) => numberOrNull(record.memory_usage_pct),
  },
  {
    name: 'storage_used_pct',
    entity_type: 'storage_bay',
    label: 'storage used',
    unit: '%',
    read: (record) => {
      const total = numberOrNull(record.total_capacity_bytes);
      const used = numberOrNull(record.used_capacity_bytes);
      if (total === null || used === null || total <= 0) return null;
      return Math.round((used / total) * 1000) / 10;
    },
  },
  {
    name: 'sync_failed',
    entity_type: 'datacenter',
    label: 'sync failed',
    unit: '',
    // No connection or no finished sync yet: no data, not "ok" (keeps a firing alert until a sync actually succeeds).
    read: (_record, facts) => (facts.last_sync_status === null ? null : facts.last_sync_status === 'failed' ? 1 : 0),
  },
];

const byName = new Map(METRICS.map((metric) => [metric.name, metric]));

export function metricOf(name: string): MetricDefinition | undefined {
  return byName.get(name as MetricName);
}

/** Display name of an object in alert messages. */
export function entityName(type: MetricEntityType, record: EntityRecord): string {
  const name = type === 'server' ? record.hostname : record.name;
  return typeof name === 'string' ? name : record.id;
}
