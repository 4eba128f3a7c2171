import { z } from 'zod';
import { defineEntity, type EntityDefinition } from '#shared/model/entity';
import { longText, text, uuid } from '#shared/model/fields';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import { endpointProblem } from '#shared/domains/sync/endpoint-policy';

const pem = () =>
  longText(65_536).refine((value) => /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(value), {
    message: 'must be one or more PEM certificates',
  });

/**
 * How to reach the vCenter that serves one of our datacenters. The password lives in Secrets Manager (one secret
 * per connection; `secret_ref` on the item, never a field), so no response or log can carry it.
 */
export const vsphereConnectionEntity: EntityDefinition = defineEntity({
  type: 'vsphere_connection',
  collection: 'vsphere-connections',
  schemaName: 'VsphereConnection',
  label: 'vSphere connection',
  fields: z.object({
    datacenter_id: uuid(),
    endpoint_url: z
      .string()
      .max(2048)
      .superRefine((value, context) => {
        const problem = endpointProblem(value);
        if (problem) context.addIssue({ code: 'custom', message: problem });
      }),
    username: text(255),
    vsphere_datacenter: text(255)
      .nullable()
      .optional()
      .meta({ description: 'Name of the vSphere datacenter inside that vCenter that maps to this datacenter; all when empty' }),
    ca_certificate: pem().nullable().optional().meta({ description: 'PEM CA bundle trusted for this vCenter (TLS is never disabled)' }),
    sync_interval_minutes: z.number().int().min(5).max(1440).default(60),
    enabled: z.boolean().default(true),
  }),
  immutable: ['datacenter_id'],
  readOnly: z.object({
    last_sync_id: z.string().nullable(),
    last_sync_at: z.string().nullable(),
    last_sync_status: z.string().nullable(),
  }),
  // One vCenter (or vSphere datacenter of it) per datacenter of ours: two connections would fight over the records.
  unique: [{ field: 'datacenter_id', value: (record) => String(record.datacenter_id) }],
  references: [{ field: 'datacenter_id', target: () => datacenterEntity }],
  filters: z.object({
    datacenter_id: uuid().optional(),
    enabled: z
      .enum(['true', 'false'])
      .transform((value) => value === 'true')
      .optional(),
  }),
  datacenterOf: (record) => record.datacenter_id as string,
});
