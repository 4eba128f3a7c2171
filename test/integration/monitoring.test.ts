/**
 * Threshold monitoring end to end against govmomi's simulator: every simulated host reports the same static memory
 * usage (1404 MB of ~4 GB ≈ 32.7 %), so thresholds below and above it give known outcomes. Each test uses its own
 * datacenter (mapped to the same simulator) and datacenter-scoped thresholds, so tests stay independent.
 */
import type { EntityRecord } from '#shared/model/entity';
import { evaluateDatacenter, monitoringSettled } from '#shared/domains/monitoring/evaluation';
import { type AlertTransition, onAlertChanged } from '#shared/domains/monitoring/notifications';
import { startVcsim, type Vcsim } from '../support/vcsim';
import { createServer, type Server } from 'node:http';
import { settleLocalDeliveries } from '#shared/domains/monitoring/publisher';
import { unique, useApi } from './helpers';

/** A local webhook channel: records every notification the local publisher posts to it. */
const webhook: { server?: Server; url: string; received: { fingerprint: string | undefined; body: any }[] } = { url: '', received: [] };
beforeAll(async () => {
  webhook.server = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk) => {
      raw += chunk;
    });
    request.on('end', () => {
      webhook.received.push({ fingerprint: request.headers['x-dc-inventory-fingerprint'] as string | undefined, body: JSON.parse(raw) });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => webhook.server?.listen(0, '127.0.0.1', resolve));
  webhook.url = `http://127.0.0.1:${(webhook.server.address() as { port: number }).port}/hook`;
});
afterAll(() => new Promise<void>((resolve) => (webhook.server ? webhook.server.close(() => resolve()) : resolve())));

const h = useApi();
let sim: Vcsim;
const transitions: { id: string; transition: AlertTransition; status: unknown }[] = [];
let stopListening: (() => void) | undefined;

beforeAll(async () => {
  sim = await startVcsim({ datacenters: 1, clustersPerDatacenter: 1, hostsPerCluster: 2, standaloneHostsPerDatacenter: 1, vmsPerPool: 1 });
  stopListening = onAlertChanged(async (alert: EntityRecord, transition) => {
    transitions.push({ id: alert.id, transition, status: alert.status });
  });
}, 240_000);

afterAll(async () => {
  stopListening?.();
  await sim?.stop();
});

async function datacenterWithConnection(): Promise<{ dc: string; connection: string }> {
  const dc = await h.send('POST', '/v1/datacenters', { body: { name: unique('mon'), timezone: 'UTC' } });
  expect(dc.status).toBe(201);
  const connection = await h.send('POST', '/v1/vsphere-connections', {
    body: { datacenter_id: dc.body.id, endpoint_url: sim.url, username: sim.username, password: sim.password },
  });
  expect(connection.status).toBe(201);
  return { dc: dc.body.id, connection: connection.body.id };
}

