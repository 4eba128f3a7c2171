/**
 * Routes of the identity domain: users (admin), the caller (`/v1/me`), login and logout, MFA, API keys, security
 * settings and the audit trail.
 */
import { z } from 'zod';
import { hasScope, type Principal } from '#shared/auth/principal';
import { deleteSession } from '#shared/auth/sessions';
import { repo } from '#shared/db/repository';
import { apiKeyEntity, MAX_API_KEY_LIFETIME_DAYS } from '#shared/domains/identity/api-key';
import { AuditEventSchema, AuditQuerySchema, listAuditEvents } from '#shared/domains/identity/audit-log';
import { issueApiKey, revokeApiKey } from '#shared/domains/identity/keys';
import { login } from '#shared/domains/identity/login';
import { confirmMfa, disableMfa, enrolMfa } from '#shared/domains/identity/mfa';
import { hashPassword, verifyPassword } from '#shared/domains/identity/passwords';
import { SECURITY_SETTINGS_ID, securitySettings, securitySettingsEntity } from '#shared/domains/identity/settings';
import { userEntity } from '#shared/domains/identity/user';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import { crudRoutes, errorResponses, etagOf, idParams, objectResponse, readVisible } from '#shared/http/crud';
import { forbidden, preconditionFailed, validationError } from '#shared/http/errors';
import { defineRoute, type RouteDefinition } from '#shared/http/route';
import { createSchema, patchSchema, resourceSchema, toResource } from '#shared/model/entity';
import { clock } from '#shared/model/ids';

const password = () => z.string().min(12, 'at least 12 characters').max(256);

// ---------------------------------------------------------------- users

/** Turns `password` into `password_hash` and checks that granted datacenters exist. */
async function prepareUser(body: Record<string, unknown>, mode: 'create' | 'update'): Promise<Record<string, unknown>> {
  const { password: plain, ...fields } = body;
  if (Array.isArray(fields.datacenter_access)) {
    const grants = fields.datacenter_access as { datacenter_id: string }[];
    const found = await repo().batchGet(
      datacenterEntity,
      grants.map((grant) => grant.datacenter_id),
    );
    const details = grants.flatMap((grant, index) =>
      found.has(grant.datacenter_id) ? [] : [{ path: `datacenter_access.${index}.datacenter_id`, message: 'no such datacenter' }],
    );
    if (details.length > 0) throw validationError('A referenced object is missing or not allowed.', details);
  }
  if (typeof plain === 'string') fields.password_hash = await hashPassword(plain);
  if (mode === 'create') fields.mfa_enabled = false;
  return fields;
}

const userRoutes = crudRoutes(userEntity, {
  domain: 'identity',
  read: { scope: 'admin' },
  write: { scope: 'admin' },
  createBody: createSchema(userEntity).extend({ password: password().optional() }).meta({ id: 'UserCreate' }),
  // safeExtend, not `.and(...)`: in an intersection the strict patch schema drops `password` before its "at least
  // one field" check, so a password-only PATCH (an admin resetting a password) was refused as empty.
  updateBody: patchSchema(userEntity).safeExtend({ password: password().optional() }).meta({ id: 'UserUpdate' }),
  prepare: prepareUser,
});

// ---------------------------------------------------------------- API keys

const apiKeyCreateBody = createSchema(apiKeyEntity).meta({ id: 'ApiKeyCreate' });
const apiKeyCreated = resourceSchema(apiKeyEntity)
  .and(z.object({ key: z.string().meta({ description: 'The key itself: shown once, store it now' }) }))
  .meta({ id: 'ApiKeyCreated' });

/** Keys may change name, expiry (still within a year) and CIDRs; a key cannot extend itself. */
async function prepareApiKeyUpdate(body: Record<string, unknown>, _mode: 'create' | 'update', principal: Principal) {
  if (principal.kind === 'api_key' && !hasScope(principal, 'admin'))
    throw forbidden('Change keys from a login session, or with an admin key.');
  if (typeof body.expires_at === 'string') {
    const expires = Date.parse(body.expires_at);
    const now = clock.now().getTime();
    if (!(expires > now) || expires > now + MAX_API_KEY_LIFETIME_DAYS * 86_400_000) {
      throw validationError('The API key is not valid.', [
        { path: 'expires_at', message: `must be in the next ${MAX_API_KEY_LIFETIME_DAYS} days` },
      ]);
    }
    return { ...body, expires_at: new Date(expires).toISOString() };
  }
  return body;
}

