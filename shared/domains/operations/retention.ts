/**
 * Grandfather-father-son retention of backup restore points. Pure: no I/O, no clock (the caller passes `now`).
 * Each tier keeps the newest successful backup of each of its last N calendar periods that have one (days, ISO
 * weeks, months, years), with period boundaries in the given IANA time zone. A backup kept by several tiers is
 * listed once with every reason.
 */

export type RetentionTier = 'daily' | 'weekly' | 'monthly' | 'yearly';
export const RETENTION_TIERS: readonly RetentionTier[] = ['daily', 'weekly', 'monthly', 'yearly'];

export interface BackupJob {
  id: string;
  /** ISO 8601 instant. */
  finished_at: string;
  /** Only `success` is a restore point. */
  status: string;
}

export type Retention = Record<RetentionTier, number>;

export interface RetainedRestorePoint {
  id: string;
  finished_at: string;
  /** Why it is kept, in tier order. */
  reasons: RetentionTier[];
}

interface LocalDate {
  year: number;
  month: number;
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function localDate(instant: number, timeZone: string): LocalDate {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' });
    formatters.set(timeZone, formatter);
  }
  const parts = Object.fromEntries(formatter.formatToParts(new Date(instant)).map((part) => [part.type, part.value]));
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day) };
}

/** ISO 8601 week of a calendar date: `2025-W09` (the week belongs to the year of its Thursday). */
export function isoWeekKey({ year, month, day }: LocalDate): string {
  const date = new Date(Date.UTC(year, month - 1, day));
  const weekday = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - weekday);
  const weekYear = date.getUTCFullYear();
  const week = Math.ceil(((date.getTime() - Date.UTC(weekYear, 0, 1)) / 86_400_000 + 1) / 7);
  return `${weekYear}-W${String(week).padStart(2, '0')}`;
}

const pad = (value: number) => String(value).padStart(2, '0');
const PERIOD_OF: Record<RetentionTier, (date: LocalDate) => string> = {
  daily: (date) => `${date.year}-${pad(date.month)}-${pad(date.day)}`,
  weekly: isoWeekKey,
  monthly: (date) => `${date.year}-${pad(date.month)}`,
  yearly: (date) => String(date.year),
};

export function retainedRestorePoints(
  jobs: readonly BackupJob[],
  retention: Retention,
  timeZone: string,
  now: Date,
): RetainedRestorePoint[] {
  const candidates = jobs
    .map((job) => ({ job, at: Date.parse(job.finished_at) }))
    .filter(({ job, at }) => job.status === 'success' && Number.isFinite(at) && at <= now.getTime())
    // Newest first; ties broken by id so the outcome does not depend on input order.
    .sort((x, y) => y.at - x.at || (x.job.id < y.job.id ? 1 : x.job.id > y.job.id ? -1 : 0))
    .map((candidate) => ({ ...candidate, date: localDate(candidate.at, timeZone) }));

  const reasons = new Map<string, Set<RetentionTier>>();
  for (const tier of RETENTION_TIERS) {
    const keep = Math.max(0, Math.floor(retention[tier]));
    const seen = new Set<string>();
    for (const { job, date } of candidates) {
      if (seen.size >= keep) break;
      const period = PERIOD_OF[tier](date);
      if (seen.has(period)) continue;
      seen.add(period);
      const set = reasons.get(job.id) ?? new Set<RetentionTier>();
      set.add(tier);
      reasons.set(job.id, set);
    }
  }
  return candidates
    .filter(({ job }) => reasons.has(job.id))
    .map(({ job }) => ({
      id: job.id,
      finished_at: job.finished_at,
      reasons: RETENTION_TIERS.filter((tier) => reasons.get(job.id)?.has(tier)),
    }));
}
