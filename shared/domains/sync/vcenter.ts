/** Opening a vim25 session to the vCenter of a connection: credentials from the store, TLS per the connection. */
import type { EntityRecord } from '#shared/model/entity';
import { credentialStore } from '#shared/domains/sync/credentials';
import { VimClient } from '#shared/vsphere/client';
import { VimError, VimFaultError } from '#shared/vsphere/errors';

/** Per-call timeout for vCenter (env `VSPHERE_CALL_TIMEOUT_MS`, default 60 s): a hung vCenter fails the run, never hangs it. */
export function vcenterTimeoutMs(): number {
  const configured = Number(process.env.VSPHERE_CALL_TIMEOUT_MS);
  return Number.isFinite(configured) && configured > 0 ? configured : 60_000;
}

export async function clientFor(connection: EntityRecord, timeoutMs = vcenterTimeoutMs()): Promise<VimClient> {
  const reference = connection.secret_ref;
  if (typeof reference !== 'string') throw new Error('The connection has no stored password');
  const password = await credentialStore().get(reference);
  const endpoint = String(connection.endpoint_url);
  return new VimClient({
    endpoint,
    username: String(connection.username),
    password,
    ...(typeof connection.ca_certificate === 'string' ? { caPem: connection.ca_certificate } : {}),
    // The endpoint policy only admits http in the local runtime, so allowing it here adds nothing on AWS.
    allowHttp: endpoint.startsWith('http:') && process.env.LOCAL_RUNTIME === 'true',
    timeoutMs,
  });
}

/** A short, safe description of a vCenter failure for operators (no credentials, no bodies). */
export function describeVcenterError(error: unknown): { kind: string; message: string } {
  if (error instanceof VimFaultError) {
    if (error.faultType === 'InvalidLogin') return { kind: 'invalid_login', message: 'vCenter refused the username or password.' };
    return { kind: 'fault', message: `vCenter fault ${error.faultType}${error.method ? ` in ${error.method}` : ''}.` };
  }
  if (error instanceof VimError) return { kind: error.code, message: error.message.slice(0, 500) };
  return { kind: 'internal', message: 'The sync failed unexpectedly; see the logs for the request id.' };
}
