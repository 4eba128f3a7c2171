/**
 * vim25 SOAP transport: one POST per call to `<endpoint>/sdk`, session cookie kept, response parsed as it streams.
 *
 * - TLS is always verified. A custom CA (PEM, e.g. the vCenter VMCA root) is trusted in addition to Node's bundled
 *   roots; `rejectUnauthorized: true` is set explicitly so NODE_TLS_REJECT_UNAUTHORIZED=0 cannot turn it off.
 * - Plain http is refused unless the caller opts in with `allowHttp` (tests and the local runtime on loopback).
 * - Every call has a timeout covering connect, send and reading the whole response.
 * - Responses may be gzip-compressed (we ask for it): real vCenter XML shrinks by more than an order of magnitude.
 */
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { createGunzip } from 'node:zlib';
import {
  faultError,
  VimConfigurationError,
  type VimError,
  VimHttpError,
  VimProtocolError,
  VimTimeoutError,
  VimTlsError,
  VimTransportError,
  VimUnreachableError,
} from '#shared/vsphere/errors';
import {
  child,
  decodeValue,
  SoapResponseReader,
  type StreamOptions,
  type XmlFragment,
  type XmlNode,
  XmlReadError,
} from '#shared/vsphere/xml';

export interface SoapTransportOptions {
  /** vCenter base URL (`https://vc.example.com`) or the SDK URL itself (`https://vc.example.com/sdk`). */
  endpoint: string;
  /** Extra trusted CA certificate(s), PEM. Added to Node's default roots, never replacing verification. */
  caPem?: string;
  /** Allow an http:// endpoint. Off by default; only for simulators and loopback development. */
  allowHttp?: boolean;
  /** Default per-call timeout. Large unpaged responses (vcsim) need tens of seconds; vCenter pages are small. */
  timeoutMs?: number;
  userAgent?: string;
}

export interface SoapCallOptions {
  timeoutMs?: number;
  /** Hand elements at this path to a callback as they complete instead of keeping them in the result tree. */
  stream?: StreamOptions;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const ENVELOPE_OPEN =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">' +
  '<soapenv:Body>';
const ENVELOPE_CLOSE = '</soapenv:Body></soapenv:Envelope>';
const SNIPPET_BYTES = 2048;

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
]);
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

export class SoapTransport {
  readonly url: URL;
  /** `urn:vim25/<version>`: the API version we speak; the client raises it to the server's after RetrieveServiceContent. */
  apiVersion = '6.5';
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;
  private readonly userAgent: string;
  private readonly cookies = new Map<string, string>();

  constructor(options: SoapTransportOptions) {
    this.url = sdkUrl(options.endpoint);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.userAgent = options.userAgent ?? 'dc-inventory-vsphere/1';
    if (this.url.protocol === 'http:') {
      if (!options.allowHttp) throw new VimConfigurationError(`refusing plain http for ${this.url.host}; use https or set allowHttp`);
      this.agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    } else {
      this.agent = new https.Agent({
        keepAlive: true,
        maxSockets: 4,
        rejectUnauthorized: true,
        ...(options.caPem ? { ca: [...rootCertificates, options.caPem] } : {}),
      });
    }
  }

  /** Drops the session cookie (before a fresh Login). */
  clearSession(): void {
    this.cookies.clear();
  }

  get hasSession(): boolean {
    return this.cookies.size > 0;
  }

  /** Closes pooled keep-alive sockets so the process (or a Lambda freeze) holds nothing open. */
  close(): void {
    this.agent.destroy();
  }

  /**
   * Sends one SOAP call and returns the response element (e.g. `<RetrievePropertiesExResponse>`), minus any
   * elements handed to `options.stream`. Faults become typed errors (see errors.ts).
   */
  call(method: string, body: XmlFragment, options: SoapCallOptions = {}): Promise<XmlNode> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const payload = Buffer.from(ENVELOPE_OPEN + body.markup + ENVELOPE_CLOSE, 'utf8');
    const transport = this.url.protocol === 'http:' ? http : https;

    return new Promise<XmlNode>((resolve, reject) => {
      let settled = false;
      let request: http.ClientRequest | undefined;
      // Errors are VimErrors, except an error thrown by a stream consumer, which is passed through unchanged.
      const finish = (error: Error | undefined, result?: XmlNode) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) {
          request?.destroy();
          reject(error);
        } else if (result) {
          resolve(result);
        }
      };
      const timer = setTimeout(() => finish(new VimTimeoutError(method, timeoutMs)), timeoutMs);

