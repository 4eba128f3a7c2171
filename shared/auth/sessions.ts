/**
 * Login sessions: a short-lived bearer token (`dcs_<id>_<secret>`) stored only as its keyed hash, expiring by
 * the table's TTL attribute (and checked on read, since TTL deletion is lazy).
 */
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { formatCredential, hashCredential } from '#shared/auth/api-keys';
import { tableName } from '#shared/config';
import { documentClient } from '#shared/db/client';
import { ITEM_SORT_KEY } from '#shared/db/keys';
import { KEY_ATTRIBUTES } from '#shared/db/table';
import { clock, uuidv7 } from '#shared/model/ids';

/** Session lifetime, minutes (env `SESSION_TTL_MINUTES`, default 60). */
export function sessionTtlMinutes(): number {
  const configured = Number(process.env.SESSION_TTL_MINUTES);
  return Number.isFinite(configured) && configured > 0 ? Math.min(configured, 24 * 60) : 60;
}

export const sessionKey = (id: string) => ({ pk: `SESSION#${id}`, sk: ITEM_SORT_KEY });

export interface StoredSession {
  id: string;
  user_id: string;
  secret_hash: string;
  expires_at: string;
  /** Logged in without the MFA their role requires: only enrolment routes are open. */
  mfa_pending: boolean;
}

export async function createSession(
  userId: string,
  sourceIp: string,
  mfaPending: boolean,
): Promise<{ token: string; expires_at: string; id: string }> {
  const id = uuidv7();
  const token = formatCredential('session', id);
  const now = clock.now();
  const expires = new Date(now.getTime() + sessionTtlMinutes() * 60_000);
  await documentClient().send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...sessionKey(id),
        [KEY_ATTRIBUTES.type]: 'session',
        id,
        user_id: userId,
        secret_hash: await hashCredential(token),
        created_at: now.toISOString(),
        created_ip: sourceIp,
        expires_at: expires.toISOString(),
        mfa_pending: mfaPending,
        [KEY_ATTRIBUTES.timeToLive]: Math.ceil(expires.getTime() / 1000),
      },
    }),
  );
  return { token, expires_at: expires.toISOString(), id };
}

export async function readSession(id: string): Promise<StoredSession | undefined> {
  const item = (await documentClient().send(new GetCommand({ TableName: tableName(), Key: sessionKey(id) }))).Item;
  return item as StoredSession | undefined;
}

export async function deleteSession(id: string): Promise<void> {
  await documentClient().send(new DeleteCommand({ TableName: tableName(), Key: sessionKey(id) }));
}
