/**
 * API keys: `dci_<24 hex id>_<43 char secret>`. The id is public and makes lookup one GetItem; the whole key is
 * stored only as HMAC-SHA256 under a server-side pepper, and compared in constant time.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { type DatacenterAccess, DatacenterAccessSchema, effectiveScopes, type Principal, ROLES, SCOPES } from '#shared/auth/principal';
import { documentClient } from '#shared/db/client';
import { ITEM_SORT_KEY } from '#shared/db/keys';
import { serverSecrets, tableName } from '#shared/config';
import { nowIso } from '#shared/model/ids';

export const API_KEY_PREFIX = 'dci_';
const API_KEY_PATTERN = /^dci_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;
/** The bootstrap key is accepted in any format of 32+ characters (API-CONVENTIONS.md). */
const MIN_BOOTSTRAP_LENGTH = 32;
const MAX_KEY_LENGTH = 256;
const LAST_USED_RESOLUTION_MS = 60_000;

export const StoredApiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  secret_hash: z.string(),
  user_id: z.string().nullable().optional(),
  role: z.enum(ROLES),
  scopes: z.array(z.enum(SCOPES)),
  datacenter_access: DatacenterAccessSchema,
  expires_at: z.string().nullable().optional(),
  revoked_at: z.string().nullable().optional(),
  last_used_at: z.string().nullable().optional(),
  bootstrap: z.boolean().optional(),
});
export type StoredApiKey = z.infer<typeof StoredApiKeySchema>;

export const apiKeyItemKey = (id: string) => ({ pk: `APIKEY#${id}`, sk: ITEM_SORT_KEY });

export function generateApiKey(): { id: string; key: string } {
  const id = randomBytes(12).toString('hex');
  return { id, key: `${API_KEY_PREFIX}${id}_${randomBytes(32).toString('base64url')}` };
}

export async function hashApiKey(key: string): Promise<string> {
  const { api_key_pepper: pepper } = await serverSecrets();
  return createHmac('sha256', pepper).update(key).digest('base64url');
}

/** The lookup id of a presented key: its public id part, or for a free-form bootstrap key a keyed digest. */
export async function apiKeyIdOf(key: string): Promise<string | undefined> {
  if (key.length > MAX_KEY_LENGTH) return undefined;
  const match = API_KEY_PATTERN.exec(key);
  if (match?.[1]) return match[1];
  if (key.length < MIN_BOOTSTRAP_LENGTH || key.startsWith(API_KEY_PREFIX)) return undefined;
  const { api_key_pepper: pepper } = await serverSecrets();
  return `bootstrap-${createHmac('sha256', pepper).update(`bootstrap-id\u0000${key}`).digest('hex').slice(0, 24)}`;
}

const DUMMY_HASH = Buffer.alloc(43, 'x').toString();

/**
 * Returns the principal a key acts as, or undefined for any bad key (unknown, wrong secret, expired, revoked):
 * callers answer all of those with the same 401.
 */
export async function authenticateApiKey(key: string | undefined, now = new Date()): Promise<Principal | undefined> {
  if (!key) return undefined;
  const id = await apiKeyIdOf(key);
  const presentedHash = await hashApiKey(key);
  const item = id
    ? (await documentClient().send(new GetCommand({ TableName: tableName(), Key: apiKeyItemKey(id), ConsistentRead: false }))).Item
    : undefined;
  const parsed = item ? StoredApiKeySchema.safeParse(item) : undefined;
  const storedHash = parsed?.success ? parsed.data.secret_hash : DUMMY_HASH;
  const hashesMatch = constantTimeEqual(presentedHash, storedHash);
  if (!parsed?.success || !hashesMatch) return undefined;
  const stored = parsed.data;
  if (stored.revoked_at) return undefined;
  if (stored.expires_at && Date.parse(stored.expires_at) <= now.getTime()) return undefined;
  await touchLastUsed(stored, now);
  return {
    kind: 'api_key',
    id: stored.id,
    user_id: stored.user_id ?? null,
    role: stored.role,
    scopes: effectiveScopes(stored.role, stored.scopes.includes('admin') ? SCOPES : stored.scopes),
    datacenter_access: stored.datacenter_access,
  };
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

/** `last_used_at` is written at most once a minute per key, so a busy script does not turn reads into writes. */
async function touchLastUsed(stored: StoredApiKey, now: Date): Promise<void> {
  if (stored.last_used_at && now.getTime() - Date.parse(stored.last_used_at) < LAST_USED_RESOLUTION_MS) return;
  try {
    await documentClient().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: apiKeyItemKey(stored.id),
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

export interface NewApiKey {
  name: string;
  role: Principal['role'];
  scopes: Principal['scopes'];
  datacenter_access: DatacenterAccess;
  user_id?: string | null;
  expires_at?: string | null;
}

/** Stores a key (hash only) and returns the plaintext, which is never stored or shown again. */
export async function storeApiKey(spec: NewApiKey, presetKey?: string): Promise<{ id: string; key: string }> {
  const generated = presetKey ? undefined : generateApiKey();
  const key = presetKey ?? (generated as { key: string }).key;
  const id = generated?.id ?? (await apiKeyIdOf(key));
  if (!id) throw new Error('The API key is not acceptable (too short or malformed).');
  const now = nowIso();
  await documentClient().send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...apiKeyItemKey(id),
        type: 'api_key',
        id,
        name: spec.name,
        secret_hash: await hashApiKey(key),
        user_id: spec.user_id ?? null,
        role: spec.role,
        scopes: spec.scopes,
        datacenter_access: spec.datacenter_access,
        expires_at: spec.expires_at ?? null,
        revoked_at: null,
        bootstrap: presetKey !== undefined,
        created_at: now,
        updated_at: now,
        version: 1,
      },
    }),
  );
  return { id, key };
}

export async function revokeApiKey(id: string): Promise<void> {
  await documentClient().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: apiKeyItemKey(id),
      UpdateExpression: 'SET revoked_at = :now, version = version + :one',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':now': nowIso(), ':one': 1 },
    }),
  );
}
