/** The route table: every route of the API, in one list (API Gateway, local server, OpenAPI, dispatchers). */
import { identityRoutes } from '#shared/domains/identity/routes';
import { inventoryRoutes } from '#shared/domains/inventory/routes';
import { platformRoutes } from '#shared/domains/platform/routes';
import { syncDomainRoutes } from '#shared/domains/sync/routes';
import { monitoringRoutes } from '#shared/domains/monitoring/routes';
import { operationsRoutes } from '#shared/domains/operations/routes';
import type { Domain, RouteDefinition } from '#shared/http/route';

export const allRoutes: RouteDefinition[] = [
  ...platformRoutes(() => allRoutes),
  ...inventoryRoutes,
  ...identityRoutes,
  ...syncDomainRoutes,
  ...monitoringRoutes,
  ...operationsRoutes,
];

export function routesOf(domain: Domain): RouteDefinition[] {
  return allRoutes.filter((route) => route.domain === domain);
}
