/**
 * Routes of security policies: the standard CRUD, the violations evaluated on demand, and an evaluation that raises
 * and resolves alerts now (as after a sync).
 */
import { z } from 'zod';
import { canAccessDatacenter, type Principal, SYSTEM_MONITORING } from '#shared/auth/principal';
import { alertPolicy, evaluatePolicy } from '#shared/domains/operations/security-evaluation';
import { ruleOf, securityPolicyEntity as entity } from '#shared/domains/operations/security-policy';
import { crudRoutes, errorResponses, idParams, readVisible } from '#shared/http/crud';
import { defineRoute, type RouteDefinition } from '#shared/http/route';

const read = { scope: 'operations:read' } as const;
const write = { scope: 'operations:write' } as const;
const common = { domain: 'operations', tag: entity.collection } as const;
const base = `/v1/${entity.collection}`;

const violationSchema = z
  .object({
    entity_type: z.string(),
    entity_id: z.string(),
    datacenter_id: z.string(),
    name: z.string(),
    field: z.string(),
    actual: z.unknown(),
    expected: z.string(),
  })
  .meta({ id: 'SecurityViolation' });

const violationsSchema = z
  .object({
    policy_id: z.string(),
    checked_at: z.string(),
    evaluated: z.boolean().meta({ description: 'false for a documented-only policy (no rule)' }),
    violations: z.array(violationSchema),
  })
  .meta({ id: 'SecurityPolicyViolations' });

const evaluationSchema = z
  .object({
    policy_id: z.string(),
    evaluated: z.boolean(),
    violations: z.number().int(),
    raised: z.number().int().meta({ description: 'New alerts opened' }),
    resolved: z.number().int().meta({ description: 'Alerts resolved because their object now passes' }),
  })
  .meta({ id: 'SecurityPolicyEvaluation' });

export const securityPolicyRoutes: RouteDefinition[] = [
  ...crudRoutes(entity, { domain: 'operations', read, write }),
  defineRoute({
    ...common,
    operationId: 'list_security_policy_violations',
    method: 'GET',
    path: `${base}/{id}/violations`,
    summary: 'The objects violating a security policy, evaluated now',
    auth: read,
    params: idParams,
    responses: { 200: { description: 'The violations', schema: violationsSchema }, ...errorResponses },
    handle: async ({ params, principal }) => {
      const policy = await readVisible(entity, params.id, principal);
      const violations = (await evaluatePolicy(policy)).filter((violation) =>
        canAccessDatacenter(principal as Principal, violation.datacenter_id, 'read'),
      );
      return {
        status: 200,
        body: { policy_id: policy.id, checked_at: new Date().toISOString(), evaluated: ruleOf(policy) !== null, violations },
      };
    },
  }),
  defineRoute({
    ...common,
    operationId: 'evaluate_security_policy',
    method: 'POST',
    path: `${base}/{id}/evaluate`,
    summary: 'Evaluate a security policy now: raise alerts for violations, resolve those of objects that pass',
    auth: write,
    params: idParams,
    responses: { 200: { description: 'The evaluation outcome', schema: evaluationSchema }, ...errorResponses },
    handle: async ({ params, principal, requestId }) => {
      const policy = await readVisible(entity, params.id, principal);
      const outcome = await alertPolicy(policy, { principal: SYSTEM_MONITORING, requestId });
      return { status: 200, body: { policy_id: policy.id, evaluated: ruleOf(policy) !== null, ...outcome } };
    },
  }),
];
