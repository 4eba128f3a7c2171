/**
 * TOTP MFA (RFC 6238): enrolment shows the secret once, confirmation returns one-time recovery codes, ±1 step is
 * accepted and ±2 is not, a used code is refused (also when two logins race with it), recovery codes work once,
 * and a role that requires MFA gives MFA-less users a session that can only enrol. Time is moved with `clock.now`.
 */
import { SYSTEM_BOOTSTRAP } from '#shared/auth/bootstrap';
import { repo } from '#shared/db/repository';
import { userEntity } from '#shared/domains/identity/user';
import { acceptTotp } from '#shared/domains/identity/login';
import { expectError } from './helpers';
import {
  bearer,
  codeAt,
  enableMfa,
  fastUser,
  hotp,
  inDays,
  login,
  midStep,
  type PasswordUser,
  restoreClock,
  secretOf,
  sessionOf,
  STEP_MS,
  testNoSecretLeaks,
  travelTo,
  useIdentityApi,
} from './identity-helpers';

const h = useIdentityApi();
afterEach(restoreClock);

/** One MFA user shared by the code tests; each test moves to a later window, so earlier tests' codes never interfere. */
let user: PasswordUser;
let secret: string;
let recoveryCodes: string[];
let windowStart = 0;
let windowCount = 0;
function nextWindow(): number {
  windowCount += 1;
  return windowStart + windowCount * 20 * STEP_MS;
}

beforeAll(async () => {
  const { send } = h;
  user = await fastUser();
  windowStart = midStep();
  travelTo(windowStart);
  const token = await sessionOf(send, user);
  ({ secret, recoveryCodes } = await enableMfa(send, token, windowStart));
  restoreClock();
});

test('our TOTP oracle matches the RFC 6238 SHA-1 test vector', () => {
  // RFC 6238 appendix B: key "12345678901234567890", T = 59 s -> 94287082 (8 digits); 6 digits are its last 6.
  expect(hotp(Buffer.from('12345678901234567890'), Math.floor(59 / 30))).toBe('287082');
  expect(hotp(Buffer.from('12345678901234567890'), Math.floor(1111111109 / 30))).toBe('081804');
});

test('enrolment: the otpauth URI once, a wrong code does not confirm, confirmation returns 10 recovery codes once', async () => {
  const { send } = h;
  const someone = await fastUser();
  const at = midStep();
  travelTo(at);
  const token = await sessionOf(send, someone);
  const enrol = await send('POST', '/v1/me/mfa/enroll', bearer(token));
  expect(enrol.status).toBe(200);
  const uri = new URL(enrol.body.otpauth_uri);
  expect(uri.protocol).toBe('otpauth:');
  expect(uri.host).toBe('totp');
  expect(Object.fromEntries(uri.searchParams)).toMatchObject({ algorithm: 'SHA1', digits: '6', period: '30' });
  const enrolled = secretOf(enrol.body.otpauth_uri);
  expect(enrolled).toMatch(/^[A-Z2-7]{32}$/);

  // Not confirmed yet: MFA is off, and nothing shows the secret again.
  const me = await send('GET', '/v1/me', bearer(token));
  expect(me.body.user.mfa_enabled).toBe(false);
  expect(me.text).not.toContain(enrolled);
  expect((await send('GET', `/v1/users/${someone.id}`)).text).not.toContain(enrolled);

  const wrong = await send('POST', '/v1/me/mfa/confirm', { ...bearer(token), body: { code: codeAt(enrolled, at, 3) } });
  expectError(wrong, 400, 'validation_error');
  expect((await send('GET', '/v1/me', bearer(token))).body.user.mfa_enabled).toBe(false);

  const confirm = await send('POST', '/v1/me/mfa/confirm', { ...bearer(token), body: { code: codeAt(enrolled, at) } });
  expect(confirm.status).toBe(200);
  expect(confirm.body.recovery_codes).toHaveLength(10);
  expect(new Set(confirm.body.recovery_codes).size).toBe(10);
  expect((await send('GET', '/v1/me', bearer(token))).body.user.mfa_enabled).toBe(true);

  // Enrolling again while MFA is on is refused, and a second confirm does not hand out new codes.
  expectError(await send('POST', '/v1/me/mfa/enroll', bearer(token)), 409, 'conflict');
  expectError(await send('POST', '/v1/me/mfa/confirm', { ...bearer(token), body: { code: codeAt(enrolled, at, 1) } }), 409, 'conflict');

  // The password alone no longer opens a session.
  const noCode = await login(send, { username: someone.username, password: someone.password });
  expect(noCode.status).toBe(401);
  expect(noCode.body.token).toBeUndefined();
});