const apiKeyRoutes: RouteDefinition[] = [
  ...crudRoutes(apiKeyEntity, {
    domain: 'identity',
    read: { authenticated: true },
    write: { authenticated: true },
    without: ['create'],
    prepare: prepareApiKeyUpdate,
  }),
  defineRoute({
    operationId: 'create_api_key',
    issuesSecrets: true,
    method: 'POST',
    path: '/v1/api-keys',
    domain: 'identity',
    tag: 'api-keys',
    summary: 'Create an API key (shown once)',
    auth: { authenticated: true },
    body: apiKeyCreateBody,
    responses: { 201: { description: 'The key, with its secret this one time', schema: apiKeyCreated }, ...errorResponses },
    handle: async ({ body, principal, requestId }) => {
      const { record, key } = await issueApiKey(body as Parameters<typeof issueApiKey>[0], {
        principal: principal as Principal,
        requestId,
      });
      return {
        status: 201,
        body: { ...toResource(apiKeyEntity, record), key },
        headers: { etag: etagOf(record), location: `/v1/api-keys/${record.id}` },
      };
    },
  }),
  defineRoute({
    operationId: 'revoke_api_key',
    method: 'POST',
    path: '/v1/api-keys/{id}/revoke',
    domain: 'identity',
    tag: 'api-keys',
    summary: 'Revoke an API key (it stops working at once, within the authorizer cache time)',
    auth: { authenticated: true },
    params: idParams,
    responses: { 200: { description: 'The revoked key', schema: resourceSchema(apiKeyEntity) }, ...errorResponses },
    handle: async ({ params, principal, requestId }) => {
      await readVisible(apiKeyEntity, params.id, principal);
      return objectResponse(apiKeyEntity, await revokeApiKey(params.id, { principal: principal as Principal, requestId }));
    },
  }),
];

// ---------------------------------------------------------------- the caller, login, MFA

const meSchema = z
  .object({
    user: resourceSchema(userEntity).nullable(),
    credential: z.object({ kind: z.enum(['api_key', 'session', 'system']), id: z.string() }),
    role: z.string(),
    scopes: z.array(z.string()),
    datacenter_access: z.unknown(),
  })
  .meta({ id: 'Me' });

function sessionUser(principal: Principal | null): string {
  if (principal?.kind !== 'session' || !principal.user_id) throw forbidden('Use a login session (Authorization: Bearer) for this.');
  return principal.user_id;
}

const codeBody = z.object({ code: z.string().min(6).max(16) }).strict();

