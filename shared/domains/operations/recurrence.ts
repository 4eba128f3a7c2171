/**
 * A pure, dependency-free evaluator for the subset of RFC 5545 recurrence rules that maintenance windows use.
 *
 * Supported: FREQ=DAILY|WEEKLY|MONTHLY, INTERVAL, BYDAY (MO..SU; for MONTHLY also ordinals such as 1SU or -1FR),
 * BYMONTHDAY (1..31, -31..-1), BYHOUR, BYMINUTE, COUNT, UNTIL, WKST=MO. An optional `RRULE:` prefix is accepted.
 *
 * Occurrences are generated in local wall-clock time (DTSTART is a local time such as `2026-03-01T22:00` in an IANA
 * zone) and converted to UTC with `Intl.DateTimeFormat`, so they follow daylight-saving changes:
 * - a wall time in the spring-forward gap is read with the offset in force before the gap, as RFC 5545 §3.3.5
 *   says (America/New_York 02:30 on 2026-03-08 → 03:30 EDT = 07:30Z);
 * - a wall time in the fall-back overlap is the first of its two instants (the daylight-time one).
 * The duration is elapsed time: a 6-hour window that spans a change still lasts 6 hours (its local end shifts).
 *
 * UNTIL is either UTC (`20261231T235959Z`), a local date-time (`20261231T235959`, read in the rule's zone) or a
 * date (`20261231`: occurrences starting that local day are included). COUNT counts every occurrence from DTSTART.
 */

export interface ErrorDetail {
  path: string;
  message: string;
}

export class RecurrenceError extends Error {
  constructor(readonly details: ErrorDetail[]) {
    super(details.map((detail) => `${detail.path}: ${detail.message}`).join('; '));
  }
}

const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;
const FREQS = ['DAILY', 'WEEKLY', 'MONTHLY'] as const;
export type Frequency = (typeof FREQS)[number];

export interface WeekdaySpec {
  /** 0 = Monday … 6 = Sunday. */
  weekday: number;
  /** MONTHLY only: 1 = first, -1 = last in the month; undefined = every such weekday. */
  ordinal?: number;
}

export interface ParsedRule {
  freq: Frequency;
  interval: number;
  byDay: WeekdaySpec[];
  byMonthDay: number[];
  byHour: number[];
  byMinute: number[];
  count?: number;
  /** UNTIL as written: a UTC instant (ms) or a local wall time (ms as if UTC) to convert in the rule's zone. */
  until?: { utc: number } | { wall: number; dateOnly: boolean };
}

/** A recurring window: rule, first local start, zone, and length. */
export interface Recurrence {
  rrule: string;
  /** Local wall-clock start of the first occurrence, `YYYY-MM-DDTHH:MM` (seconds allowed). */
  dtstart: string;
  timezone: string;
  durationMinutes: number;
}

export interface Occurrence {
  start: Date;
  end: Date;
}

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Stop looking for matches this far (local days) after DTSTART: a rule that never matches must not loop forever. */
const MAX_DAYS = 366 * 200;

// ---------------------------------------------------------------- parsing

function intList(value: string, min: number, max: number, name: string, allowNegative = false): number[] {
  return value.split(',').map((part) => {
    if (!/^[+-]?\d{1,2}$/.test(part)) throw new RecurrenceError([{ path: 'rrule', message: `${name}: '${part}' is not a number` }]);
    const number = Number(part);
    const ok = allowNegative ? number !== 0 && Math.abs(number) >= min && Math.abs(number) <= max : number >= min && number <= max;
    if (!ok) {
      throw new RecurrenceError([
        { path: 'rrule', message: `${name}: ${part} is out of range (${allowNegative ? `±${min}..${max}` : `${min}..${max}`})` },
      ]);
    }
    return number;
  });
}

