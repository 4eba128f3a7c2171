/** Recurrence evaluation against hand-computed UTC instants (offsets: Paris CET +1 / CEST +2, Tunis +1, New York EST -5 / EDT -4). */
import {
  nextOccurrence,
  occurrencesBetween,
  parseRrule,
  type Recurrence,
  rruleErrors,
  wallToUtc,
  windowAt,
} from '#shared/domains/operations/recurrence';

const iso = (date: Date | null | undefined) => date?.toISOString() ?? null;
const starts = (recurrence: Recurrence, from: string, to: string) =>
  occurrencesBetween(recurrence, new Date(from), new Date(to)).map((occurrence) => iso(occurrence.start));

describe('Europe/Paris daily 22:00 for 6 h across both DST changes', () => {
  const nightly: Recurrence = { rrule: 'FREQ=DAILY', dtstart: '2026-03-27T22:00', timezone: 'Europe/Paris', durationMinutes: 360 };

  test('spring forward (2026-03-29 02:00 → 03:00): 21:00Z becomes 20:00Z', () => {
    expect(starts(nightly, '2026-03-27T00:00:00Z', '2026-03-31T00:00:00Z')).toEqual([
      '2026-03-27T21:00:00.000Z',
      '2026-03-28T21:00:00.000Z',
      '2026-03-29T20:00:00.000Z',
      '2026-03-30T20:00:00.000Z',
    ]);
  });

  test('the window spanning the change lasts 6 elapsed hours (ends 05:00 CEST = 03:00Z)', () => {
    const during = windowAt(nightly, new Date('2026-03-29T02:30:00Z'));
    expect({ start: iso(during?.start), end: iso(during?.end) }).toEqual({
      start: '2026-03-28T21:00:00.000Z',
      end: '2026-03-29T03:00:00.000Z',
    });
    expect(windowAt(nightly, new Date('2026-03-29T03:00:00Z'))).toBeNull();
    expect(iso(nextOccurrence(nightly, new Date('2026-03-29T03:00:00Z'))?.start)).toBe('2026-03-29T20:00:00.000Z');
    // 20:30Z on the 29th is 22:30 CEST: inside; the same UTC time the day before (21:30 CET) is not.
    expect(iso(windowAt(nightly, new Date('2026-03-29T20:30:00Z'))?.start)).toBe('2026-03-29T20:00:00.000Z');
    expect(windowAt(nightly, new Date('2026-03-28T20:30:00Z'))).toBeNull();
  });

  test('fall back (2026-10-25 03:00 → 02:00): 20:00Z becomes 21:00Z', () => {
    expect(starts(nightly, '2026-10-23T12:00:00Z', '2026-10-26T12:00:00Z')).toEqual([
      '2026-10-23T20:00:00.000Z',
      '2026-10-24T20:00:00.000Z',
      '2026-10-25T21:00:00.000Z',
    ]);
    const during = windowAt(nightly, new Date('2026-10-25T01:30:00Z'));
    expect(iso(during?.end)).toBe('2026-10-25T02:00:00.000Z');
    expect(windowAt(nightly, new Date('2026-10-25T20:30:00Z'))).toBeNull();
  });

  test('a wall time in the fall-back overlap is its first instant (CEST)', () => {
    expect(new Date(wallToUtc(Date.UTC(2026, 9, 25, 2, 30), 'Europe/Paris')).toISOString()).toBe('2026-10-25T00:30:00.000Z');
  });
});

test('Africa/Tunis weekly Saturday 23:00 for 3 h crosses midnight', () => {
  const saturday: Recurrence = {
    rrule: 'FREQ=WEEKLY;BYDAY=SA',
    dtstart: '2026-01-03T23:00',
    timezone: 'Africa/Tunis',
    durationMinutes: 180,
  };
  // Sunday 2026-01-11 01:30 local = 00:30Z: inside the window that started Saturday 23:00 local (22:00Z).
  const sunday = windowAt(saturday, new Date('2026-01-11T00:30:00Z'));
  expect({ start: iso(sunday?.start), end: iso(sunday?.end) }).toEqual({
    start: '2026-01-10T22:00:00.000Z',
    end: '2026-01-11T01:00:00.000Z',
  });
  expect(windowAt(saturday, new Date('2026-01-11T01:00:00Z'))).toBeNull();
  expect(iso(nextOccurrence(saturday, new Date('2026-01-11T01:00:00Z'))?.start)).toBe('2026-01-17T22:00:00.000Z');
  // No DST in Tunis: mid-summer is still 22:00Z.
  expect(iso(nextOccurrence(saturday, new Date('2026-07-01T00:00:00Z'))?.start)).toBe('2026-07-04T22:00:00.000Z');
});

test('America/New_York: 02:30 in the spring gap is 03:30 EDT; 01:30 in the fall overlap is EDT', () => {
  const early: Recurrence = { rrule: 'FREQ=DAILY', dtstart: '2026-03-07T02:30', timezone: 'America/New_York', durationMinutes: 60 };
  expect(starts(early, '2026-03-07T00:00:00Z', '2026-03-10T00:00:00Z')).toEqual([
    '2026-03-07T07:30:00.000Z',
    '2026-03-08T07:30:00.000Z',
    '2026-03-09T06:30:00.000Z',
  ]);
  const fall: Recurrence = { rrule: 'FREQ=DAILY', dtstart: '2026-10-31T01:30', timezone: 'America/New_York', durationMinutes: 60 };
  expect(starts(fall, '2026-10-31T00:00:00Z', '2026-11-03T00:00:00Z')).toEqual([
    '2026-10-31T05:30:00.000Z',
    '2026-11-01T05:30:00.000Z',
    '2026-11-02T06:30:00.000Z',
  ]);
});

