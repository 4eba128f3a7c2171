/**
 * Backup policies and jobs in Africa/Tunis (UTC+1 all year, no DST). A daily 02:00 local policy over the
 * `production`-style tag: jobs at 01:00Z for exactly the tagged VMs, idempotently; unreported past the 240 min window
 * they become missed with one alert each; a failed report raises an alert; coverage and restore points.
 */
import { markMissedJobs, materializeBackupJobs } from '#shared/domains/operations/backup-scheduler';
import { created, detailPaths, expectError, listAll, unique, useApi, vmBody } from './helpers';

const api = useApi();

let dc: string;
let tagName: string;
let tagged: string[];
let untagged: string;
let policy: any;

const NOW = new Date('2026-06-10T00:00:00Z');
const DUE = '2026-06-10T01:00:00.000Z';

const policyBody = (overrides: Record<string, unknown> = {}) => ({
  datacenter_id: dc,
  name: unique('nightly'),
  scope_kind: 'tag',
  tag: tagName,
  schedule_cron: '0 2 * * *',
  retention: { daily: 7, weekly: 4, monthly: 12, yearly: 1 },
  target: 's3://backups/dc',
  rpo_hours: 26,
  ...overrides,
});

const jobsOfPolicy = async () => (await listAll(api.send, `/v1/backup-schedules?policy_id=${policy.id}`)).items;
const backupAlerts = async () =>
  (await listAll(api.send, '/v1/alerts?source=backup')).items.filter((alert: any) => alert.datacenter_id === dc);

beforeAll(async () => {
  dc = (await created(api.send, 'datacenters', { name: unique('DC'), timezone: 'Africa/Tunis' })).id;
  tagName = unique('production');
  const tag = await created(api.send, 'tags', { name: tagName });
  const vms = [];
  for (let i = 0; i < 3; i++) vms.push((await created(api.send, 'vms', vmBody(dc))).id);
  tagged = vms.slice(0, 2);
  untagged = vms[2];
  for (const vm of tagged) {
    expect((await api.send('PUT', `/v1/vms/${vm}/tags`, { body: { tag_ids: [tag.id] } })).status).toBe(200);
  }
  policy = await created(api.send, 'backup-policies', policyBody());
});

test('a policy gets defaults and is readable', async () => {
  expect(policy).toMatchObject({ backup_window_minutes: 240, enabled: true, scope_kind: 'tag' });
  expect((await api.send('GET', `/v1/backup-policies/${policy.id}`)).status).toBe(200);
});

test('materialisation creates jobs for exactly the tagged VMs, once', async () => {
  await materializeBackupJobs(NOW);
  const jobs = await jobsOfPolicy();
  expect(jobs.map((job: any) => job.vm_id).sort()).toEqual([...tagged].sort());
  for (const job of jobs) expect(job).toMatchObject({ scheduled_at: DUE, status: 'scheduled', datacenter_id: dc });
  await materializeBackupJobs(NOW);
  expect(await jobsOfPolicy()).toHaveLength(2);
});

test('jobs unreported past their window become missed with one alert each', async () => {
  await markMissedJobs(new Date('2026-06-10T05:00:00Z')); // exactly at the window's end: not yet
  expect((await jobsOfPolicy()).map((job: any) => job.status)).toEqual(['scheduled', 'scheduled']);
  await markMissedJobs(new Date('2026-06-10T05:01:00Z'));
  await markMissedJobs(new Date('2026-06-10T05:02:00Z'));
  const jobs = await jobsOfPolicy();
  expect(jobs.map((job: any) => job.status)).toEqual(['missed', 'missed']);
  const alerts = await backupAlerts();
  expect(alerts.map((alert: any) => alert.fingerprint).sort()).toEqual(jobs.map((job: any) => `backup:${job.id}`).sort());
  for (const alert of alerts) expect(alert).toMatchObject({ occurrences: 1, related_entity: 'vm', severity: 'warning' });
});