/** Parses and validates an RRULE; throws `RecurrenceError` (details path `rrule`) for anything outside the subset. */
export function parseRrule(text: string): ParsedRule {
  const fail = (message: string): never => {
    throw new RecurrenceError([{ path: 'rrule', message }]);
  };
  const body = text.trim().replace(/^RRULE:/i, '');
  if (body === '') fail('empty rule');
  const parts = new Map<string, string>();
  for (const part of body.split(';')) {
    const match = /^([A-Za-z]+)=(.+)$/.exec(part);
    if (!match) fail(`'${part}' is not NAME=VALUE`);
    const [, rawName, value] = match as RegExpExecArray;
    const name = (rawName as string).toUpperCase();
    if (parts.has(name)) fail(`${name} appears twice`);
    parts.set(name, (value as string).toUpperCase());
  }
  const supported = ['FREQ', 'INTERVAL', 'BYDAY', 'BYMONTHDAY', 'BYHOUR', 'BYMINUTE', 'COUNT', 'UNTIL', 'WKST'];
  for (const name of parts.keys()) {
    if (!supported.includes(name)) fail(`${name} is not supported (supported: ${supported.join(', ')})`);
  }
  const freq = parts.get('FREQ');
  if (freq === undefined) fail('FREQ is required');
  if (!(FREQS as readonly string[]).includes(freq as string)) fail(`FREQ must be one of ${FREQS.join(', ')}`);
  const rule: ParsedRule = { freq: freq as Frequency, interval: 1, byDay: [], byMonthDay: [], byHour: [], byMinute: [] };

  const interval = parts.get('INTERVAL');
  if (interval !== undefined) {
    if (!/^\d{1,4}$/.test(interval) || Number(interval) < 1) fail('INTERVAL must be a positive integer');
    rule.interval = Number(interval);
  }
  const wkst = parts.get('WKST');
  if (wkst !== undefined && wkst !== 'MO') fail('only WKST=MO is supported');
  const byDay = parts.get('BYDAY');
  if (byDay !== undefined) {
    rule.byDay = byDay.split(',').map((entry) => {
      const match = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/.exec(entry);
      if (!match) return fail(`BYDAY: '${entry}' is not a weekday (MO..SU, optionally with an ordinal like 1SU or -1FR)`);
      const weekday = WEEKDAYS.indexOf(match[2] as (typeof WEEKDAYS)[number]);
      if (match[1] === undefined) return { weekday };
      const ordinal = Number(match[1]);
      if (rule.freq !== 'MONTHLY') fail(`BYDAY: ordinals like '${entry}' are only supported with FREQ=MONTHLY`);
      if (ordinal === 0 || Math.abs(ordinal) > 5) fail(`BYDAY: ordinal in '${entry}' must be 1..5 or -5..-1`);
      return { weekday, ordinal };
    });
  }
  const byMonthDay = parts.get('BYMONTHDAY');
  if (byMonthDay !== undefined) {
    if (rule.freq === 'WEEKLY') fail('BYMONTHDAY is not allowed with FREQ=WEEKLY');
    rule.byMonthDay = intList(byMonthDay, 1, 31, 'BYMONTHDAY', true);
  }
  const byHour = parts.get('BYHOUR');
  if (byHour !== undefined) rule.byHour = [...new Set(intList(byHour, 0, 23, 'BYHOUR'))].sort((a, b) => a - b);
  const byMinute = parts.get('BYMINUTE');
  if (byMinute !== undefined) rule.byMinute = [...new Set(intList(byMinute, 0, 59, 'BYMINUTE'))].sort((a, b) => a - b);

  const count = parts.get('COUNT');
  const until = parts.get('UNTIL');
  if (count !== undefined && until !== undefined) fail('COUNT and UNTIL cannot both be given');
  if (count !== undefined) {
    if (!/^\d{1,6}$/.test(count) || Number(count) < 1) fail('COUNT must be a positive integer');
    rule.count = Number(count);
  }
  if (until !== undefined) {
    const match = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(until);
    if (!match) return fail('UNTIL must look like 20261231, 20261231T235959 or 20261231T235959Z');
    const [, y, mo, d, hh, mi, ss, z] = match;
    const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(hh ?? 0), Number(mi ?? 0), Number(ss ?? 0));
    const check = new Date(wall);
    if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(hh ?? 0) > 23 || Number(mi ?? 0) > 59) {
      fail(`UNTIL: '${until}' is not a valid date-time`);
    }
    rule.until = z ? { utc: wall } : { wall, dateOnly: hh === undefined };
  }
  return rule;
}

