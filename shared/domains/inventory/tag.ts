import { z } from 'zod';
import { defineEntity, type EntityDefinition } from '#shared/model/entity';
import { hexColor, longText, text } from '#shared/model/fields';

/** A label from the catalogue (`production`, `backup`, `GPU`); names are unique, case-insensitively. */
export const tagEntity: EntityDefinition = defineEntity({
  type: 'tag',
  collection: 'tags',
  schemaName: 'Tag',
  fields: z.object({
    name: text(100).regex(/^[\p{L}\p{N}][\p{L}\p{N} ._:/+-]*$/u, 'letters, digits, spaces and . _ : / + - only'),
    color: hexColor().nullable().optional(),
    description: longText(1000).nullable().optional(),
  }),
  unique: [{ field: 'name', value: (record) => String(record.name).toLowerCase() }],
  filters: z.object({ name: z.string().max(100).optional() }),
});
