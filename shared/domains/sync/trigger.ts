/**
 * Starting syncs. A run is admitted only with the datacenter's lease (one sync per datacenter), gets a history
 * record (status running) at once, and then runs elsewhere: an asynchronous invocation of the VPC-attached sync
 * function on AWS, a background task in the local runtime.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SYSTEM_SYNC } from '#shared/auth/principal';
import { repo } from '#shared/db/repository';
import { runBackupScheduler } from '#shared/domains/operations/backup-scheduler';
import { evaluateDue } from '#shared/domains/monitoring/evaluation';
import { vsphereConnectionEntity } from '#shared/domains/sync/connection';
import { type SyncTrigger, syncHistoryEntity } from '#shared/domains/sync/history';
import { acquireLease, currentLease, releaseLease } from '#shared/domains/sync/lease';
import { conflict } from '#shared/http/errors';
import type { EntityRecord } from '#shared/model/entity';
import { clock, uuidv7 } from '#shared/model/ids';
import { describeError, log } from '#shared/log';
import { type ConnectionTestResult, handleWorkerEvent, testConnection, type WorkerEvent } from '#shared/domains/sync/worker';

export interface SyncJob {
  datacenter_id: string;
  connection_id: string;
  sync_id: string;
  trigger: SyncTrigger;
}

/** Where work that needs the network path to vCenter goes. Replaced in the local runtime and in tests. */
export interface SyncRunner {
  /** Starts a sync without waiting for it. */
  start(job: SyncJob): Promise<void>;
  /** Logs in to a connection's vCenter and reports. */
  test(connectionId: string): Promise<ConnectionTestResult>;
}

let lambda: LambdaClient | undefined;
function workerName(): string {
  const functionName = process.env.SYNC_FUNCTION_NAME;
  if (!functionName) throw new Error('SYNC_FUNCTION_NAME is not set');
  return functionName;
}

/** AWS: the VPC-attached sync function, asynchronously for syncs (retries, failure destination), synchronously for tests. */
export const lambdaSyncRunner: SyncRunner = {
  async start(job) {
    lambda ??= new LambdaClient({});
    const event: WorkerEvent = { action: 'sync', job };
    await lambda.send(
      new InvokeCommand({ FunctionName: workerName(), InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(event)) }),
    );
  },
  async test(connectionId) {
    lambda ??= new LambdaClient({});
    const event: WorkerEvent = { action: 'test', connection_id: connectionId };
    const result = await lambda.send(
      new InvokeCommand({ FunctionName: workerName(), InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(event)) }),
    );
    if (result.FunctionError || !result.Payload) throw new Error('The sync function failed to test the connection');
    return JSON.parse(Buffer.from(result.Payload).toString('utf8')) as ConnectionTestResult;
  },
};

/** Local runtime: the same worker code in this process; syncs run in the background. */
export const inProcessSyncRunner: SyncRunner = {
  async start(job) {
    setImmediate(() => {
      handleWorkerEvent({ action: 'sync', job }).catch((error: unknown) =>
        log.error('local sync failed', { sync_id: job.sync_id, ...describeError(error) }),
      );
    });
  },
  test: (connectionId) => testConnection(connectionId),
};

export function syncRunner(): SyncRunner {
  return runner;
}

let runner: SyncRunner = process.env.SYNC_FUNCTION_NAME ? lambdaSyncRunner : inProcessSyncRunner;
export function setSyncRunner(next: SyncRunner): void {
  runner = next;
}

export async function connectionOf(datacenterId: string): Promise<EntityRecord | undefined> {
  const id = await repo().findByUnique(vsphereConnectionEntity, 'datacenter_id', datacenterId);
  return id ? repo().get(vsphereConnectionEntity, id) : undefined;
}

