/**
 * A maintenance procedure: a step-by-step guide for physical server maintenance (what it applies to, ordered steps,
 * tools, resources, risk). Every change keeps the previous full content as a revision item in the procedure's
 * partition (`REVISION#<n>`), written in the same transaction as the change, so any old revision can be read back.
 */
import { z } from 'zod';
import { defineEntity, type EntityDefinition } from '#shared/model/entity';
import { longText, text } from '#shared/model/fields';

export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;

const step = z
  .object({
    title: text(255),
    instructions: longText(1000),
    expected_minutes: z.number().int().min(0).max(10_000),
  })
  .strict()
  .meta({ id: 'MaintenanceProcedureStep' });

export const maintenanceProcedureEntity: EntityDefinition = defineEntity({
  type: 'maintenance_procedure',
  collection: 'maintenance-procedures',
  schemaName: 'MaintenanceProcedure',
  fields: z.object({
    title: text(255),
    vendor: text(100).nullable().optional().meta({ description: 'Applies to servers of this vendor; null: any' }),
    model: text(100).nullable().optional().meta({ description: 'Applies to servers of this model; null: any' }),
    tag: text(100).nullable().optional().meta({ description: 'Applies to servers carrying the tag of this name; null: any' }),
    steps: z.array(step).min(1).max(100).meta({ description: 'Ordered steps' }),
    required_tools: z.array(text(255)).max(100).default([]),
    required_resources: z.array(text(255)).max(100).default([]),
    risk_level: z.enum(RISK_LEVELS),
  }),
  readOnly: z.object({
    revision: z.number().int().meta({ description: 'Revision number (equals version); older ones under /revisions' }),
  }),
  filters: z.object({
    vendor: text(100).optional(),
    model: text(100).optional(),
    risk_level: z.enum(RISK_LEVELS).optional(),
  }),
});
