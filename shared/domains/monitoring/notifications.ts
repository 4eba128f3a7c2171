/**
 * What happened to an alert that people may need to hear about. `alerts.ts` calls `alertChanged` after every
 * state change it writes; the fan-out (alert rules → channels → SNS or the local publisher) decides who hears it.
 */
import type { EntityRecord } from '#shared/model/entity';

export type AlertTransition =
  /** A new firing alert. */
  | 'opened'
  /** Same alert, higher severity. */
  | 'escalated'
  /** Seen again without change (repeat notifications follow the rule's repeat interval). */
  | 'repeated'
  | 'acknowledged'
  | 'resolved'
  /** Opened or changed during a maintenance window: recorded, not notified. */
  | 'suppressed'
  /** The maintenance window ended while the alert still fires: notify now. */
  | 'unsuppressed';

export type AlertListener = (alert: EntityRecord, transition: AlertTransition) => Promise<void>;

const listeners: AlertListener[] = [];

/** The fan-out registers here (shared/domains/monitoring/fanout.ts). */
export function onAlertChanged(listener: AlertListener): () => void {
  listeners.push(listener);
  return () => {
    const index = listeners.indexOf(listener);
    if (index >= 0) listeners.splice(index, 1);
  };
}

export async function alertChanged(alert: EntityRecord, transition: AlertTransition): Promise<void> {
  for (const listener of listeners) await listener(alert, transition);
}
