/**
 * Evaluating security policies against the inventory. `checkEntity` is pure (a rule, a record and facts about it);
 * `evaluatePolicy` lists violations over the policy's datacenter(s); `evaluateSecurityPolicies` (after every sync,
 * and POST /v1/security-policies/{id}/evaluate) raises one alert per violation and resolves the alerts of objects
 * that now pass.
 *
 * Backup coverage reads the raw `backup_policy` items from the type index (gsi1pk = 'backup_policy') and interprets
 * their fields (datacenter_id, scope_kind 'datacenter' | 'vm' | 'tag', vm_id, tag, enabled) directly, so this module
 * has no compile dependency on the backup-policy entity module.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { SYSTEM_MONITORING } from '#shared/auth/principal';
import { tableName } from '#shared/config';
import type { WriteContext } from '#shared/db/audit';
import { documentClient } from '#shared/db/client';
import { repo, stripStorage } from '#shared/db/repository';
import { INDEXES } from '#shared/db/table';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import { serverEntity } from '#shared/domains/inventory/server';
import { storageBayEntity } from '#shared/domains/inventory/storage-bay';
import { tagEntity } from '#shared/domains/inventory/tag';
import { vmEntity } from '#shared/domains/inventory/vm';
import { alertEntity, type Severity } from '#shared/domains/monitoring/alert';
import { raiseAlert, resolveAlert } from '#shared/domains/monitoring/alerts';
import {
  BACKUP_POLICY_FIELD,
  HAS_TAG_PREFIX,
  type RuleCondition,
  ruleOf,
  type SecurityRule,
  securityPolicyEntity,
} from '#shared/domains/operations/security-policy';
import type { EntityDefinition, EntityRecord } from '#shared/model/entity';
import { uuidv7 } from '#shared/model/ids';

export const SECURITY_ALERT_SOURCE = 'security-policy';

/** What a rule may need beyond the record's own fields. */
export interface EntityFacts {
  /** Lower-cased names of the tags the record carries. */
  tagNames: ReadonlySet<string>;
  /** The VM is covered by an enabled backup policy. */
  backupCovered?: boolean;
}

export interface Violation {
  entity_type: string;
  entity_id: string;
  datacenter_id: string;
  name: string;
  field: string;
  actual: unknown;
  expected: string;
}

// ---------------------------------------------------------------- pure rule checks

/** Compares dotted versions numerically: "8.0.2" vs "8.0" → 1; missing parts count as 0. NaN when not a version. */
export function compareVersions(a: string, b: string): number {
  const parse = (value: string) => {
    const match = /^\s*v?(\d+(?:\.\d+)*)/i.exec(value);
    return match?.[1] ? match[1].split('.').map(Number) : null;
  };
  const left = parse(a);
  const right = parse(b);
  if (!left || !right) return Number.NaN;
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

/** The value a condition looks at: the special facts, or the record's field. */
export function actualValue(field: string, record: Record<string, unknown>, facts: EntityFacts): unknown {
  if (field === BACKUP_POLICY_FIELD) return facts.backupCovered === true;
  if (field.startsWith(HAS_TAG_PREFIX)) return facts.tagNames.has(field.slice(HAS_TAG_PREFIX.length).toLowerCase());
  return record[field];
}

const present = (field: string, actual: unknown) =>
  field === BACKUP_POLICY_FIELD || field.startsWith(HAS_TAG_PREFIX)
    ? actual === true
    : actual !== null && actual !== undefined && actual !== '';

/** Whether the record meets one condition. */
export function meets(condition: RuleCondition, record: Record<string, unknown>, facts: EntityFacts): boolean {
  const { field, operator, value } = condition;
  const actual = actualValue(field, record, facts);
  switch (operator) {
    case 'exists':
      return present(field, actual);
    case 'not_exists':
      return !present(field, actual);
    case 'eq':
      return actual === value;
    case 'neq':
      return actual !== value;
    case 'in':
      return Array.isArray(value) && value.includes(actual as never);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      if (typeof actual !== 'number' || typeof value !== 'number') return false;
      if (operator === 'gt') return actual > value;
      if (operator === 'gte') return actual >= value;
      if (operator === 'lt') return actual < value;
      return actual <= value;
    }
    case 'version_gte':
      // A missing or unreadable version fails: it cannot be shown to be recent enough.
      return typeof actual === 'string' && typeof value === 'string' && compareVersions(actual, value) >= 0;
  }
}

