/** Reusable zod field types, so every entity validates the same things the same way. */
import { z } from 'zod';
import { UUID_PATTERN } from '#shared/model/ids';

/** Strings people type: trimmed of nothing, but no control characters and a sane length. */
export const text = (max = 255) =>
  z
    .string()
    .min(1)
    .max(max)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
    .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), { message: 'must not contain control characters' });

export const longText = (max = 4000) =>
  z
    .string()
    .max(max)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: newlines and tabs are fine in notes, other controls are not
    .refine((value) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(value), {
      message: 'must not contain control characters',
    });

export const uuid = () => z.string().regex(UUID_PATTERN, 'must be a UUID');

export const bytes = () => z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const count = (max = 1_000_000) => z.number().int().min(0).max(max);
export const percent = () => z.number().min(0).max(100);

/**
 * Host name as vCenter and DNS know it: labels of letters, digits, hyphens and (as vCenter allows, e.g. `DC0_H0`)
 * underscores, dot-separated; case-insensitive. An IP address literal is a valid host name too.
 */
export const hostname = () =>
  z
    .string()
    .min(1)
    .max(253)
    .regex(
      /^(?=.{1,253}$)([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)*\.?$/,
      'must be a valid host name',
    );

export const macAddress = () =>
  z
    .string()
    .regex(/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/, 'must be a MAC address like 00:50:56:aa:bb:cc')
    .transform((value) => value.toLowerCase().replaceAll('-', ':'));

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
export const ipAddress = () =>
  z
    .string()
    .max(64)
    .refine((value) => IPV4.test(value) || isIpv6(value), { message: 'must be an IPv4 or IPv6 address' });

function isIpv6(value: string): boolean {
  // Node's URL parser is a strict IPv6 validator and needs no dependency.
  if (!value.includes(':')) return false;
  try {
    return new URL(`http://[${value}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

export const ianaTimezone = () =>
  z
    .string()
    .max(64)
    .refine(
      (value) => {
        try {
          return (
            (new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone.length > 0 && value.includes('/')) ||
            value === 'UTC'
          );
        } catch {
          return false;
        }
      },
      { message: 'must be an IANA time zone name such as Africa/Tunis' },
    );

export const httpsUrl = () =>
  z
    .string()
    .max(2048)
    .refine(
      (value) => {
        try {
          const url = new URL(value);
          return url.protocol === 'https:' || url.protocol === 'http:';
        } catch {
          return false;
        }
      },
      { message: 'must be an http(s) URL' },
    );

export const hexColor = () => z.string().regex(/^#?[0-9a-fA-F]{6}$/, 'must be a hex colour like #1f77b4');
