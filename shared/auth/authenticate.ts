/**
 * Turns a credential into a Principal: an API key (`x-api-key`) or a session token (`Authorization: Bearer`).
 * Every failure returns undefined so the caller answers one identical 401. A key acts with the intersection of its
 * scopes and its owner's current role, and the owner's datacenter access: demoting or disabling the owner narrows
 * or kills the key as soon as the short in-process cache entry expires.
 */
import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { constantTimeEqual, credentialId, hashCredential } from '#shared/auth/api-keys';
import { DatacenterAccessSchema, effectiveScopes, type Principal, ROLE_SCOPES, ROLES, SCOPES } from '#shared/auth/principal';
import { readSession } from '#shared/auth/sessions';
import { tableName } from '#shared/config';
import { documentClient } from '#shared/db/client';
import { entityKey } from '#shared/db/keys';
import { repo } from '#shared/db/repository';
import { apiKeyEntity, ipAllowed } from '#shared/domains/identity/api-key';
import { userEntity } from '#shared/domains/identity/user';
import type { EntityRecord } from '#shared/model/entity';
import { clock } from '#shared/model/ids';
import { z } from 'zod';

export interface PresentedCredentials {
  apiKey?: string | undefined;
  authorization?: string | undefined;
  sourceIp: string;
}

const LAST_USED_RESOLUTION_MS = 60_000;
/** A hash that can never match, compared when the claimed id does not exist, so both paths cost the same. */
const NEVER_MATCHES = 'x'.repeat(43);

/**
 * How long one container reuses an answer for the same credential (env `AUTHORIZER_CACHE_TTL_SECONDS`,
 * default 10, at most 60): the bound on how late a revocation, demotion or logout takes effect.
 */
export function authorizerCacheTtlMs(): number {
  const configured = Number(process.env.AUTHORIZER_CACHE_TTL_SECONDS ?? 10);
  return Number.isFinite(configured) ? Math.max(0, Math.min(configured, 60)) * 1000 : 10_000;
}

const cache = new Map<string, { principal: Principal; expires: number }>();

export async function authenticate(credentials: PresentedCredentials): Promise<Principal | undefined> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(credentials.authorization ?? '')?.[1];
  const presented = credentials.apiKey ?? bearer;
  if (!presented) return undefined;
  const cacheKey = createHash('sha256')
    .update(`${credentials.apiKey ? 'k' : 's'}\u0000${presented}\u0000${credentials.sourceIp}`)
    .digest('base64url');
  const cached = cache.get(cacheKey);
  const now = clock.now();
  if (cached && cached.expires > now.getTime()) return cached.principal;

  const principal = credentials.apiKey
    ? await fromApiKey(credentials.apiKey, credentials.sourceIp, now)
    : await fromSession(presented, now);
  const ttl = authorizerCacheTtlMs();
  if (principal && ttl > 0) {
    if (cache.size > 10_000) cache.clear();
    cache.set(cacheKey, { principal, expires: now.getTime() + ttl });
  }
  return principal;
}

const StoredKeySchema = z.object({
  id: z.string(),
  user_id: z.string(),
  secret_hash: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  expires_at: z.string(),
  revoked_at: z.string().nullish(),
  allowed_cidrs: z.array(z.string()).nullish(),
  last_used_at: z.string().nullish(),
});

async function fromApiKey(key: string, sourceIp: string, now: Date): Promise<Principal | undefined> {
  const id = await credentialId('api_key', key);
  const presentedHash = await hashCredential(key);
  const record = id ? await repo().get(apiKeyEntity, id) : undefined;
  const stored = record ? StoredKeySchema.safeParse(record) : undefined;
  const matches = constantTimeEqual(presentedHash, stored?.success ? stored.data.secret_hash : NEVER_MATCHES);
  if (!stored?.success || !matches) return undefined;
  const apiKey = stored.data;
  if (apiKey.revoked_at || Date.parse(apiKey.expires_at) <= now.getTime()) return undefined;
  if (apiKey.allowed_cidrs && apiKey.allowed_cidrs.length > 0 && !ipAllowed(sourceIp, apiKey.allowed_cidrs)) return undefined;
  const owner = await activeUser(apiKey.user_id);
  if (!owner) return undefined;
  await touchLastUsed(apiKey.id, apiKey.last_used_at, now);
  const requested = apiKey.scopes.includes('admin') ? ROLE_SCOPES[owner.role] : apiKey.scopes;
  return {
    kind: 'api_key',
    id: apiKey.id,
    user_id: apiKey.user_id,
    role: owner.role,
    scopes: effectiveScopes(owner.role, requested),
    datacenter_access: owner.datacenter_access,
  };
}

async function fromSession(token: string, now: Date): Promise<Principal | undefined> {
  const id = await credentialId('session', token);
  const presentedHash = await hashCredential(token);
  const session = id ? await readSession(id) : undefined;
  const matches = constantTimeEqual(presentedHash, session?.secret_hash ?? NEVER_MATCHES);
  if (!session || !matches || Date.parse(session.expires_at) <= now.getTime()) return undefined;
  const owner = await activeUser(session.user_id);
  if (!owner) return undefined;
  return {
    kind: 'session',
    id: session.id,
    user_id: session.user_id,
    role: owner.role,
    // A session opened without the MFA the role requires can only reach self-service routes (enrolment).
    scopes: session.mfa_pending ? [] : [...ROLE_SCOPES[owner.role]],
    datacenter_access: owner.datacenter_access,
    ...(session.mfa_pending ? { mfa_pending: true } : {}),
  };
}

const ActiveUserSchema = z.object({ role: z.enum(ROLES), datacenter_access: DatacenterAccessSchema, disabled: z.boolean().optional() });

async function activeUser(userId: string): Promise<z.infer<typeof ActiveUserSchema> | undefined> {
  const user: EntityRecord | undefined = await repo().get(userEntity, userId);
  const parsed = user ? ActiveUserSchema.safeParse(user) : undefined;
  if (!parsed?.success || parsed.data.disabled) return undefined;
  return parsed.data;
}

/** `last_used_at` is written at most once a minute per key, so a busy script does not turn reads into writes. */
async function touchLastUsed(id: string, lastUsedAt: string | null | undefined, now: Date): Promise<void> {
  if (lastUsedAt && now.getTime() - Date.parse(lastUsedAt) < LAST_USED_RESOLUTION_MS) return;
  try {
    await documentClient().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: entityKey(apiKeyEntity, id),
        UpdateExpression: 'SET last_used_at = :now',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(last_used_at) OR last_used_at < :cutoff)',
        ExpressionAttributeValues: {
          ':now': now.toISOString(),
          ':cutoff': new Date(now.getTime() - LAST_USED_RESOLUTION_MS).toISOString(),
        },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
