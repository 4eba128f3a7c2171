/** Routes of monitoring configuration: per-datacenter configurations, thresholds and (for now) maintenance windows. */
import { monitoringConfigurationEntity } from '#shared/domains/monitoring/configuration';
import { monitoringThresholdEntity } from '#shared/domains/monitoring/threshold';
import { crudRoutes } from '#shared/http/crud';
import type { RouteDefinition } from '#shared/http/route';

const alerting = { domain: 'monitoring', read: { scope: 'alerts:read' }, write: { scope: 'alerts:write' } } as const;

export const monitoringConfigRoutes: RouteDefinition[] = [
  ...crudRoutes(monitoringConfigurationEntity, alerting),
  ...crudRoutes(monitoringThresholdEntity, alerting),
];
