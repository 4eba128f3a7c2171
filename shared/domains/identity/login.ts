/**
 * Password login with per-account lock-out and TOTP. Wrong user and wrong password answer identically (same
 * body, same scrypt cost). After 5 failures in a row the account is locked for 1 minute, doubling with every further
 * failure up to a day, and a locked account answers 429 even to the right password.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { hashCredential } from '#shared/auth/api-keys';
import type { Role } from '#shared/auth/principal';
import { createSession } from '#shared/auth/sessions';
import { tableName } from '#shared/config';
import { documentClient } from '#shared/db/client';
import { entityKey } from '#shared/db/keys';
import { repo } from '#shared/db/repository';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from '#shared/domains/identity/passwords';
import { open } from '#shared/domains/identity/secret-box';
import { mfaRequiredFor } from '#shared/domains/identity/settings';
import { matchTotp } from '#shared/domains/identity/totp';
import { userEntity } from '#shared/domains/identity/user';
import { ApiError, UNAUTHORIZED_MESSAGE } from '#shared/http/errors';
import type { EntityRecord } from '#shared/model/entity';
import { clock } from '#shared/model/ids';

export const LOCKOUT_THRESHOLD = 5;
const FIRST_LOCK_MS = 60_000;
const MAX_LOCK_MS = 24 * 3600_000;

export function lockDurationMs(failures: number): number {
  if (failures < LOCKOUT_THRESHOLD) return 0;
  return Math.min(FIRST_LOCK_MS * 2 ** (failures - LOCKOUT_THRESHOLD), MAX_LOCK_MS);
}

export interface LoginRequest {
  username: string;
  password: string;
  totp_code?: string | undefined;
  recovery_code?: string | undefined;
}

export interface LoginResult {
  token: string;
  token_type: 'Bearer';
  expires_at: string;
  /** The role requires MFA and the user has none yet: the session can only enrol. */
  mfa_enrolment_required: boolean;
}

const unauthorized = () => new ApiError('unauthorized', UNAUTHORIZED_MESSAGE);

export async function login(request: LoginRequest, sourceIp: string): Promise<LoginResult> {
  const now = clock.now();
  const userId = await repo().findByUnique(userEntity, 'username', request.username.toLowerCase());
  const user = userId ? await repo().get(userEntity, userId) : undefined;
  const storedHash = typeof user?.password_hash === 'string' ? user.password_hash : undefined;

  if (user && typeof user.locked_until === 'string' && Date.parse(user.locked_until) > now.getTime()) {
    const seconds = Math.ceil((Date.parse(user.locked_until) - now.getTime()) / 1000);
    throw new ApiError('too_many_requests', `Too many failed logins; try again in ${seconds} s.`);
  }
  // One password check at a time per account: parallel guesses would otherwise all be evaluated before the
  // lock-out of the first failures lands. A second concurrent attempt is told to retry.
  if (user && !(await claimLoginTurn(user.id, now))) {
    throw new ApiError('too_many_requests', 'Another login for this account is in progress; try again in a moment.');
  }
  try {
    return await checkCredentials(request, user, storedHash, sourceIp, now);
  } finally {
    if (user) await releaseLoginTurn(user.id);
  }
}

async function checkCredentials(
  request: LoginRequest,
  user: EntityRecord | undefined,
  storedHash: string | undefined,
  sourceIp: string,
  now: Date,
): Promise<LoginResult> {
  // Always pay for one scrypt, whether or not the user exists, so timing does not tell.
  const passwordOk = await verifyPassword(request.password, storedHash ?? (await dummyPasswordHash()));
  if (!user || !storedHash || !passwordOk) {
    if (user) await recordFailure(user.id, now);
    throw unauthorized();
  }
  if (user.disabled === true) throw unauthorized();

  if (user.mfa_enabled === true) {
    const secondFactorOk = request.recovery_code
      ? await consumeRecoveryCode(user, request.recovery_code)
      : request.totp_code
        ? await acceptTotp(user, request.totp_code, now)
        : undefined;
    if (secondFactorOk === undefined) {
      throw new ApiError('unauthorized', 'A one-time code is required.', [{ path: 'totp_code', message: 'required for this account' }]);
    }
    if (!secondFactorOk) {
      await recordFailure(user.id, now);
      throw unauthorized();
    }
  }

  const mfaPending = user.mfa_enabled !== true && (await mfaRequiredFor(user.role as Role));
  await recordSuccess(user, sourceIp, now, needsRehash(storedHash) ? await hashPassword(request.password) : undefined);
  const session = await createSession(user.id, sourceIp, mfaPending);
  return { token: session.token, token_type: 'Bearer', expires_at: session.expires_at, mfa_enrolment_required: mfaPending };
}

