/**
 * Secrets never leave their one-time moment. A run of every identity flow with LOG_LEVEL=info: every response
 * body (and header) and every line written to stdout/stderr is searched for the passwords used, the keys and
 * session tokens issued, the TOTP secrets and recovery codes, and the hashes and sealed values read from the table.
 * Only the response that issues a secret may carry it (login: the token; key creation: the key; enrolment: the
 * otpauth URI; confirmation: the recovery codes).
 */
import { expectError, tagBody, unique } from './helpers';
import {
  bearer,
  codeAt,
  login,
  midStep,
  restoreClock,
  SHARED_PASSWORD,
  scanTable,
  secretOf,
  STEP_MS,
  storedSecrets,
  testNoSecretLeaks,
  travelTo,
  useIdentityApi,
} from './identity-helpers';

process.env.LOG_LEVEL = 'info';
const logs: string[] = [];
let restoreWrites: (() => void) | undefined;

// Registered before the API starts, so its start-up is captured as well.
beforeAll(() => {
  const capture = (stream: NodeJS.WriteStream) => {
    const spy = jest.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      logs.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof stream.write);
    return () => spy.mockRestore();
  };
  const restores = [capture(process.stdout), capture(process.stderr)];
  restoreWrites = () => {
    for (const restore of restores) restore();
  };
});
afterAll(() => restoreWrites?.());
afterEach(restoreClock);

const h = useIdentityApi();

test('a run of every identity flow (users, logins, MFA, keys, passwords, logout, audit)', async () => {
  const { send } = h;
  const at = midStep();
  travelTo(at);
  const first = `first secret password ${unique('pw')}`;
  const username = unique('secretive').replaceAll('-', '.');
  const user = await send('POST', '/v1/users', {
    body: { username, email: `${username}@example.test`, role: 'operator', password: first },
  });
  expect(user.status).toBe(201);
  expect((await send('GET', '/v1/users?limit=500')).status).toBe(200);
  expect((await send('GET', `/v1/users/${user.body.id}`)).status).toBe(200);

  expectError(await login(send, { username, password: `wrong ${first}` }), 401, 'unauthorized');
  expectError(await login(send, { username: `nobody.${username}`, password: first }), 401, 'unauthorized');
  expectError(await send('GET', '/v1/me', { key: `dci_${'0'.repeat(32)}_${'A'.repeat(43)}` }), 401, 'unauthorized');
  const firstLogin = await login(send, { username, password: first });
  expect(firstLogin.status).toBe(200);
  const session = bearer(firstLogin.body.token);
  expect((await send('GET', '/v1/me', session)).status).toBe(200);

  // MFA: enrol, confirm, then log in with a code and with a recovery code.
  const enrol = await send('POST', '/v1/me/mfa/enroll', session);
  const totp = secretOf(enrol.body.otpauth_uri);
  expect(enrol.body.secret).toBe(totp);
  const confirm = await send('POST', '/v1/me/mfa/confirm', { ...session, body: { code: codeAt(totp, at) } });
  expect(confirm.status).toBe(200);
  const withCode = await login(send, { username, password: first, totp_code: codeAt(totp, at, 1) });
  expect(withCode.status).toBe(200);
  const full = bearer(withCode.body.token);
  expect((await login(send, { username, password: first, recovery_code: confirm.body.recovery_codes[0] })).status).toBe(200);
  expectError(await login(send, { username, password: first, recovery_code: confirm.body.recovery_codes[0] }), 401, 'unauthorized');

  // Keys: create from the session, use, read, rename, revoke.
  const key = await send('POST', '/v1/api-keys', {
    ...full,
    body: { name: 'secret run', scopes: ['inventory:read', 'inventory:write'], expires_at: new Date(at + 86_400_000).toISOString() },
  });
  expect(key.status).toBe(201);
  expect((await send('POST', '/v1/tags', { key: key.body.key, body: tagBody() })).status).toBe(201);
  expect((await send('GET', '/v1/me', { key: key.body.key })).status).toBe(200);
  expect((await send('GET', '/v1/api-keys', full)).status).toBe(200);
  expect((await send('GET', `/v1/api-keys/${key.body.id}`)).status).toBe(200);
  expect((await send('PATCH', `/v1/api-keys/${key.body.id}`, { ...full, body: { name: 'renamed' } })).status).toBe(200);
  expect((await send('POST', `/v1/api-keys/${key.body.id}/revoke`, full)).status).toBe(200);
  expectError(await send('GET', '/v1/me', { key: key.body.key }), 401, 'unauthorized');

  // Passwords: the user changes theirs, then an admin resets it; a wrong current password is refused.
  const second = `second secret password ${unique('pw')}`;
  expectError(
    await send('POST', '/v1/me/password', { ...full, body: { current_password: SHARED_PASSWORD, new_password: second } }),
    400,
    'validation_error',
  );
  expect((await send('POST', '/v1/me/password', { ...full, body: { current_password: first, new_password: second } })).status).toBe(204);
  const third = `third secret password ${unique('pw')}`;
  expect((await send('PATCH', `/v1/users/${user.body.id}`, { body: { password: third } })).status).toBe(200);
  travelTo(at + 3 * STEP_MS);
  const last = await login(send, { username, password: third, totp_code: codeAt(totp, at + 3 * STEP_MS) });
  expect(last.status).toBe(200);
  expect((await send('POST', '/v1/auth/logout', bearer(last.body.token))).status).toBe(204);
  expectError(await send('GET', '/v1/me', bearer(last.body.token)), 401, 'unauthorized');

  // Everything an admin can read about it.
  for (const path of ['/v1/audit-events?limit=500', `/v1/users/${user.body.id}`, '/v1/api-keys?limit=500', '/v1/openapi.json']) {
    expect((await send('GET', path, path.endsWith('.json') ? { key: null } : {})).status).toBe(200);
  }
  // The run really exercised what it claims: each kind of secret was seen.
  for (const secret of [first, second, third, totp, key.body.key, firstLogin.body.token, ...confirm.body.recovery_codes]) {
    expect(h.secrets.has(secret)).toBe(true);
  }
});

test('no log line (LOG_LEVEL=info, stdout and stderr) contains a password, hash, TOTP secret, token or key', async () => {
  const text = logs.join('');
  // The capture worked: the gateway logged every request, the refused credentials included.
  expect(text).toContain('"message":"request"');
  expect(text).toContain('"message":"credentials refused"');
  const secrets = new Set([...h.secrets, ...(await storedSecrets())]);
  expect(secrets.size).toBeGreaterThan(10);
  const leaked = [...secrets].filter((secret) => text.includes(secret));
  expect(leaked).toEqual([]);
  expect(text).not.toContain('$scrypt$');
});

test('the table holds no secret in plaintext: passwords, keys, tokens, TOTP secrets and recovery codes are hashed or sealed', async () => {
  const table = JSON.stringify(await scanTable());
  const plaintext = [...h.secrets].filter((secret) => table.includes(secret));
  expect(plaintext).toEqual([]);
  expect(h.secrets.size).toBeGreaterThan(10);
});

testNoSecretLeaks(h);
