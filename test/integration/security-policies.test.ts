/**
 * Security policies against inventory created through the API (no simulator): violations listed on demand,
 * alerts raised per violation and resolved once the object passes, documented-only policies, validation and scopes.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { SYSTEM_SYNC } from '#shared/auth/principal';
import { tableName } from '#shared/config';
import { documentClient } from '#shared/db/client';
import { repo } from '#shared/db/repository';
import { serverEntity } from '#shared/domains/inventory/server';
import { created, datacenterBody, detailPaths, expectError, type Send, serverBody, unique, useApi, vmBody } from './helpers';

const h = useApi();
const system = { principal: SYSTEM_SYNC, requestId: 'test:security' };

async function tagged(send: Send, vmId: string, tagIds: string[]) {
  const response = await send('PUT', `/v1/vms/${vmId}/tags`, { body: { tag_ids: tagIds } });
  if (response.status !== 200) throw new Error(`PUT tags answered ${response.status}: ${response.text}`);
}

/** Covers one VM by a backup policy: through the API when it exists, else as a raw item of type backup_policy. */
async function coverVm(send: Send, datacenterId: string, vmId: string) {
  const response = await send('POST', '/v1/backup-policies', {
    body: {
      datacenter_id: datacenterId,
      name: unique('bp'),
      scope_kind: 'vm',
      vm_id: vmId,
      schedule_cron: '0 2 * * *',
      retention: { daily: 7, weekly: 0, monthly: 0, yearly: 0 },
      target: 's3://backups',
      rpo_hours: 24,
    },
  });
  if (response.status === 201) return;
  const id = `raw-${unique('bp')}`;
  await documentClient().send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        pk: `BACKUP_POLICY#${id}`,
        sk: '#META',
        type: 'backup_policy',
        gsi1pk: 'backup_policy',
        gsi1sk: id,
        datacenter_id: datacenterId,
        scope_kind: 'vm',
        vm_id: vmId,
        enabled: true,
      },
    }),
  );
}

const violationIds = async (send: Send, policyId: string) => {
  const response = await send('GET', `/v1/security-policies/${policyId}/violations`);
  expect(response.status).toBe(200);
  return (response.body.violations as { entity_id: string }[]).map((violation) => violation.entity_id).sort();
};

test('VMs tagged production must have a backup policy: exactly the uncovered VMs violate; covering one clears it', async () => {
  const { send } = h;
  const dc = await created(send, 'datacenters', datacenterBody());
  const production = await created(send, 'tags', { name: unique('production') });
  const vms = [];
  for (let index = 0; index < 4; index++) vms.push(await created(send, 'vms', vmBody(dc.id)));
  const [a, b, c] = vms;
  for (const vm of [a, b, c]) await tagged(send, vm.id, [production.id]);

  const policy = await created(send, 'security-policies', {
    name: 'VMs tagged production must have a backup policy',
    datacenter_id: dc.id,
    category: 'backup',
    severity: 'critical',
    mode: 'enforce',
    rule: { entity_type: 'vm', tag: production.name, field: 'backup_policy', operator: 'exists' },
  });
  expect(await violationIds(send, policy.id)).toEqual([a.id, b.id, c.id].sort());

  // Evaluate: one alert per violation; a second run opens none.
  const first = await send('POST', `/v1/security-policies/${policy.id}/evaluate`);
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ evaluated: true, violations: 3, raised: 3, resolved: 0 });
  const second = await send('POST', `/v1/security-policies/${policy.id}/evaluate`);
  expect(second.body).toMatchObject({ violations: 3, raised: 0, resolved: 0 });
  const alerts = (await send('GET', `/v1/alerts?source=security-policy&datacenter_id=${dc.id}&limit=100`)).body.items;
  expect(alerts.map((alert: { related_id: string }) => alert.related_id).sort()).toEqual([a.id, b.id, c.id].sort());
  expect(alerts[0]).toMatchObject({ severity: 'critical', related_entity: 'vm', labels: { policy_id: policy.id } });
  expect(alerts[0].fingerprint).toBe(`security:${policy.id}:${alerts[0].related_id}`);

  await coverVm(send, dc.id, a.id);
  expect(await violationIds(send, policy.id)).toEqual([b.id, c.id].sort());
  const fixed = await send('POST', `/v1/security-policies/${policy.id}/evaluate`);
  expect(fixed.body).toMatchObject({ violations: 2, raised: 0, resolved: 1 });
  const open = (await send('GET', `/v1/alerts?source=security-policy&datacenter_id=${dc.id}&limit=100`)).body.items.filter(
    (alert: { status: string }) => alert.status !== 'resolved',
  );
  expect(open.map((alert: { related_id: string }) => alert.related_id).sort()).toEqual([b.id, c.id].sort());
});

