/** Security policy rules: operators, dotted versions, tag selector, `when`, has_tag and the backup_policy fact. */
import { checkEntity, compareVersions, type EntityFacts } from '#shared/domains/operations/security-evaluation';
import { conditionErrors, type SecurityRule } from '#shared/domains/operations/security-policy';

const facts = (tags: string[] = [], backupCovered = false): EntityFacts => ({ tagNames: new Set(tags), backupCovered });
const rule = (overrides: Partial<SecurityRule>): SecurityRule => ({ entity_type: 'vm', field: 'name', operator: 'exists', ...overrides });

test('version comparison is numeric per dotted part', () => {
  expect(compareVersions('8.0.2', '8.0')).toBe(1);
  expect(compareVersions('8.0', '8.0.0')).toBe(0);
  expect(compareVersions('7.10', '7.9')).toBe(1);
  expect(compareVersions('7.0.3', '8.0')).toBe(-1);
  const esxi = rule({ entity_type: 'server', field: 'esxi_version', operator: 'version_gte', value: '8.0' });
  expect(checkEntity(esxi, { esxi_version: '8.0.2' }, facts())).toBe(true);
  expect(checkEntity(esxi, { esxi_version: '8.0' }, facts())).toBe(true);
  expect(checkEntity(esxi, { esxi_version: '7.0.3' }, facts())).toBe(false);
  expect(checkEntity(esxi, { esxi_version: null }, facts())).toBe(false);
});

test.each([
  ['eq', 'a', 'a', true],
  ['eq', 'a', 'b', false],
  ['neq', 'a', 'b', true],
  ['gt', 5, 4, true],
  ['gt', 4, 4, false],
  ['gte', 4, 4, true],
  ['lt', 3, 4, true],
  ['lte', 5, 4, false],
  ['gte', '5', 4, false],
  ['in', 'b', ['a', 'b'], true],
  ['in', 'c', ['a', 'b'], false],
] as const)('%s: %p against %p → %p', (operator, actual, value, pass) => {
  expect(checkEntity(rule({ field: 'x', operator, value }), { x: actual }, facts())).toBe(pass);
});

test('exists and not_exists treat null, absent and empty as missing', () => {
  expect(checkEntity(rule({ field: 'owner', operator: 'exists' }), { owner: 'ops' }, facts())).toBe(true);
  expect(checkEntity(rule({ field: 'owner', operator: 'exists' }), { owner: null }, facts())).toBe(false);
  expect(checkEntity(rule({ field: 'owner', operator: 'exists' }), {}, facts())).toBe(false);
  expect(checkEntity(rule({ field: 'owner', operator: 'not_exists' }), { owner: '' }, facts())).toBe(true);
});

test('the tag selector and the when condition narrow the checked objects; has_tag reads the tag names', () => {
  const backup = rule({ tag: 'Production', field: 'backup_policy', operator: 'exists' });
  expect(checkEntity(backup, {}, facts(['production'], false))).toBe(false);
  expect(checkEntity(backup, {}, facts(['production'], true))).toBe(true);
  expect(checkEntity(backup, {}, facts(['staging'], false))).toBe(true);

  const owner = rule({ field: 'has_tag:owner', operator: 'exists', when: { field: 'power_state', operator: 'eq', value: 'powered_on' } });
  expect(checkEntity(owner, { power_state: 'powered_on' }, facts())).toBe(false);
  expect(checkEntity(owner, { power_state: 'powered_on' }, facts(['owner']))).toBe(true);
  expect(checkEntity(owner, { power_state: 'powered_off' }, facts())).toBe(true);
});

test('operator/value combinations are validated', () => {
  const paths = (condition: Partial<SecurityRule>, entityType = 'vm') =>
    conditionErrors(rule(condition), 'rule', entityType).map((detail) => detail.path);
  expect(paths({ operator: 'exists' })).toEqual([]);
  expect(paths({ operator: 'exists', value: 1 })).toEqual(['rule.value']);
  expect(paths({ operator: 'gte', value: '8' })).toEqual(['rule.value']);
  expect(paths({ operator: 'version_gte', value: '8.x' })).toEqual(['rule.value']);
  expect(paths({ operator: 'version_gte', value: '8.0.1' })).toEqual([]);
  expect(paths({ operator: 'in', value: [] })).toEqual(['rule.value']);
  expect(paths({ operator: 'eq' })).toEqual(['rule.value']);
  expect(paths({ field: 'backup_policy', operator: 'eq', value: true })).toEqual(['rule.operator']);
  expect(paths({ field: 'backup_policy', operator: 'exists' }, 'server')).toEqual(['rule.field']);
  expect(paths({ field: 'has_tag:', operator: 'exists' })).toEqual(['rule.field']);
});
