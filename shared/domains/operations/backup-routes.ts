/**
 * Backup routes: policies and jobs (CRUD), coverage (VMs no policy covers, VMs whose newest successful backup is
 * older than their RPO) and the restore points a policy's GFS retention keeps for a VM. Backup agents report job
 * results with an API key scoped `operations:write` (PATCH /v1/backup-schedules/{id}, or POST for unscheduled runs);
 * a job reported failed raises a `backup` alert.
 */
import { z } from 'zod';
import type { Principal } from '#shared/auth/principal';
import { stripStorage } from '#shared/db/repository';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import { vmEntity } from '#shared/domains/inventory/vm';
import { backupJobEntity, normalInstant } from '#shared/domains/operations/backup-job';
import { backupPolicyEntity, DEFAULT_BACKUP_WINDOW_MINUTES, isEnabled } from '#shared/domains/operations/backup-policy';
import { raiseBackupAlert, vmsInScope, zoneOf } from '#shared/domains/operations/backup-scheduler';
import { type Retention, retainedRestorePoints } from '#shared/domains/operations/retention';
import { crudRoutes, errorResponses, idParams, objectResponse, readVisible, repo, updateRecord, visibleTo } from '#shared/http/crud';
import { validationError } from '#shared/http/errors';
import { defineRoute, type RouteDefinition } from '#shared/http/route';
import type { EntityRecord } from '#shared/model/entity';
import { clock } from '#shared/model/ids';
import { uuid } from '#shared/model/fields';

const read = { scope: 'operations:read' } as const;
const write = { scope: 'operations:write' } as const;
const operations = { domain: 'operations', read, write } as const;

const coverageSchema = z
  .object({
    uncovered: z.array(z.object({ vm_id: z.string(), name: z.string(), datacenter_id: z.string() })),
    stale: z.array(
      z.object({
        vm_id: z.string(),
        name: z.string(),
        datacenter_id: z.string(),
        last_success_at: z.string().nullable(),
        rpo_hours: z.number(),
      }),
    ),
  })
  .meta({ id: 'BackupCoverage' });

const restorePointsSchema = z
  .object({
    policy_id: z.string(),
    vm_id: z.string().nullable().meta({ description: 'The VM asked for; null: every VM of the policy' }),
    time_zone: z.string(),
    retention: z.record(z.string(), z.number()),
    items: z.array(z.object({ id: z.string(), vm_id: z.string(), finished_at: z.string(), reasons: z.array(z.string()) })),
  })
  .meta({ id: 'BackupRestorePoints' });

const finishedOf = (job: EntityRecord) => (typeof job.finished_at === 'string' ? job.finished_at : undefined);

async function coverage(datacenter: EntityRecord, now: Date) {
  const vms = (await repo().itemsOfDatacenter(vmEntity, datacenter.id))
    .map(stripStorage)
    .filter((vm) => vm.missing_since === undefined || vm.missing_since === null);
  const policies = (await repo().itemsOfDatacenter(backupPolicyEntity, datacenter.id)).map(stripStorage).filter(isEnabled);
  // The strictest (smallest) RPO among the policies covering each VM.
  const rpoOf = new Map<string, number>();
  for (const policy of policies) {
    for (const vm of await vmsInScope(policy, vms)) {
      rpoOf.set(vm.id, Math.min(rpoOf.get(vm.id) ?? Number.POSITIVE_INFINITY, Number(policy.rpo_hours)));
    }
  }
  const lastSuccess = new Map<string, string>();
  for (const job of (await repo().itemsOfDatacenter(backupJobEntity, datacenter.id)).map(stripStorage)) {
    const finished = finishedOf(job);
    if (job.status !== 'succeeded' || !finished) continue;
    const vmId = String(job.vm_id);
    const previous = lastSuccess.get(vmId);
    if (!previous || Date.parse(finished) > Date.parse(previous)) lastSuccess.set(vmId, finished);
  }
  const uncovered = [];
  const stale = [];
  for (const vm of vms) {
    const base = { vm_id: vm.id, name: String(vm.name ?? ''), datacenter_id: datacenter.id };
    const rpo = rpoOf.get(vm.id);
    if (rpo === undefined) {
      uncovered.push(base);
      continue;
    }
    const last = lastSuccess.get(vm.id) ?? null;
    if (last === null || now.getTime() - Date.parse(last) > rpo * 3_600_000) stale.push({ ...base, last_success_at: last, rpo_hours: rpo });
  }
  return { uncovered, stale };
}

