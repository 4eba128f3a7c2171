/**
 * Encrypts small secrets at rest (TOTP seeds) with AES-256-GCM under a key derived (HKDF) from the server
 * pepper, so a table export alone does not reveal them.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { serverSecrets } from '#shared/config';

async function key(): Promise<Buffer> {
  const { api_key_pepper: pepper } = await serverSecrets();
  return Buffer.from(hkdfSync('sha256', pepper, 'dc-inventory', 'totp-secret-box-v1', 32));
}

export async function seal(plaintext: string): Promise<string> {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', await key(), iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `v1.${iv.toString('base64url')}.${body.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
}

export async function open(sealed: string): Promise<string> {
  const [version, iv, body, tag] = sealed.split('.');
  if (version !== 'v1' || !iv || !body || !tag) throw new Error('unreadable sealed value');
  const decipher = createDecipheriv('aes-256-gcm', await key(), Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}