/**
 * A TOTP code is accepted once: the step it belongs to must be later than the last accepted one, checked in the
 * same conditional write that records it, so two racing requests with one code cannot both pass.
 */
export async function acceptTotp(user: EntityRecord, code: string, now: Date): Promise<boolean> {
  if (typeof user.totp_secret_sealed !== 'string') return false;
  const step = matchTotp(await open(user.totp_secret_sealed), code, now.getTime());
  if (step === undefined) return false;
  try {
    await documentClient().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: entityKey(userEntity, user.id),
        UpdateExpression: 'SET totp_last_step = :step',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(totp_last_step) OR totp_last_step < :step)',
        ExpressionAttributeValues: { ':step': step },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** A recovery code works once: it is removed by the same conditional write that accepts it. */
export async function consumeRecoveryCode(user: EntityRecord, code: string): Promise<boolean> {
  const hashes = Array.isArray(user.recovery_code_hashes) ? (user.recovery_code_hashes as string[]) : [];
  const hash = await hashCredential(normalizeRecoveryCode(code));
  const index = hashes.indexOf(hash);
  if (index < 0) return false;
  try {
    await documentClient().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: entityKey(userEntity, user.id),
        UpdateExpression: `REMOVE recovery_code_hashes[${index}]`,
        ConditionExpression: `recovery_code_hashes[${index}] = :hash`,
        ExpressionAttributeValues: { ':hash': hash },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

export function normalizeRecoveryCode(code: string): string {
  return code.replaceAll('-', '').replaceAll(' ', '').toUpperCase();
}

const LOGIN_TURN_MS = 10_000;

/** Takes the account's login turn (expires by itself if this process dies mid-check). */
async function claimLoginTurn(userId: string, now: Date): Promise<boolean> {
  try {
    await documentClient().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: entityKey(userEntity, userId),
        UpdateExpression: 'SET login_turn_until = :until',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(login_turn_until) OR login_turn_until < :now)',
        ExpressionAttributeValues: { ':until': new Date(now.getTime() + LOGIN_TURN_MS).toISOString(), ':now': now.toISOString() },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

async function releaseLoginTurn(userId: string): Promise<void> {
  await documentClient().send(
    new UpdateCommand({ TableName: tableName(), Key: entityKey(userEntity, userId), UpdateExpression: 'REMOVE login_turn_until' }),
  );
}

/** Counts a failed attempt and locks the account once the threshold is reached (longer with each failure). */
async function recordFailure(userId: string, now: Date): Promise<void> {
  const result = await documentClient().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: entityKey(userEntity, userId),
      UpdateExpression: 'ADD failed_login_count :one',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  const lockMs = lockDurationMs(Number(result.Attributes?.failed_login_count ?? 0));
  if (lockMs === 0) return;
  await documentClient().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: entityKey(userEntity, userId),
      UpdateExpression: 'SET locked_until = :until',
      ExpressionAttributeValues: { ':until': new Date(now.getTime() + lockMs).toISOString() },
    }),
  );
}

/** Login bookkeeping (not a change of the user's own fields): no version bump, no audit record. */
async function recordSuccess(user: EntityRecord, sourceIp: string, now: Date, rehashed: string | undefined): Promise<void> {
  await documentClient().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: entityKey(userEntity, user.id),
      UpdateExpression: `SET last_login_at = :now, last_login_ip = :ip${rehashed ? ', password_hash = :hash' : ''} REMOVE failed_login_count, locked_until`,
      ExpressionAttributeValues: { ':now': now.toISOString(), ':ip': sourceIp, ...(rehashed ? { ':hash': rehashed } : {}) },
    }),
  );
}
