/**
 * Shared pieces of the identity suites (identity-*.test.ts): an independent RFC 6238 implementation (the oracle
 * for the server's TOTP), password users made through the API, logins, table scans and time travel.
 */
import { createHash, createHmac } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { SYSTEM_BOOTSTRAP } from '#shared/auth/bootstrap';
import { documentClient } from '#shared/db/client';
import { repo } from '#shared/db/repository';
import { hashPassword } from '#shared/domains/identity/passwords';
import { userEntity } from '#shared/domains/identity/user';
import { clock } from '#shared/model/ids';
import { type RequestOptions, TEST_ADMIN_KEY, type TestApi, type TestResponse } from '../support/api';
import { listAll, type Send, unique, useApi } from './helpers';

// ---------------------------------------------------------------- TOTP, written from RFC 4226/6238, not the app's code

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32ToBytes(text: string): Buffer {
  let bits = '';
  for (const char of text.replace(/=+$/, '').toUpperCase()) bits += BASE32.indexOf(char).toString(2).padStart(5, '0');
  const bytes: number[] = [];
  for (let index = 0; index + 8 <= bits.length; index += 8) bytes.push(Number.parseInt(bits.slice(index, index + 8), 2));
  return Buffer.from(bytes);
}

/** HOTP(secret, counter), 6 digits; `secret` is base32 text or the raw key bytes. */
export function hotp(secret: string | Buffer, counter: number): string {
  const key = typeof secret === 'string' ? base32ToBytes(secret) : secret;
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const digest = createHmac('sha1', key).update(message).digest();
  const offset = (digest[19] as number) & 0xf;
  const value = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(value % 1_000_000).padStart(6, '0');
}

export const STEP_MS = 30_000;
export const stepAt = (ms: number) => Math.floor(ms / STEP_MS);
/** The code of the step `delta` steps away from the step containing `ms`. */
export const codeAt = (secret: string, ms: number, delta = 0) => hotp(secret, stepAt(ms) + delta);

/** The secret from an otpauth URI (the only place the client ever sees it). */
export function secretOf(otpauthUri: string): string {
  const secret = new URL(otpauthUri).searchParams.get('secret');
  if (!secret) throw new Error(`no secret in ${otpauthUri}`);
  return secret;
}

// ---------------------------------------------------------------- time travel

/** Freezes the app clock at `ms` (the local gateway runs in this process, so the server sees it too). */
export function travelTo(ms: number): void {
  clock.now = () => new Date(ms);
}

const realNow = clock.now;
export function restoreClock(): void {
  clock.now = realNow;
}

/** The middle of the TOTP step after the current one: far from a step boundary, so codes do not roll mid-test. */
export function midStep(offsetSteps = 0): number {
  return (stepAt(Date.now()) + 1 + offsetSteps) * STEP_MS + STEP_MS / 2;
}

// ---------------------------------------------------------------- users and logins

export interface PasswordUser {
  id: string;
  username: string;
  email: string;
  password: string;
  record: any;
}

/** A user with a password, created by the admin through POST /v1/users (one scrypt on the server). */
export async function passwordUser(send: Send, fields: Record<string, unknown> = {}): Promise<PasswordUser> {
  const username = unique('user').replaceAll('-', '.');
  const email = `${username}@example.test`;
  const password = `pw ${unique('secret')} correct horse`;
  const response = await send('POST', '/v1/users', {
    body: { username, email, role: 'operator', datacenter_access: 'all', password, ...fields },
  });
  if (response.status !== 201) throw new Error(`POST /v1/users answered ${response.status}: ${response.text}`);
  return { id: response.body.id, username, email, password, record: response.body };
}

/** The password of every `fastUser` of a test file: hashed once per file, since each scrypt costs ~0.4 s. */
export const SHARED_PASSWORD = 'one shared password for fast test users';
let sharedHash: Promise<string> | undefined;

/**
 * A password user written through the domain repository with a hash made once per file (same scrypt parameters
 * as the API's): for tests about logins, not about user creation (identity-users covers POST /v1/users).
 */
export async function fastUser(fields: Record<string, unknown> = {}): Promise<PasswordUser> {
  sharedHash ??= hashPassword(SHARED_PASSWORD);
  const username = unique('fast').replaceAll('-', '.');
  const email = `${username}@example.test`;
  const record = await repo().create(
    userEntity,
    {
      username,
      email,
      role: 'operator',
      datacenter_access: 'all',
      disabled: false,
      mfa_enabled: false,
      password_hash: await sharedHash,
      ...fields,
    },
    { principal: SYSTEM_BOOTSTRAP, requestId: 'test-fast-user' },
  );
  return { id: record.id, username, email, password: SHARED_PASSWORD, record };
}

export async function login(send: Send, body: Record<string, unknown>): Promise<TestResponse> {
  return send('POST', '/v1/auth/login', { key: null, body });
}

/** Logs in and returns the bearer token (fails the test otherwise). */
export async function sessionOf(send: Send, user: PasswordUser, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await login(send, { username: user.username, password: user.password, ...extra });
  if (response.status !== 200) throw new Error(`login answered ${response.status}: ${response.text}`);
  return response.body.token;
}

/** Request options for a session token instead of an API key. */
export const bearer = (token: string) => ({ key: null, headers: { authorization: `Bearer ${token}` } });

