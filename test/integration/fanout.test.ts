/**
 * Alert notifications end to end on the local runtime: alert rules created over the API, alerts posted and
 * resolved over the API, and a webhook sink on 127.0.0.1 that records what arrives (the local publisher posts to
 * it; LOCAL_RUNTIME=true admits http to loopback).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SYSTEM_SYNC } from '#shared/auth/principal';
import { raiseAlert } from '#shared/domains/monitoring/alerts';
import { settleLocalDeliveries } from '#shared/domains/monitoring/publisher';
import { detailPaths, expectError, unique, useApi } from './helpers';

const h = useApi();

interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
  status: number;
}

/** A webhook receiver; `failures[path]` answers that many 503s before accepting. */
class Sink {
  readonly requests: Delivery[] = [];
  readonly failures = new Map<string, number>();
  private server: Server | undefined;
  url = '';

  async start() {
    const server = createServer((request, response) => {
      let raw = '';
      request.on('data', (chunk) => (raw += chunk));
      request.on('end', () => {
        const path = request.url ?? '/';
        const failing = this.failures.get(path) ?? 0;
        const status = failing > 0 ? 503 : 204;
        if (failing > 0) this.failures.set(path, failing - 1);
        this.requests.push({ path, headers: request.headers, body: raw ? JSON.parse(raw) : null, status });
        response.writeHead(status).end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  delivered(path: string): Delivery[] {
    return this.requests.filter((request) => request.path === path && request.status === 204);
  }

  stop() {
    return new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const sink = new Sink();
beforeAll(() => sink.start());
afterAll(() => sink.stop());

async function createRule(body: Record<string, unknown>) {
  const response = await h.send('POST', '/v1/alert-configurations', { body: { name: unique('rule'), ...body } });
  expect(response.status).toBe(201);
  return response.body;
}

test('one delivery per transition: fire once, no repeat within the interval, escalate, resolve', async () => {
  const source = unique('mem');
  const rule = await createRule({
    severities: ['warning', 'critical'],
    sources: [source],
    channels: [{ name: 'sink', type: 'webhook', target: `${sink.url}/basic` }],
  });
  expect(rule).toMatchObject({ enabled: true, repeat_interval_minutes: 240, send_resolved: true, datacenter_ids: null });

  const hosts = ['esx-01', 'esx-02'];
  const alerts = [];
  for (const host of hosts) {
    const response = await h.send('POST', '/v1/alerts', { body: { source, severity: 'warning', message: `memory high on ${host}` } });
    expect(response.status).toBe(201);
    alerts.push(response.body);
  }
  await settleLocalDeliveries();
  const fired = sink.delivered('/basic');
  expect(fired).toHaveLength(2);
  for (const [index, alert] of alerts.entries()) {
    const delivery = fired.find((request) => request.body.alert_id === alert.id);
    expect(delivery?.headers['x-dc-inventory-fingerprint']).toBe(alert.fingerprint);
    expect(delivery?.body).toMatchObject({
      transition: 'firing',
      fingerprint: alert.fingerprint,
      severity: 'warning',
      status: 'firing',
      message: `memory high on ${hosts[index]}`,
      channel: { id: `${rule.id}:sink`, rule_id: rule.id, name: 'sink', type: 'webhook' },
    });
  }

  // Re-posting (a re-sync) within the repeat interval: updated alerts, nothing new delivered.
  for (const host of hosts) {
    expect((await h.send('POST', '/v1/alerts', { body: { source, severity: 'warning', message: `memory high on ${host}` } })).status).toBe(
      200,
    );
  }
  await settleLocalDeliveries();
  expect(sink.delivered('/basic')).toHaveLength(2);

  const escalated = await h.send('POST', '/v1/alerts', { body: { source, severity: 'critical', message: 'memory high on esx-01' } });
  expect(escalated.status).toBe(200);
  await settleLocalDeliveries();
  const afterEscalation = sink.delivered('/basic').slice(2);
  expect(afterEscalation.map((request) => [request.body.transition, request.body.severity, request.body.alert_id])).toEqual([
    ['escalated', 'critical', alerts[0].id],
  ]);

  for (const alert of alerts) expect((await h.send('POST', `/v1/alerts/${alert.id}/resolve`)).status).toBe(200);
  // Resolving again changes nothing and sends nothing.
  expect((await h.send('POST', `/v1/alerts/${alerts[0].id}/resolve`)).status).toBe(200);
  await settleLocalDeliveries();
  const resolutions = sink.delivered('/basic').slice(3);
  expect(resolutions.map((request) => [request.body.transition, request.body.status]).sort()).toEqual([
    ['resolved', 'resolved'],
    ['resolved', 'resolved'],
  ]);
  expect(new Set(resolutions.map((request) => request.body.alert_id))).toEqual(new Set(alerts.map((alert) => alert.id)));
});

test('send_resolved false: the firing alert is delivered, its resolution is not', async () => {
  const source = unique('quiet');
  await createRule({
    severities: ['info'],
    sources: [source],
    send_resolved: false,
    channels: [{ name: 'sink', type: 'webhook', target: `${sink.url}/quiet` }],
  });
  const alert = (await h.send('POST', '/v1/alerts', { body: { source, severity: 'info', message: 'fyi' } })).body;
  await settleLocalDeliveries();
  expect(sink.delivered('/quiet')).toHaveLength(1);
  await h.send('POST', `/v1/alerts/${alert.id}/resolve`);
  await settleLocalDeliveries();
  expect(sink.delivered('/quiet')).toHaveLength(1);
});

test('acknowledged and suppressed transitions notify nothing', async () => {
  const source = unique('silent');
  await createRule({
    severities: ['critical'],
    sources: [source],
    channels: [{ name: 'sink', type: 'webhook', target: `${sink.url}/silent` }],
  });
  await raiseAlert(
    { source, severity: 'critical', message: 'during maintenance' },
    { principal: SYSTEM_SYNC, requestId: 'test' },
    'suppressed',
  );
  await settleLocalDeliveries();
  expect(sink.requests.filter((request) => request.path === '/silent')).toHaveLength(0);

  const alert = (await h.send('POST', '/v1/alerts', { body: { source, severity: 'critical', message: 'outside maintenance' } })).body;
  await settleLocalDeliveries();
  expect(sink.delivered('/silent')).toHaveLength(1);
  await h.send('POST', `/v1/alerts/${alert.id}/acknowledge`);
  await h.send('POST', '/v1/alerts', { body: { source, severity: 'critical', message: 'outside maintenance' } });
  await settleLocalDeliveries();
  expect(sink.delivered('/silent')).toHaveLength(1);
});

test('a sink that fails twice and then accepts gets the notification exactly once', async () => {
  const source = unique('flaky');
  sink.failures.set('/flaky', 2);
  await createRule({
    severities: ['warning'],
    sources: [source],
    channels: [{ name: 'sink', type: 'webhook', target: `${sink.url}/flaky` }],
  });
  const alert = (await h.send('POST', '/v1/alerts', { body: { source, severity: 'warning', message: 'flaky sink' } })).body;
  await settleLocalDeliveries();
  const attempts = sink.requests.filter((request) => request.path === '/flaky');
  expect(attempts.map((request) => request.status)).toEqual([503, 503, 204]);
  expect(new Set(attempts.map((request) => request.headers['x-dc-inventory-delivery-id'])).size).toBe(1);
  expect(sink.delivered('/flaky')[0]?.headers['x-dc-inventory-fingerprint']).toBe(alert.fingerprint);
});

test('Slack channels get {text}; rules filter by datacenter', async () => {
  const source = unique('slack');
  const datacenter = (await h.send('POST', '/v1/datacenters', { body: { name: unique('DC'), timezone: 'Africa/Tunis' } })).body;
  await createRule({
    severities: ['critical'],
    sources: [source],
    datacenter_ids: [datacenter.id],
    channels: [{ name: 'chat', type: 'slack', target: `${sink.url}/slack` }],
  });
  await h.send('POST', '/v1/alerts', { body: { source, severity: 'critical', message: 'elsewhere' } });
  await h.send('POST', '/v1/alerts', { body: { source, severity: 'critical', message: 'here', datacenter_id: datacenter.id } });
  await settleLocalDeliveries();
  const delivered = sink.delivered('/slack');
  expect(delivered).toHaveLength(1);
  expect(Object.keys(delivered[0]?.body)).toEqual(['text']);
  expect(delivered[0]?.body.text).toContain('[CRITICAL] FIRING: here');
});

test('rule validation: targets per channel type, SSRF guard, unique channel names, scopes', async () => {
  const base = { name: unique('bad'), severities: ['critical'] };
  const invalid = async (channels: unknown[], path: string) => {
    const response = await h.send('POST', '/v1/alert-configurations', { body: { ...base, channels } });
    expectError(response, 400, 'validation_error');
    expect(detailPaths(response)).toContain(path);
  };
  await invalid([{ name: 'm', type: 'email', target: 'not-an-address' }], 'channels.0.target');
  await invalid([{ name: 's', type: 'sms', target: '0612345678' }], 'channels.0.target');
  await invalid([{ name: 'w', type: 'webhook', target: 'http://hooks.example.com/x' }], 'channels.0.target');
  await invalid([{ name: 'w', type: 'webhook', target: 'https://169.254.169.254/latest' }], 'channels.0.target');
  await invalid([{ name: 'w', type: 'slack', target: 'https://[fe80::1]/x' }], 'channels.0.target');
  await invalid(
    [
      { name: 'dup', type: 'email', target: 'a@example.com' },
      { name: 'dup', type: 'email', target: 'b@example.com' },
    ],
    'channels.1.name',
  );
  expectError(await h.send('POST', '/v1/alert-configurations', { body: { ...base, channels: [] } }), 400, 'validation_error');
  expectError(
    await h.send('POST', '/v1/alert-configurations', {
      body: { ...base, severities: [], channels: [{ name: 'm', type: 'email', target: 'a@example.com' }] },
    }),
    400,
    'validation_error',
  );

  const rule = await createRule({ severities: ['info'], channels: [{ name: 'm', type: 'email', target: 'a@example.com' }] });
  const patched = await h.send('PATCH', `/v1/alert-configurations/${rule.id}`, {
    body: { enabled: false },
    headers: { 'if-match': `"${rule.version}"` },
  });
  expect(patched.body).toMatchObject({ enabled: false, version: 2, channels: rule.channels });

  const viewer = await h.api.createKey({ role: 'viewer', scopes: ['alerts:read'] });
  expect((await h.api.request('GET', `/v1/alert-configurations/${rule.id}`, { key: viewer })).status).toBe(200);
  expectError(await h.api.request('DELETE', `/v1/alert-configurations/${rule.id}`, { key: viewer }), 403, 'forbidden');
  expect((await h.send('DELETE', `/v1/alert-configurations/${rule.id}`)).status).toBe(204);
});
