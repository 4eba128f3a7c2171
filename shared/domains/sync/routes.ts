/**
 * Routes of the sync domain: vSphere connections (admin), connection tests, manual sync triggers and the sync
 * history.
 */
import { z } from 'zod';
import type { Principal } from '#shared/auth/principal';
import { credentialStore } from '#shared/domains/sync/credentials';
import { vsphereConnectionEntity } from '#shared/domains/sync/connection';
import { syncHistoryEntity } from '#shared/domains/sync/history';
import { requestSync, syncRunner } from '#shared/domains/sync/trigger';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import {
  createRecord,
  crudRoutes,
  deleteRecord,
  errorResponses,
  idParams,
  objectResponse,
  readVisible,
  updateRecord,
} from '#shared/http/crud';
import { defineRoute, type RouteDefinition } from '#shared/http/route';
import { createSchema, patchSchema, resourceSchema } from '#shared/model/entity';
import { uuidv7 } from '#shared/model/ids';

const password = () => z.string().min(1).max(1024);
const connectionItem = resourceSchema(vsphereConnectionEntity);

const connectionRoutes: RouteDefinition[] = [
  ...crudRoutes(vsphereConnectionEntity, {
    domain: 'sync',
    read: { scope: 'admin' },
    write: { scope: 'admin' },
    without: ['create', 'update', 'delete'],
  }),
  defineRoute({
    operationId: 'create_vsphere_connection',
    method: 'POST',
    path: '/v1/vsphere-connections',
    domain: 'sync',
    tag: 'vsphere-connections',
    summary: 'Create a vSphere connection (the password goes to Secrets Manager)',
    auth: { scope: 'admin' },
    body: createSchema(vsphereConnectionEntity, { password: password() }).meta({ id: 'VsphereConnectionCreate' }),
    responses: { 201: { description: 'The connection', schema: connectionItem }, ...errorResponses },
    handle: async ({ body, principal, requestId }) => {
      const { password: secret, ...fields } = body as Record<string, unknown> & { password: string };
      // The secret gets its own id: the connection's id exists only once the write succeeds.
      const secretId = uuidv7();
      const reference = await credentialStore().put(secretId, secret);
      try {
        const record = await createRecord(
          vsphereConnectionEntity,
          { ...fields, secret_id: secretId, secret_ref: reference },
          principal as Principal,
          requestId,
        );
        return objectResponse(vsphereConnectionEntity, record, 201, { location: `/v1/vsphere-connections/${record.id}` });
      } catch (error) {
        await credentialStore()
          .remove(reference)
          .catch(() => undefined);
        throw error;
      }
    },
  }),
  defineRoute({
    operationId: 'update_vsphere_connection',
    method: 'PATCH',
    path: '/v1/vsphere-connections/{id}',
    domain: 'sync',
    tag: 'vsphere-connections',
    summary: 'Change a vSphere connection (a new password replaces the stored secret)',
    auth: { scope: 'admin' },
    params: idParams,
    body: patchSchema(vsphereConnectionEntity, { password: password() }).meta({ id: 'VsphereConnectionUpdate' }),
    responses: { 200: { description: 'The connection', schema: connectionItem }, ...errorResponses },
    handle: async ({ params, body, principal, requestId, ifMatch }) => {
      const { password: secret, ...fields } = body as Record<string, unknown> & { password?: string };
      const current = await readVisible(vsphereConnectionEntity, params.id, principal);
      const changes: Record<string, unknown> = { ...fields };
      if (secret !== undefined) {
        const secretId = typeof current.secret_id === 'string' ? current.secret_id : uuidv7();
        changes.secret_id = secretId;
        changes.secret_ref = await credentialStore().put(secretId, secret);
        // A new password is a change worth a version and an audit record, even though its value is never shown.
        changes.password_changed_at = new Date().toISOString();
      }
      const { record } = await updateRecord(vsphereConnectionEntity, params.id, changes, principal as Principal, requestId, ifMatch);
      return objectResponse(vsphereConnectionEntity, record);
    },
  }),
  defineRoute({
    operationId: 'delete_vsphere_connection',
    method: 'DELETE',
    path: '/v1/vsphere-connections/{id}',
    domain: 'sync',
    tag: 'vsphere-connections',
    summary: 'Delete a vSphere connection and its stored password',
    auth: { scope: 'admin' },
    params: idParams,
    responses: { 204: { description: 'Deleted' }, ...errorResponses },
    handle: async ({ params, principal, requestId, ifMatch }) => {
      const removed = await deleteRecord(vsphereConnectionEntity, params.id, principal as Principal, requestId, ifMatch);
      if (typeof removed.secret_ref === 'string') await credentialStore().remove(removed.secret_ref);
      return { status: 204 };
    },
  }),
  defineRoute({
    operationId: 'test_vsphere_connection',
    method: 'POST',
    path: '/v1/vsphere-connections/{id}/test',
    domain: 'sync',
    tag: 'vsphere-connections',
    summary: 'Log in to the vCenter and report its version, or a clear error',
    auth: { scope: 'admin' },
    params: idParams,
    responses: {
      200: {
        description: 'The outcome (also when vCenter refused)',
        schema: z
          .object({
            ok: z.boolean(),
            version: z.string().nullable(),
            api_version: z.string().nullable(),
            full_name: z.string().nullable(),
            instance_uuid: z.string().nullable(),
            error: z.object({ kind: z.string(), message: z.string() }).nullable(),
          })
          .meta({ id: 'VsphereConnectionTest' }),
      },
      ...errorResponses,
    },
    handle: async ({ params, principal }) => {
      const connection = await readVisible(vsphereConnectionEntity, params.id, principal);
      return { status: 200, body: await syncRunner().test(connection.id) };
    },
  }),
];

const syncRoutes: RouteDefinition[] = [
  ...crudRoutes(syncHistoryEntity, {
    domain: 'sync',
    read: { scope: 'inventory:read' },
    write: { scope: 'admin' },
    without: ['create', 'update', 'delete'],
  }),
  defineRoute({
    operationId: 'start_datacenter_sync',
    method: 'POST',
    path: '/v1/datacenters/{id}/sync',
    domain: 'sync',
    tag: 'sync-history',
    summary: 'Start a sync of the datacenter from its vCenter; answers 202 with the sync history id',
    auth: { scope: 'sync:run' },
    params: idParams,
    responses: {
      202: { description: 'Started', schema: z.object({ sync_id: z.string(), status: z.string() }).meta({ id: 'SyncStarted' }) },
      ...errorResponses,
      409: { description: 'A sync of this datacenter is already running', schema: errorResponses[400].schema },
    },
    handle: async ({ params, principal }) => {
      await readVisible(datacenterEntity, params.id, principal);
      const started = await requestSync(params.id, 'manual');
      return { status: 202, body: { sync_id: started.id, status: 'running' }, headers: { location: `/v1/sync-history/${started.id}` } };
    },
  }),
];

export const syncDomainRoutes: RouteDefinition[] = [...connectionRoutes, ...syncRoutes];