const selfRoutes: RouteDefinition[] = [
  defineRoute({
    operationId: 'get_me',
    method: 'GET',
    path: '/v1/me',
    domain: 'identity',
    tag: 'me',
    summary: 'Who am I: the user, the credential, effective scopes and datacenter access',
    auth: { authenticated: true },
    responses: { 200: { description: 'The caller', schema: meSchema }, ...errorResponses },
    handle: async ({ principal }) => {
      const caller = principal as Principal;
      const user = caller.user_id ? await repo().get(userEntity, caller.user_id) : undefined;
      return {
        status: 200,
        body: {
          user: user ? toResource(userEntity, user) : null,
          credential: { kind: caller.kind, id: caller.id },
          role: caller.role,
          scopes: caller.scopes,
          datacenter_access: caller.datacenter_access,
        },
      };
    },
  }),
  defineRoute({
    operationId: 'login',
    issuesSecrets: true,
    method: 'POST',
    path: '/v1/auth/login',
    domain: 'identity',
    tag: 'auth',
    summary: 'Log in with username, password and (when enabled) a one-time code; returns a bearer session token',
    auth: { public: true },
    body: z
      .object({
        username: z.string().min(1).max(64),
        password: z.string().min(1).max(256),
        totp_code: z
          .string()
          .regex(/^\d{6}$/, 'six digits')
          .optional(),
        recovery_code: z.string().min(10).max(16).optional(),
      })
      .strict()
      .meta({ id: 'LoginRequest' }),
    responses: {
      200: {
        description: 'A session',
        schema: z
          .object({ token: z.string(), token_type: z.literal('Bearer'), expires_at: z.string(), mfa_enrolment_required: z.boolean() })
          .meta({ id: 'Session' }),
      },
      400: errorResponses[400],
      401: errorResponses[401],
      429: { description: 'Locked after repeated failures', schema: errorResponses[400].schema },
    },
    handle: async ({ body, sourceIp }) => ({ status: 200, body: await login(body, sourceIp) }),
  }),
  defineRoute({
    operationId: 'logout',
    method: 'POST',
    path: '/v1/auth/logout',
    domain: 'identity',
    tag: 'auth',
    summary: 'End the current session',
    auth: { authenticated: true },
    responses: { 204: { description: 'Logged out' }, ...errorResponses },
    handle: async ({ principal }) => {
      sessionUser(principal);
      await deleteSession((principal as Principal).id);
      return { status: 204 };
    },
  }),
  defineRoute({
    operationId: 'change_my_password',
    method: 'POST',
    path: '/v1/me/password',
    domain: 'identity',
    tag: 'me',
    summary: 'Change your own password',
    auth: { authenticated: true },
    body: z
      .object({ current_password: z.string().min(1).max(256), new_password: password() })
      .strict()
      .meta({ id: 'PasswordChange' }),
    responses: { 204: { description: 'Changed' }, ...errorResponses },
    handle: async ({ body, principal, requestId }) => {
      const userId = sessionUser(principal);
      const user = await repo().getOrThrow(userEntity, userId);
      const ok = typeof user.password_hash === 'string' && (await verifyPassword(body.current_password, user.password_hash));
      if (!ok) throw validationError('The current password is wrong.', [{ path: 'current_password', message: 'wrong' }]);
      const hash = await hashPassword(body.new_password);
      await repo().update(userEntity, userId, () => ({ password_hash: hash }), { principal: principal as Principal, requestId });
      return { status: 204 };
    },
  }),
  defineRoute({
    operationId: 'enrol_mfa',
    issuesSecrets: true,
    method: 'POST',
    path: '/v1/me/mfa/enroll',
    domain: 'identity',
    tag: 'me',
    summary: 'Start TOTP enrolment: returns the otpauth URI (shown once)',
    auth: { authenticated: true },
    responses: {
      200: {
        description: 'Scan the URI, then confirm a code',
        schema: z.object({ otpauth_uri: z.string(), secret: z.string() }).meta({ id: 'MfaEnrolment' }),
      },
      ...errorResponses,
    },
    handle: async ({ principal, requestId }) => ({
      status: 200,
      body: await enrolMfa(sessionUser(principal), { principal: principal as Principal, requestId }),
    }),
  }),
  defineRoute({
    operationId: 'confirm_mfa',
    issuesSecrets: true,
    method: 'POST',
    path: '/v1/me/mfa/confirm',
    domain: 'identity',
    tag: 'me',
    summary: 'Confirm enrolment with a current code: MFA is on, recovery codes are returned once',
    auth: { authenticated: true },
    body: codeBody.meta({ id: 'MfaCode' }),
    responses: {
      200: {
        description: 'One-time recovery codes',
        schema: z.object({ recovery_codes: z.array(z.string()) }).meta({ id: 'RecoveryCodes' }),
      },
      ...errorResponses,
    },
    handle: async ({ body, principal, requestId }) => ({
      status: 200,
      body: await confirmMfa(sessionUser(principal), body.code, { principal: principal as Principal, requestId }),
    }),
  }),
  defineRoute({
    operationId: 'disable_mfa',
    method: 'POST',
    path: '/v1/me/mfa/disable',
    domain: 'identity',
    tag: 'me',
    summary: 'Turn MFA off (needs a current code or a recovery code)',
    auth: { authenticated: true },
    body: codeBody,
    responses: { 204: { description: 'MFA is off' }, ...errorResponses },
    handle: async ({ body, principal, requestId }) => {
      await disableMfa(sessionUser(principal), body.code, { principal: principal as Principal, requestId });
      return { status: 204 };
    },
  }),
];