test('a code is accepted once: the same code a second time is refused', async () => {
  const { send } = h;
  const at = nextWindow();
  travelTo(at);
  const code = codeAt(secret, at);
  const first = await login(send, { username: user.username, password: user.password, totp_code: code });
  expect(first.status).toBe(200);
  expect(first.body.token).toMatch(/^dcs_/);
  expect(first.body.mfa_enrolment_required).toBe(false);
  const again = await login(send, { username: user.username, password: user.password, totp_code: code });
  expectError(again, 401, 'unauthorized');
  // An older code (the previous step, still inside the window) is refused too: steps only move forward.
  const older = await login(send, { username: user.username, password: user.password, totp_code: codeAt(secret, at, -1) });
  expectError(older, 401, 'unauthorized');
});

test('two concurrent logins with the same valid code: exactly one 200', async () => {
  const { send } = h;
  const at = nextWindow();
  travelTo(at);
  const body = { username: user.username, password: user.password, totp_code: codeAt(secret, at) };
  const responses = await Promise.all([login(send, body), login(send, body), login(send, body)]);
  const statuses = responses.map((response) => response.status);
  // One login gets the account's turn and the code; the others are refused (turned away, or the code is spent).
  expect(statuses.filter((status) => status === 200)).toHaveLength(1);
  expect(statuses.filter((status) => status !== 200).every((status) => status === 401 || status === 429)).toBe(true);
});

test('the code check itself is race-safe: of two concurrent acceptances of one code, exactly one wins', async () => {
  const at = nextWindow();
  const stored = await repo().getOrThrow(userEntity, user.id);
  const code = codeAt(secret, at);
  const results = await Promise.all([acceptTotp(stored, code, new Date(at)), acceptTotp(stored, code, new Date(at))]);
  expect(results.sort()).toEqual([false, true]);
});

test('±1 step is accepted, ±2 steps are refused', async () => {
  const { send } = h;
  const credentials = { username: user.username, password: user.password };
  // Codes must move forward, so try each window's refused code first, then the accepted one.
  const at = nextWindow();
  travelTo(at);
  expectError(await login(send, { ...credentials, totp_code: codeAt(secret, at, -2) }), 401, 'unauthorized');
  expect((await login(send, { ...credentials, totp_code: codeAt(secret, at, -1) })).status).toBe(200);

  const later = nextWindow();
  travelTo(later);
  expectError(await login(send, { ...credentials, totp_code: codeAt(secret, later, 2) }), 401, 'unauthorized');
  expect((await login(send, { ...credentials, totp_code: codeAt(secret, later, 1) })).status).toBe(200);
});

test("a concurrent change of the user does not undo a code's or a recovery code's use", async () => {
  const { send } = h;
  const someone = user;
  const at = nextWindow();
  travelTo(at);
  const code = codeAt(secret, at);
  const recovery = recoveryCodes[3] as string;
  // An admin edit of the user that read the user before the logins and writes after them (as a slow request would).
  const system = { principal: SYSTEM_BOOTSTRAP, requestId: 'test-slow-edit' };
  await repo().update(
    userEntity,
    someone.id,
    async () => {
      expect((await login(send, { username: someone.username, password: someone.password, totp_code: code })).status).toBe(200);
      expect((await login(send, { username: someone.username, password: someone.password, recovery_code: recovery })).status).toBe(200);
      return { email: `changed.${someone.email}` };
    },
    system,
  );
  expect((await send('GET', `/v1/users/${someone.id}`)).body.email).toBe(`changed.${someone.email}`);
  user = { ...user, email: `changed.${someone.email}` };
  expectError(await login(send, { username: someone.username, password: someone.password, totp_code: code }), 401, 'unauthorized');
  expectError(await login(send, { username: someone.username, password: someone.password, recovery_code: recovery }), 401, 'unauthorized');
});

