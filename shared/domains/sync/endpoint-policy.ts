/**
 * Which vCenter URLs a connection may point at (SSRF guard): https only; plain http and loopback only in the
 * local runtime (the simulator); link-local and cloud metadata addresses never.
 */
import { isIP } from 'node:net';

const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

function isLocalRuntime(): boolean {
  return process.env.LOCAL_RUNTIME === 'true';
}

export function isLoopback(host: string): boolean {
  return (
    host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '::1' || host === '0.0.0.0' || host === '::'
  );
}

export function isLinkLocalOrMetadata(host: string): boolean {
  if (METADATA_HOSTS.has(host)) return true;
  if (/^169\.254\./.test(host)) return true; // IPv4 link-local, includes 169.254.169.254
  if (/^fe[89ab][0-9a-f]:/i.test(host)) return true; // IPv6 link-local fe80::/10
  if (/^fd00:ec2::254$/i.test(host)) return true; // EC2 IMDS over IPv6
  if (/^::ffff:169\.254\./i.test(host)) return true;
  return false;
}

/** A human reason the URL is refused, or undefined when it is acceptable. */
export function endpointProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL such as https://vcenter.example.com';
  }
  if (url.username || url.password) return 'must not carry credentials; use username and password';
  if (url.search || url.hash) return 'must not have a query or fragment';
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isLinkLocalOrMetadata(host)) return 'must not point at a link-local or metadata address';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLocalRuntime())) return 'must use https';
  if (isLoopback(host) && !isLocalRuntime()) return 'must not point at a loopback address';
  if (isIP(host) === 0 && !/^[a-z0-9.-]+$/.test(host)) return 'has an invalid host name';
  return undefined;
}
