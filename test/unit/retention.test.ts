import { isoWeekKey, retainedRestorePoints, type BackupJob } from '#shared/domains/operations/retention';

const TZ = 'Africa/Tunis'; // UTC+1, no DST: 01:00 local is 00:00Z
const GFS = { daily: 7, weekly: 4, monthly: 12, yearly: 1 };

/** One successful job per local day at 01:00 Tunis, ids `job-YYYY-MM-DD`. */
function dailyJobs(first: string, days: number, skip: readonly string[] = []): BackupJob[] {
  const jobs: BackupJob[] = [];
  for (let offset = 0; offset < days; offset++) {
    const day = new Date(Date.parse(`${first}T00:00:00Z`) + offset * 86_400_000).toISOString().slice(0, 10);
    if (!skip.includes(day)) jobs.push({ id: `job-${day}`, finished_at: `${day}T01:00:00+01:00`, status: 'success' });
  }
  return jobs;
}

const ids = (days: readonly string[]) => days.map((day) => `job-${day}`).sort();
const kept = (jobs: BackupJob[], retention = GFS, now = new Date('2025-03-01T00:00:00Z'), tz = TZ) =>
  retainedRestorePoints(jobs, retention, tz, now);

// 2024-03-01 .. 2025-02-28 inclusive: 365 days (the leap day 2024-02-29 is before the range).
const YEAR = dailyJobs('2024-03-01', 365);

test('the fixture is a year of daily jobs', () => {
  expect(YEAR).toHaveLength(365);
  expect(YEAR[0]?.id).toBe('job-2024-03-01');
  expect(YEAR[364]?.id).toBe('job-2025-02-28');
  expect(isoWeekKey({ year: 2025, month: 2, day: 28 })).toBe('2025-W09');
  expect(isoWeekKey({ year: 2024, month: 12, day: 30 })).toBe('2025-W01');
});

test('a year of daily backups with 7/4/12/1 keeps exactly the hand-computed set', () => {
  // Daily: the last 7 days. Weekly (ISO weeks, Monday..Sunday): W09 Feb 24-Mar 2 -> Feb 28, W08 -> Sun Feb 23,
  // W07 -> Sun Feb 16, W06 -> Sun Feb 9. Monthly: the last day of each of the last 12 months. Yearly: newest of 2025.
  const daily = ['2025-02-22', '2025-02-23', '2025-02-24', '2025-02-25', '2025-02-26', '2025-02-27', '2025-02-28'];
  const weekly = ['2025-02-28', '2025-02-23', '2025-02-16', '2025-02-09'];
  const monthly = [
    '2025-02-28',
    '2025-01-31',
    '2024-12-31',
    '2024-11-30',
    '2024-10-31',
    '2024-09-30',
    '2024-08-31',
    '2024-07-31',
    '2024-06-30',
    '2024-05-31',
    '2024-04-30',
    '2024-03-31',
  ];
  const yearly = ['2025-02-28'];
  const result = kept(YEAR);
  const expected = ids([...new Set([...daily, ...weekly, ...monthly, ...yearly])]);
  expect(expected).toHaveLength(20);
  expect(result.map((point) => point.id).sort()).toEqual(expected);
  const reasonsOf = (day: string) => result.find((point) => point.id === `job-${day}`)?.reasons;
  expect(reasonsOf('2025-02-28')).toEqual(['daily', 'weekly', 'monthly', 'yearly']);
  expect(reasonsOf('2025-02-23')).toEqual(['daily', 'weekly']);
  expect(reasonsOf('2025-02-16')).toEqual(['weekly']);
  expect(reasonsOf('2024-03-31')).toEqual(['monthly']);
  // Newest first.
  expect(result[0]?.id).toBe('job-2025-02-28');
  expect(result.at(-1)?.id).toBe('job-2024-03-31');
});

test('failed jobs are never kept, even when they are the newest of their period', () => {
  const jobs = [
    ...YEAR,
    { id: 'failed-late', finished_at: '2025-02-28T12:00:00+01:00', status: 'failed' },
    { id: 'failed-old', finished_at: '2023-06-01T12:00:00+01:00', status: 'failed' },
  ];
  const result = kept(jobs).map((point) => point.id);
  expect(result).not.toContain('failed-late');
  expect(result).not.toContain('failed-old');
  expect(result).toContain('job-2025-02-28');
  expect(kept([{ id: 'f', finished_at: '2025-02-01T00:00:00Z', status: 'failed' }])).toEqual([]);
});

test('empty input keeps nothing; zero retention keeps nothing', () => {
  expect(kept([])).toEqual([]);
  expect(kept(YEAR, { daily: 0, weekly: 0, monthly: 0, yearly: 0 })).toEqual([]);
});

test('a gap of missing days: daily keeps the last 7 days that have a backup', () => {
  const jobs = dailyJobs('2025-02-01', 28, ['2025-02-24', '2025-02-25', '2025-02-26']);
  const result = kept(jobs, { daily: 7, weekly: 0, monthly: 0, yearly: 0 });
  expect(result.map((point) => point.id).sort()).toEqual(
    ids(['2025-02-28', '2025-02-27', '2025-02-23', '2025-02-22', '2025-02-21', '2025-02-20', '2025-02-19']),
  );
});

test('calendar boundaries are those of the given time zone', () => {
  const jobs: BackupJob[] = [
    { id: 'jan-31-late', finished_at: '2025-01-31T22:00:00Z', status: 'success' }, // 23:00 Jan 31 in Tunis
    { id: 'feb-1-early', finished_at: '2025-01-31T23:30:00Z', status: 'success' }, // 00:30 Feb 1 in Tunis
  ];
  const monthly = { daily: 0, weekly: 0, monthly: 2, yearly: 0 };
  expect(kept(jobs, monthly).map((point) => point.id)).toEqual(['feb-1-early', 'jan-31-late']);
  expect(kept(jobs, monthly, undefined, 'UTC').map((point) => point.id)).toEqual(['feb-1-early']);
});

test('jobs finished after now are ignored', () => {
  const result = kept(YEAR, GFS, new Date('2025-02-20T12:00:00Z')).map((point) => point.id);
  expect(result).toContain('job-2025-02-20');
  expect(result).not.toContain('job-2025-02-21');
});
