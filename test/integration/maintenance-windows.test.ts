/**
 * Maintenance windows through the API in Europe/Paris (CET +1, CEST +2; 2026-03-29 02:00 → 03:00 and
 * 2026-10-25 03:00 → 02:00). Every instant below is hand-computed.
 */
import { created, detailPaths, expectError, MISSING_ID, serverBody, unique, useApi } from './helpers';

const api = useApi();

let dc: string;
let serverA: string;
let serverB: string;
let nightly: string;
let oneOff: string;
let saturday: string;

beforeAll(async () => {
  dc = (await created(api.send, 'datacenters', { name: unique('DC'), timezone: 'Europe/Paris' })).id;
  serverA = (await created(api.send, 'servers', serverBody(dc))).id;
  serverB = (await created(api.send, 'servers', serverBody(dc))).id;
  // Every night 22:00 local for 6 h, the whole datacenter.
  nightly = (
    await created(api.send, 'maintenance-windows', {
      datacenter_id: dc,
      name: 'nightly',
      rrule: 'FREQ=DAILY',
      dtstart_local: '2026-03-27T22:00',
      duration_minutes: 360,
    })
  ).id;
  // One-off over server A only, overlapping the nightly occurrence that spans the spring change.
  oneOff = (
    await created(api.send, 'maintenance-windows', {
      datacenter_id: dc,
      name: 'firmware',
      starts_at: '2026-03-29T02:00:00Z',
      ends_at: '2026-03-29T05:00:00Z',
      server_ids: [serverA],
    })
  ).id;
  // Saturdays 23:00 local for 3 h (crosses midnight), server B only. 2026-10-31 is a Saturday (CET).
  saturday = (
    await created(api.send, 'maintenance-windows', {
      datacenter_id: dc,
      name: 'saturday',
      rrule: 'FREQ=WEEKLY;BYDAY=SA',
      dtstart_local: '2026-10-31T23:00',
      duration_minutes: 180,
      server_ids: [serverB],
    })
  ).id;
});

const active = async (at: string) => {
  const response = await api.send('GET', `/v1/maintenance-windows/active?at=${encodeURIComponent(at)}&datacenter_id=${dc}`);
  expect(response.status).toBe(200);
  return response.body.items.map((item: any) => [item.window_id, item.starts_at, item.ends_at]);
};
const onServer = async (server: string, at: string) => {
  const response = await api.send('GET', `/v1/servers/${server}/maintenance?at=${encodeURIComponent(at)}`);
  expect(response.status).toBe(200);
  const { may_work_now, current, next } = response.body;
  return {
    may_work_now,
    current: current && [current.window_id, current.starts_at, current.ends_at],
    next: next && [next.window_id, next.starts_at],
  };
};

test('active windows on both sides of the spring change, overlapping windows', async () => {
  // 2026-03-28 22:00 CET = 21:00Z, 6 h later = 03:00Z (05:00 CEST).
  expect(await active('2026-03-28T21:30:00Z')).toEqual([[nightly, '2026-03-28T21:00:00.000Z', '2026-03-29T03:00:00.000Z']]);
  expect(await active('2026-03-29T02:30:00Z')).toEqual([
    [nightly, '2026-03-28T21:00:00.000Z', '2026-03-29T03:00:00.000Z'],
    [oneOff, '2026-03-29T02:00:00.000Z', '2026-03-29T05:00:00.000Z'],
  ]);
  // After the change 22:00 CEST = 20:00Z; the same UTC time a day earlier was 21:30 CET, outside.
  expect(await active('2026-03-29T20:30:00Z')).toEqual([[nightly, '2026-03-29T20:00:00.000Z', '2026-03-30T02:00:00.000Z']]);
  expect(await active('2026-03-28T20:30:00Z')).toEqual([]);
});

