/**
 * The bootstrap admin key (API-CONVENTIONS.md "Credentials"): `ADMIN_API_KEY` when set, otherwise one generated
 * key on an empty database. It belongs to a bootstrap `admin` user and is a normal admin key from then on. A
 * pointer item remembers the current bootstrap key, so a changed `ADMIN_API_KEY` revokes the previous one.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Principal } from '#shared/auth/principal';
import { tableName } from '#shared/config';
import { documentClient } from '#shared/db/client';
import { repo } from '#shared/db/repository';
import { issueApiKey, registerBootstrapKey, revokeApiKey } from '#shared/domains/identity/keys';
import { userEntity } from '#shared/domains/identity/user';
import { clock } from '#shared/model/ids';

const POINTER_KEY = { pk: 'BOOTSTRAP#ADMIN_API_KEY', sk: '#META' };
const BOOTSTRAP_USERNAME = 'admin';

export const SYSTEM_BOOTSTRAP: Principal = {
  kind: 'system',
  id: 'system:bootstrap',
  user_id: null,
  role: 'admin',
  scopes: ['admin'],
  datacenter_access: 'all',
};

export type BootstrapOutcome =
  | { kind: 'configured'; id: string }
  | { kind: 'generated'; id: string; key: string }
  | { kind: 'existing'; id: string };

interface Pointer {
  api_key_id?: string;
  user_id?: string;
}

export async function ensureBootstrapAdminKey(configuredKey: string | undefined): Promise<BootstrapOutcome> {
  const db = documentClient();
  const pointer = ((await db.send(new GetCommand({ TableName: tableName(), Key: POINTER_KEY, ConsistentRead: true }))).Item ??
    {}) as Pointer;
  const context = { principal: SYSTEM_BOOTSTRAP, requestId: 'bootstrap' };
  const userId = await ensureBootstrapUser(pointer.user_id, context);

  if (configuredKey !== undefined) {
    if (configuredKey.length < 32) throw new Error('ADMIN_API_KEY must be at least 32 characters.');
    const id = await registerBootstrapKey(configuredKey, userId, context);
    if (pointer.api_key_id && pointer.api_key_id !== id) await revokeApiKey(pointer.api_key_id, context).catch(() => undefined);
    await savePointer({ api_key_id: id, user_id: userId });
    return { kind: 'configured', id };
  }
  if (pointer.api_key_id) return { kind: 'existing', id: pointer.api_key_id };
  const { record, key } = await issueApiKey(
    {
      name: 'bootstrap admin key (generated)',
      user_id: userId,
      scopes: ['admin'],
      expires_at: new Date(clock.now().getTime() + 365 * 86_400_000).toISOString(),
    },
    context,
  );
  await savePointer({ api_key_id: record.id, user_id: userId });
  return { kind: 'generated', id: record.id, key };
}

async function ensureBootstrapUser(knownId: string | undefined, context: { principal: Principal; requestId: string }): Promise<string> {
  if (knownId && (await repo().get(userEntity, knownId))) return knownId;
  const existing = await repo().findByUnique(userEntity, 'username', BOOTSTRAP_USERNAME);
  if (existing) return existing;
  const user = await repo().create(
    userEntity,
    {
      username: BOOTSTRAP_USERNAME,
      email: 'admin@localhost.localdomain',
      role: 'admin',
      datacenter_access: 'all',
      disabled: false,
      mfa_enabled: false,
    },
    context,
  );
  return user.id;
}

async function savePointer(pointer: Pointer): Promise<void> {
  await documentClient().send(new PutCommand({ TableName: tableName(), Item: { ...POINTER_KEY, type: 'bootstrap_pointer', ...pointer } }));
}
