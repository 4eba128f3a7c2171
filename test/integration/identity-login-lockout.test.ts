/**
 * Login and lock-out: 5 failures in a row lock the account (429, even with the right password) for a period that
 * grows with further failures; a success resets the count; wrong user and wrong password answer byte-identically.
 * Time is moved with `clock.now` (the local gateway runs in this process).
 */
import { expectError } from './helpers';
import { bearer, fastUser, login, restoreClock, testNoSecretLeaks, travelTo, useIdentityApi } from './identity-helpers';

const h = useIdentityApi();
afterEach(restoreClock);

const SECOND = 1000;

test('5 wrong passwords lock the account: the right one gets 429 until the lock passes; more failures lock longer', async () => {
  const { send } = h;
  const user = await fastUser();
  const other = await fastUser();
  const right = { username: user.username, password: user.password };
  const wrong = { username: user.username, password: 'not the password at all' };
  const t0 = Date.now();
  travelTo(t0);

  for (let attempt = 1; attempt <= 5; attempt++) expectError(await login(send, wrong), 401, 'unauthorized');
  const locked = await login(send, right);
  expectError(locked, 429, 'too_many_requests');
  expect(locked.body.token).toBeUndefined();
  expect(locked.headers.get('retry-after')).not.toBeNull();
  // While locked, a wrong password is a 429 as well (and is not even checked).
  expectError(await login(send, wrong), 429, 'too_many_requests');
  // The lock is per account: another user logs in meanwhile.
  expect((await login(send, { username: other.username, password: other.password })).status).toBe(200);

  // First lock: one minute.
  travelTo(t0 + 59 * SECOND);
  expectError(await login(send, right), 429, 'too_many_requests');
  travelTo(t0 + 61 * SECOND);
  // The lock has passed, but the count has not been reset: one more failure locks again, now for two minutes.
  expectError(await login(send, wrong), 401, 'unauthorized');
  const t1 = t0 + 61 * SECOND;
  travelTo(t1 + 61 * SECOND);
  expectError(await login(send, right), 429, 'too_many_requests');
  travelTo(t1 + 119 * SECOND);
  expectError(await login(send, right), 429, 'too_many_requests');
  travelTo(t1 + 121 * SECOND);
  const ok = await login(send, right);
  expect(ok.status).toBe(200);
  expect((await send('GET', '/v1/me', bearer(ok.body.token))).body.user.id).toBe(user.id);

  // The success reset the count: one failure now does not lock (with 7 failures counted it would, for 4 minutes).
  expectError(await login(send, wrong), 401, 'unauthorized');
  expect((await login(send, right)).status).toBe(200);
  const record = (await send('GET', `/v1/users/${user.id}`)).body;
  expect(record.locked_until).toBeNull();
  expect(record.last_login_at).toBe(new Date(t1 + 121 * SECOND).toISOString());
  expect(['127.0.0.1', '::ffff:127.0.0.1']).toContain(record.last_login_ip);
});

test('parallel guesses cannot outrun the lock-out: one password check at a time per account', async () => {
  const { send } = h;
  const user = await fastUser();
  const wrong = { username: user.username, password: 'parallel guess, wrong' };
  const responses = await Promise.all(Array.from({ length: 10 }, () => login(send, wrong)));
  const statuses = responses.map((response) => response.status);
  expect(statuses.every((status) => status === 401 || status === 429)).toBe(true);
  // Only the guesses that got the account's turn were checked; the rest were turned away without a try.
  const checked = statuses.filter((status) => status === 401).length;
  expect(checked).toBeGreaterThanOrEqual(1);
  expect(checked).toBeLessThan(10);
  // Fewer than 5 checked failures: no lock yet, and the right password still works.
  if (checked < 5) expect((await login(send, { username: user.username, password: user.password })).status).toBe(200);
});

test('wrong user and wrong password get byte-identical 401 bodies (and so does a disabled user)', async () => {
  const { send } = h;
  const user = await fastUser();
  const disabled = await fastUser({ disabled: true });
  const wrongPassword = await login(send, { username: user.username, password: 'not the password at all' });
  const wrongUser = await login(send, { username: `nobody.${user.username}`, password: user.password });
  const disabledUser = await login(send, { username: disabled.username, password: disabled.password });
  expectError(wrongPassword, 401, 'unauthorized');
  expect(wrongUser.status).toBe(401);
  expect(wrongUser.text).toBe(wrongPassword.text);
  expect(disabledUser.status).toBe(401);
  expect(disabledUser.text).toBe(wrongPassword.text);
  expect(wrongUser.headers.get('content-type')).toBe(wrongPassword.headers.get('content-type'));
  // The same body as any refused credential at the gateway.
  const badKey = await send('GET', '/v1/me', { key: 'x'.repeat(40) });
  expect(badKey.text).toBe(wrongPassword.text);
});

test('the username is case-insensitive; malformed login bodies are a 400', async () => {
  const { send } = h;
  const user = await fastUser();
  const upper = await login(send, { username: user.username.toUpperCase(), password: user.password });
  expect(upper.status).toBe(200);
  expect(upper.body).toEqual({
    token: expect.stringMatching(/^dcs_/),
    token_type: 'Bearer',
    expires_at: expect.any(String),
    mfa_enrolment_required: false,
  });
  for (const body of [
    { username: user.username },
    { username: user.username, password: 'x', extra: 1 },
    { username: user.username, password: 'x', totp_code: '12ab56' },
  ]) {
    expectError(await login(send, body), 400, 'validation_error');
  }
});

testNoSecretLeaks(h);
