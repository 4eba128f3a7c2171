/**
 * Routes of the operations domain: maintenance windows (and the questions monitoring and people ask of them) and
 * maintenance procedures.
 */
import { backupRoutes } from '#shared/domains/operations/backup-routes';
import { maintenanceWindowEntity } from '#shared/domains/operations/maintenance-window';
import { maintenanceProcedureRoutes } from '#shared/domains/operations/procedure-routes';
import { securityPolicyRoutes } from '#shared/domains/operations/security-routes';
import { maintenanceWindowQueryRoutes } from '#shared/domains/operations/window-routes';
import { crudRoutes } from '#shared/http/crud';
import type { RouteDefinition } from '#shared/http/route';

const operations = { domain: 'operations', read: { scope: 'operations:read' }, write: { scope: 'operations:write' } } as const;

export const operationsRoutes: RouteDefinition[] = [
  // The query routes first: /v1/maintenance-windows/active is a literal next to /{id}.
  ...maintenanceWindowQueryRoutes,
  ...crudRoutes(maintenanceWindowEntity, operations),
  ...maintenanceProcedureRoutes,
  ...securityPolicyRoutes,
  // Backup policies (coverage and restore-points before their /{id} routes) and backup jobs.
  ...backupRoutes,
];
