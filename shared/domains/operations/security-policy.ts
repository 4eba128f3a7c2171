/**
 * A security policy: a rule enforced per datacenter (null datacenter: all of them) with a category, a severity and
 * a mode. Rules that can be checked against the inventory carry a declarative `rule` (entity type, optional tag
 * selector, optional `when` condition, field, operator, value); a policy without a rule is documented policy only.
 *
 * Mode: both modes list violations (GET /v1/security-policies/{id}/violations) and raise alerts on evaluation.
 * `enforce` raises them at the policy severity; `audit` raises them at `info` (visible, never paging anyone).
 */
import { z } from 'zod';
import { defineEntity, type EntityDefinition, type EntityRecord } from '#shared/model/entity';
import type { ErrorDetail } from '#shared/http/errors';
import { longText, text, uuid } from '#shared/model/fields';

export const SECURITY_CATEGORIES = ['encryption', 'firewall', 'access', 'patch_level', 'tagging', 'backup', 'other'] as const;
export const SECURITY_SEVERITIES = ['info', 'warning', 'critical'] as const;
export const SECURITY_MODES = ['audit', 'enforce'] as const;
export const RULE_ENTITY_TYPES = ['server', 'vm', 'storage_bay'] as const;
export const RULE_OPERATORS = ['eq', 'neq', 'gte', 'lte', 'gt', 'lt', 'exists', 'not_exists', 'version_gte', 'in'] as const;
export type RuleOperator = (typeof RULE_OPERATORS)[number];

/** Special field: the VM is covered by an enabled backup policy. */
export const BACKUP_POLICY_FIELD = 'backup_policy';
/** Special field prefix: the object carries the tag of this name (`has_tag:owner`). */
export const HAS_TAG_PREFIX = 'has_tag:';

const scalar = z.union([z.string().max(255), z.number(), z.boolean()]);
const ruleValue = z
  .union([scalar, z.array(scalar).max(100)])
  .nullable()
  .optional();

const condition = {
  field: z
    .string()
    .min(1)
    .max(100)
    .meta({ description: `A field of the entity, '${BACKUP_POLICY_FIELD}' (VMs) or '${HAS_TAG_PREFIX}<tag name>'` }),
  operator: z.enum(RULE_OPERATORS),
  value: ruleValue.meta({
    description:
      'Compared value: none for exists/not_exists, a number for gt/gte/lt/lte, a dotted version for version_gte, an array for in',
  }),
};

const whenSchema = z.object(condition).strict().meta({ id: 'SecurityRuleCondition' });

export const ruleSchema = z
  .object({
    entity_type: z.enum(RULE_ENTITY_TYPES),
    tag: text(100).nullable().optional().meta({ description: 'Only objects carrying the tag of this name are checked; null: all' }),
    when: whenSchema
      .nullable()
      .optional()
      .meta({ description: 'Only objects meeting this condition are checked (e.g. power_state eq powered_on)' }),
    ...condition,
  })
  .strict()
  .meta({ id: 'SecurityRule' });

export interface RuleCondition {
  field: string;
  operator: RuleOperator;
  value?: unknown;
}

export interface SecurityRule extends RuleCondition {
  entity_type: (typeof RULE_ENTITY_TYPES)[number];
  tag?: string | null;
  when?: RuleCondition | null;
}

export const securityPolicyEntity: EntityDefinition = defineEntity({
  type: 'security_policy',
  collection: 'security-policies',
  schemaName: 'SecurityPolicy',
  fields: z.object({
    name: text(255),
    datacenter_id: uuid().nullable().optional().meta({ description: 'The datacenter it applies to; null: all datacenters' }),
    category: z.enum(SECURITY_CATEGORIES),
    severity: z.enum(SECURITY_SEVERITIES).default('warning'),
    mode: z
      .enum(SECURITY_MODES)
      .default('audit')
      .meta({ description: 'audit: violations listed and alerted at info; enforce: alerted at the policy severity' }),
    description: longText(4000).nullable().optional(),
    rule: ruleSchema.nullable().optional().meta({ description: 'Declarative check against the inventory; null: documented policy only' }),
  }),
  filters: z.object({
    datacenter_id: uuid().optional(),
    category: z.enum(SECURITY_CATEGORIES).optional(),
    mode: z.enum(SECURITY_MODES).optional(),
  }),
  datacenterOf: (record) => (typeof record.datacenter_id === 'string' ? record.datacenter_id : undefined),
  validate: (record) => {
    const rule = record.rule as SecurityRule | null | undefined;
    if (!rule) return [];
    return [
      ...conditionErrors(rule, 'rule', rule.entity_type),
      ...(rule.when ? conditionErrors(rule.when, 'rule.when', rule.entity_type) : []),
    ];
  },
});

const DOTTED_VERSION = /^\d+(\.\d+)*$/;

/** Operator/value combinations that make sense; paths are `rule.*` (or `rule.when.*`). */
export function conditionErrors(condition: RuleCondition, path: string, entityType: string): ErrorDetail[] {
  const { field, operator, value } = condition;
  const errors: ErrorDetail[] = [];
  const special = field === BACKUP_POLICY_FIELD || field.startsWith(HAS_TAG_PREFIX);
  if (field === BACKUP_POLICY_FIELD && entityType !== 'vm') {
    errors.push({ path: `${path}.field`, message: `'${BACKUP_POLICY_FIELD}' applies to VMs only` });
  }
  if (field.startsWith(HAS_TAG_PREFIX) && field.length === HAS_TAG_PREFIX.length) {
    errors.push({ path: `${path}.field`, message: `give a tag name after '${HAS_TAG_PREFIX}'` });
  }
  if (special && operator !== 'exists' && operator !== 'not_exists') {
    errors.push({ path: `${path}.operator`, message: `'${field}' only supports exists and not_exists` });
  }
  const has = value !== null && value !== undefined;
  switch (operator) {
    case 'exists':
    case 'not_exists':
      if (has) errors.push({ path: `${path}.value`, message: `${operator} takes no value` });
      break;
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      if (typeof value !== 'number') errors.push({ path: `${path}.value`, message: `${operator} needs a number` });
      break;
    case 'version_gte':
      if (typeof value !== 'string' || !DOTTED_VERSION.test(value)) {
        errors.push({ path: `${path}.value`, message: 'version_gte needs a dotted version like 8.0' });
      }
      break;
    case 'in':
      if (!Array.isArray(value) || value.length === 0) errors.push({ path: `${path}.value`, message: 'in needs a non-empty array' });
      break;
    case 'eq':
    case 'neq':
      if (!has || Array.isArray(value)) errors.push({ path: `${path}.value`, message: `${operator} needs a string, number or boolean` });
      break;
  }
  return errors;
}

export const ruleOf = (policy: EntityRecord): SecurityRule | null => (policy.rule ? (policy.rule as SecurityRule) : null);
