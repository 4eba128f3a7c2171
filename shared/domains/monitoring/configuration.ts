/**
 * Per datacenter: which metrics are watched and how often the scheduled evaluation runs (time-based rules, such as
 * `for` durations, must elapse without waiting for the next sync). A datacenter without a configuration watches
 * every metric on the default interval; `enabled: false` stops its evaluation (stored states are kept).
 */
import { z } from 'zod';
import { childSortKey } from '#shared/db/keys';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import { METRIC_NAMES } from '#shared/domains/monitoring/metrics';
import { defineEntity, type EntityDefinition } from '#shared/model/entity';
import { uuid } from '#shared/model/fields';

export const DEFAULT_EVALUATION_INTERVAL_MINUTES = 5;

export const monitoringConfigurationEntity: EntityDefinition = defineEntity({
  type: 'monitoring_configuration',
  collection: 'monitoring-configurations',
  schemaName: 'MonitoringConfiguration',
  fields: z.object({
    datacenter_id: uuid(),
    metrics: z
      .array(z.enum(METRIC_NAMES))
      .min(1)
      .max(METRIC_NAMES.length)
      .refine((list) => new Set(list).size === list.length, { message: 'must not repeat a metric' })
      .default([...METRIC_NAMES]),
    evaluation_interval_minutes: z.number().int().min(1).max(1440).default(DEFAULT_EVALUATION_INTERVAL_MINUTES),
    enabled: z.boolean().default(true),
  }),
  immutable: ['datacenter_id'],
  unique: [{ field: 'datacenter_id', value: (record) => String(record.datacenter_id) }],
  references: [{ field: 'datacenter_id', target: () => datacenterEntity }],
  indexKeys: (record) => ({
    byDatacenter: { pk: `DATACENTER#${record.datacenter_id}`, sk: childSortKey(monitoringConfigurationEntity, record.id) },
  }),
  listAccess: [{ param: 'datacenter_id', index: 'byDatacenter', partition: (value) => `DATACENTER#${value}` }],
  filters: z.object({ datacenter_id: uuid().optional() }),
  datacenterOf: (record) => record.datacenter_id as string,
});