test('an agent reporting a failure raises an alert', async () => {
  const agent = await api.api.createKey({ role: 'operator', scopes: ['operations:write', 'operations:read'] });
  const job = (
    await api.send('POST', '/v1/backup-schedules', {
      key: agent,
      body: {
        policy_id: policy.id,
        vm_id: tagged[0],
        scheduled_at: '2026-06-11T01:00:00Z',
        status: 'running',
        started_at: '2026-06-11T01:00:05Z',
      },
    })
  ).body;
  expect(job.datacenter_id).toBe(dc);
  const failed = await api.send('PATCH', `/v1/backup-schedules/${job.id}`, {
    key: agent,
    body: { status: 'failed', finished_at: '2026-06-11T01:10:00Z', error: 'snapshot quiesce timed out' },
  });
  expect(failed.status).toBe(200);
  const alert = (await backupAlerts()).find((candidate: any) => candidate.fingerprint === `backup:${job.id}`);
  expect(alert).toMatchObject({ related_id: tagged[0], source: 'backup' });
  // A duplicate of an existing (policy, VM, scheduled_at) is refused.
  const duplicate = await api.send('POST', '/v1/backup-schedules', {
    key: agent,
    body: { policy_id: policy.id, vm_id: tagged[0], scheduled_at: '2026-06-11T02:00:00+01:00', status: 'running' },
  });
  expect(duplicate.status).toBe(409);
});

test('coverage lists the untagged VM as uncovered and tagged VMs without a fresh success as stale', async () => {
  const response = await api.send('GET', `/v1/backup-policies/coverage?datacenter_id=${dc}`);
  expect(response.status).toBe(200);
  expect(response.body.uncovered.map((item: any) => item.vm_id)).toEqual([untagged]);
  expect(response.body.stale.map((item: any) => item.vm_id).sort()).toEqual([...tagged].sort());
  for (const item of response.body.stale) expect(item).toMatchObject({ last_success_at: null, rpo_hours: 26 });
});

test('restore points follow the policy retention in the datacenter time zone', async () => {
  const ids: string[] = [];
  // Daily successes at 23:30Z = 00:30 local the next day: local days 2026-07-02 .. 2026-07-11.
  for (let day = 1; day <= 10; day++) {
    const finished = `2026-07-${String(day).padStart(2, '0')}T23:30:00Z`;
    const job = await created(api.send, 'backup-schedules', {
      policy_id: policy.id,
      vm_id: tagged[1],
      scheduled_at: `2026-07-${String(day).padStart(2, '0')}T23:00:00Z`,
      status: 'succeeded',
      started_at: `2026-07-${String(day).padStart(2, '0')}T23:00:00Z`,
      finished_at: finished,
      size_bytes: 1024,
    });
    ids.push(job.id);
  }
  const response = await api.send('GET', `/v1/backup-policies/${policy.id}/restore-points?vm_id=${tagged[1]}`);
  expect(response.status).toBe(200);
  expect(response.body.time_zone).toBe('Africa/Tunis');
  const kept = response.body.items.map((item: any) => item.id);
  // 7 daily (newest 7), plus weekly: ISO weeks 28 (07-06..07-11 newest 07-11), 27 (07-02..07-05 newest 07-05).
  expect(kept).toEqual([...ids].reverse().slice(0, 7));
  expect(response.body.items[0].reasons).toEqual(['daily', 'weekly', 'monthly', 'yearly']);
  expect(response.body.items.find((item: any) => item.id === ids[3]).reasons).toEqual(['daily', 'weekly']);
  // The stale list no longer has the VM with a recent-enough success? Its last success is older than 26 h now.
  const coverage = await api.send('GET', `/v1/backup-policies/coverage?datacenter_id=${dc}`);
  expect(coverage.body.stale.find((item: any) => item.vm_id === tagged[1]).last_success_at).toBe('2026-07-10T23:30:00Z');
});

test('validation and scopes', async () => {
  const badCron = await api.send('POST', '/v1/backup-policies', { body: policyBody({ schedule_cron: '0 25 * * *' }) });
  expectError(badCron, 400, 'validation_error');
  expect(detailPaths(badCron)).toContain('schedule_cron');
  const noRetention = await api.send('POST', '/v1/backup-policies', {
    body: policyBody({ retention: { daily: 0, weekly: 0, monthly: 0, yearly: 0 } }),
  });
  expectError(noRetention, 400, 'validation_error');
  expect(detailPaths(noRetention)).toContain('retention');
  const noTag = await api.send('POST', '/v1/backup-policies', { body: policyBody({ tag: null }) });
  expect(detailPaths(noTag)).toContain('tag');
  const viewer = await api.api.createKey({ role: 'viewer', scopes: ['operations:read'] });
  expect((await api.send('GET', '/v1/backup-policies', { key: viewer })).status).toBe(200);
  expectError(await api.send('POST', '/v1/backup-policies', { key: viewer, body: policyBody() }), 403, 'forbidden');
  const [job] = await jobsOfPolicy();
  expectError(await api.send('PATCH', `/v1/backup-schedules/${job.id}`, { key: viewer, body: { status: 'running' } }), 403, 'forbidden');
});
