/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week) evaluated in an IANA time zone.
 * Fields take numbers, `*`, lists (`1,15`), ranges (`1-5`) and steps (`*\/15`, `0-30/10`); day-of-week 0 and 7 are
 * Sunday. As in Vixie cron, when both day-of-month and day-of-week are restricted a day matching either runs.
 * Wall times in a spring-forward gap run at the shifted instant (see wallToUtc); in a fall-back overlap, once.
 */
import { type ErrorDetail, wallToUtc } from '#shared/domains/operations/recurrence';

export interface CronSchedule {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** Day-of-month / day-of-week were given as something other than `*`. */
  daysRestricted: boolean;
  weekdaysRestricted: boolean;
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

export class CronError extends Error {}

function parseNumber(text: string, min: number, max: number, field: string): number {
  if (!/^\d+$/.test(text)) throw new CronError(`${field}: '${text}' is not a number`);
  const value = Number(text);
  if (value < min || value > max) throw new CronError(`${field}: ${value} is outside ${min}-${max}`);
  return value;
}

function parseField(text: string, min: number, max: number, field: string): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined || range === undefined || range === '') throw new CronError(`${field}: '${part}' is malformed`);
    const step = stepText === undefined ? 1 : parseNumber(stepText, 1, max - min + 1, field);
    let from: number;
    let to: number;
    if (range === '*') {
      from = min;
      to = max;
    } else if (range.includes('-')) {
      const [a, b, more] = range.split('-');
      if (more !== undefined || a === undefined || b === undefined) throw new CronError(`${field}: '${range}' is malformed`);
      from = parseNumber(a, min, max, field);
      to = parseNumber(b, min, max, field);
      if (from > to) throw new CronError(`${field}: range '${range}' is reversed`);
    } else {
      from = parseNumber(range, min, max, field);
      to = stepText === undefined ? from : max;
    }
    for (let value = from; value <= to; value += step) values.add(value);
  }
  return values;
}

export function parseCron(expression: string): CronSchedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new CronError('expected 5 fields: minute hour day-of-month month day-of-week');
  const [minutes, hours, days, months, weekdays] = FIELDS.map((field, index) =>
    parseField(parts[index] as string, field.min, field.max, field.name),
  ) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (weekdays.has(7)) weekdays.add(0);
  return {
    minutes,
    hours,
    days,
    months,
    weekdays,
    daysRestricted: parts[2] !== '*',
    weekdaysRestricted: parts[4] !== '*',
  };
}

export function cronErrors(expression: string, path = 'schedule_cron'): ErrorDetail[] {
  try {
    parseCron(expression);
    return [];
  } catch (error) {
    return [{ path, message: error instanceof CronError ? error.message : 'is not a valid cron expression' }];
  }
}

function dayMatches(schedule: CronSchedule, year: number, month: number, day: number): boolean {
  if (!schedule.months.has(month)) return false;
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  const byDay = schedule.days.has(day);
  const byWeekday = schedule.weekdays.has(weekday);
  if (schedule.daysRestricted && schedule.weekdaysRestricted) return byDay || byWeekday;
  return byDay && byWeekday;
}

const DAY = 86_400_000;
const MAX_DAYS = 366 * 5;

/** The instants the schedule fires in (after, until], ascending. `until` omitted: only the first one (within 5 years). */
export function cronTimes(expression: string | CronSchedule, timeZone: string, after: Date, until?: Date): Date[] {
  const schedule = typeof expression === 'string' ? parseCron(expression) : expression;
  const from = after.getTime();
  const to = until ? until.getTime() : Number.POSITIVE_INFINITY;
  const hours = [...schedule.hours].sort((a, b) => a - b);
  const minutes = [...schedule.minutes].sort((a, b) => a - b);
  // Walk local calendar days from the day before `after` (offsets are < 1 day).
  const startWall = from + 14 * 3_600_000;
  const first = new Date(startWall - 2 * DAY);
  let cursor = Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), first.getUTCDate());
  const found = new Set<number>();
  for (let n = 0; n < MAX_DAYS; n++, cursor += DAY) {
    if (cursor - 2 * DAY > to) break;
    const date = new Date(cursor);
    const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    if (!dayMatches(schedule, year, month, day)) continue;
    for (const hour of hours) {
      for (const minute of minutes) {
        const utc = wallToUtc(cursor + hour * 3_600_000 + minute * 60_000, timeZone);
        if (utc > from && utc <= to) found.add(utc);
      }
    }
    if (!until && found.size > 0 && cursor - 2 * DAY > Math.min(...found)) break;
  }
  const sorted = [...found].sort((a, b) => a - b).map((utc) => new Date(utc));
  return until ? sorted : sorted.slice(0, 1);
}

/** The first instant the schedule fires strictly after `after`, or null (none within 5 years). */
export function nextCronTime(expression: string, timeZone: string, after: Date): Date | null {
  return cronTimes(expression, timeZone, after)[0] ?? null;
}