/** Validation for callers that collect details rather than catch. */
export function rruleErrors(text: string): ErrorDetail[] {
  try {
    parseRrule(text);
    return [];
  } catch (error) {
    if (error instanceof RecurrenceError) return error.details;
    throw error;
  }
}

/** Parses `YYYY-MM-DDTHH:MM[:SS]` into wall milliseconds (the wall time read as if it were UTC), or undefined. */
export function parseLocalDateTime(text: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, hh, mi, ss] = match.map((part) => (part === undefined ? 0 : Number(part))) as number[];
  const wall = Date.UTC(y as number, (mo as number) - 1, d, hh, mi, ss ?? 0);
  const check = new Date(wall);
  if (check.getUTCMonth() !== (mo as number) - 1 || check.getUTCDate() !== d || (hh as number) > 23 || (mi as number) > 59) {
    return undefined;
  }
  return wall;
}

// ---------------------------------------------------------------- time zones

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The zone's offset from UTC at an instant, in ms (wall = utc + offset). */
export function offsetAt(timeZone: string, utc: number): number {
  const parts: Record<string, number> = {};
  for (const part of formatterOf(timeZone).formatToParts(new Date(utc))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const wall = Date.UTC(parts.year as number, (parts.month as number) - 1, parts.day, parts.hour, parts.minute, parts.second);
  return wall - Math.floor(utc / 1000) * 1000;
}

/**
 * The UTC instant of a local wall time. Overlap (fall back): the first instant. Gap (spring forward): the wall
 * time read with the offset before the gap, i.e. pushed forward by the gap's length (RFC 5545 §3.3.5).
 */
export function wallToUtc(wall: number, timeZone: string): number {
  const before = offsetAt(timeZone, wall - DAY);
  const after = offsetAt(timeZone, wall + DAY);
  const candidates = [wall - before, wall - after].filter((utc) => utc + offsetAt(timeZone, utc) === wall);
  if (candidates.length > 0) return Math.min(...candidates);
  // A third offset within ±1 day is not handled by the two probes; try the offset at the naive instant too.
  const naive = wall - offsetAt(timeZone, wall);
  if (naive + offsetAt(timeZone, naive) === wall) return naive;
  return wall - before;
}

// ---------------------------------------------------------------- generation

interface Candidate {
  wall: number;
  utc: number;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/** Monday = 0 … Sunday = 6 of a day number (days since 1970-01-01, a Thursday). */
function weekdayOf(dayNumber: number): number {
  return (((dayNumber + 3) % 7) + 7) % 7;
}

function dayMatches(rule: ParsedRule, day: number, startDay: number): boolean {
  const date = new Date(day * DAY);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  const dom = date.getUTCDate();
  const weekday = weekdayOf(day);
  const startDate = new Date(startDay * DAY);
  const monthDayOk = (days: number[]) => {
    const length = daysInMonth(year, month);
    return days.some((value) => (value > 0 ? value === dom : length + value + 1 === dom));
  };
  switch (rule.freq) {
    case 'DAILY': {
      if ((day - startDay) % rule.interval !== 0) return false;
      if (rule.byDay.length > 0 && !rule.byDay.some((spec) => spec.weekday === weekday)) return false;
      return rule.byMonthDay.length === 0 || monthDayOk(rule.byMonthDay);
    }
    case 'WEEKLY': {
      const startWeek = startDay - weekdayOf(startDay);
      const week = Math.floor((day - startWeek) / 7);
      if (week % rule.interval !== 0) return false;
      const days = rule.byDay.length > 0 ? rule.byDay.map((spec) => spec.weekday) : [weekdayOf(startDay)];
      return days.includes(weekday);
    }
    case 'MONTHLY': {
      const months = (year - startDate.getUTCFullYear()) * 12 + (month - startDate.getUTCMonth());
      if (months % rule.interval !== 0) return false;
      if (rule.byDay.length === 0 && rule.byMonthDay.length === 0) return dom === startDate.getUTCDate();
      if (rule.byMonthDay.length > 0 && !monthDayOk(rule.byMonthDay)) return false;
      if (rule.byDay.length > 0) {
        const length = daysInMonth(year, month);
        const nth = Math.floor((dom - 1) / 7) + 1;
        const nthFromEnd = -(Math.floor((length - dom) / 7) + 1);
        return rule.byDay.some(
          (spec) => spec.weekday === weekday && (spec.ordinal === undefined || spec.ordinal === nth || spec.ordinal === nthFromEnd),
        );
      }
      return true;
    }
  }
}

/**
 * Occurrence starts in order, from DTSTART. Candidates whose local start is before `skipBeforeWall` are counted
 * (for COUNT) but not converted, which keeps long-running rules cheap.
 */
function* starts(recurrence: Recurrence, skipBeforeWall: number): Generator<Candidate> {
  const rule = parseRrule(recurrence.rrule);
  const dtstart = parseLocalDateTime(recurrence.dtstart);
  if (dtstart === undefined) throw new RecurrenceError([{ path: 'dtstart', message: 'must be a local date-time like 2026-03-01T22:00' }]);
  const zone = recurrence.timezone;
  const untilUtc =
    rule.until === undefined
      ? undefined
      : 'utc' in rule.until
        ? rule.until.utc
        : wallToUtc(rule.until.dateOnly ? rule.until.wall + DAY - 1000 : rule.until.wall, zone);
  const startDay = Math.floor(dtstart / DAY);
  const startTime = dtstart - startDay * DAY;
  const hours = rule.byHour.length > 0 ? rule.byHour : [Math.floor(startTime / 3_600_000)];
  const minutes = rule.byMinute.length > 0 ? rule.byMinute : [Math.floor((startTime % 3_600_000) / MINUTE)];
  const seconds = startTime % MINUTE;
  const times = hours.flatMap((hour) => minutes.map((minute) => hour * 3_600_000 + minute * MINUTE + seconds));
  let emitted = 0;
  for (let day = startDay; day < startDay + MAX_DAYS; day += 1) {
    if (!dayMatches(rule, day, startDay)) continue;
    for (const time of times) {
      const wall = day * DAY + time;
      if (wall < dtstart) continue;
      emitted += 1;
      if (rule.count !== undefined && emitted > rule.count) return;
      if (wall < skipBeforeWall) continue;
      const utc = wallToUtc(wall, zone);
      if (untilUtc !== undefined && utc > untilUtc) return;
      yield { wall, utc };
    }
  }
}

/** Local times are within ±1 day of UTC (offsets stay within ±14 h); this margin makes wall-time skips safe. */
const MARGIN = 2 * DAY;

/** Occurrences overlapping [from, to): start < to and end > from, in order of start. */
export function occurrencesBetween(recurrence: Recurrence, from: Date, to: Date): Occurrence[] {
  const duration = recurrence.durationMinutes * MINUTE;
  const result: Occurrence[] = [];
  for (const { wall, utc } of starts(recurrence, from.getTime() - duration - MARGIN)) {
    if (wall > to.getTime() + MARGIN) break;
    if (utc < to.getTime() && utc + duration > from.getTime()) result.push({ start: new Date(utc), end: new Date(utc + duration) });
  }
  return result;
}

/** The occurrence covering `at` (start <= at < end), including one that started earlier (e.g. the evening before). */
export function windowAt(recurrence: Recurrence, at: Date): Occurrence | null {
  const covering = occurrencesBetween(recurrence, at, new Date(at.getTime() + 1));
  // Overlapping occurrences of one rule (duration longer than the period): the one that started first.
  return covering[0] ?? null;
}

/** The first occurrence that starts strictly after `after`, or null when the rule has ended. */
export function nextOccurrence(recurrence: Recurrence, after: Date): Occurrence | null {
  const duration = recurrence.durationMinutes * MINUTE;
  for (const { utc } of starts(recurrence, after.getTime() - MARGIN)) {
    if (utc > after.getTime()) return { start: new Date(utc), end: new Date(utc + duration) };
  }
  return null;
}
