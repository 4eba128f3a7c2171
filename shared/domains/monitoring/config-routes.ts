/** Routes of monitoring configuration: per-datacenter configurations, thresholds and (for now) maintenance windows. */
import { monitoringConfigurationEntity } from '#shared/domains/monitoring/configuration';
import { monitoringThresholdEntity } from '#shared/domains/monitoring/threshold';
import { maintenanceWindowEntity } from '#shared/domains/operations/maintenance-window';
import { maintenanceWindowQueryRoutes } from '#shared/domains/operations/window-routes';
import { crudRoutes } from '#shared/http/crud';
import type { RouteDefinition } from '#shared/http/route';

const alerting = { domain: 'monitoring', read: { scope: 'alerts:read' }, write: { scope: 'alerts:write' } } as const;

export const monitoringConfigRoutes: RouteDefinition[] = [
  ...crudRoutes(monitoringConfigurationEntity, alerting),
  ...crudRoutes(monitoringThresholdEntity, alerting),
  // Maintenance is an operations concern (its scopes), served by the monitoring function until operations has one.
  ...crudRoutes(maintenanceWindowEntity, {
    domain: 'monitoring',
    read: { scope: 'operations:read' },
    write: { scope: 'operations:write' },
  }),
  ...maintenanceWindowQueryRoutes,
];
