/**
 * A backup policy: what to back up (one VM, a whole datacenter, or the VMs carrying a tag), when (a five-field cron
 * in the datacenter's time zone), how long to keep restore points (grandfather-father-son counts), where to (target)
 * and the recovery-point objective. The scheduler (backup-scheduler.ts) materialises backup jobs from it.
 */
import { z } from 'zod';
import { childSortKey } from '#shared/db/keys';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import { vmEntity } from '#shared/domains/inventory/vm';
import { cronErrors } from '#shared/domains/operations/cron';
import type { ErrorDetail } from '#shared/domains/operations/recurrence';
import { RETENTION_TIERS } from '#shared/domains/operations/retention';
import { defineEntity, type EntityDefinition } from '#shared/model/entity';
import { text, uuid } from '#shared/model/fields';

export const BACKUP_SCOPES = ['datacenter', 'vm', 'tag'] as const;
export const DEFAULT_BACKUP_WINDOW_MINUTES = 240;

const tierCount = () => z.number().int().min(0).max(1000);

export const backupPolicyEntity: EntityDefinition = defineEntity({
  type: 'backup_policy',
  collection: 'backup-policies',
  schemaName: 'BackupPolicy',
  label: 'backup policy',
  fields: z.object({
    datacenter_id: uuid().meta({ description: "The policy's datacenter; its time zone drives the schedule" }),
    name: text(255),
    scope_kind: z.enum(BACKUP_SCOPES).meta({ description: 'datacenter: every VM of it; vm: vm_id only; tag: VMs carrying `tag`' }),
    vm_id: uuid().nullable().optional().meta({ description: 'scope_kind vm: the VM' }),
    tag: text(100).nullable().optional().meta({ description: 'scope_kind tag: the tag name' }),
    schedule_cron: z.string().min(1).max(200).meta({
      description: "Five-field cron (minute hour day-of-month month day-of-week) in the datacenter's time zone",
      example: '0 2 * * *',
    }),
    retention: z
      .object({ daily: tierCount(), weekly: tierCount(), monthly: tierCount(), yearly: tierCount() })
      .strict()
      .meta({ description: 'Grandfather-father-son counts of restore points kept; at least one above 0' }),
    target: text(1000).meta({ description: 'Where backups go (repository, bucket, ...)' }),
    rpo_hours: z
      .number()
      .int()
      .min(1)
      .max(8760)
      .meta({ description: 'Recovery-point objective: the newest success may be at most this old' }),
    backup_window_minutes: z
      .number()
      .int()
      .min(1)
      .max(60 * 24 * 7)
      .optional()
      .meta({
        description: `How long a job may stay unreported after scheduled_at before it is missed (default ${DEFAULT_BACKUP_WINDOW_MINUTES})`,
      }),
    enabled: z.boolean().optional().meta({ description: 'Disabled policies schedule nothing (default true)' }),
  }),
  immutable: ['datacenter_id'],
  references: [
    { field: 'datacenter_id', target: () => datacenterEntity },
    { field: 'vm_id', target: () => vmEntity, sameDatacenter: true },
  ],
  indexKeys: (record) => ({
    byDatacenter: { pk: `DATACENTER#${record.datacenter_id}`, sk: childSortKey(backupPolicyEntity, record.id) },
  }),
  listAccess: [{ param: 'datacenter_id', index: 'byDatacenter', partition: (value) => `DATACENTER#${value}` }],
  filters: z.object({ datacenter_id: uuid().optional() }),
  datacenterOf: (record) => record.datacenter_id as string,
  validate: validatePolicy,
});

function validatePolicy(record: Record<string, unknown>): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const set = (field: string) => record[field] !== undefined && record[field] !== null;
  if (record.scope_kind === 'vm' && !set('vm_id')) details.push({ path: 'vm_id', message: 'required when scope_kind is vm' });
  if (record.scope_kind === 'tag' && !set('tag')) details.push({ path: 'tag', message: 'required when scope_kind is tag' });
  if (record.scope_kind !== 'vm' && set('vm_id')) details.push({ path: 'vm_id', message: 'only with scope_kind vm' });
  if (record.scope_kind !== 'tag' && set('tag')) details.push({ path: 'tag', message: 'only with scope_kind tag' });
  details.push(...cronErrors(String(record.schedule_cron)));
  const retention = (record.retention ?? {}) as Record<string, number>;
  if (!RETENTION_TIERS.some((tier) => Number(retention[tier]) > 0)) {
    details.push({ path: 'retention', message: 'keep at least one restore point in some tier' });
  }
  return details;
}

export const windowMinutesOf = (policy: Record<string, unknown>): number =>
  typeof policy.backup_window_minutes === 'number' ? policy.backup_window_minutes : DEFAULT_BACKUP_WINDOW_MINUTES;
export const isEnabled = (policy: Record<string, unknown>): boolean => policy.enabled !== false;