test('ESXi version at least 8.0, and no powered-on VM without an owner tag', async () => {
  const { send } = h;
  const dc = await created(send, 'datacenters', datacenterBody());
  const servers = [];
  for (const version of ['8.0.2', '7.0.3', '8.0', null]) {
    const server = await created(send, 'servers', serverBody(dc.id));
    if (version) await repo().update(serverEntity, server.id, () => ({ esxi_version: version }), system);
    servers.push(server);
  }
  const esxi = await created(send, 'security-policies', {
    name: 'ESXi version at least 8.0',
    datacenter_id: dc.id,
    category: 'patch_level',
    rule: { entity_type: 'server', field: 'esxi_version', operator: 'version_gte', value: '8.0' },
  });
  expect(await violationIds(send, esxi.id)).toEqual([servers[1].id, servers[3].id].sort());

  const owner = await created(send, 'tags', { name: unique('owner') });
  const on = await created(send, 'vms', { ...vmBody(dc.id), power_state: 'powered_on' });
  const onOwned = await created(send, 'vms', { ...vmBody(dc.id), power_state: 'powered_on' });
  await created(send, 'vms', vmBody(dc.id));
  await tagged(send, onOwned.id, [owner.id]);
  const policy = await created(send, 'security-policies', {
    name: 'no powered-on VM without an owner tag',
    datacenter_id: dc.id,
    category: 'tagging',
    severity: 'warning',
    mode: 'audit',
    rule: {
      entity_type: 'vm',
      when: { field: 'power_state', operator: 'eq', value: 'powered_on' },
      field: `has_tag:${owner.name}`,
      operator: 'exists',
    },
  });
  expect(await violationIds(send, policy.id)).toEqual([on.id]);
  expect((await send('POST', `/v1/security-policies/${policy.id}/evaluate`)).body).toMatchObject({ raised: 1 });
  const alert = (await send('GET', `/v1/alerts?source=security-policy&related_id=${on.id}`)).body.items[0];
  expect(alert.severity).toBe('info');
  await tagged(send, on.id, [owner.id]);
  expect(await violationIds(send, policy.id)).toEqual([]);
  expect((await send('POST', `/v1/security-policies/${policy.id}/evaluate`)).body).toMatchObject({ violations: 0, resolved: 1 });
});

test('a documented-only policy is not evaluated', async () => {
  const { send } = h;
  const policy = await created(send, 'security-policies', {
    name: 'Disk encryption at rest',
    category: 'encryption',
    severity: 'critical',
    description: 'All datastores use encrypted volumes; checked in the quarterly audit.',
  });
  expect(policy.rule ?? null).toBeNull();
  const response = await send('GET', `/v1/security-policies/${policy.id}/violations`);
  expect(response.body).toMatchObject({ policy_id: policy.id, evaluated: false, violations: [] });
});

test('validation: operator/value combinations are 400 with rule.* paths; a viewer cannot write', async () => {
  const { send, api } = h;
  const base = { name: unique('p'), category: 'other' };
  const bad = await send('POST', '/v1/security-policies', {
    body: { ...base, rule: { entity_type: 'server', field: 'esxi_version', operator: 'version_gte', value: 8 } },
  });
  expectError(bad, 400, 'validation_error');
  expect(detailPaths(bad)).toContain('rule.value');
  const special = await send('POST', '/v1/security-policies', {
    body: { ...base, rule: { entity_type: 'server', field: 'backup_policy', operator: 'eq', value: true } },
  });
  expectError(special, 400, 'validation_error');
  expect(detailPaths(special).sort()).toEqual(['rule.field', 'rule.operator']);
  const badEnum = await send('POST', '/v1/security-policies', {
    body: { ...base, rule: { entity_type: 'vm', field: 'x', operator: 'like' } },
  });
  expectError(badEnum, 400, 'validation_error');

  const viewer = await api.createKey({ role: 'viewer', scopes: ['operations:read'] });
  const policy = await created(send, 'security-policies', base);
  expect((await send('GET', `/v1/security-policies/${policy.id}`, { key: viewer })).status).toBe(200);
  expect((await send('GET', `/v1/security-policies/${policy.id}/violations`, { key: viewer })).status).toBe(200);
  expectError(await send('POST', '/v1/security-policies', { key: viewer, body: { ...base, name: unique('p') } }), 403, 'forbidden');
  expectError(await send('POST', `/v1/security-policies/${policy.id}/evaluate`, { key: viewer }), 403, 'forbidden');
});
