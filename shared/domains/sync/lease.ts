/**
 * One sync per datacenter at a time: a lease item taken with a conditional write. It carries an expiry, so a sync
 * function that dies mid-run blocks the datacenter only until the lease lapses; a live run renews it.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { tableName } from '#shared/config';
import { documentClient } from '#shared/db/client';
import { KEY_ATTRIBUTES } from '#shared/db/table';
import { clock } from '#shared/model/ids';

export const LEASE_SECONDS = 15 * 60;

const leaseKey = (datacenterId: string) => ({ pk: `SYNC_LEASE#${datacenterId}`, sk: '#LEASE' });

export async function acquireLease(datacenterId: string, holder: string, seconds = LEASE_SECONDS): Promise<boolean> {
  const now = Math.floor(clock.now().getTime() / 1000);
  try {
    await documentClient().send(
      new PutCommand({
        TableName: tableName(),
        Item: {
          ...leaseKey(datacenterId),
          type: 'sync_lease',
          holder,
          lease_expires: now + seconds,
          [KEY_ATTRIBUTES.timeToLive]: now + seconds + 3600,
        },
        ConditionExpression: 'attribute_not_exists(pk) OR lease_expires < :now OR holder = :holder',
        ExpressionAttributeValues: { ':now': now, ':holder': holder },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

export async function renewLease(datacenterId: string, holder: string, seconds = LEASE_SECONDS): Promise<boolean> {
  const now = Math.floor(clock.now().getTime() / 1000);
  try {
    await documentClient().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: leaseKey(datacenterId),
        UpdateExpression: 'SET lease_expires = :until',
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeValues: { ':until': now + seconds, ':holder': holder },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

export async function releaseLease(datacenterId: string, holder: string): Promise<void> {
  try {
    await documentClient().send(
      new DeleteCommand({
        TableName: tableName(),
        Key: leaseKey(datacenterId),
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeValues: { ':holder': holder },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

export async function currentLease(datacenterId: string): Promise<{ holder: string; lease_expires: number } | undefined> {
  const item = (await documentClient().send(new GetCommand({ TableName: tableName(), Key: leaseKey(datacenterId), ConsistentRead: true })))
    .Item;
  if (!item || Number(item.lease_expires) < Math.floor(clock.now().getTime() / 1000)) return undefined;
  return { holder: String(item.holder), lease_expires: Number(item.lease_expires) };
}
