/** Issuing and revoking API keys: the rules that are not plain CRUD. */
import { bootstrapKeyId, credentialPrefix, formatCredential, hashCredential } from '#shared/auth/api-keys';
import { hasScope, type Principal, ROLE_SCOPES, type Role, type Scope } from '#shared/auth/principal';
import type { WriteContext } from '#shared/db/audit';
import { repo } from '#shared/db/repository';
import { apiKeyEntity, MAX_API_KEY_LIFETIME_DAYS } from '#shared/domains/identity/api-key';
import { userEntity } from '#shared/domains/identity/user';
import { type ErrorDetail, forbidden, validationError } from '#shared/http/errors';
import type { EntityRecord } from '#shared/model/entity';
import { clock, uuidv7 } from '#shared/model/ids';

export interface ApiKeyRequest {
  name: string;
  user_id?: string | undefined;
  scopes: Scope[];
  expires_at: string;
  allowed_cidrs?: string[] | null | undefined;
}

/** Checks that a key's scopes fit its owner's role and its expiry is within a year. */
export function keyProblems(request: Pick<ApiKeyRequest, 'scopes' | 'expires_at'>, ownerRole: Role, now: Date): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const allowed = new Set<Scope>(ROLE_SCOPES[ownerRole]);
  request.scopes.forEach((scope, index) => {
    if (!allowed.has(scope)) problems.push({ path: `scopes.${index}`, message: `not allowed for the owner's role (${ownerRole})` });
  });
  const expires = Date.parse(request.expires_at);
  if (!(expires > now.getTime())) problems.push({ path: 'expires_at', message: 'must be in the future' });
  if (expires > now.getTime() + MAX_API_KEY_LIFETIME_DAYS * 86_400_000) {
    problems.push({ path: 'expires_at', message: `must be at most ${MAX_API_KEY_LIFETIME_DAYS} days ahead` });
  }
  return problems;
}

/**
 * Creates a key for the caller, or (admins) for another user. A key may not mint a key unless it holds `admin`:
 * otherwise a narrow leaked key could create a broader one for the same owner.
 */
export async function issueApiKey(request: ApiKeyRequest, context: WriteContext): Promise<{ record: EntityRecord; key: string }> {
  const { principal } = context;
  const ownerId = request.user_id ?? principal.user_id;
  const isAdmin = hasScope(principal, 'admin');
  if (!ownerId) throw validationError('Name the owner of the key.', [{ path: 'user_id', message: 'required' }]);
  if (ownerId !== principal.user_id && !isAdmin) throw forbidden('Only admins create keys for other users.');
  if (principal.kind === 'api_key' && !isAdmin) throw forbidden('Create keys from a login session, or with an admin key.');
  const owner = await repo().get(userEntity, ownerId);
  if (!owner) throw validationError('A referenced object is missing or not allowed.', [{ path: 'user_id', message: 'no such user' }]);
  const problems = keyProblems(request, owner.role as Role, clock.now());
  if (problems.length > 0) throw validationError('The API key is not valid.', problems);
  const id = uuidv7();
  const key = formatCredential('api_key', id);
  const record = await repo().create(
    apiKeyEntity,
    {
      name: request.name,
      user_id: ownerId,
      scopes: [...new Set(request.scopes)],
      expires_at: new Date(request.expires_at).toISOString(),
      allowed_cidrs: request.allowed_cidrs ?? undefined,
      prefix: credentialPrefix(id),
      secret_hash: await hashCredential(key),
      created_by: principal.user_id ?? principal.id,
    },
    context,
    id,
  );
  return { record, key };
}

export async function revokeApiKey(id: string, context: WriteContext): Promise<EntityRecord> {
  const { record } = await repo().update(
    apiKeyEntity,
    id,
    (current) => (current.revoked_at ? {} : { revoked_at: clock.now().toISOString() }),
    context,
  );
  return record;
}

/** Registers a free-form bootstrap key for a user; it expires far ahead and can be revoked like any key. */
export async function registerBootstrapKey(key: string, ownerId: string, context: WriteContext): Promise<string> {
  const id = await bootstrapKeyId(key);
  const existing = await repo().get(apiKeyEntity, id);
  const secretHash = await hashCredential(key);
  const fields = {
    name: 'bootstrap admin key',
    user_id: ownerId,
    scopes: ['admin'],
    expires_at: new Date(clock.now().getTime() + 10 * 365 * 86_400_000).toISOString(),
    prefix: `bootstrap:${id.slice(0, 8)}`,
    secret_hash: secretHash,
    created_by: context.principal.id,
  };
  if (!existing) await repo().create(apiKeyEntity, fields, context, id);
  else if (existing.secret_hash !== secretHash || existing.revoked_at || existing.user_id !== ownerId) {
    // Same key, new pepper or a revoked bootstrap key set again: make it usable as configured.
    await repo().update(apiKeyEntity, id, () => ({ ...fields, revoked_at: null }), context);
  }
  return id;
}

export function isOwnKey(principal: Principal, record: EntityRecord): boolean {
  return principal.user_id !== null && record.user_id === principal.user_id;
}