export const backupRoutes: RouteDefinition[] = [
  // Literal routes before the /{id} routes of the collection.
  defineRoute({
    domain: 'operations',
    tag: backupPolicyEntity.collection,
    operationId: 'get_backup_coverage',
    method: 'GET',
    path: '/v1/backup-policies/coverage',
    summary: 'VMs no enabled backup policy covers, and covered VMs whose newest successful backup is older than their RPO',
    auth: read,
    query: z.object({ datacenter_id: uuid().optional() }).strict(),
    responses: { 200: { description: 'The coverage gaps', schema: coverageSchema }, ...errorResponses },
    handle: async ({ query, principal }) => {
      const now = clock.now();
      const datacenters = query.datacenter_id
        ? [await readVisible(datacenterEntity, query.datacenter_id, principal)]
        : (await repo().listAll(datacenterEntity)).filter(visibleTo(principal, datacenterEntity));
      const body = { uncovered: [] as unknown[], stale: [] as unknown[] };
      for (const datacenter of datacenters) {
        const part = await coverage(datacenter, now);
        body.uncovered.push(...part.uncovered);
        body.stale.push(...part.stale);
      }
      return { status: 200, body };
    },
  }),
  defineRoute({
    domain: 'operations',
    tag: backupPolicyEntity.collection,
    operationId: 'get_backup_restore_points',
    method: 'GET',
    path: '/v1/backup-policies/{id}/restore-points',
    summary: "The restore points the policy's GFS retention keeps for a VM, from its successful jobs",
    auth: read,
    params: idParams,
    query: z.object({ vm_id: uuid().optional().meta({ description: 'Only this VM (default: every VM, each on its own)' }) }).strict(),
    responses: { 200: { description: 'The retained restore points, newest first', schema: restorePointsSchema }, ...errorResponses },
    handle: async ({ params, query, principal }) => {
      const policy = await readVisible(backupPolicyEntity, params.id, principal);
      const datacenter = await repo().get(datacenterEntity, String(policy.datacenter_id));
      const timeZone = zoneOf(datacenter);
      const byVm = new Map<string, { id: string; finished_at: string; status: string }[]>();
      for (const job of (await repo().itemsOfDatacenter(backupJobEntity, String(policy.datacenter_id))).map(stripStorage)) {
        const finished = finishedOf(job);
        if (job.policy_id !== policy.id || finished === undefined) continue;
        if (query.vm_id !== undefined && job.vm_id !== query.vm_id) continue;
        const vmId = String(job.vm_id);
        const list = byVm.get(vmId) ?? [];
        list.push({ id: job.id, finished_at: finished, status: job.status === 'succeeded' ? 'success' : String(job.status) });
        byVm.set(vmId, list);
      }
      const retention = policy.retention as Retention;
      const now = clock.now();
      const items = [...byVm.keys()]
        .sort()
        .flatMap((vmId) =>
          retainedRestorePoints(byVm.get(vmId) ?? [], retention, timeZone, now).map((point) => ({ ...point, vm_id: vmId })),
        );
      return { status: 200, body: { policy_id: policy.id, vm_id: query.vm_id ?? null, time_zone: timeZone, retention, items } };
    },
  }),
  ...crudRoutes(backupPolicyEntity, {
    ...operations,
    prepare: async (body, mode) =>
      mode === 'create' ? { backup_window_minutes: DEFAULT_BACKUP_WINDOW_MINUTES, enabled: true, ...body } : body,
  }),
  ...crudRoutes(backupJobEntity, {
    ...operations,
    without: ['update'],
    prepare: async (body, mode) => {
      if (mode !== 'create') return body;
      const [policy, vm] = await Promise.all([
        repo().get(backupPolicyEntity, String(body.policy_id)),
        repo().get(vmEntity, String(body.vm_id)),
      ]);
      if (policy && vm && policy.datacenter_id !== vm.datacenter_id) {
        throw validationError('The VM is not in the policy’s datacenter.', [{ path: 'vm_id', message: "not in the policy's datacenter" }]);
      }
      return { ...body, scheduled_at: normalInstant(body.scheduled_at) };
    },
  }),
  // PATCH by hand: a job that becomes failed raises an alert after the update.
  ...crudRoutes(backupJobEntity, { ...operations, without: ['list', 'create', 'get', 'delete'] }).map((route) => ({
    ...route,
    handle: async (request: Parameters<typeof route.handle>[0]) => {
      const { params, body, principal, requestId, ifMatch } = request as unknown as {
        params: { id: string };
        body: Record<string, unknown>;
        principal: Principal;
        requestId: string;
        ifMatch: number | null | undefined;
      };
      const before = await readVisible(backupJobEntity, params.id, principal);
      const { record } = await updateRecord(backupJobEntity, params.id, body, principal, requestId, ifMatch);
      if (record.status === 'failed' && before.status !== 'failed') {
        const reason = typeof record.error === 'string' ? `: ${record.error}` : '';
        await raiseBackupAlert(record, `Backup of VM ${record.vm_id} scheduled at ${record.scheduled_at} failed${reason}`, {
          principal,
          requestId,
        });
      }
      return objectResponse(backupJobEntity, record);
    },
  })),
];
