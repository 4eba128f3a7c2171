/** Routes of the monitoring domain: alerts (external agents post them; people acknowledge and resolve them). */
import { z } from 'zod';
import type { Principal } from '#shared/auth/principal';
import { alertEntity } from '#shared/domains/monitoring/alert';
import { acknowledgeAlert, raiseAlert, resolveAlert } from '#shared/domains/monitoring/alerts';
import { monitoringConfigRoutes } from '#shared/domains/monitoring/config-routes';
import { alertRuleRoutes } from '#shared/domains/monitoring/rules-routes';
import { crudRoutes, errorResponses, idParams, objectResponse, readVisible } from '#shared/http/crud';
import { defineRoute, type RouteDefinition } from '#shared/http/route';
import { createSchema, resourceSchema } from '#shared/model/entity';

const alertItem = resourceSchema(alertEntity);

const alertRoutes: RouteDefinition[] = [
  ...crudRoutes(alertEntity, {
    domain: 'monitoring',
    read: { scope: 'alerts:read' },
    write: { scope: 'alerts:write' },
    without: ['create', 'update', 'delete'],
    listQuery: {
      since: z.iso.datetime({ offset: true }).optional(),
      until: z.iso.datetime({ offset: true }).optional(),
    },
    listFilter: (query) => {
      const since = typeof query.since === 'string' ? Date.parse(query.since) : undefined;
      const until = typeof query.until === 'string' ? Date.parse(query.until) : undefined;
      return (record) => {
        const at = Date.parse(String(record.created_at));
        return (since === undefined || at >= since) && (until === undefined || at <= until);
      };
    },
  }),
  defineRoute({
    operationId: 'create_alert',
    method: 'POST',
    path: '/v1/alerts',
    domain: 'monitoring',
    tag: 'alerts',
    summary: 'Raise an alert; a repost of the fingerprint of an open alert updates it (200) instead of opening another (201)',
    auth: { scope: 'alerts:write' },
    body: createSchema(alertEntity).meta({ id: 'AlertCreate' }),
    responses: {
      200: { description: 'An open alert with this fingerprint was updated', schema: alertItem },
      201: { description: 'A new alert', schema: alertItem },
      ...errorResponses,
    },
    handle: async ({ body, principal, requestId }) => {
      const input = body as Parameters<typeof raiseAlert>[0];
      if (typeof input.datacenter_id === 'string') {
        // Posting into a datacenter requires seeing it (404 like missing otherwise).
        const { datacenterEntity } = await import('#shared/domains/inventory/datacenter');
        await readVisible(datacenterEntity, input.datacenter_id, principal);
      }
      const { alert, outcome } = await raiseAlert(input, { principal: principal as Principal, requestId });
      return objectResponse(
        alertEntity,
        alert,
        outcome === 'created' ? 201 : 200,
        outcome === 'created' ? { location: `/v1/alerts/${alert.id}` } : {},
      );
    },
  }),
  ...(['acknowledge', 'resolve'] as const).map((action) =>
    defineRoute({
      operationId: `${action}_alert`,
      method: 'POST',
      path: `/v1/alerts/{id}/${action}`,
      domain: 'monitoring',
      tag: 'alerts',
      summary: action === 'acknowledge' ? 'Acknowledge an alert (someone is on it)' : 'Resolve an alert',
      auth: { scope: 'alerts:write' },
      params: idParams,
      responses: { 200: { description: 'The alert', schema: alertItem }, ...errorResponses },
      handle: async ({ params, principal, requestId, ifMatch }) => {
        await readVisible(alertEntity, params.id, principal);
        const caller = principal as Principal;
        const context = { principal: caller, requestId };
        const { record } =
          action === 'acknowledge'
            ? await acknowledgeAlert(params.id, caller, context, ifMatch)
            : await resolveAlert(params.id, caller.user_id ?? caller.id, context, ifMatch);
        return objectResponse(alertEntity, record);
      },
    }),
  ),
];

export const monitoringRoutes: RouteDefinition[] = [...alertRoutes, ...alertRuleRoutes, ...monitoringConfigRoutes];
