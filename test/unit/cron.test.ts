/**
 * The five-field cron parser and its evaluation in a time zone. Every instant is hand-computed. Europe/Paris:
 * 2026-03-29 02:00 CET → 03:00 CEST (gap), 2026-10-25 03:00 CEST → 02:00 CET (overlap). 2026-01-01 is a Thursday.
 */
import { cronErrors, cronTimes, nextCronTime, parseCron } from '#shared/domains/operations/cron';

const iso = (dates: Date[]) => dates.map((date) => date.toISOString());
const next = (expression: string, zone: string, after: string) => nextCronTime(expression, zone, new Date(after))?.toISOString();

test('fields: numbers, stars, lists, ranges, steps; 7 is Sunday', () => {
  const schedule = parseCron('0-30/10 */6 1,15 1-3 7');
  expect([...schedule.minutes]).toEqual([0, 10, 20, 30]);
  expect([...schedule.hours]).toEqual([0, 6, 12, 18]);
  expect([...schedule.days]).toEqual([1, 15]);
  expect([...schedule.months]).toEqual([1, 2, 3]);
  expect(schedule.weekdays.has(0)).toBe(true);
  expect([...parseCron('5/20 * * * *').minutes]).toEqual([5, 25, 45]);
});

test('invalid expressions are reported on schedule_cron', () => {
  for (const bad of [
    '0 24 * * *',
    '* * *',
    '5-1 * * * *',
    '*/0 * * * *',
    'a * * * *',
    '0 0 0 * *',
    '0 0 * 13 *',
    '0 0 * * 8',
    '1,,2 * * * *',
  ]) {
    expect(cronErrors(bad).map((detail) => detail.path)).toEqual(['schedule_cron']);
  }
  expect(cronErrors('*/15 9-17 * * 1-5')).toEqual([]);
});

test('next times in UTC', () => {
  // Friday 2026-11-27 17:50 → Monday 2026-11-30 09:00.
  expect(next('*/15 9-17 * * 1-5', 'UTC', '2026-11-27T17:50:00Z')).toBe('2026-11-30T09:00:00.000Z');
  expect(next('*/15 9-17 * * 1-5', 'UTC', '2026-11-27T17:30:00Z')).toBe('2026-11-27T17:45:00.000Z');
  // Strictly after.
  expect(next('0 2 * * *', 'UTC', '2026-05-01T02:00:00Z')).toBe('2026-05-02T02:00:00.000Z');
  // Day-of-month and day-of-week both restricted: either matches (Friday 2026-01-02 comes before the 13th).
  expect(next('0 0 13 * 5', 'UTC', '2026-01-01T00:00:00Z')).toBe('2026-01-02T00:00:00.000Z');
  // Only the 31st: skips months without one.
  expect(next('0 0 31 * *', 'UTC', '2026-04-01T00:00:00Z')).toBe('2026-05-31T00:00:00.000Z');
  // 29 February: next in 2028.
  expect(next('0 0 29 2 *', 'UTC', '2026-03-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
});

test('times in a window, in the time zone', () => {
  // Africa/Tunis is UTC+1: 02:00 local = 01:00Z.
  expect(iso(cronTimes('0 2 * * *', 'Africa/Tunis', new Date('2026-06-10T00:00:00Z'), new Date('2026-06-12T00:00:00Z')))).toEqual([
    '2026-06-10T01:00:00.000Z',
    '2026-06-11T01:00:00.000Z',
  ]);
  // Window end inclusive, start exclusive.
  expect(iso(cronTimes('0 2 * * *', 'Africa/Tunis', new Date('2026-06-10T01:00:00Z'), new Date('2026-06-11T01:00:00Z')))).toEqual([
    '2026-06-11T01:00:00.000Z',
  ]);
});

test('daylight saving in Europe/Paris', () => {
  // Spring: 02:30 does not exist on 2026-03-29; it runs at 03:30 CEST (01:30Z), then 02:30 CEST (00:30Z).
  expect(iso(cronTimes('30 2 * * *', 'Europe/Paris', new Date('2026-03-28T12:00:00Z'), new Date('2026-03-30T12:00:00Z')))).toEqual([
    '2026-03-29T01:30:00.000Z',
    '2026-03-30T00:30:00.000Z',
  ]);
  // Autumn: 02:30 happens twice on 2026-10-25; it runs once, at the first (CEST, 00:30Z); next day 02:30 CET = 01:30Z.
  expect(iso(cronTimes('30 2 * * *', 'Europe/Paris', new Date('2026-10-24T12:00:00Z'), new Date('2026-10-26T12:00:00Z')))).toEqual([
    '2026-10-25T00:30:00.000Z',
    '2026-10-26T01:30:00.000Z',
  ]);
  // Midnight local before and after the change.
  expect(next('0 0 * * *', 'Europe/Paris', '2026-03-28T12:00:00Z')).toBe('2026-03-28T23:00:00.000Z');
  expect(next('0 0 * * *', 'Europe/Paris', '2026-03-29T12:00:00Z')).toBe('2026-03-29T22:00:00.000Z');
});
