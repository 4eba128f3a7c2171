/**
 * API key format and verification. A key is `dci_<32 hex>_<43 chars>`: the hex part is the key's UUID (public,
 * makes lookup one GetItem), the rest is the secret. Only HMAC-SHA256(pepper, key) is stored, compared in constant
 * time. The free-form bootstrap key (ADMIN_API_KEY) gets a UUID-shaped id derived from its keyed digest.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { serverSecrets } from '#shared/config';

export const API_KEY_PREFIX = 'dci_';
export const SESSION_TOKEN_PREFIX = 'dcs_';
const TOKEN_PATTERN = /^(dci|dcs)_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;
/** The bootstrap key is accepted in any format of 32+ characters (API-CONVENTIONS.md). */
export const MIN_BOOTSTRAP_LENGTH = 32;
const MAX_CREDENTIAL_LENGTH = 512;

const hexToUuid = (hex: string) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;

/** A new credential for an id: `dci_…` for API keys, `dcs_…` for session tokens. */
export function formatCredential(kind: 'api_key' | 'session', id: string): string {
  const prefix = kind === 'api_key' ? API_KEY_PREFIX : SESSION_TOKEN_PREFIX;
  return `${prefix}${id.replaceAll('-', '')}_${randomBytes(32).toString('base64url')}`;
}

/** The public part to show next to a key (`dci_<hex>`), never enough to use it. */
export function credentialPrefix(id: string): string {
  return `${API_KEY_PREFIX}${id.replaceAll('-', '')}`;
}

export async function hashCredential(credential: string): Promise<string> {
  const { api_key_pepper: pepper } = await serverSecrets();
  return createHmac('sha256', pepper).update(credential).digest('base64url');
}

/** The id a presented credential claims, or undefined when it is malformed. */
export async function credentialId(kind: 'api_key' | 'session', credential: string): Promise<string | undefined> {
  if (credential.length > MAX_CREDENTIAL_LENGTH) return undefined;
  const match = TOKEN_PATTERN.exec(credential);
  if (match) return (match[1] === 'dci') === (kind === 'api_key') ? hexToUuid(match[2] as string) : undefined;
  if (kind === 'session' || credential.length < MIN_BOOTSTRAP_LENGTH || credential.startsWith(API_KEY_PREFIX)) return undefined;
  return bootstrapKeyId(credential);
}

/** UUID-shaped (version 8, "custom") id of a free-form bootstrap key, derived under the pepper. */
export async function bootstrapKeyId(key: string): Promise<string> {
  const { api_key_pepper: pepper } = await serverSecrets();
  const hex = createHmac('sha256', pepper).update(`bootstrap-id\u0000${key}`).digest('hex').slice(0, 32).split('');
  hex[12] = '8';
  hex[16] = ((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
  return hexToUuid(hex.join(''));
}

export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}
