/**
 * Is an object under an active maintenance window? Evaluation asks this for every alert it would raise: inside a
 * window the alert is recorded as `suppressed` (no notification); when the window ends, evaluation un-suppresses it.
 */
import { repo, stripStorage, tagIdsOf } from '#shared/db/repository';
import { tagEntity } from '#shared/domains/inventory/tag';
import type { MetricEntityType } from '#shared/domains/monitoring/metrics';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import { maintenanceWindowEntity, occurrenceAt } from '#shared/domains/operations/maintenance-window';
import type { EntityRecord } from '#shared/model/entity';

export interface MonitoredEntity {
  readonly type: MetricEntityType;
  readonly record: EntityRecord;
}

/** The windows of one datacenter active at `now`, with their tag names resolved: answers `covers` without I/O. */
export interface MaintenanceView {
  readonly active: readonly EntityRecord[];
  covers(entity: MonitoredEntity): boolean;
}

/** One-off: starts_at <= now < ends_at. Recurring: an occurrence (in `timeZone`, the datacenter's) covers now. */
export function isActive(window: EntityRecord, now: Date, timeZone = 'UTC'): boolean {
  return occurrenceAt(window, timeZone, now) !== null;
}

/** The time zone recurring windows of a datacenter are evaluated in (UTC if the datacenter is gone). */
export async function datacenterTimeZone(datacenterId: string): Promise<string> {
  const datacenter = await repo().get(datacenterEntity, datacenterId);
  return typeof datacenter?.timezone === 'string' ? datacenter.timezone : 'UTC';
}

/**
 * Pure coverage rule. A window without server_ids and tag covers the whole datacenter (the datacenter itself too);
 * otherwise it covers the listed servers, the VMs placed on them, and objects carrying its tag.
 */
export function windowCovers(window: EntityRecord, entity: MonitoredEntity, windowTagId: string | undefined): boolean {
  const serverIds = Array.isArray(window.server_ids) ? (window.server_ids as unknown[]).filter((id) => typeof id === 'string') : null;
  const tagName = typeof window.tag === 'string' ? window.tag : null;
  if (serverIds === null && tagName === null) return true;
  if (serverIds !== null) {
    if (entity.type === 'server' && serverIds.includes(entity.record.id)) return true;
    if (entity.type === 'vm' && typeof entity.record.server_id === 'string' && serverIds.includes(entity.record.server_id)) return true;
  }
  // A tag that does not exist (yet) covers nothing, rather than everything.
  return tagName !== null && windowTagId !== undefined && tagIdsOf(entity.record).includes(windowTagId);
}

export async function maintenanceView(datacenterId: string, now: Date): Promise<MaintenanceView> {
  const windows = (await repo().itemsOfDatacenter(maintenanceWindowEntity, datacenterId)).map(stripStorage);
  const timeZone = windows.some((window) => typeof window.rrule === 'string') ? await datacenterTimeZone(datacenterId) : 'UTC';
  const active = windows.filter((window) => isActive(window, now, timeZone));
  const tagIds = new Map<string, string | undefined>();
  for (const window of active) {
    if (typeof window.tag !== 'string') continue;
    const name = window.tag.toLowerCase();
    if (!tagIds.has(name)) tagIds.set(name, await repo().findByUnique(tagEntity, 'name', name));
  }
  return {
    active,
    covers: (entity) =>
      active.some((window) =>
        windowCovers(window, entity, typeof window.tag === 'string' ? tagIds.get(window.tag.toLowerCase()) : undefined),
      ),
  };
}

/** One-off question; evaluation uses `maintenanceView` to read the windows once per run. */
export async function isUnderMaintenance(datacenterId: string, entity: MonitoredEntity, now: Date): Promise<boolean> {
  return (await maintenanceView(datacenterId, now)).covers(entity);
}
