/** TOTP enrolment, confirmation and removal for the calling user, with one-time recovery codes stored hashed. */
import { randomBytes } from 'node:crypto';
import { hashCredential } from '#shared/auth/api-keys';
import type { WriteContext } from '#shared/db/audit';
import { repo } from '#shared/db/repository';
import { acceptTotp, consumeRecoveryCode, normalizeRecoveryCode } from '#shared/domains/identity/login';
import { open, seal } from '#shared/domains/identity/secret-box';
import { base32Encode, generateTotpSecret, matchTotp, otpauthUri } from '#shared/domains/identity/totp';
import { userEntity } from '#shared/domains/identity/user';
import { conflict, validationError } from '#shared/http/errors';
import { clock } from '#shared/model/ids';

const RECOVERY_CODES = 10;

const badCode = () => validationError('The one-time code is not valid.', [{ path: 'code', message: 'wrong, expired or already used' }]);

export async function enrolMfa(userId: string, context: WriteContext): Promise<{ otpauth_uri: string; secret: string }> {
  const user = await repo().getOrThrow(userEntity, userId);
  if (user.mfa_enabled === true) throw conflict('MFA is already enabled; disable it first to enrol a new device.');
  const secret = generateTotpSecret();
  const sealed = await seal(secret);
  await repo().update(userEntity, userId, () => ({ totp_pending_sealed: sealed }), context);
  return { otpauth_uri: otpauthUri(secret, String(user.username)), secret };
}

export async function confirmMfa(userId: string, code: string, context: WriteContext): Promise<{ recovery_codes: string[] }> {
  const user = await repo().getOrThrow(userEntity, userId);
  if (user.mfa_enabled === true) throw conflict('MFA is already enabled.');
  if (typeof user.totp_pending_sealed !== 'string') throw conflict('Start with POST /v1/me/mfa/enroll.');
  const step = matchTotp(await open(user.totp_pending_sealed), code, clock.now().getTime());
  if (step === undefined) throw badCode();
  const codes = Array.from({ length: RECOVERY_CODES }, () => {
    const raw = base32Encode(randomBytes(7)).slice(0, 10);
    return `${raw.slice(0, 5)}-${raw.slice(5)}`;
  });
  const hashes = await Promise.all(codes.map((recovery) => hashCredential(normalizeRecoveryCode(recovery))));
  await repo().update(
    userEntity,
    userId,
    (current) => {
      if (current.totp_pending_sealed !== user.totp_pending_sealed) throw conflict('The enrolment changed meanwhile; enrol again.');
      return {
        mfa_enabled: true,
        totp_secret_sealed: user.totp_pending_sealed,
        totp_pending_sealed: null,
        totp_last_step: step,
        recovery_code_hashes: hashes,
      };
    },
    context,
  );
  return { recovery_codes: codes };
}

export async function disableMfa(userId: string, code: string, context: WriteContext): Promise<void> {
  const user = await repo().getOrThrow(userEntity, userId);
  if (user.mfa_enabled !== true) throw conflict('MFA is not enabled.');
  const accepted = /^\d{6}$/.test(code) ? await acceptTotp(user, code, clock.now()) : await consumeRecoveryCode(user, code);
  if (!accepted) throw badCode();
  await repo().update(
    userEntity,
    userId,
    () => ({ mfa_enabled: false, totp_secret_sealed: null, totp_pending_sealed: null, recovery_code_hashes: null }),
    context,
  );
}
