/**
 * Bookkeeping items of the fan-out (no audit records, TTL-expired):
 * - `ALERT_DELIVERY#<delivery id>`: a claim that makes a duplicate SNS delivery (at-least-once) post once;
 * - `ALERT_NOTIFIED#<alert id>` / `<channel id>`: when a channel last heard about an alert, for repeat intervals
 *   and for sending a resolution only to channels that were told the alert fired.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { tableName } from '#shared/config';
import { documentClient } from '#shared/db/client';
import { KEY_ATTRIBUTES } from '#shared/db/table';

const DELIVERY_TTL_SECONDS = 7 * 24 * 3600;
/** Longer than any repeat interval (at most 7 days) so an open alert's bookkeeping outlives it. */
const NOTIFIED_TTL_SECONDS = 30 * 24 * 3600;
/** A claim still pending after this long belongs to a delivery that crashed mid-way: a retry may take it over. */
const STALE_CLAIM_MS = 2 * 60 * 1000;

const deliveryKey = (id: string) => ({ pk: `ALERT_DELIVERY#${id}`, sk: '#META' });
const notifiedKey = (alertId: string, channelId: string) => ({ pk: `ALERT_NOTIFIED#${alertId}`, sk: channelId });
const epochIn = (seconds: number, now: number) => Math.floor(now / 1000) + seconds;

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error instanceof Error && error.name === 'ConditionalCheckFailedException');
}

/** True when this caller may deliver; false when the delivery is done or another attempt is in flight. */
export async function claimDelivery(id: string, now = Date.now()): Promise<boolean> {
  try {
    await documentClient().send(
      new PutCommand({
        TableName: tableName(),
        Item: {
          ...deliveryKey(id),
          [KEY_ATTRIBUTES.type]: 'alert_delivery',
          state: 'pending',
          claimed_at: now,
          [KEY_ATTRIBUTES.timeToLive]: epochIn(DELIVERY_TTL_SECONDS, now),
        },
        ConditionExpression: 'attribute_not_exists(pk) OR (#state = :pending AND claimed_at < :stale)',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':pending': 'pending', ':stale': now - STALE_CLAIM_MS },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

export async function completeDelivery(id: string, now = Date.now()): Promise<void> {
  await documentClient().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: deliveryKey(id),
      UpdateExpression: 'SET #state = :delivered, delivered_at = :now',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':delivered': 'delivered', ':now': now },
    }),
  );
}

/** A failed delivery gives its claim back so SNS's retry (or the next local attempt) can post. */
export async function releaseDelivery(id: string): Promise<void> {
  await documentClient()
    .send(
      new DeleteCommand({
        TableName: tableName(),
        Key: deliveryKey(id),
        ConditionExpression: '#state = :pending',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':pending': 'pending' },
      }),
    )
    .catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
}

export async function markNotified(alertId: string, channelId: string, now = Date.now()): Promise<void> {
  await documentClient().send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...notifiedKey(alertId, channelId),
        [KEY_ATTRIBUTES.type]: 'alert_notified',
        notified_at: now,
        [KEY_ATTRIBUTES.timeToLive]: epochIn(NOTIFIED_TTL_SECONDS, now),
      },
    }),
  );
}

/**
 * Takes the right to send a repeat: true (and the time recorded) only when the channel has not heard about the
 * alert for `intervalMs`. Conditional, so concurrent reposts of one alert repeat it once.
 */
export async function claimRepeat(alertId: string, channelId: string, intervalMs: number, now = Date.now()): Promise<boolean> {
  try {
    await documentClient().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: notifiedKey(alertId, channelId),
        UpdateExpression: 'SET notified_at = :now, #type = :type, #ttl = :ttl',
        ConditionExpression: 'attribute_not_exists(pk) OR notified_at <= :cutoff',
        ExpressionAttributeNames: { '#type': KEY_ATTRIBUTES.type, '#ttl': KEY_ATTRIBUTES.timeToLive },
        ExpressionAttributeValues: {
          ':now': now,
          ':type': 'alert_notified',
          ':ttl': epochIn(NOTIFIED_TTL_SECONDS, now),
          ':cutoff': now - intervalMs,
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

export async function wasNotified(alertId: string, channelId: string): Promise<boolean> {
  const result = await documentClient().send(
    new GetCommand({ TableName: tableName(), Key: notifiedKey(alertId, channelId), ConsistentRead: true }),
  );
  return result.Item !== undefined;
}
