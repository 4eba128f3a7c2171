/**
 * A monitoring threshold: for one metric, the warning and critical limits, how long a breach must last before the
 * state changes (`for_minutes`) and how far back past a limit the value must go before it clears (`hysteresis`).
 * Narrowed optionally to a datacenter (null: every datacenter), an entity type and a tag.
 */
import { z } from 'zod';
import { childSortKey } from '#shared/db/keys';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import { METRIC_ENTITY_TYPES, METRIC_NAMES, metricOf } from '#shared/domains/monitoring/metrics';
import type { ErrorDetail } from '#shared/http/errors';
import { defineEntity, type EntityDefinition, type EntityRecord } from '#shared/model/entity';
import { text, uuid } from '#shared/model/fields';

export const COMPARISONS = ['gt', 'gte', 'lt', 'lte'] as const;
export type Comparison = (typeof COMPARISONS)[number];

export const COMPARISON_SYMBOLS: Record<Comparison, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };

const limit = () => z.number().min(-1e12).max(1e12);

export const monitoringThresholdEntity: EntityDefinition = defineEntity({
  type: 'monitoring_threshold',
  collection: 'monitoring-thresholds',
  schemaName: 'MonitoringThreshold',
  fields: z.object({
    name: text(255),
    metric: z.enum(METRIC_NAMES),
    comparison: z.enum(COMPARISONS),
    warning: limit().nullable().optional(),
    critical: limit().nullable().optional(),
    for_minutes: z.number().int().min(0).max(10_080).default(0).meta({ description: 'How long a change must hold before the state moves' }),
    hysteresis: z.number().min(0).max(1e12).default(0).meta({ description: "Margin (in the metric's unit) past a limit before it clears" }),
    datacenter_id: uuid().nullable().optional().meta({ description: 'Only this datacenter; every datacenter when null' }),
    entity_type: z.enum(METRIC_ENTITY_TYPES).nullable().optional().meta({ description: "Must be the metric's own entity type" }),
    tag: text(100).nullable().optional().meta({ description: 'Only objects carrying the tag of this name' }),
    enabled: z.boolean().default(true),
  }),
  // The stored per-object states belong to one metric: changing it would make them meaningless.
  immutable: ['metric'],
  references: [{ field: 'datacenter_id', target: () => datacenterEntity }],
  indexKeys: (record) =>
    typeof record.datacenter_id === 'string'
      ? { byDatacenter: { pk: `DATACENTER#${record.datacenter_id}`, sk: childSortKey(monitoringThresholdEntity, record.id) } }
      : {},
  listAccess: [{ param: 'datacenter_id', index: 'byDatacenter', partition: (value) => `DATACENTER#${value}` }],
  filters: z.object({
    datacenter_id: uuid().optional(),
    metric: z.enum(METRIC_NAMES).optional(),
    enabled: z
      .enum(['true', 'false'])
      .transform((value) => value === 'true')
      .optional(),
  }),
  datacenterOf: (record) => (typeof record.datacenter_id === 'string' ? record.datacenter_id : undefined),
  validate: validateThreshold,
});

function validateThreshold(record: EntityRecord): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const warning = typeof record.warning === 'number' ? record.warning : null;
  const critical = typeof record.critical === 'number' ? record.critical : null;
  if (warning === null && critical === null) details.push({ path: 'warning', message: 'give a warning or a critical limit (or both)' });
  if (warning !== null && critical !== null) {
    // Critical must be at least as far "in breach" as warning, else a value would be critical before it is a warning.
    const upward = record.comparison === 'gt' || record.comparison === 'gte';
    if (upward ? critical < warning : critical > warning) {
      details.push({
        path: 'critical',
        message: `must be ${upward ? 'at least' : 'at most'} the warning limit for comparison ${String(record.comparison)}`,
      });
    }
  }
  const metric = metricOf(String(record.metric));
  if (metric && typeof record.entity_type === 'string' && record.entity_type !== metric.entity_type) {
    details.push({ path: 'entity_type', message: `metric ${metric.name} is measured on ${metric.entity_type}` });
  }
  return details;
}

export interface ThresholdSpec {
  readonly comparison: Comparison;
  readonly warning: number | null;
  readonly critical: number | null;
  readonly for_minutes: number;
  readonly hysteresis: number;
}

/** The evaluation-relevant fields of a stored threshold. */
export function thresholdSpec(record: EntityRecord): ThresholdSpec {
  return {
    comparison: (COMPARISONS as readonly string[]).includes(String(record.comparison)) ? (record.comparison as Comparison) : 'gte',
    warning: typeof record.warning === 'number' ? record.warning : null,
    critical: typeof record.critical === 'number' ? record.critical : null,
    for_minutes: typeof record.for_minutes === 'number' ? record.for_minutes : 0,
    hysteresis: typeof record.hysteresis === 'number' ? record.hysteresis : 0,
  };
}
