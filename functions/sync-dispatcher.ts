/** Runs every minute (EventBridge): starts the sync of each enabled connection whose interval has passed. */
import { dispatchDueSyncs } from '#shared/domains/sync/trigger';
import { log } from '#shared/log';

export async function handler(): Promise<{ started: number; skipped: number }> {
  const result = await dispatchDueSyncs();
  log.info('sync dispatch', { started: result.started.length, skipped: result.skipped.length });
  return { started: result.started.length, skipped: result.skipped.length };
}
