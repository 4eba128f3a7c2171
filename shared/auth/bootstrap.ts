/**
 * The bootstrap admin key (API-CONVENTIONS.md "Credentials"): `ADMIN_API_KEY` when set, otherwise one generated
 * key on an empty database. A pointer item remembers the current bootstrap key so a changed `ADMIN_API_KEY`
 * revokes the previous one.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { apiKeyIdOf, revokeApiKey, storeApiKey } from '#shared/auth/api-keys';
import { documentClient } from '#shared/db/client';
import { tableName } from '#shared/config';

const POINTER_KEY = { pk: 'BOOTSTRAP#ADMIN_API_KEY', sk: '#META' };

export type BootstrapOutcome =
  | { kind: 'configured'; id: string }
  | { kind: 'generated'; id: string; key: string }
  | { kind: 'existing'; id: string };

export async function ensureBootstrapAdminKey(configuredKey: string | undefined): Promise<BootstrapOutcome> {
  const db = documentClient();
  const pointer = (await db.send(new GetCommand({ TableName: tableName(), Key: POINTER_KEY, ConsistentRead: true }))).Item;
  const currentId = typeof pointer?.api_key_id === 'string' ? pointer.api_key_id : undefined;

  if (configuredKey !== undefined) {
    if (configuredKey.length < 32) throw new Error('ADMIN_API_KEY must be at least 32 characters.');
    const id = await apiKeyIdOf(configuredKey);
    if (!id) throw new Error('ADMIN_API_KEY is not acceptable.');
    if (id !== currentId) {
      await storeApiKey(
        { name: 'bootstrap admin (ADMIN_API_KEY)', role: 'admin', scopes: ['admin'], datacenter_access: 'all' },
        configuredKey,
      );
      await db.send(new PutCommand({ TableName: tableName(), Item: { ...POINTER_KEY, type: 'bootstrap_pointer', api_key_id: id } }));
      if (currentId) await revokeApiKey(currentId).catch(() => undefined);
    } else {
      // Same key as before: refresh the stored hash in case the pepper changed.
      await storeApiKey(
        { name: 'bootstrap admin (ADMIN_API_KEY)', role: 'admin', scopes: ['admin'], datacenter_access: 'all' },
        configuredKey,
      );
    }
    return { kind: 'configured', id };
  }
  if (currentId) return { kind: 'existing', id: currentId };
  const created = await storeApiKey({ name: 'bootstrap admin (generated)', role: 'admin', scopes: ['admin'], datacenter_access: 'all' });
  await db.send(new PutCommand({ TableName: tableName(), Item: { ...POINTER_KEY, type: 'bootstrap_pointer', api_key_id: created.id } }));
  return { kind: 'generated', id: created.id, key: created.key };
}
