import { z } from 'zod';
import { defineEntity, type EntityDefinition } from '#shared/model/entity';
import { httpsUrl, ianaTimezone, longText, text } from '#shared/model/fields';

/** A physical datacenter (Tunis, Sousse, Sfax). Names are unique, case-insensitively. */
export const datacenterEntity: EntityDefinition = defineEntity({
  type: 'datacenter',
  collection: 'datacenters',
  schemaName: 'Datacenter',
  fields: z.object({
    name: text(100),
    location: text(255).nullable().optional(),
    timezone: ianaTimezone(),
    vcenter_url: httpsUrl().nullable().optional(),
    description: longText(2000).nullable().optional(),
  }),
  unique: [{ field: 'name', value: (record) => String(record.name).toLowerCase() }],
  filters: z.object({ name: z.string().max(100).optional(), timezone: z.string().max(64).optional() }),
  // A datacenter is its own access scope.
  datacenterOf: (record) => record.id,
  isDatacenterRoot: true,
});
