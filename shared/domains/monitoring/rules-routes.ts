/**
 * `/v1/alert-configurations`: the standard collection routes, plus a reconcile of the native SNS subscriptions
 * (email, SMS) after every successful create, update or delete.
 */
import { alertConfigurationEntity } from '#shared/domains/monitoring/alert-configuration';
import { reconcileAfterRuleChange } from '#shared/domains/monitoring/subscriptions';
import { crudRoutes } from '#shared/http/crud';
import type { RouteDefinition } from '#shared/http/route';

const WRITES = new Set(['create_alert_configuration', 'update_alert_configuration', 'delete_alert_configuration']);

export const alertRuleRoutes: RouteDefinition[] = crudRoutes(alertConfigurationEntity, {
  domain: 'monitoring',
  read: { scope: 'alerts:read' },
  write: { scope: 'alerts:write' },
}).map((route) =>
  WRITES.has(route.operationId)
    ? {
        ...route,
        handle: async (request) => {
          const response = await route.handle(request);
          const id = typeof request.params?.id === 'string' ? request.params.id : (response.body as { id?: string } | undefined)?.id;
          await reconcileAfterRuleChange(id ?? 'unknown');
          return response;
        },
      }
    : route,
);