      request = transport.request(this.url, {
        method: 'POST',
        agent: this.agent,
        // Explicit, so the NODE_TLS_REJECT_UNAUTHORIZED environment variable cannot disable verification.
        ...(this.url.protocol === 'https:' ? { rejectUnauthorized: true } : {}),
        headers: {
          'Content-Type': 'text/xml; charset=utf-8',
          'Content-Length': payload.length,
          SOAPAction: `"urn:vim25/${this.apiVersion}"`,
          'Accept-Encoding': 'gzip',
          'User-Agent': this.userAgent,
          ...(this.cookies.size > 0 ? { Cookie: this.cookieHeader() } : {}),
        },
      });

      request.on('error', (error) => finish(networkError(method, error)));
      request.on('response', (response) => {
        this.storeCookies(response.headers['set-cookie']);
        const status = response.statusCode ?? 0;
        const contentType = String(response.headers['content-type'] ?? '');
        const source = response.headers['content-encoding'] === 'gzip' ? response.pipe(createGunzip()) : response;
        source.setEncoding('utf8');
        response.on('error', (error: Error) => finish(networkError(method, error)));
        if (source !== response)
          source.on('error', (error: Error) => finish(new VimProtocolError(method, `gzip: ${error.message}`, { cause: error })));
        response.on('aborted', () => finish(new VimTransportError(method, 'response aborted')));

        // A SOAP fault arrives as HTTP 500 with XML; anything that is not XML is an HTTP-level failure.
        if (!/xml/i.test(contentType)) {
          let snippet = '';
          source.on('data', (chunk: string) => {
            if (snippet.length < SNIPPET_BYTES) snippet += chunk.slice(0, SNIPPET_BYTES - snippet.length);
          });
          source.on('end', () =>
            finish(
              status >= 200 && status < 300
                ? new VimProtocolError(method, `unexpected content type "${contentType}"`)
                : new VimHttpError(method, status, snippet),
            ),
          );
          return;
        }

        const reader = new SoapResponseReader(options.stream);
        source.on('data', (chunk: string) => {
          if (settled) return;
          try {
            reader.write(chunk);
          } catch (error) {
            finish(readError(method, error));
          }
        });
        source.on('end', () => {
          if (settled) return;
          try {
            const content = reader.close();
            if (content.kind === 'fault') finish(decodeFault(method, content.fault));
            else if (status < 200 || status >= 300) finish(new VimHttpError(method, status, ''));
            else if (content.kind === 'empty') finish(new VimProtocolError(method, 'empty SOAP body'));
            else finish(undefined, content.body);
          } catch (error) {
            finish(readError(method, error));
          }
        });
      });
      request.end(payload);
    });
  }

  private cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** Keeps name=value of each Set-Cookie; attributes (Path, HttpOnly, ...) do not matter for one endpoint. */
  private storeCookies(headers: string[] | undefined): void {
    for (const header of headers ?? []) {
      const pair = header.split(';', 1)[0] ?? '';
      const equals = pair.indexOf('=');
      if (equals <= 0) continue;
      this.cookies.set(pair.slice(0, equals).trim(), pair.slice(equals + 1).trim());
    }
  }
}

/** The SOAP endpoint of a vCenter URL: `https://vc` and `https://vc/sdk` both mean `https://vc/sdk`. */
export function sdkUrl(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new VimConfigurationError('vCenter endpoint is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new VimConfigurationError('vCenter endpoint must be https://');
  // Credentials in the URL (vcsim prints them) are never sent as basic auth; Login carries them.
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  if (!url.pathname.replace(/\/+$/, '').endsWith('/sdk')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/sdk`;
  return url;
}

/** `detail/<XFault xsi:type="X">`: the xsi:type, else the element name without its `Fault` suffix. */
function decodeFault(method: string, fault: XmlNode): VimError {
  const message = child(fault, 'faultstring')?.text ?? '';
  const detail = child(fault, 'detail')?.children[0];
  if (!detail) return faultError(method, 'SystemError', message || (child(fault, 'faultcode')?.text ?? 'SOAP fault'), undefined);
  const faultType = detail.xsiType ?? detail.name.replace(/Fault$/, '');
  return faultError(method, faultType, message, decodeValue(detail));
}

/** Malformed XML becomes a protocol error; anything a stream consumer threw is passed through as it is. */
function readError(method: string, error: unknown): Error {
  if (error instanceof XmlReadError) return new VimProtocolError(method, `malformed XML: ${error.message}`, { cause: error });
  if (error instanceof Error) return error;
  return new VimProtocolError(method, String(error));
}

function networkError(method: string, error: Error): VimError {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (UNREACHABLE_CODES.has(code)) return new VimUnreachableError(method, code, { cause: error });
  if (TLS_CODES.has(code) || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS'))
    return new VimTlsError(method, code, { cause: error });
  if (code === 'ECONNRESET' || code === 'EPIPE') return new VimTransportError(method, `connection reset (${code})`, { cause: error });
  return new VimTransportError(method, error.message, { cause: error });
}