/** Whether the rule applies to the record at all (tag selector and `when` condition). */
export function selects(rule: SecurityRule, record: Record<string, unknown>, facts: EntityFacts): boolean {
  if (rule.tag && !facts.tagNames.has(rule.tag.toLowerCase())) return false;
  return !rule.when || meets(rule.when, record, facts);
}

/** Pass (true) or violation (false). Records the rule does not select pass. */
export function checkEntity(rule: SecurityRule, record: Record<string, unknown>, facts: EntityFacts): boolean {
  return !selects(rule, record, facts) || meets(rule, record, facts);
}

export function expectationOf(rule: RuleCondition): string {
  if (rule.operator === 'exists' || rule.operator === 'not_exists') return `${rule.field} ${rule.operator}`;
  return `${rule.field} ${rule.operator} ${JSON.stringify(rule.value)}`;
}

// ---------------------------------------------------------------- inventory reads

const ENTITIES: Record<SecurityRule['entity_type'], EntityDefinition> = {
  server: serverEntity,
  vm: vmEntity,
  storage_bay: storageBayEntity,
};

async function rawItemsOfType(type: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documentClient().send(
      new QueryCommand({
        TableName: tableName(),
        IndexName: INDEXES.byType.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': INDEXES.byType.partitionKey },
        ExpressionAttributeValues: { ':pk': type },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/**
 * Ids of the given VMs covered by an enabled backup policy of their datacenter: a datacenter-wide policy covers all
 * of them, a `vm` policy its `vm_id`, a `tag` policy the VMs carrying that tag (by name or id).
 */
export async function backupCoveredVmIds(
  datacenterId: string,
  vms: readonly { id: string; tagNames: ReadonlySet<string>; tagIds: readonly string[] }[],
): Promise<Set<string>> {
  const policies = (await rawItemsOfType('backup_policy')).filter(
    (policy) => policy.enabled !== false && (policy.datacenter_id === datacenterId || policy.datacenter_id == null),
  );
  const covered = new Set<string>();
  for (const vm of vms) {
    const hit = policies.some((policy) => {
      if (policy.scope_kind === 'datacenter') return true;
      if (policy.scope_kind === 'vm') return policy.vm_id === vm.id;
      if (policy.scope_kind === 'tag' && typeof policy.tag === 'string') {
        return vm.tagNames.has(policy.tag.toLowerCase()) || vm.tagIds.includes(policy.tag);
      }
      return false;
    });
    if (hit) covered.add(vm.id);
  }
  return covered;
}

async function tagNamesById(): Promise<Map<string, string>> {
  return new Map((await repo().listAll(tagEntity)).map((tag) => [tag.id, String(tag.name).toLowerCase()]));
}

/** The datacenters a policy applies to, optionally narrowed to one. */
async function datacentersOf(policy: EntityRecord, only?: string): Promise<string[]> {
  if (typeof policy.datacenter_id === 'string') return only && only !== policy.datacenter_id ? [] : [policy.datacenter_id];
  if (only) return [only];
  return (await repo().listAll(datacenterEntity)).map((datacenter) => datacenter.id);
}

/** The violations of a policy (none for a documented-only policy), over its datacenter(s) or only `datacenterId`. */
export async function evaluatePolicy(policy: EntityRecord, datacenterId?: string): Promise<Violation[]> {
  const rule = ruleOf(policy);
  if (!rule) return [];
  const entity = ENTITIES[rule.entity_type];
  const tagNames = await tagNamesById();
  const violations: Violation[] = [];
  for (const dc of await datacentersOf(policy, datacenterId)) {
    const records = (await repo().itemsOfDatacenter(entity, dc))
      .map(stripStorage)
      .filter((record) => record.missing_since === null || record.missing_since === undefined);
    const withTags = records.map((record) => {
      const tagIds = Array.isArray(record.tag_ids) ? (record.tag_ids as string[]) : [];
      const names = new Set(tagIds.map((id) => tagNames.get(id)).filter((name): name is string => name !== undefined));
      return { record, tagIds, tagNames: names };
    });
    const needsBackup = rule.field === BACKUP_POLICY_FIELD || rule.when?.field === BACKUP_POLICY_FIELD;
    const covered =
      needsBackup && rule.entity_type === 'vm'
        ? await backupCoveredVmIds(
            dc,
            withTags.map((entry) => ({ id: entry.record.id, tagNames: entry.tagNames, tagIds: entry.tagIds })),
          )
        : new Set<string>();
    for (const { record, tagNames: names } of withTags) {
      const facts: EntityFacts = { tagNames: names, backupCovered: covered.has(record.id) };
      if (checkEntity(rule, record, facts)) continue;
      violations.push({
        entity_type: rule.entity_type,
        entity_id: record.id,
        datacenter_id: dc,
        name: String(record.name ?? record.hostname ?? record.id),
        field: rule.field,
        actual: actualValue(rule.field, record, facts) ?? null,
        expected: expectationOf(rule),
      });
    }
  }
  return violations;
}

// ---------------------------------------------------------------- alerting

export interface AlertingOutcome {
  violations: number;
  raised: number;
  resolved: number;
}

export const securityFingerprint = (policyId: string, entityId: string) => `security:${policyId}:${entityId}`;

/**
 * Raises an alert per violation (enforce: policy severity; audit: info) and resolves the open alerts of this
 * policy whose object now passes, within the evaluated datacenter(s).
 */
export async function alertPolicy(policy: EntityRecord, context: WriteContext, datacenterId?: string): Promise<AlertingOutcome> {
  const outcome: AlertingOutcome = { violations: 0, raised: 0, resolved: 0 };
  if (!ruleOf(policy)) return outcome;
  const datacenters = new Set(await datacentersOf(policy, datacenterId));
  const violations = await evaluatePolicy(policy, datacenterId);
  outcome.violations = violations.length;
  const severity: Severity = policy.mode === 'enforce' ? (policy.severity as Severity) : 'info';
  for (const violation of violations) {
    const { outcome: raised } = await raiseAlert(
      {
        source: SECURITY_ALERT_SOURCE,
        severity,
        message:
          `Security policy "${String(policy.name)}": ${violation.entity_type} ${violation.name} fails ${violation.expected} (actual: ${JSON.stringify(violation.actual)})`.slice(
            0,
            2000,
          ),
        related_entity: violation.entity_type,
        related_id: violation.entity_id,
        datacenter_id: violation.datacenter_id,
        fingerprint: securityFingerprint(policy.id, violation.entity_id),
        labels: { policy_id: policy.id },
      },
      context,
    );
    if (raised === 'created') outcome.raised += 1;
  }
  const failing = new Set(violations.map((violation) => violation.entity_id));
  const open = (await repo().listAll(alertEntity, { source: SECURITY_ALERT_SOURCE })).filter(
    (alert) =>
      alert.status !== 'resolved' &&
      (alert.labels as Record<string, string> | null | undefined)?.policy_id === policy.id &&
      datacenters.has(String(alert.datacenter_id)) &&
      !failing.has(String(alert.related_id)),
  );
  for (const alert of open) {
    const { changed } = await resolveAlert(alert.id, SYSTEM_MONITORING.id, context);
    if (changed) outcome.resolved += 1;
  }
  return outcome;
}

/** After every sync of a datacenter: every policy with a rule that applies to it. Never throws. */
export async function evaluateSecurityPolicies(datacenterId: string): Promise<void> {
  const context: WriteContext = { principal: SYSTEM_MONITORING, requestId: `security:${datacenterId}:${uuidv7()}` };
  const policies = (await repo().listAll(securityPolicyEntity)).filter(
    (policy) => ruleOf(policy) && (policy.datacenter_id == null || policy.datacenter_id === datacenterId),
  );
  for (const policy of policies) await alertPolicy(policy, context, datacenterId);
}
