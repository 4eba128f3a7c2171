/**
 * `Idempotency-Key` on POST, scoped to the caller and kept 24 h. A replay returns the first status and body;
 * the same key with another body is a 422; a replay while the first is still running is a 409. Failed requests
 * (4xx/5xx) release the key, since they wrote nothing.
 */
import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '#shared/db/client';
import { KEY_ATTRIBUTES } from '#shared/db/table';
import { tableName } from '#shared/config';
import { ApiError, conflict } from '#shared/http/errors';
import type { ApiResponse } from '#shared/http/route';

const KEEP_SECONDS = 24 * 60 * 60;
/** A crashed request releases its key after this long, so a retry is not blocked forever. */
const IN_PROGRESS_SECONDS = 60;

interface StoredResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface IdempotencyClaim {
  readonly key: { pk: string; sk: string };
  readonly replay?: StoredResponse;
}

export function idempotencyRecordKey(callerId: string, idempotencyKey: string) {
  const digest = createHash('sha256').update(`${callerId}\u0000${idempotencyKey}`).digest('base64url');
  return { pk: `IDEMPOTENCY#${digest}`, sk: '#IDEMPOTENCY' };
}

export function requestFingerprint(operationId: string, params: unknown, body: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([operationId, params, body]))
    .digest('base64url');
}

export async function claimIdempotencyKey(callerId: string, idempotencyKey: string, fingerprint: string): Promise<IdempotencyClaim> {
  const db = documentClient();
  const table = tableName();
  const key = idempotencyRecordKey(callerId, idempotencyKey);
  const nowSeconds = Math.floor(Date.now() / 1000);
  try {
    await db.send(
      new PutCommand({
        TableName: table,
        Item: {
          ...key,
          [KEY_ATTRIBUTES.type]: 'idempotency_record',
          status: 'in_progress',
          fingerprint,
          in_progress_until: nowSeconds + IN_PROGRESS_SECONDS,
          [KEY_ATTRIBUTES.timeToLive]: nowSeconds + KEEP_SECONDS,
        },
        // Free, expired, or an abandoned in-progress claim.
        ConditionExpression: 'attribute_not_exists(pk) OR #ttl < :now OR (#status = :progress AND in_progress_until < :now)',
        ExpressionAttributeNames: { '#ttl': KEY_ATTRIBUTES.timeToLive, '#status': 'status' },
        ExpressionAttributeValues: { ':now': nowSeconds, ':progress': 'in_progress' },
      }),
    );
    return { key };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
  const existing = (await db.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
  if (!existing) return claimIdempotencyKey(callerId, idempotencyKey, fingerprint);
  if (existing.fingerprint !== fingerprint) {
    throw new ApiError('idempotency_key_reused', 'This Idempotency-Key was already used with a different request.');
  }
  if (existing.status !== 'completed') throw conflict('A request with this Idempotency-Key is still in progress; retry later.');
  return { key, replay: existing.response as StoredResponse };
}

export async function completeIdempotencyKey(claim: IdempotencyClaim, response: ApiResponse): Promise<void> {
  const stored: StoredResponse = { status: response.status, body: response.body ?? null, headers: { ...(response.headers ?? {}) } };
  await documentClient().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: claim.key,
      UpdateExpression: 'SET #status = :completed, #response = :response',
      ExpressionAttributeNames: { '#status': 'status', '#response': 'response' },
      ExpressionAttributeValues: { ':completed': 'completed', ':response': stored },
    }),
  );
}

export async function releaseIdempotencyKey(claim: IdempotencyClaim): Promise<void> {
  await documentClient().send(new DeleteCommand({ TableName: tableName(), Key: claim.key }));
}