test('recovery codes work once each; disabling MFA needs a valid code', async () => {
  const { send } = h;
  const someone = await fastUser();
  const at = nextWindow();
  travelTo(at);
  const { secret: own, recoveryCodes } = await enableMfa(send, await sessionOf(send, someone), at);
  const credentials = { username: someone.username, password: someone.password };
  const [first, second] = recoveryCodes as [string, string];

  // Recovery codes are accepted in either case and without the dash.
  const viaRecovery = await login(send, { ...credentials, recovery_code: first.replace('-', '').toLowerCase() });
  expect(viaRecovery.status).toBe(200);
  expectError(await login(send, { ...credentials, recovery_code: first }), 401, 'unauthorized');
  const token = viaRecovery.body.token;

  // Disable: a wrong code and an already used recovery code are refused; MFA stays on.
  expectError(await send('POST', '/v1/me/mfa/disable', { ...bearer(token), body: { code: codeAt(own, at, 5) } }), 400, 'validation_error');
  expectError(await send('POST', '/v1/me/mfa/disable', { ...bearer(token), body: { code: first } }), 400, 'validation_error');
  expect((await send('GET', '/v1/me', bearer(token))).body.user.mfa_enabled).toBe(true);
  expect((await send('POST', '/v1/me/mfa/disable', { ...bearer(token), body: { code: second } })).status).toBe(204);
  expect((await send('GET', '/v1/me', bearer(token))).body.user.mfa_enabled).toBe(false);

  // MFA off: the password alone works again, and the remaining recovery codes are gone with it.
  expect((await login(send, credentials)).status).toBe(200);
});

test('a role that requires MFA: a user without it gets a session that can only enrol (403 elsewhere)', async () => {
  const { api, send } = h;
  const viewer = await fastUser({ role: 'viewer' });
  const settings = await send('PUT', '/v1/settings/security', { body: { mfa_required_roles: ['viewer'] } });
  expect(settings.status).toBe(200);
  expect(settings.body.mfa_required_roles).toEqual(['viewer']);
  try {
    const at = nextWindow();
    travelTo(at);
    const first = await login(send, { username: viewer.username, password: viewer.password });
    expect(first.status).toBe(200);
    expect(first.body.mfa_enrolment_required).toBe(true);
    const pending = bearer(first.body.token);

    // Who am I works (no scopes); everything else that is not enrolment is a 403, including minting an API key
    // (which would otherwise carry the role's full scopes and skip MFA for good) and changing the password.
    const me = await send('GET', '/v1/me', pending);
    expect(me.status).toBe(200);
    expect(me.body.scopes).toEqual([]);
    const refused: [string, string, unknown][] = [
      ['GET', '/v1/servers', undefined],
      ['GET', '/v1/datacenters', undefined],
      ['GET', '/v1/api-keys', undefined],
      ['POST', '/v1/api-keys', { name: 'skip mfa', scopes: ['inventory:read'], expires_at: inDays(30) }],
      ['GET', `/v1/api-keys/${(await api.createKeyWithIds({})).id}`, undefined],
      ['POST', '/v1/me/password', { current_password: viewer.password, new_password: 'a brand new password' }],
    ];
    for (const [method, path, body] of refused) {
      const response = await send(method, path, { ...pending, ...(body !== undefined ? { body } : {}) });
      expect({ method, path, status: response.status }).toEqual({ method, path, status: 403 });
    }
    expect((await send('GET', `/v1/api-keys?user_id=${viewer.id}`)).body.items).toEqual([]);

    // Enrolment works from that session.
    const { secret: own } = await enableMfa(send, first.body.token, at);
    // The pending session stays limited; a new login with a code is a full session.
    expect((await send('GET', '/v1/servers', pending)).status).toBe(403);
    const full = await login(send, { username: viewer.username, password: viewer.password, totp_code: codeAt(own, at, 1) });
    expect(full.status).toBe(200);
    expect(full.body.mfa_enrolment_required).toBe(false);
    expect((await send('GET', '/v1/servers', bearer(full.body.token))).status).toBe(200);
  } finally {
    await send('PUT', '/v1/settings/security', { body: { mfa_required_roles: [] } });
  }
});

test('only a session manages MFA: API keys get 403 on enrol, confirm and disable', async () => {
  const { api, send } = h;
  const key = await api.createKey({ role: 'operator', scopes: ['inventory:read'] });
  expectError(await send('POST', '/v1/me/mfa/enroll', { key }), 403, 'forbidden');
  expectError(await send('POST', '/v1/me/mfa/confirm', { key, body: { code: '123456' } }), 403, 'forbidden');
  expectError(await send('POST', '/v1/me/mfa/disable', { key, body: { code: '123456' } }), 403, 'forbidden');
  // The admin key too: MFA is the caller's own, and a key has no second factor to manage.
  expectError(await send('POST', '/v1/me/mfa/enroll'), 403, 'forbidden');
});

testNoSecretLeaks(h);
