/**
 * Alerts from external agents: dedup by fingerprint, Idempotency-Key, acknowledge and resolve, filters, scopes.
 */
import { expectError, unique, useApi } from './helpers';

const h = useApi();

test('posting the same external alert 100 times gives one alert with an updated last-seen time', async () => {
  const { send } = h;
  const body = { source: 'backup-agent', severity: 'warning', message: `Backup of vm-42 failed ${unique('run')}` };
  const first = await send('POST', '/v1/alerts', { body });
  expect(first.status).toBe(201);
  expect(first.body).toMatchObject({ status: 'firing', occurrences: 1, fingerprint: expect.any(String) });
  for (let repost = 0; repost < 99; repost++) expect((await send('POST', '/v1/alerts', { body })).status).toBe(200);
  const alerts = (await send('GET', `/v1/alerts?fingerprint=${first.body.fingerprint}&limit=500`)).body.items;
  expect(alerts).toHaveLength(1);
  expect(alerts[0]).toMatchObject({ id: first.body.id, occurrences: 100 });
  expect(Date.parse(alerts[0].last_seen_at)).toBeGreaterThan(Date.parse(first.body.first_seen_at));
});

test('concurrent posts of one fingerprint open exactly one alert', async () => {
  const { send } = h;
  const body = { source: 'kafka', severity: 'critical', message: 'lag', fingerprint: unique('fp') };
  const responses = await Promise.all(Array.from({ length: 10 }, () => send('POST', '/v1/alerts', { body })));
  expect(responses.filter((response) => response.status === 201)).toHaveLength(1);
  expect(responses.every((response) => response.status === 201 || response.status === 200)).toBe(true);
  const alerts = (await send('GET', `/v1/alerts?fingerprint=${body.fingerprint}`)).body.items;
  expect(alerts).toHaveLength(1);
  expect(alerts[0].occurrences).toBe(10);
});

test('Idempotency-Key: a retried post is replayed, not counted again', async () => {
  const { send } = h;
  const body = { source: 'kafka', severity: 'info', message: 'hello', fingerprint: unique('idem') };
  const key = unique('key');
  const first = await send('POST', '/v1/alerts', { body, headers: { 'idempotency-key': key } });
  const replay = await send('POST', '/v1/alerts', { body, headers: { 'idempotency-key': key } });
  expect(replay.status).toBe(first.status);
  expect(replay.body).toEqual(first.body);
  expect((await send('GET', `/v1/alerts/${first.body.id}`)).body.occurrences).toBe(1);
});

test('acknowledge then resolve; a repost after resolution opens a new alert', async () => {
  const { send } = h;
  const body = { source: 'vm-monitor', severity: 'critical', message: 'disk full', fingerprint: unique('life') };
  const alert = (await send('POST', '/v1/alerts', { body })).body;
  const acknowledged = await send('POST', `/v1/alerts/${alert.id}/acknowledge`);
  expect(acknowledged.body).toMatchObject({
    status: 'acknowledged',
    acknowledged_by: expect.any(String),
    acknowledged_at: expect.any(String),
  });
  const resolved = await send('POST', `/v1/alerts/${alert.id}/resolve`);
  expect(resolved.body).toMatchObject({ status: 'resolved', resolved_by: expect.any(String) });
  expectError(await send('POST', `/v1/alerts/${alert.id}/acknowledge`), 409, 'conflict');
  const again = await send('POST', '/v1/alerts', { body });
  expect(again.status).toBe(201);
  expect(again.body.id).not.toBe(alert.id);
  const stale = await send('POST', `/v1/alerts/${again.body.id}/resolve`, { headers: { 'if-match': '"99"' } });
  expectError(stale, 412, 'precondition_failed');
});

test('filters by severity, status, source, related entity and time range; bad input is a 400', async () => {
  const { send } = h;
  const source = unique('src');
  const relatedId = '01900000-0000-7000-8000-0000000000aa';
  await send('POST', '/v1/alerts', { body: { source, severity: 'critical', message: 'a', related_entity: 'vm', related_id: relatedId } });
  await send('POST', '/v1/alerts', { body: { source, severity: 'info', message: 'b' } });
  const critical = (await send('GET', `/v1/alerts?source=${source}&severity=critical`)).body.items;
  expect(critical.map((alert: any) => alert.message)).toEqual(['a']);
  expect((await send('GET', `/v1/alerts?related_entity=vm&related_id=${relatedId}`)).body.items).toHaveLength(1);
  expect((await send('GET', `/v1/alerts?source=${source}&since=2999-01-01T00:00:00Z`)).body.items).toHaveLength(0);
  expect((await send('GET', `/v1/alerts?source=${source}&status=firing`)).body.items).toHaveLength(2);
  expectError(await send('POST', '/v1/alerts', { body: { source, severity: 'fatal', message: 'x' } }), 400, 'validation_error');
  expectError(await send('GET', '/v1/alerts?since=yesterday'), 400, 'validation_error');
});

test('scopes: a viewer reads alerts but cannot post; an alerts:write agent key can post', async () => {
  const { api, send } = h;
  const viewer = await api.createKey({ role: 'viewer', scopes: ['alerts:read'] });
  expect((await send('GET', '/v1/alerts', { key: viewer })).status).toBe(200);
  expectError(await send('POST', '/v1/alerts', { key: viewer, body: { source: 's', severity: 'info', message: 'm' } }), 403, 'forbidden');
  const agent = await api.createKey({ role: 'operator', scopes: ['alerts:write'] });
  expect(
    (await send('POST', '/v1/alerts', { key: agent, body: { source: 'backup-agent', severity: 'info', message: unique('m') } })).status,
  ).toBe(201);
});