// ---------------------------------------------------------------- settings and audit

const settingsSchema = resourceSchema(securitySettingsEntity);

const adminRoutes: RouteDefinition[] = [
  defineRoute({
    operationId: 'get_security_settings',
    method: 'GET',
    path: '/v1/settings/security',
    domain: 'identity',
    tag: 'settings',
    summary: 'Security settings (roles that must use MFA)',
    auth: { scope: 'admin' },
    responses: { 200: { description: 'The settings', schema: settingsSchema }, ...errorResponses },
    handle: async () => {
      const settings = await securitySettings();
      return { status: 200, body: toResource(securitySettingsEntity, settings), headers: { etag: etagOf(settings) } };
    },
  }),
  defineRoute({
    operationId: 'put_security_settings',
    method: 'PUT',
    path: '/v1/settings/security',
    domain: 'identity',
    tag: 'settings',
    summary: 'Replace the security settings',
    auth: { scope: 'admin' },
    body: createSchema(securitySettingsEntity).meta({ id: 'SecuritySettingsUpdate' }),
    responses: { 200: { description: 'The settings', schema: settingsSchema }, ...errorResponses },
    handle: async ({ body, principal, requestId, ifMatch }) => {
      const context = { principal: principal as Principal, requestId };
      const existing = await repo().get(securitySettingsEntity, SECURITY_SETTINGS_ID);
      if (!existing) {
        if (ifMatch !== undefined && ifMatch !== 0) throw preconditionFailed();
        const record = await repo().create(securitySettingsEntity, body as Record<string, unknown>, context, SECURITY_SETTINGS_ID);
        return objectResponse(securitySettingsEntity, record);
      }
      const { record } = await repo().update(
        securitySettingsEntity,
        SECURITY_SETTINGS_ID,
        () => body as Record<string, unknown>,
        context,
        ifMatch,
      );
      return objectResponse(securitySettingsEntity, record);
    },
  }),
  defineRoute({
    operationId: 'list_audit_events',
    method: 'GET',
    path: '/v1/audit-events',
    domain: 'identity',
    tag: 'audit-events',
    summary: 'The audit trail, newest first: who changed what, when, with which request, before and after',
    auth: { scope: 'admin' },
    query: AuditQuerySchema,
    responses: {
      200: {
        description: 'A page of audit events',
        schema: z.object({ items: z.array(AuditEventSchema), next_cursor: z.string().nullable() }).meta({ id: 'AuditEventList' }),
      },
      ...errorResponses,
    },
    handle: async ({ query }) => ({ status: 200, body: await listAuditEvents(query as z.infer<typeof AuditQuerySchema>) }),
  }),
];

/** The only self-service routes a session without its role's required MFA may use: see who it is, enrol, leave. */
const MFA_PENDING_ALLOWED = new Set(['get_me', 'logout', 'enrol_mfa', 'confirm_mfa']);

/**
 * `authenticated` routes do not check scopes, so an MFA-pending session (no scopes) would reach them all, e.g.
 * mint an API key with its role's full scopes. Closed by default: every other self-service route answers 403.
 */
function refuseMfaPending(route: RouteDefinition): RouteDefinition {
  if (!('authenticated' in route.auth) || MFA_PENDING_ALLOWED.has(route.operationId)) return route;
  return {
    ...route,
    handle: async (request) => {
      if (request.principal?.mfa_pending === true) throw forbidden('Enrol MFA first (POST /v1/me/mfa/enroll), then log in again.');
      return route.handle(request);
    },
  };
}

export const identityRoutes: RouteDefinition[] = [...userRoutes, ...apiKeyRoutes, ...selfRoutes, ...adminRoutes].map(refuseMfaPending);
