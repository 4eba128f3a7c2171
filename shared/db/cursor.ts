/**
 * Opaque, signed list cursors: base64url(JSON) + "." + base64url(HMAC-SHA256). The payload binds the cursor to
 * one list (collection + filters) and an expiry, so a tampered, expired or foreign cursor is a 400, never someone
 * else's rows and never a 500.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ApiError } from '#shared/http/errors';

const CURSOR_TTL_SECONDS = 24 * 60 * 60;

export type CursorPosition = Record<string, string>;

interface CursorPayload {
  /** Scope: hash of the list identity (collection, access path, filters). */
  s: string;
  /** Position: the key attributes of the last item read. */
  p: CursorPosition;
  /** Expiry, epoch seconds. */
  e: number;
}

export function listScope(parts: Record<string, unknown>): string {
  const canonical = JSON.stringify(
    Object.keys(parts)
      .sort()
      .map((key) => [key, parts[key]]),
  );
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 22);
}

export function encodeCursor(key: string, scope: string, position: CursorPosition, nowMs = Date.now()): string {
  const payload: CursorPayload = { s: scope, p: position, e: Math.floor(nowMs / 1000) + CURSOR_TTL_SECONDS };
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${sign(key, body)}`;
}

const invalidCursor = () => new ApiError('invalid_cursor', 'The cursor is invalid, expired or belongs to another list.');

export function decodeCursor(key: string, scope: string, cursor: string, nowMs = Date.now()): CursorPosition {
  const [body, signature, ...rest] = cursor.split('.');
  if (!body || !signature || rest.length > 0) throw invalidCursor();
  const expected = Buffer.from(sign(key, body));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalidCursor();
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!isPayload(payload) || payload.s !== scope || payload.e * 1000 < nowMs) throw invalidCursor();
  return payload.p;
}

function sign(key: string, body: string): string {
  return createHmac('sha256', key).update(body).digest('base64url');
}

function isPayload(value: unknown): value is CursorPayload {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.s === 'string' &&
    typeof candidate.e === 'number' &&
    typeof candidate.p === 'object' &&
    candidate.p !== null &&
    Object.values(candidate.p).every((part) => typeof part === 'string')
  );
}
