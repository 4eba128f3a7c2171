/**
 * The backup scheduler, run from the one-minute dispatcher tick: materialises the next jobs of every enabled policy
 * (idempotent: the job guard on policy, VM and scheduled_at turns a repeat into a skipped 409) and marks jobs nobody
 * reported within their policy's backup window as missed, raising one alert per job.
 */
import { SYSTEM_BACKUP } from '#shared/auth/principal';
import type { WriteContext } from '#shared/db/audit';
import { repo, stripStorage, tagIdsOf } from '#shared/db/repository';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import { tagEntity } from '#shared/domains/inventory/tag';
import { vmEntity } from '#shared/domains/inventory/vm';
import { raiseAlert } from '#shared/domains/monitoring/alerts';
import { backupJobEntity } from '#shared/domains/operations/backup-job';
import { backupPolicyEntity, isEnabled, windowMinutesOf } from '#shared/domains/operations/backup-policy';
import { cronTimes } from '#shared/domains/operations/cron';
import { ApiError } from '#shared/http/errors';
import type { EntityRecord } from '#shared/model/entity';
import { describeError, log } from '#shared/log';

const context: WriteContext = { principal: SYSTEM_BACKUP, requestId: 'backup-scheduler' };

export const zoneOf = (datacenter: EntityRecord | undefined): string =>
  datacenter && typeof datacenter.timezone === 'string' ? datacenter.timezone : 'UTC';

/** The VMs a policy covers now (VMs the sync saw disappear excluded). */
export async function vmsInScope(policy: EntityRecord, datacenterVms?: EntityRecord[]): Promise<EntityRecord[]> {
  const vms = (datacenterVms ?? (await repo().itemsOfDatacenter(vmEntity, String(policy.datacenter_id))).map(stripStorage)).filter(
    (vm) => vm.missing_since === undefined || vm.missing_since === null,
  );
  if (policy.scope_kind === 'vm') return vms.filter((vm) => vm.id === policy.vm_id);
  if (policy.scope_kind === 'tag') {
    const tagId = await repo().findByUnique(tagEntity, 'name', String(policy.tag).toLowerCase());
    return tagId ? vms.filter((vm) => tagIdsOf(vm).includes(tagId)) : [];
  }
  return vms;
}

/** Creates the jobs every enabled policy has due in (now, now + horizon]; returns how many it created. */
export async function materializeBackupJobs(now: Date, horizonHours = 24): Promise<{ created: number }> {
  let created = 0;
  const until = new Date(now.getTime() + horizonHours * 3_600_000);
  for (const policy of await repo().listAll(backupPolicyEntity)) {
    if (!isEnabled(policy)) continue;
    try {
      const datacenter = await repo().get(datacenterEntity, String(policy.datacenter_id));
      if (!datacenter) continue;
      const times = cronTimes(String(policy.schedule_cron), zoneOf(datacenter), now, until);
      if (times.length === 0) continue;
      for (const vm of await vmsInScope(policy)) {
        for (const at of times) {
          try {
            await repo().create(
              backupJobEntity,
              {
                policy_id: policy.id,
                vm_id: vm.id,
                datacenter_id: policy.datacenter_id,
                scheduled_at: at.toISOString(),
                status: 'scheduled',
              },
              context,
            );
            created += 1;
          } catch (error) {
            if (error instanceof ApiError && error.status === 409) continue; // already materialised
            throw error;
          }
        }
      }
    } catch (error) {
      log.warn('backup policy materialisation failed', { policy_id: policy.id, ...describeError(error) });
    }
  }
  return { created };
}

/** Jobs still scheduled or running past scheduled_at + their policy's window become missed, with one alert each. */
export async function markMissedJobs(now: Date): Promise<{ missed: string[] }> {
  const missed: string[] = [];
  const windows = new Map<string, number | undefined>();
  const open = [
    ...(await repo().listAll(backupJobEntity, { status: 'scheduled' })),
    ...(await repo().listAll(backupJobEntity, { status: 'running' })),
  ];
  for (const job of open) {
    const policyId = String(job.policy_id);
    if (!windows.has(policyId)) {
      const policy = await repo().get(backupPolicyEntity, policyId);
      windows.set(policyId, policy ? windowMinutesOf(policy) : undefined);
    }
    const window = windows.get(policyId);
    if (window === undefined) continue;
    if (Date.parse(String(job.scheduled_at)) + window * 60_000 >= now.getTime()) continue;
    let changed = false;
    const { record } = await repo().update(
      backupJobEntity,
      job.id,
      (current) => {
        changed = current.status === 'scheduled' || current.status === 'running';
        return changed ? { status: 'missed', error: `Not reported within ${window} minutes of ${current.scheduled_at}` } : {};
      },
      context,
    );
    if (!changed) continue;
    missed.push(record.id);
    await raiseBackupAlert(record, `Backup of VM ${record.vm_id} scheduled at ${record.scheduled_at} was missed`);
  }
  return { missed };
}

/** One alert per job (fingerprint `backup:<job id>`). */
export async function raiseBackupAlert(job: EntityRecord, message: string, writeContext: WriteContext = context): Promise<void> {
  await raiseAlert(
    {
      source: 'backup',
      severity: 'warning',
      message,
      related_entity: 'vm',
      related_id: String(job.vm_id),
      datacenter_id: String(job.datacenter_id),
      fingerprint: `backup:${job.id}`,
      labels: { policy_id: String(job.policy_id), job_id: job.id, status: String(job.status) },
    },
    writeContext,
  );
}

/** The dispatcher's backup step; never throws. */
export async function runBackupScheduler(now: Date): Promise<void> {
  await materializeBackupJobs(now).catch((error: unknown) => log.warn('backup materialisation failed', describeError(error)));
  await markMissedJobs(now).catch((error: unknown) => log.warn('marking missed backups failed', describeError(error)));
}
