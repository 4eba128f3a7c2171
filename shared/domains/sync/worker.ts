/**
 * What the VPC-attached sync function does: run a sync job, or log in to test a connection. The API functions stay
 * out of the VPC and reach vCenter only through this function.
 */
import { repo } from '#shared/db/repository';
import { vsphereConnectionEntity } from '#shared/domains/sync/connection';
import { type SyncOutcome, syncDatacenter } from '#shared/domains/sync/engine';
import type { SyncJob } from '#shared/domains/sync/trigger';
import { clientFor, describeVcenterError, vcenterTimeoutMs } from '#shared/domains/sync/vcenter';

export interface ConnectionTestResult {
  ok: boolean;
  version: string | null;
  api_version: string | null;
  full_name: string | null;
  instance_uuid: string | null;
  error: { kind: string; message: string } | null;
}

export type WorkerEvent = { action: 'sync'; job: SyncJob } | { action: 'test'; connection_id: string };

export async function testConnection(connectionId: string): Promise<ConnectionTestResult> {
  const connection = await repo().getOrThrow(vsphereConnectionEntity, connectionId);
  try {
    const client = await clientFor(connection, Math.min(15_000, vcenterTimeoutMs()));
    const about = await client.withSession(async (session) => session.about);
    return {
      ok: true,
      version: about.version,
      api_version: about.apiVersion,
      full_name: about.fullName,
      instance_uuid: about.instanceUuid,
      error: null,
    };
  } catch (error) {
    return { ok: false, version: null, api_version: null, full_name: null, instance_uuid: null, error: describeVcenterError(error) };
  }
}

export async function handleWorkerEvent(event: WorkerEvent): Promise<SyncOutcome | ConnectionTestResult> {
  if (event.action === 'test') return testConnection(event.connection_id);
  return syncDatacenter(event.job);
}