/** Admits a sync of a datacenter and hands it to the runner; a running sync of that datacenter is a 409. */
export async function requestSync(datacenterId: string, trigger: SyncTrigger): Promise<EntityRecord> {
  const connection = await connectionOf(datacenterId);
  if (!connection) throw conflict('This datacenter has no vSphere connection; create one first.');
  if (trigger === 'schedule' && connection.enabled === false) throw conflict('The vSphere connection is disabled.');
  const syncId = uuidv7();
  if (!(await acquireLease(datacenterId, syncId))) {
    const running = await currentLease(datacenterId);
    throw conflict(`A sync of this datacenter is already running${running ? ` (${running.holder})` : ''}.`);
  }
  const context = { principal: SYSTEM_SYNC, requestId: `sync:${syncId}`, bookkeeping: true };
  const history = await repo().create(
    syncHistoryEntity,
    { datacenter_id: datacenterId, connection_id: connection.id, trigger, status: 'running', started_at: clock.now().toISOString() },
    context,
    syncId,
  );
  try {
    await runner.start({ datacenter_id: datacenterId, connection_id: connection.id, sync_id: syncId, trigger });
  } catch (error) {
    log.error('sync start failed', { sync_id: syncId, ...describeError(error) });
    await repo().update(
      syncHistoryEntity,
      syncId,
      () => ({
        status: 'failed',
        finished_at: clock.now().toISOString(),
        errors: [{ kind: 'dispatch', ref: null, message: 'The sync could not be started.' }],
      }),
      context,
    );
    await releaseLease(datacenterId, syncId);
    throw error;
  }
  return history;
}

/** Is a connection due for a scheduled sync at `now`? */
export function isDue(connection: EntityRecord, now: Date): boolean {
  if (connection.enabled === false) return false;
  const interval = Number(connection.sync_interval_minutes ?? 60) * 60_000;
  const last = typeof connection.last_sync_at === 'string' ? Date.parse(connection.last_sync_at) : 0;
  return now.getTime() - last >= interval;
}

/**
 * The scheduled dispatcher: starts every enabled connection whose interval has passed (skipping datacenters with a
 * sync in progress), and marks runs whose lease lapsed without an end as failed.
 */
export async function dispatchDueSyncs(now = clock.now()): Promise<{ started: string[]; skipped: string[] }> {
  const started: string[] = [];
  const skipped: string[] = [];
  for (const connection of await repo().listAll(vsphereConnectionEntity)) {
    if (!isDue(connection, now)) continue;
    const datacenterId = String(connection.datacenter_id);
    try {
      const history = await requestSync(datacenterId, 'schedule');
      started.push(history.id);
    } catch (error) {
      skipped.push(datacenterId);
      log.info('scheduled sync skipped', { datacenter_id: datacenterId, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  await failAbandonedRuns();
  // Backups: materialise the next jobs, mark overdue ones missed (never throws).
  await runBackupScheduler(now).catch((error: unknown) => log.warn('backup scheduler failed', describeError(error)));
  // Time-based monitoring rules (for-durations) must elapse between syncs: the same one-minute tick evaluates them.
  await evaluateDue(now).catch((error: unknown) => log.warn('scheduled monitoring evaluation failed', describeError(error)));
  return { started, skipped };
}

/** A run still `running` whose lease is gone died without finishing: say so in its history. */
async function failAbandonedRuns(): Promise<void> {
  const page = await repo().list(syncHistoryEntity, { filters: { status: 'running' }, limit: 100, visible: () => true });
  for (const run of page.items) {
    const lease = await currentLease(String(run.datacenter_id));
    if (lease?.holder === run.id) continue;
    const age = clock.now().getTime() - Date.parse(String(run.started_at));
    if (age < 60_000) continue; // just admitted; its worker may not have started yet
    await repo()
      .update(
        syncHistoryEntity,
        run.id,
        (current) =>
          current.status === 'running'
            ? {
                status: 'failed',
                finished_at: clock.now().toISOString(),
                errors: [{ kind: 'abandoned', ref: null, message: 'The sync stopped without finishing (its lease lapsed).' }],
              }
            : {},
        { principal: SYSTEM_SYNC, requestId: 'dispatcher', bookkeeping: true },
      )
      .catch((error: unknown) => log.warn('could not close abandoned sync', { sync_id: run.id, ...describeError(error) }));
  }
}
