/** The VPC-attached sync function: runs sync jobs (async invocations) and connection tests (sync invocations). */
import { handleWorkerEvent, type WorkerEvent } from '#shared/domains/sync/worker';

export const handler = (event: WorkerEvent) => handleWorkerEvent(event);
