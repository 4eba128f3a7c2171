/**
 * Questions answered from maintenance windows: which windows are active at an instant (with the concrete
 * occurrence, recurring windows included), and, per server, "may I work on it now, and if not, when next?".
 * Recurring windows are evaluated in the datacenter's current time zone.
 */
import { z } from 'zod';
import type { Principal } from '#shared/auth/principal';
import { stripStorage } from '#shared/db/repository';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import { serverEntity } from '#shared/domains/inventory/server';
import { tagEntity } from '#shared/domains/inventory/tag';
import { windowCovers } from '#shared/domains/monitoring/suppression';
import {
  maintenanceWindowEntity,
  nextOccurrenceOf,
  occurrenceAt,
  type WindowOccurrence,
} from '#shared/domains/operations/maintenance-window';
import { errorResponses, idParams, readVisible, repo, visibleTo } from '#shared/http/crud';
import { defineRoute, type RouteDefinition } from '#shared/http/route';
import type { EntityRecord } from '#shared/model/entity';
import { uuid } from '#shared/model/fields';

const read = { scope: 'operations:read' } as const;
const common = { domain: 'operations', tag: maintenanceWindowEntity.collection } as const;

const occurrenceSchema = z
  .object({
    window_id: z.string(),
    datacenter_id: z.string(),
    name: z.string(),
    starts_at: z.string().meta({ description: 'ISO 8601 UTC start of this occurrence' }),
    ends_at: z.string().meta({ description: 'ISO 8601 UTC end (exclusive) of this occurrence' }),
    recurring: z.boolean(),
  })
  .meta({ id: 'MaintenanceOccurrence' });

const activeSchema = z.object({ at: z.string(), items: z.array(occurrenceSchema) }).meta({ id: 'MaintenanceWindowsActive' });

const serverMaintenanceSchema = z
  .object({
    server_id: z.string(),
    at: z.string(),
    may_work_now: z.boolean().meta({ description: 'A window covering the server is active at `at`' }),
    current: occurrenceSchema.nullable().meta({ description: 'The covering occurrence that ends last, if any' }),
    next: occurrenceSchema.nullable().meta({ description: 'The earliest covering occurrence starting after `at` (null: none scheduled)' }),
  })
  .meta({ id: 'ServerMaintenance' });

const atQuery = { at: z.iso.datetime({ offset: true }).optional().meta({ description: 'ISO 8601 instant; default now' }) };

function occurrenceBody(window: EntityRecord, occurrence: WindowOccurrence) {
  return {
    window_id: window.id,
    datacenter_id: String(window.datacenter_id),
    name: String(window.name),
    starts_at: occurrence.start.toISOString(),
    ends_at: occurrence.end.toISOString(),
    recurring: typeof window.rrule === 'string',
  };
}

async function windowsOf(datacenter: EntityRecord): Promise<EntityRecord[]> {
  return (await repo().itemsOfDatacenter(maintenanceWindowEntity, datacenter.id)).map(stripStorage) as EntityRecord[];
}

const zoneOf = (datacenter: EntityRecord) => (typeof datacenter.timezone === 'string' ? datacenter.timezone : 'UTC');

export const maintenanceWindowQueryRoutes: RouteDefinition[] = [
  defineRoute({
    ...common,
    operationId: 'list_active_maintenance_windows',
    method: 'GET',
    path: '/v1/maintenance-windows/active',
    summary: 'Maintenance windows active at an instant, with their concrete occurrence',
    auth: read,
    query: z.object({ ...atQuery, datacenter_id: uuid().optional() }).strict(),
    responses: { 200: { description: 'The active windows', schema: activeSchema }, ...errorResponses },
    handle: async ({ query, principal }) => {
      const at = query.at ? new Date(query.at) : new Date();
      const datacenters = query.datacenter_id
        ? [await readVisible(datacenterEntity, query.datacenter_id, principal)]
        : (await repo().listAll(datacenterEntity)).filter(visibleTo(principal, datacenterEntity));
      const items = [];
      for (const datacenter of datacenters) {
        for (const window of await windowsOf(datacenter)) {
          const occurrence = occurrenceAt(window, zoneOf(datacenter), at);
          if (occurrence) items.push(occurrenceBody(window, occurrence));
        }
      }
      items.sort((a, b) => a.starts_at.localeCompare(b.starts_at) || a.window_id.localeCompare(b.window_id));
      return { status: 200, body: { at: at.toISOString(), items } };
    },
  }),
  defineRoute({
    ...common,
    operationId: 'get_server_maintenance',
    method: 'GET',
    path: '/v1/servers/{id}/maintenance',
    summary: 'May this server be worked on now (a window covers it), and if not, when is the next window?',
    auth: read,
    params: idParams,
    query: z.object(atQuery).strict(),
    responses: { 200: { description: "The server's maintenance answer", schema: serverMaintenanceSchema }, ...errorResponses },
    handle: async ({ params, query, principal }) => {
      const at = query.at ? new Date(query.at) : new Date();
      const server = await readVisible(serverEntity, params.id, principal as Principal);
      const datacenter = await repo().get(datacenterEntity, String(server.datacenter_id));
      const zone = datacenter ? zoneOf(datacenter) : 'UTC';
      const windows = datacenter ? await windowsOf(datacenter) : [];
      const tagIds = new Map<string, string | undefined>();
      let current: ReturnType<typeof occurrenceBody> | null = null;
      let next: ReturnType<typeof occurrenceBody> | null = null;
      for (const window of windows) {
        const tagName = typeof window.tag === 'string' ? window.tag.toLowerCase() : undefined;
        if (tagName !== undefined && !tagIds.has(tagName)) tagIds.set(tagName, await repo().findByUnique(tagEntity, 'name', tagName));
        if (!windowCovers(window, { type: 'server', record: server }, tagName === undefined ? undefined : tagIds.get(tagName))) continue;
        const covering = occurrenceAt(window, zone, at);
        if (covering && (current === null || covering.end.toISOString() > current.ends_at)) current = occurrenceBody(window, covering);
        const upcoming = nextOccurrenceOf(window, zone, at);
        if (upcoming && (next === null || upcoming.start.toISOString() < next.starts_at)) next = occurrenceBody(window, upcoming);
      }
      return { status: 200, body: { server_id: server.id, at: at.toISOString(), may_work_now: current !== null, current, next } };
    },
  }),
];
