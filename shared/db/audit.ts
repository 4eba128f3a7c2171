/**
 * Audit records are written inside the same transaction as the change they describe, so a write and its audit
 * record cannot be separated. A record holds only the fields that changed, before and after.
 */
import { actorOf, type Principal } from '#shared/auth/principal';
import { INDEXES, KEY_ATTRIBUTES } from '#shared/db/table';
import type { EntityDefinition, EntityRecord } from '#shared/model/entity';
import { clock, uuidv7 } from '#shared/model/ids';

export interface WriteContext {
  readonly principal: Principal;
  readonly requestId: string;
  /** System bookkeeping (sync history, last-sync stamps) is not a change of anyone's data: no audit record. */
  readonly bookkeeping?: boolean;
}

export type AuditAction = 'create' | 'update' | 'delete';

/** Fields never copied into an audit record. */
const BOOKKEEPING_FIELDS = new Set(['updated_at', 'version']);
const REDACTED = '[redacted]';
const SECRET_FIELD = /(password|secret|hash|token|private_key|sealed|totp)/i;

/** Audit retention, days (env `AUDIT_RETENTION_DAYS`, default 400 so a year of history is always there). */
export function auditRetentionDays(): number {
  const configured = Number(process.env.AUDIT_RETENTION_DAYS);
  return Number.isFinite(configured) && configured > 0 ? configured : 400;
}

/** The audit actor id: the user behind a key or session, or the system actor (`system:sync`). */
export function actorIdOf(principal: Principal): string {
  return principal.user_id ?? principal.id;
}

export function auditChanges(before: EntityRecord | undefined, after: EntityRecord | undefined) {
  const names = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  const changes: Record<string, { before: unknown; after: unknown }> = {};
  for (const name of [...names].sort()) {
    if (BOOKKEEPING_FIELDS.has(name)) continue;
    const old = before?.[name] ?? null;
    const next = after?.[name] ?? null;
    if (JSON.stringify(old) === JSON.stringify(next)) continue;
    changes[name] = SECRET_FIELD.test(name)
      ? { before: old === null ? null : REDACTED, after: next === null ? null : REDACTED }
      : { before: old, after: next };
  }
  return changes;
}

export function auditPut(
  table: string,
  change: {
    action: AuditAction;
    entity: EntityDefinition;
    before: EntityRecord | undefined;
    after: EntityRecord | undefined;
    context: WriteContext;
  },
) {
  // The id carries the same instant as `at`: since/until on the type and actor indexes compare the id's time, so
  // a separate Date.now() (a millisecond off, or anything off when the clock is replaced) mis-filtered events.
  const at = clock.now();
  const id = uuidv7(at.getTime());
  const subject = change.after ?? change.before;
  const entityId = subject?.id ?? 'unknown';
  return {
    Put: {
      TableName: table,
      Item: {
        [KEY_ATTRIBUTES.partitionKey]: `AUDIT#${change.entity.type}#${entityId}`,
        [KEY_ATTRIBUTES.sortKey]: `${at.toISOString()}#${id}`,
        [KEY_ATTRIBUTES.type]: 'audit_event',
        [INDEXES.byType.partitionKey]: 'audit_event',
        [INDEXES.byType.sortKey]: id,
        // "What did this actor do": the by-parent index, keyed by actor.
        [INDEXES.byParent.partitionKey]: `ACTOR#${actorIdOf(change.context.principal)}`,
        [INDEXES.byParent.sortKey]: id,
        [KEY_ATTRIBUTES.timeToLive]: Math.floor(at.getTime() / 1000) + auditRetentionDays() * 86_400,
        id,
        at: at.toISOString(),
        action: change.action,
        entity_type: change.entity.type,
        entity_id: entityId,
        actor: actorOf(change.context.principal),
        actor_id: actorIdOf(change.context.principal),
        request_id: change.context.requestId,
        changes: auditChanges(change.before, change.after),
      },
    },
  };
}