test('per server: may I work now, and when next', async () => {
  expect(await onServer(serverA, '2026-03-29T02:30:00Z')).toEqual({
    may_work_now: true,
    current: [oneOff, '2026-03-29T02:00:00.000Z', '2026-03-29T05:00:00.000Z'],
    next: [nightly, '2026-03-29T20:00:00.000Z'],
  });
  expect(await onServer(serverA, '2026-03-29T05:00:00Z')).toEqual({
    may_work_now: false,
    current: null,
    next: [nightly, '2026-03-29T20:00:00.000Z'],
  });
  // Server B is not in the one-off: the nightly window ends at 03:00Z for it.
  expect(await onServer(serverB, '2026-03-29T04:00:00Z')).toEqual({
    may_work_now: false,
    current: null,
    next: [nightly, '2026-03-29T20:00:00.000Z'],
  });
});

test('a window crossing midnight after the autumn change', async () => {
  // Saturday 2026-10-31 23:00 CET = 22:00Z → Sunday 01:00Z; nightly 22:00 CET = 21:00Z → 03:00Z.
  expect(await active('2026-11-01T00:30:00Z')).toEqual([
    [nightly, '2026-10-31T21:00:00.000Z', '2026-11-01T03:00:00.000Z'],
    [saturday, '2026-10-31T22:00:00.000Z', '2026-11-01T01:00:00.000Z'],
  ]);
  expect(await onServer(serverA, '2026-11-01T00:30:00Z')).toMatchObject({
    may_work_now: true,
    current: [nightly, '2026-10-31T21:00:00.000Z', '2026-11-01T03:00:00.000Z'],
  });
  expect(await onServer(serverB, '2026-11-01T03:30:00Z')).toEqual({
    may_work_now: false,
    current: null,
    next: [nightly, '2026-11-01T21:00:00.000Z'],
  });
  // Saturday 2026-11-07 at 21:30Z: inside the nightly occurrence (21:00Z); the Saturday one starts at 22:00Z.
  expect((await onServer(serverB, '2026-11-07T21:30:00Z')).current).toEqual([
    nightly,
    '2026-11-07T21:00:00.000Z',
    '2026-11-08T03:00:00.000Z',
  ]);
});

test('validation', async () => {
  const post = (body: Record<string, unknown>) =>
    api.send('POST', '/v1/maintenance-windows', { body: { datacenter_id: dc, name: 'w', ...body } });
  const both = await post({
    starts_at: '2026-01-01T00:00:00Z',
    ends_at: '2026-01-02T00:00:00Z',
    rrule: 'FREQ=DAILY',
    dtstart_local: '2026-01-01T22:00',
    duration_minutes: 60,
  });
  expectError(both, 400, 'validation_error');
  expect(detailPaths(both)).toContain('rrule');
  const noDuration = await post({ rrule: 'FREQ=DAILY', dtstart_local: '2026-01-01T22:00' });
  expectError(noDuration, 400, 'validation_error');
  expect(detailPaths(noDuration)).toEqual(['duration_minutes']);
  const badRule = await post({ rrule: 'FREQ=YEARLY', dtstart_local: '2026-01-01T22:00', duration_minutes: 60 });
  expectError(badRule, 400, 'validation_error');
  expect(detailPaths(badRule)).toEqual(['rrule']);
  const badStart = await post({ rrule: 'FREQ=DAILY', dtstart_local: '2026-02-30T22:00', duration_minutes: 60 });
  expect(detailPaths(badStart)).toEqual(['dtstart_local']);
  expect(detailPaths(await post({}))).toEqual(['starts_at', 'ends_at']);
  expectError(await api.send('GET', '/v1/maintenance-windows/active?at=tomorrow'), 400, 'validation_error');
  expectError(await api.send('GET', `/v1/servers/${MISSING_ID}/maintenance`), 404, 'not_found');
  const window = await api.send('GET', `/v1/maintenance-windows/${nightly}`);
  expect(window.body).toMatchObject({ rrule: 'FREQ=DAILY', dtstart_local: '2026-03-27T22:00', duration_minutes: 360, starts_at: null });
});
