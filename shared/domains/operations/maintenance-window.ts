/**
 * A maintenance window. While it is active, monitoring still tracks states of the objects it covers but does not
 * notify (alerts are `suppressed`). Covers the whole datacenter unless narrowed to servers (and the VMs on them) or
 * to objects carrying a tag. Either one-off (`starts_at` + `ends_at`) or recurring (`rrule` + `dtstart_local` +
 * `duration_minutes`, evaluated in the datacenter's current time zone; see recurrence.ts).
 */
import { z } from 'zod';
import { childSortKey } from '#shared/db/keys';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import { defineEntity, type EntityDefinition } from '#shared/model/entity';
import { type ErrorDetail, nextOccurrence, parseLocalDateTime, rruleErrors, windowAt } from '#shared/domains/operations/recurrence';
import { longText, text, uuid } from '#shared/model/fields';

export const maintenanceWindowEntity: EntityDefinition = defineEntity({
  type: 'maintenance_window',
  collection: 'maintenance-windows',
  schemaName: 'MaintenanceWindow',
  fields: z.object({
    datacenter_id: uuid(),
    name: text(255),
    starts_at: z.iso.datetime({ offset: true }).nullable().optional().meta({ description: 'One-off windows: start' }),
    ends_at: z.iso.datetime({ offset: true }).nullable().optional().meta({ description: 'One-off windows: end (exclusive)' }),
    rrule: z.string().min(1).max(500).nullable().optional().meta({
      description:
        'Recurring windows: an RFC 5545 RRULE (FREQ=DAILY|WEEKLY|MONTHLY, INTERVAL, BYDAY, BYMONTHDAY, BYHOUR, BYMINUTE, COUNT, UNTIL)',
      example: 'FREQ=WEEKLY;BYDAY=SA',
    }),
    dtstart_local: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/, 'must be a local date-time like 2026-03-01T22:00')
      .nullable()
      .optional()
      .meta({ description: "Recurring windows: first start, wall-clock time in the datacenter's time zone", example: '2026-03-01T22:00' }),
    duration_minutes: z
      .number()
      .int()
      .min(1)
      .max(60 * 24 * 31)
      .nullable()
      .optional()
      .meta({ description: 'Recurring windows: length of each occurrence (elapsed minutes)' }),
    server_ids: z
      .array(uuid())
      .max(500)
      .nullable()
      .optional()
      .meta({ description: 'Only these servers and their VMs; null: as far as `tag` allows' }),
    tag: text(100).nullable().optional().meta({ description: 'Only objects carrying the tag of this name' }),
    description: longText().nullable().optional(),
  }),
  immutable: ['datacenter_id'],
  references: [{ field: 'datacenter_id', target: () => datacenterEntity }],
  indexKeys: (record) => ({
    byDatacenter: { pk: `DATACENTER#${record.datacenter_id}`, sk: childSortKey(maintenanceWindowEntity, record.id) },
  }),
  listAccess: [{ param: 'datacenter_id', index: 'byDatacenter', partition: (value) => `DATACENTER#${value}` }],
  filters: z.object({ datacenter_id: uuid().optional() }),
  datacenterOf: (record) => record.datacenter_id as string,
  validate: validateWindow,
});

export function isRecurring(window: Record<string, unknown>): boolean {
  return typeof window.rrule === 'string';
}

/** Exactly one shape: one-off (starts_at + ends_at) or recurring (rrule + dtstart_local + duration_minutes). */
function validateWindow(record: Record<string, unknown>): ErrorDetail[] {
  const set = (field: string) => record[field] !== undefined && record[field] !== null;
  const oneOff = ['starts_at', 'ends_at'];
  const recurring = ['rrule', 'dtstart_local', 'duration_minutes'];
  if (oneOff.some(set) && recurring.some(set)) {
    return recurring.filter(set).map((path) => ({ path, message: 'a window is either one-off (starts_at, ends_at) or recurring' }));
  }
  if (recurring.some(set)) {
    const missing = recurring.filter((field) => !set(field)).map((path) => ({ path, message: 'required for a recurring window' }));
    if (missing.length > 0) return missing;
    const details = rruleErrors(String(record.rrule));
    if (parseLocalDateTime(String(record.dtstart_local)) === undefined) {
      details.push({ path: 'dtstart_local', message: 'must be a valid local date-time like 2026-03-01T22:00' });
    }
    return details;
  }
  const missing = oneOff.filter((field) => !set(field));
  if (missing.length > 0) {
    return missing.map((path) => ({ path, message: 'required (or give rrule, dtstart_local and duration_minutes)' }));
  }
  return Date.parse(String(record.ends_at)) > Date.parse(String(record.starts_at))
    ? []
    : [{ path: 'ends_at', message: 'must be after starts_at' }];
}

export interface WindowOccurrence {
  start: Date;
  end: Date;
}

function recurrenceOf(window: Record<string, unknown>, timeZone: string) {
  return {
    rrule: String(window.rrule),
    dtstart: String(window.dtstart_local),
    timezone: timeZone,
    durationMinutes: Number(window.duration_minutes),
  };
}

/** The concrete occurrence of a window covering `at` (start <= at < end), or null. */
export function occurrenceAt(window: Record<string, unknown>, timeZone: string, at: Date): WindowOccurrence | null {
  if (isRecurring(window)) return windowAt(recurrenceOf(window, timeZone), at);
  const start = Date.parse(String(window.starts_at));
  const end = Date.parse(String(window.ends_at));
  return start <= at.getTime() && at.getTime() < end ? { start: new Date(start), end: new Date(end) } : null;
}

/** The window's first occurrence starting strictly after `after`, or null. */
export function nextOccurrenceOf(window: Record<string, unknown>, timeZone: string, after: Date): WindowOccurrence | null {
  if (isRecurring(window)) return nextOccurrence(recurrenceOf(window, timeZone), after);
  const start = Date.parse(String(window.starts_at));
  return start > after.getTime() ? { start: new Date(start), end: new Date(Date.parse(String(window.ends_at))) } : null;
}