/** Syncs and waits for the history to finish and for the post-sync evaluation to settle. */
async function syncAndWait(datacenterId: string): Promise<any> {
  const started = await h.send('POST', `/v1/datacenters/${datacenterId}/sync`);
  expect(started.status).toBe(202);
  for (let attempt = 0; attempt < 400; attempt++) {
    const history = await h.send('GET', `/v1/sync-history/${started.body.sync_id}`);
    if (history.body.status !== 'running') {
      await monitoringSettled(datacenterId);
      return history.body;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('sync did not finish');
}

async function alertsOf(datacenterId: string, extra = ''): Promise<any[]> {
  const response = await h.send('GET', `/v1/alerts?source=monitoring&datacenter_id=${datacenterId}&limit=500${extra}`);
  expect(response.status).toBe(200);
  return response.body.items;
}

async function serversOf(datacenterId: string): Promise<any[]> {
  const response = await h.send('GET', `/v1/servers?datacenter_id=${datacenterId}&limit=500`);
  expect(response.status).toBe(200);
  return response.body.items;
}

async function threshold(body: Record<string, unknown>): Promise<any> {
  const response = await h.send('POST', '/v1/monitoring-thresholds', { body: { name: unique('th'), comparison: 'gte', ...body } });
  expect(response.status).toBe(201);
  return response.body;
}

const byId = (items: any[]) => [...items].sort((a, b) => String(a.id).localeCompare(String(b.id)));

test('configuration and threshold validation', async () => {
  const { dc } = await datacenterWithConnection();
  const bad = async (body: Record<string, unknown>) =>
    (await h.send('POST', '/v1/monitoring-thresholds', { body: { name: 'x', metric: 'host_memory_usage_pct', comparison: 'gt', ...body } }))
      .status;
  expect(await bad({})).toBe(400); // neither limit
  expect(await bad({ warning: 90, critical: 80 })).toBe(400); // critical below warning for gt
  expect(await bad({ comparison: 'lt', warning: 10, critical: 20 })).toBe(400);
  expect(await bad({ warning: 80, entity_type: 'vm' })).toBe(400); // not the metric's entity type
  expect(await bad({ metric: 'nope', warning: 1 })).toBe(400);
  expect(await bad({ comparison: 'lt', warning: 20, critical: 10, datacenter_id: dc })).toBe(201);

  const config = await h.send('POST', '/v1/monitoring-configurations', { body: { datacenter_id: dc } });
  expect(config.status).toBe(201);
  expect(config.body).toMatchObject({ evaluation_interval_minutes: 5, enabled: true });
  expect(config.body.metrics).toContain('host_memory_usage_pct');
  expect((await h.send('POST', '/v1/monitoring-configurations', { body: { datacenter_id: dc } })).status).toBe(409);
});

test('a threshold under the hosts memory usage: one alert per host, no repeats, escalation, resolution', async () => {
  const { dc } = await datacenterWithConnection();
  const memory = await threshold({ metric: 'host_memory_usage_pct', warning: 20, datacenter_id: dc });
  const rule = await h.send('POST', '/v1/alert-configurations', {
    body: {
      name: unique('rule'),
      severities: ['warning', 'critical'],
      datacenter_ids: [dc],
      channels: [{ name: 'ops-hook', type: 'webhook', target: webhook.url }],
    },
  });
  expect(rule.status).toBe(201);
  const deliveredFor = async (transition: string) => {
    await settleLocalDeliveries();
    return webhook.received.filter((delivery) => delivery.body.datacenter_id === dc && delivery.body.transition === transition);
  };
  expect((await syncAndWait(dc)).status).toBe('succeeded');
  const servers = await serversOf(dc);
  expect(servers.length).toBe(3);
  // Exactly one warning per host reached the webhook channel, each carrying its alert's fingerprint.
  const fired = await deliveredFor('firing');
  expect(fired).toHaveLength(servers.length);
  expect(new Set(fired.map((delivery) => delivery.body.related_id))).toEqual(new Set(servers.map((server) => server.id)));
  expect(fired.every((delivery) => delivery.fingerprint?.startsWith('threshold:') && delivery.body.severity === 'warning')).toBe(true);

  const first = byId(await alertsOf(dc));
  expect(first).toHaveLength(servers.length);
  expect(first.map((alert) => alert.related_id).sort()).toEqual(servers.map((server) => server.id).sort());
  for (const alert of first) {
    expect(alert).toMatchObject({
      source: 'monitoring',
      severity: 'warning',
      status: 'firing',
      related_entity: 'server',
      fingerprint: `threshold:${memory.id}:${alert.related_id}`,
      labels: { metric: 'host_memory_usage_pct', threshold_id: memory.id },
    });
    const host = servers.find((server) => server.id === alert.related_id);
    expect(alert.message).toBe(`${host.hostname}: host memory usage ${host.memory_usage_pct} % >= 20 (warning)`);
  }

  // Re-sync: same state, nothing new, nothing touched.
  await syncAndWait(dc);
  const again = byId(await alertsOf(dc));
  expect(again.map((alert) => [alert.id, alert.occurrences, alert.version])).toEqual(
    first.map((alert) => [alert.id, alert.occurrences, alert.version]),
  );
  expect(await deliveredFor('firing')).toHaveLength(servers.length);

  // Lower critical under the usage: the same alerts escalate.
  expect((await h.send('PATCH', `/v1/monitoring-thresholds/${memory.id}`, { body: { critical: 25 } })).status).toBe(200);
  await syncAndWait(dc);
  const escalated = byId(await alertsOf(dc));
  expect(escalated.map((alert) => alert.id)).toEqual(first.map((alert) => alert.id));
  expect(escalated.map((alert) => alert.severity)).toEqual(first.map(() => 'critical'));
  expect(escalated.every((alert) => alert.message.endsWith('>= 25 (critical)'))).toBe(true);
  for (const alert of escalated) expect(transitions).toContainEqual({ id: alert.id, transition: 'escalated', status: 'firing' });
  expect(await deliveredFor('escalated')).toHaveLength(servers.length);

  // Above the usage: all resolve, by the monitoring system.
  expect((await h.send('PATCH', `/v1/monitoring-thresholds/${memory.id}`, { body: { warning: 90, critical: 95 } })).status).toBe(200);
  await syncAndWait(dc);
  const resolved = byId(await alertsOf(dc));
  expect(resolved.map((alert) => alert.id)).toEqual(first.map((alert) => alert.id));
  for (const alert of resolved) expect(alert).toMatchObject({ status: 'resolved', resolved_by: 'system:monitoring' });
  // One resolution message per alert, and nothing else new.
  const resolutions = await deliveredFor('resolved');
  expect(resolutions.map((delivery) => delivery.body.alert_id).sort()).toEqual(first.map((alert) => alert.id).sort());
  expect(webhook.received.filter((delivery) => delivery.body.datacenter_id === dc)).toHaveLength(servers.length * 3);

  // Alerts are audited under the monitoring actor.
  const audit = await h.send('GET', `/v1/audit-events?entity_type=alert&entity_id=${first[0].id}&limit=50`);
  expect(audit.status).toBe(200);
  expect(audit.body.items.length).toBeGreaterThanOrEqual(3);
  expect(audit.body.items.every((event: any) => event.actor === 'system:monitoring')).toBe(true);
}, 30_000);

test('a maintenance window over one host suppresses its alert only; after the window it notifies', async () => {
  const { dc } = await datacenterWithConnection();
  await syncAndWait(dc);
  const servers = await serversOf(dc);
  const covered = servers[0];
  const now = Date.now();
  const window = await h.send('POST', '/v1/maintenance-windows', {
    body: {
      datacenter_id: dc,
      name: 'firmware',
      starts_at: new Date(now - 60_000).toISOString(),
      ends_at: new Date(now + 3_600_000).toISOString(),
      server_ids: [covered.id],
    },
  });
  expect(window.status).toBe(201);
  await threshold({ metric: 'host_memory_usage_pct', warning: 20, datacenter_id: dc });
  await syncAndWait(dc);

  const alerts = await alertsOf(dc);
  expect(alerts).toHaveLength(servers.length);
  const suppressed = alerts.find((alert) => alert.related_id === covered.id);
  expect(suppressed.status).toBe('suppressed');
  expect(alerts.filter((alert) => alert.related_id !== covered.id).every((alert) => alert.status === 'firing')).toBe(true);
  expect(transitions).toContainEqual({ id: suppressed.id, transition: 'suppressed', status: 'suppressed' });
  expect(transitions.filter((entry) => entry.id === suppressed.id).map((entry) => entry.transition)).not.toContain('opened');

  // The window ends while the host is still over the threshold: flip to firing and notify.
  const ended = await h.send('PATCH', `/v1/maintenance-windows/${window.body.id}`, {
    body: { ends_at: new Date(Date.now() - 1000).toISOString() },
  });
  expect(ended.status).toBe(200);
  const summary = await evaluateDatacenter(dc, { reason: 'test' });
  expect(summary.unsuppressed).toBe(1);
  const after = (await h.send('GET', `/v1/alerts/${suppressed.id}`)).body;
  expect(after.status).toBe('firing');
  expect(transitions).toContainEqual({ id: suppressed.id, transition: 'unsuppressed', status: 'firing' });
  // Nothing more to do on the next run.
  expect((await evaluateDatacenter(dc, { reason: 'test' })).unsuppressed).toBe(0);
}, 30_000);

test('a failed sync raises sync_failed and inhibits host alerts; a good sync clears it', async () => {
  const { dc, connection } = await datacenterWithConnection();
  await syncAndWait(dc);
  expect((await h.send('PATCH', `/v1/vsphere-connections/${connection}`, { body: { password: 'wrong' } })).status).toBe(200);
  const syncFailed = await threshold({ metric: 'sync_failed', critical: 1, datacenter_id: dc });
  const memory = await threshold({ metric: 'host_memory_usage_pct', warning: 20, datacenter_id: dc });

  expect((await syncAndWait(dc)).status).toBe('failed');
  const during = await alertsOf(dc);
  expect(during).toHaveLength(1);
  expect(during[0]).toMatchObject({
    severity: 'critical',
    status: 'firing',
    related_entity: 'datacenter',
    related_id: dc,
    fingerprint: `threshold:${syncFailed.id}:${dc}`,
  });

  expect((await h.send('PATCH', `/v1/vsphere-connections/${connection}`, { body: { password: sim.password } })).status).toBe(200);
  expect((await syncAndWait(dc)).status).toBe('succeeded');
  const after = await alertsOf(dc);
  expect(after.find((alert) => alert.id === during[0].id)).toMatchObject({ status: 'resolved' });
  const hostAlerts = after.filter((alert) => alert.labels?.threshold_id === memory.id);
  expect(hostAlerts).toHaveLength((await serversOf(dc)).length);
}, 30_000);

test('maintenance windows: validation and scopes', async () => {
  const { dc } = await datacenterWithConnection();
  const backwards = await h.send('POST', '/v1/maintenance-windows', {
    body: { datacenter_id: dc, name: 'w', starts_at: '2025-01-02T00:00:00Z', ends_at: '2025-01-01T00:00:00Z' },
  });
  expect(backwards.status).toBe(400);
  const viewer = await h.api.createKey({ role: 'viewer', scopes: ['operations:read', 'alerts:read'] });
  const list = await h.send('GET', `/v1/maintenance-windows?datacenter_id=${dc}`, { key: viewer });
  expect(list.status).toBe(200);
  const denied = await h.send('POST', '/v1/maintenance-windows', {
    key: viewer,
    body: { datacenter_id: dc, name: 'w', starts_at: '2025-01-01T00:00:00Z', ends_at: '2025-01-02T00:00:00Z' },
  });
  expect(denied.status).toBe(403);
});
