/**
 * A backup job (collection `backup-schedules`): one scheduled or completed backup of one VM under one policy. The
 * scheduler creates them `scheduled`; backup agents (API keys scoped `operations:write`) report progress and results
 * by PATCH, or POST runs nobody scheduled. The (policy, VM, scheduled_at) guard makes materialisation idempotent.
 */
import { z } from 'zod';
import { childSortKey } from '#shared/db/keys';
import { vmEntity } from '#shared/domains/inventory/vm';
import { backupPolicyEntity } from '#shared/domains/operations/backup-policy';
import type { ErrorDetail } from '#shared/domains/operations/recurrence';
import { defineEntity, type EntityDefinition } from '#shared/model/entity';
import { bytes, longText, uuid } from '#shared/model/fields';

export const BACKUP_JOB_STATUSES = ['scheduled', 'running', 'succeeded', 'failed', 'missed'] as const;
export type BackupJobStatus = (typeof BACKUP_JOB_STATUSES)[number];

const instant = () => z.iso.datetime({ offset: true });

export const backupJobEntity: EntityDefinition = defineEntity({
  type: 'backup_job',
  collection: 'backup-schedules',
  schemaName: 'BackupJob',
  label: 'backup job',
  fields: z.object({
    policy_id: uuid(),
    vm_id: uuid(),
    scheduled_at: instant().meta({ description: 'ISO 8601 instant the run was due' }),
    status: z.enum(BACKUP_JOB_STATUSES),
    started_at: instant().nullable().optional(),
    finished_at: instant().nullable().optional(),
    size_bytes: bytes().nullable().optional(),
    error: longText().nullable().optional(),
  }),
  immutable: ['policy_id', 'vm_id', 'scheduled_at'],
  readOnly: z.object({ datacenter_id: z.string().meta({ description: "The policy's datacenter" }) }),
  // Jobs are history: they do not keep their policy or VM from being deleted.
  references: [
    { field: 'policy_id', target: () => backupPolicyEntity, uncountedWhen: () => true },
    { field: 'vm_id', target: () => vmEntity, uncountedWhen: () => true },
  ],
  derive: (_record, targets) => {
    const policy = targets.get('policy_id');
    return policy ? { datacenter_id: policy.datacenter_id } : {};
  },
  unique: [{ field: 'scheduled_at', value: (record) => `${record.policy_id}|${record.vm_id}|${normalInstant(record.scheduled_at)}` }],
  indexKeys: (record) => ({
    byDatacenter: { pk: `DATACENTER#${record.datacenter_id}`, sk: childSortKey(backupJobEntity, record.id) },
  }),
  listAccess: [{ param: 'datacenter_id', index: 'byDatacenter', partition: (value) => `DATACENTER#${value}` }],
  filters: z.object({
    datacenter_id: uuid().optional(),
    policy_id: uuid().optional(),
    vm_id: uuid().optional(),
    status: z.enum(BACKUP_JOB_STATUSES).optional(),
  }),
  datacenterOf: (record) => record.datacenter_id as string,
  validate: validateJob,
});

export function normalInstant(value: unknown): string {
  const at = Date.parse(String(value));
  return Number.isFinite(at) ? new Date(at).toISOString() : String(value);
}

function validateJob(record: Record<string, unknown>): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  if (typeof record.started_at === 'string' && typeof record.finished_at === 'string') {
    if (Date.parse(record.finished_at) < Date.parse(record.started_at))
      details.push({ path: 'finished_at', message: 'must not be before started_at' });
  }
  if ((record.status === 'succeeded' || record.status === 'failed') && typeof record.finished_at !== 'string') {
    details.push({ path: 'finished_at', message: 'required once the job has succeeded or failed' });
  }
  return details;
}
