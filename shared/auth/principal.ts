/**
 * Who is calling, and what they may do. The authorizer builds a Principal from a credential (shared/auth/
 * authenticate.ts); the dispatcher checks the route's scope with `hasScope`, and the collection routes check
 * objects with `canAccessDatacenter` (shared/http/crud.ts).
 */
import { z } from 'zod';

export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** The documented scope list (README "Scopes"). A key acts with the intersection of its scopes and its role's. */
export const SCOPES = [
  'inventory:read',
  'inventory:write',
  'sync:run',
  'alerts:read',
  'alerts:write',
  'operations:read',
  'operations:write',
  'admin',
] as const;
export type Scope = (typeof SCOPES)[number];

/** What each role may ever do; a key's effective scopes are its own scopes narrowed by this. */
export const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  admin: SCOPES,
  operator: ['inventory:read', 'inventory:write', 'sync:run', 'alerts:read', 'alerts:write', 'operations:read', 'operations:write'],
  viewer: ['inventory:read', 'alerts:read', 'operations:read'],
};

export const DatacenterAccessSchema = z.union([
  z.literal('all'),
  z.array(z.object({ datacenter_id: z.string(), access: z.enum(['read', 'write']) })),
]);
export type DatacenterAccess = z.infer<typeof DatacenterAccessSchema>;

export const PrincipalSchema = z.object({
  /** `api_key`, `session` or `system` (scheduled jobs such as `system:sync`). */
  kind: z.enum(['api_key', 'session', 'system']),
  /** The credential's id (API key id, session id) or the system actor name. */
  id: z.string(),
  user_id: z.string().nullable(),
  role: z.enum(ROLES),
  scopes: z.array(z.enum(SCOPES)),
  datacenter_access: DatacenterAccessSchema,
  /**
   * A session opened without the MFA its role requires. Scopes are empty, but self-service (`authenticated`)
   * routes do not check scopes, so the identity routes also refuse such a session everywhere but enrolment:
   * otherwise it could mint an API key with the role's full scopes and so skip MFA altogether.
   */
  mfa_pending: z.boolean().optional(),
});
export type Principal = z.infer<typeof PrincipalSchema>;

export function effectiveScopes(role: Role, requested: readonly Scope[]): Scope[] {
  const allowed = new Set(ROLE_SCOPES[role]);
  return requested.filter((scope) => allowed.has(scope));
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes(scope) || principal.scopes.includes('admin');
}

export type AccessLevel = 'read' | 'write';

/** May the principal see (read) or change (write) objects of this datacenter? */
export function canAccessDatacenter(principal: Principal, datacenterId: string, level: AccessLevel): boolean {
  if (principal.datacenter_access === 'all') return true;
  const grant = principal.datacenter_access.find((entry) => entry.datacenter_id === datacenterId);
  if (!grant) return false;
  return level === 'read' || grant.access === 'write';
}

/** The actor string recorded in audit trails. */
export function actorOf(principal: Principal): string {
  return principal.kind === 'system' ? principal.id : `${principal.kind}:${principal.id}`;
}

export const SYSTEM_SYNC: Principal = {
  kind: 'system',
  id: 'system:sync',
  user_id: null,
  role: 'admin',
  scopes: ['admin'],
  datacenter_access: 'all',
};

/** Threshold evaluation: raises, escalates and resolves monitoring alerts (audited under this actor). */
export const SYSTEM_MONITORING: Principal = {
  kind: 'system',
  id: 'system:monitoring',
  user_id: null,
  role: 'admin',
  scopes: ['admin'],
  datacenter_access: 'all',
};

/** The backup scheduler: materialises backup jobs, marks overdue ones missed and raises their alerts. */
export const SYSTEM_BACKUP: Principal = {
  kind: 'system',
  id: 'system:backup',
  user_id: null,
  role: 'admin',
  scopes: ['admin'],
  datacenter_access: 'all',
};