describe('ends and monthly rules (Africa/Tunis, UTC+1)', () => {
  const base = { dtstart: '2026-05-01T10:00', timezone: 'Africa/Tunis', durationMinutes: 30 };

  test('COUNT', () => {
    const rule = { ...base, rrule: 'FREQ=DAILY;COUNT=3' };
    expect(starts(rule, '2026-04-01T00:00:00Z', '2026-06-01T00:00:00Z')).toEqual([
      '2026-05-01T09:00:00.000Z',
      '2026-05-02T09:00:00.000Z',
      '2026-05-03T09:00:00.000Z',
    ]);
    expect(nextOccurrence(rule, new Date('2026-05-03T09:00:00Z'))).toBeNull();
  });

  test('UNTIL as a date includes that local day; as UTC it is inclusive', () => {
    expect(starts({ ...base, rrule: 'FREQ=DAILY;UNTIL=20260502' }, '2026-04-01T00:00:00Z', '2026-06-01T00:00:00Z')).toEqual([
      '2026-05-01T09:00:00.000Z',
      '2026-05-02T09:00:00.000Z',
    ]);
    expect(
      starts({ ...base, rrule: 'FREQ=DAILY;INTERVAL=2;UNTIL=20260505T090000Z' }, '2026-04-01T00:00:00Z', '2026-06-01T00:00:00Z'),
    ).toEqual(['2026-05-01T09:00:00.000Z', '2026-05-03T09:00:00.000Z', '2026-05-05T09:00:00.000Z']);
  });

  test('MONTHLY BYDAY=-1FR and 1SU, BYMONTHDAY=-1, weekly BYDAY with BYHOUR', () => {
    const monthly = { ...base, dtstart: '2026-01-01T20:00' };
    expect(starts({ ...monthly, rrule: 'FREQ=MONTHLY;BYDAY=-1FR' }, '2026-01-01T00:00:00Z', '2026-04-01T00:00:00Z')).toEqual([
      '2026-01-30T19:00:00.000Z',
      '2026-02-27T19:00:00.000Z',
      '2026-03-27T19:00:00.000Z',
    ]);
    expect(starts({ ...monthly, rrule: 'FREQ=MONTHLY;BYDAY=1SU' }, '2026-01-01T00:00:00Z', '2026-04-01T00:00:00Z')).toEqual([
      '2026-01-04T19:00:00.000Z',
      '2026-02-01T19:00:00.000Z',
      '2026-03-01T19:00:00.000Z',
    ]);
    expect(starts({ ...monthly, rrule: 'FREQ=MONTHLY;BYMONTHDAY=-1' }, '2026-01-01T00:00:00Z', '2026-04-01T00:00:00Z')).toEqual([
      '2026-01-31T19:00:00.000Z',
      '2026-02-28T19:00:00.000Z',
      '2026-03-31T19:00:00.000Z',
    ]);
    // 2026-05-04 is a Monday.
    expect(
      starts(
        { ...base, dtstart: '2026-05-04T00:00', rrule: 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;BYHOUR=6,18;BYMINUTE=15' },
        '2026-05-01T00:00:00Z',
        '2026-05-21T00:00:00Z',
      ),
    ).toEqual([
      '2026-05-04T05:15:00.000Z',
      '2026-05-04T17:15:00.000Z',
      '2026-05-06T05:15:00.000Z',
      '2026-05-06T17:15:00.000Z',
      '2026-05-18T05:15:00.000Z',
      '2026-05-18T17:15:00.000Z',
      '2026-05-20T05:15:00.000Z',
      '2026-05-20T17:15:00.000Z',
    ]);
  });
});

test('invalid rules give clear messages under rrule', () => {
  for (const [rule, fragment] of [
    ['', 'empty'],
    ['INTERVAL=2', 'FREQ is required'],
    ['FREQ=YEARLY', 'FREQ must be one of'],
    ['FREQ=DAILY;COUNT=2;UNTIL=20260101', 'COUNT and UNTIL'],
    ['FREQ=WEEKLY;BYDAY=1MO', 'only supported with FREQ=MONTHLY'],
    ['FREQ=WEEKLY;BYDAY=XX', 'BYDAY'],
    ['FREQ=DAILY;BYHOUR=24', 'BYHOUR'],
    ['FREQ=DAILY;BYSETPOS=1', 'BYSETPOS is not supported'],
    ['FREQ=DAILY;UNTIL=20260231', 'UNTIL'],
    ['FREQ=DAILY;INTERVAL=0', 'INTERVAL'],
    ['FREQ=DAILY;FREQ=WEEKLY', 'twice'],
    ['FREQ', 'NAME=VALUE'],
  ] as const) {
    const details = rruleErrors(rule);
    expect(details).toHaveLength(1);
    expect(details[0]?.path).toBe('rrule');
    expect(details[0]?.message).toContain(fragment);
  }
  expect(parseRrule('RRULE:freq=weekly;byday=sa')).toMatchObject({ freq: 'WEEKLY', byDay: [{ weekday: 5 }] });
});
