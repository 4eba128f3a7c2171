import { z } from 'zod';
import { SCOPES } from '#shared/auth/principal';
import { defineEntity, type EntityDefinition } from '#shared/model/entity';
import { text, uuid } from '#shared/model/fields';
import { userEntity } from '#shared/domains/identity/user';

export const MAX_API_KEY_LIFETIME_DAYS = 366;

const cidr = () =>
  z
    .string()
    .max(64)
    .refine((value) => parseCidr(value) !== undefined, { message: 'must be a CIDR block such as 10.20.0.0/16 or 2001:db8::/32' });

/**
 * An API key for scripts and agents. The key itself is shown once at creation; the item keeps only its keyed hash
 * (`secret_hash`, not a field, so never returned). Scopes are never more than the owner's role allows, and the
 * key acts with the intersection of its scopes and its owner's current rights.
 */
export const apiKeyEntity: EntityDefinition = defineEntity({
  type: 'api_key',
  collection: 'api-keys',
  schemaName: 'ApiKey',
  label: 'API key',
  fields: z.object({
    name: text(100),
    user_id: uuid().optional().meta({ description: 'Owner; defaults to the caller (only admins may name another user)' }),
    scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length),
    expires_at: z.iso.datetime({ offset: true }).meta({ description: `Required; at most ${MAX_API_KEY_LIFETIME_DAYS} days ahead` }),
    allowed_cidrs: z.array(cidr()).max(32).nullable().optional(),
  }),
  immutable: ['user_id', 'scopes'],
  readOnly: z.object({
    prefix: z.string().meta({ description: 'The public start of the key (dci_<id>), to recognise it in configs' }),
    last_used_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
    created_by: z.string().nullable(),
  }),
  references: [{ field: 'user_id', target: () => userEntity }],
  ownerField: 'user_id',
  indexKeys: (record) => ({ byParent: { pk: `USER#${String(record.user_id)}`, sk: `API_KEY#${record.id}` } }),
  listAccess: [{ param: 'user_id', index: 'byParent', partition: (value) => `USER#${value}` }],
  filters: z.object({ user_id: uuid().optional() }),
});

/** Parses `a.b.c.d/n` or `v6::/n`; undefined when malformed. */
export function parseCidr(value: string): { family: 4 | 6; bits: bigint; prefix: number } | undefined {
  const [address, prefixText, ...rest] = value.split('/');
  if (!address || prefixText === undefined || rest.length > 0 || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const parsed = parseIp(address);
  if (!parsed || prefix > (parsed.family === 4 ? 32 : 128)) return undefined;
  return { ...parsed, prefix };
}

export function parseIp(address: string): { family: 4 | 6; bits: bigint } | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((part) => part > 255)) return undefined;
    return { family: 4, bits: parts.reduce((bits, part) => (bits << 8n) | BigInt(part), 0n) };
  }
  if (!address.includes(':')) return undefined;
  try {
    const host = new URL(`http://[${address}]/`).hostname.slice(1, -1);
    const [head = '', tail = ''] = host.split('::');
    const headGroups = head ? head.split(':') : [];
    const tailGroups = tail ? tail.split(':') : [];
    const missing = host.includes('::') ? 8 - headGroups.length - tailGroups.length : 0;
    const groups = [...headGroups, ...Array(missing).fill('0'), ...tailGroups];
    if (groups.length !== 8) return undefined;
    return { family: 6, bits: groups.reduce((bits, group) => (bits << 16n) | BigInt(Number.parseInt(group, 16)), 0n) };
  } catch {
    return undefined;
  }
}

/** Is `ip` inside one of the blocks? An IPv4-mapped IPv6 address (::ffff:a.b.c.d) counts as IPv4. */
export function ipAllowed(ip: string, cidrs: readonly string[]): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  const address = parseIp(mapped ?? ip);
  if (!address) return false;
  return cidrs.some((block) => {
    const parsed = parseCidr(block);
    if (!parsed || parsed.family !== address.family) return false;
    const width = BigInt(parsed.family === 4 ? 32 : 128);
    const shift = width - BigInt(parsed.prefix);
    return address.bits >> shift === parsed.bits >> shift;
  });
}