/** Enrols and confirms TOTP for a session; returns the secret and the recovery codes. */
export async function enableMfa(send: Send, token: string, at = Date.now()): Promise<{ secret: string; recoveryCodes: string[] }> {
  const enrol = await send('POST', '/v1/me/mfa/enroll', bearer(token));
  if (enrol.status !== 200) throw new Error(`enroll answered ${enrol.status}: ${enrol.text}`);
  const secret = secretOf(enrol.body.otpauth_uri);
  const confirm = await send('POST', '/v1/me/mfa/confirm', { ...bearer(token), body: { code: codeAt(secret, at) } });
  if (confirm.status !== 200) throw new Error(`confirm answered ${confirm.status}: ${confirm.text}`);
  return { secret, recoveryCodes: confirm.body.recovery_codes };
}

// ---------------------------------------------------------------- the table

export async function scanTable(): Promise<Record<string, any>[]> {
  const items: Record<string, any>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documentClient().send(
      new ScanCommand({ TableName: process.env.TABLE_NAME as string, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    items.push(...((page.Items ?? []) as Record<string, any>[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/**
 * A digest of the whole table, ignoring what a refused request may legitimately touch: `last_used_at` on API keys
 * (written by the authorizer before the route decides) and idempotency records.
 */
export async function tableDigest(): Promise<string> {
  const lines = (await scanTable())
    .filter((item) => !String(item.pk).startsWith('IDEMPOTENCY#'))
    .map((item) => {
      const { last_used_at: _ignored, ...rest } = item;
      return stableJson(item.type === 'api_key' ? rest : item);
    })
    .sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${stableJson(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

/** Every audit event a query selects, following the cursor (newest first). */
export async function listEvents(send: Send, path: string): Promise<any[]> {
  return (await listAll(send, path)).items;
}

export const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

// ---------------------------------------------------------------- secrets: nothing shows them but their one-time moment

interface RecordedResponse {
  label: string;
  text: string;
  /** Secrets this response legitimately carries: the one-time issue of a token, key, TOTP secret or recovery codes. */
  issued: Set<string>;
}

/** Anything shorter is a deliberately wrong value such as 'x', not a secret worth searching for. */
const MIN_SECRET_LENGTH = 8;

export interface IdentityHarness {
  readonly api: TestApi;
  /** The checked client of `useApi()`, recording as it goes. */
  send: Send;
  /** Secrets seen so far: sent (keys, tokens, passwords, recovery codes) or issued once (keys, tokens, TOTP secrets). */
  secrets: Set<string>;
  /** Every response that went through `send`. */
  responses: RecordedResponse[];
  /** Responses carrying a secret (or a hash read from the table now) outside its one-time moment. */
  leaks(): Promise<unknown[]>;
}

/**
 * `useApi()` whose `send` records every response and every secret that passes by, so a file can finally assert
 * that no response showed a password, a hash, a TOTP secret, a session token or an API key except when issuing it.
 */
export function useIdentityApi(): IdentityHarness {
  const base = useApi();
  const secrets = new Set<string>();
  const responses: RecordedResponse[] = [];
  const remember = (value: unknown, into: Set<string> = secrets) => {
    if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH) into.add(value);
  };
  const send: Send = async (method: string, path: string, options: RequestOptions = {}) => {
    const response = await base.send(method, path, options);
    remember(options.key === undefined ? TEST_ADMIN_KEY : options.key);
    remember(/^Bearer\s+(\S+)$/i.exec(options.headers?.authorization ?? '')?.[1]);
    const body = (options.body ?? {}) as Record<string, unknown>;
    for (const field of ['password', 'current_password', 'new_password', 'recovery_code']) remember(body[field]);
    const issued = new Set<string>();
    if (response.status < 300 && response.body && typeof response.body === 'object') {
      const { token, key, secret, otpauth_uri: uri, recovery_codes: codes } = response.body as Record<string, any>;
      for (const value of [token, key, secret, ...(Array.isArray(codes) ? codes : [])]) remember(value, issued);
      if (typeof uri === 'string') remember(secretOf(uri), issued);
    }
    for (const value of issued) secrets.add(value);
    responses.push({
      label: `${method} ${path} -> ${response.status}`,
      text: `${JSON.stringify([...response.headers])}\n${response.text}`,
      issued,
    });
    return response;
  };
  const harness: IdentityHarness = {
    get api() {
      return base.api;
    },
    send,
    secrets,
    responses,
    leaks: async () => {
      const all = new Set([...secrets, ...(await storedSecrets())]);
      const found: unknown[] = [];
      for (const response of responses) {
        for (const secret of all) {
          if (!response.issued.has(secret) && response.text.includes(secret)) found.push({ response: response.label, secret });
        }
        if (response.text.includes('$scrypt$')) found.push({ response: response.label, secret: '$scrypt$' });
      }
      return found;
    },
  };
  return harness;
}

/** Hashes and sealed values as the table holds them: none may ever appear in a response or a log line. */
export async function storedSecrets(): Promise<Set<string>> {
  const found = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH) found.add(value);
  };
  for (const item of await scanTable()) {
    for (const field of ['password_hash', 'secret_hash', 'totp_secret_sealed', 'totp_pending_sealed']) add(item[field]);
    if (Array.isArray(item.recovery_code_hashes)) item.recovery_code_hashes.forEach(add);
  }
  return found;
}

/** The last test of an identity file: everything the file's tests received is checked for secrets. */
export function testNoSecretLeaks(h: IdentityHarness): void {
  test('no response of this file showed a password, hash, TOTP secret, token or key outside its one-time moment', async () => {
    expect(h.responses.length).toBeGreaterThan(10);
    expect(h.secrets.size).toBeGreaterThan(0);
    expect(await h.leaks()).toEqual([]);
  });
}
