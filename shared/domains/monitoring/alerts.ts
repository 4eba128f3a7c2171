/**
 * Raising, acknowledging and resolving alerts. A raise with the fingerprint of an open alert updates that alert
 * (last seen, occurrences, latest severity and message) instead of opening another; the open-fingerprint guard
 * makes that hold under concurrent posts.
 */
import type { Principal } from '#shared/auth/principal';
import type { WriteContext } from '#shared/db/audit';
import { repo } from '#shared/db/repository';
import { alertEntity, defaultFingerprint, isOpen, SEVERITIES, type Severity } from '#shared/domains/monitoring/alert';
import { ensureFanout } from '#shared/domains/monitoring/fanout';
import { alertChanged } from '#shared/domains/monitoring/notifications';
import { ApiError, conflict } from '#shared/http/errors';
import type { EntityRecord } from '#shared/model/entity';
import { clock } from '#shared/model/ids';

// Whoever changes alerts loads this module, so the fan-out is always listening (see fanout.ts).
ensureFanout();

export interface AlertInput {
  source: string;
  severity: Severity;
  message: string;
  related_entity?: string | null | undefined;
  related_id?: string | null | undefined;
  datacenter_id?: string | null | undefined;
  fingerprint?: string | null | undefined;
  labels?: Record<string, string> | null | undefined;
}

export interface RaiseResult {
  alert: EntityRecord;
  /** `created`: a new alert; `updated`: an open alert with the same fingerprint was seen again. */
  outcome: 'created' | 'updated';
}

export async function raiseAlert(
  input: AlertInput,
  context: WriteContext,
  status: 'firing' | 'suppressed' = 'firing',
): Promise<RaiseResult> {
  const fingerprint = input.fingerprint ?? defaultFingerprint(input);
  for (let attempt = 0; attempt < 3; attempt++) {
    const openId = await repo().findByUnique(alertEntity, 'fingerprint', fingerprint);
    const now = clock.now().toISOString();
    if (openId) {
      try {
        let previousSeverity: unknown;
        const { record } = await repo().update(
          alertEntity,
          openId,
          (current) => {
            if (!isOpen(current)) throw new ReraiseNeeded();
            previousSeverity = current.severity;
            return {
              severity: input.severity,
              message: input.message,
              labels: input.labels ?? current.labels,
              last_seen_at: now,
              occurrences: Number(current.occurrences ?? 1) + 1,
            };
          },
          context,
        );
        const escalated = SEVERITIES.indexOf(input.severity) > SEVERITIES.indexOf(previousSeverity as Severity);
        await alertChanged(record, record.status === 'suppressed' ? 'suppressed' : escalated ? 'escalated' : 'repeated');
        return { alert: record, outcome: 'updated' };
      } catch (error) {
        if (error instanceof ReraiseNeeded || (error instanceof ApiError && error.status === 404)) continue;
        throw error;
      }
    }
    try {
      const alert = await repo().create(
        alertEntity,
        {
          ...input,
          fingerprint,
          user_id: context.principal.user_id,
          status,
          first_seen_at: now,
          last_seen_at: now,
          occurrences: 1,
        },
        context,
      );
      await alertChanged(alert, status === 'suppressed' ? 'suppressed' : 'opened');
      return { alert, outcome: 'created' };
    } catch (error) {
      // Another request opened the same fingerprint first: update that one instead.
      if (error instanceof ApiError && error.code === 'conflict') continue;
      throw error;
    }
  }
  throw conflict('The alert is being changed by other requests; retry.');
}

class ReraiseNeeded extends Error {}

export async function acknowledgeAlert(id: string, principal: Principal, context: WriteContext, expectedVersion?: number | null) {
  const result = await repo().update(
    alertEntity,
    id,
    (current) => {
      if (current.status === 'resolved') throw conflict('A resolved alert cannot be acknowledged.');
      if (current.status === 'acknowledged') return {};
      return { status: 'acknowledged', acknowledged_by: principal.user_id ?? principal.id, acknowledged_at: clock.now().toISOString() };
    },
    context,
    expectedVersion,
  );
  if (result.changed) await alertChanged(result.record, 'acknowledged');
  return result;
}

export async function resolveAlert(id: string, resolvedBy: string, context: WriteContext, expectedVersion?: number | null) {
  const result = await repo().update(
    alertEntity,
    id,
    (current) =>
      current.status === 'resolved' ? {} : { status: 'resolved', resolved_by: resolvedBy, resolved_at: clock.now().toISOString() },
    context,
    expectedVersion,
  );
  // Only a real change notifies: resolving a resolved alert again sends nothing.
  if (result.changed) await alertChanged(result.record, 'resolved');
  return result;
}
