/**
 * Typed errors of the vim25 client. Callers branch on the class (or `code`), never on message text.
 * Messages carry the SOAP method and vCenter's own fault text, never credentials or request bodies.
 */
import { MoRef, type VimData, type VimValue, isVimData } from '#shared/vsphere/xml';

export type VimErrorCode =
  | 'fault'
  | 'http'
  | 'timeout'
  | 'unreachable'
  | 'tls'
  | 'transport'
  | 'protocol'
  | 'configuration'
  | 'not_connected';

export abstract class VimError extends Error {
  abstract readonly code: VimErrorCode;
  constructor(
    message: string,
    /** The SOAP method that failed, when there was one. */
    readonly method?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A SOAP fault. `faultType` is the vim25 fault type (`NotAuthenticated`, `InvalidArgument`, ...). */
export class VimFaultError extends VimError {
  override name = 'VimFaultError';
  readonly code = 'fault' as const;
  constructor(
    method: string,
    readonly faultType: string,
    readonly faultMessage: string,
    /** The decoded fault detail (fields such as `obj`, `name`, `method`), for diagnostics. */
    readonly detail: VimData,
  ) {
    super(`${method}: ${faultType}${faultMessage ? `: ${faultMessage}` : ''}`, method);
  }
}

/** The session is gone (expired, terminated) or was never established. The client re-logs in once on this. */
export class NotAuthenticatedError extends VimFaultError {
  override name = 'NotAuthenticatedError';
}

/** Wrong user name or password (also: Login on a cookie that is already logged in). */
export class InvalidLoginError extends VimFaultError {
  override name = 'InvalidLoginError';
}

/** The object is gone, or it was a session-scoped object (view, token) of another or a dead session. */
export class ManagedObjectNotFoundError extends VimFaultError {
  override name = 'ManagedObjectNotFoundError';
  get obj(): MoRef | undefined {
    const value = this.detail.obj;
    return value instanceof MoRef ? value : undefined;
  }
}

/** A property path that does not exist on the type (vCenter faults the whole call; vcsim reports it per object). */
export class InvalidPropertyError extends VimFaultError {
  override name = 'InvalidPropertyError';
  get propertyName(): string | undefined {
    return typeof this.detail.name === 'string' ? this.detail.name : undefined;
  }
}

/** The server does not implement the method (vcsim 0.24.2: ContinueRetrievePropertiesEx, for instance). */
export class MethodNotFoundError extends VimFaultError {
  override name = 'MethodNotFoundError';
}

/** A non-SOAP HTTP failure (proxy error page, 404 on a wrong endpoint, 503 while vCenter starts). */
export class VimHttpError extends VimError {
  override name = 'VimHttpError';
  readonly code = 'http' as const;
  constructor(
    method: string,
    readonly status: number,
    /** The start of the response body, for diagnostics. */
    readonly bodySnippet: string,
  ) {
    super(`${method}: HTTP ${status}`, method);
  }
}

/** The call did not complete within its timeout (connect, send, and reading the whole response). */
export class VimTimeoutError extends VimError {
  override name = 'VimTimeoutError';
  readonly code = 'timeout' as const;
  constructor(
    method: string,
    readonly timeoutMs: number,
  ) {
    super(`${method}: no complete response within ${timeoutMs} ms`, method);
  }
}

/** The endpoint could not be reached: connection refused, unknown host, no route, reset before any answer. */
export class VimUnreachableError extends VimError {
  override name = 'VimUnreachableError';
  readonly code = 'unreachable' as const;
  constructor(
    method: string,
    readonly systemCode: string,
    options?: ErrorOptions,
  ) {
    super(`${method}: endpoint unreachable (${systemCode})`, method, options);
  }
}

/** The server's certificate failed verification (unknown CA, wrong host name, expired). Never bypassed. */
export class VimTlsError extends VimError {
  override name = 'VimTlsError';
  readonly code = 'tls' as const;
  constructor(
    method: string,
    readonly systemCode: string,
    options?: ErrorOptions,
  ) {
    super(`${method}: TLS verification failed (${systemCode})`, method, options);
  }
}

/** Any other network failure while the call was in flight (socket closed mid-response, ...). */
export class VimTransportError extends VimError {
  override name = 'VimTransportError';
  readonly code = 'transport' as const;
  constructor(method: string, message: string, options?: ErrorOptions) {
    super(`${method}: ${message}`, method, options);
  }
}

/** The response was not the SOAP we expect (malformed XML, missing elements). */
export class VimProtocolError extends VimError {
  override name = 'VimProtocolError';
  readonly code = 'protocol' as const;
  constructor(method: string, message: string, options?: ErrorOptions) {
    super(`${method}: ${message}`, method, options);
  }
}

/** Invalid client settings (e.g. an http:// endpoint without allowHttp). */
export class VimConfigurationError extends VimError {
  override name = 'VimConfigurationError';
  readonly code = 'configuration' as const;
}

/** A call that needs a session before `connect()` or after `logout()`. */
export class VimNotConnectedError extends VimError {
  override name = 'VimNotConnectedError';
  readonly code = 'not_connected' as const;
}

const FAULT_CLASSES: Record<string, new (method: string, faultType: string, message: string, detail: VimData) => VimFaultError> = {
  NotAuthenticated: NotAuthenticatedError,
  InvalidLogin: InvalidLoginError,
  ManagedObjectNotFound: ManagedObjectNotFoundError,
  InvalidProperty: InvalidPropertyError,
  MethodNotFound: MethodNotFoundError,
};

/** Builds the typed error for a fault type. */
export function faultError(method: string, faultType: string, message: string, detail: VimValue | undefined): VimFaultError {
  const FaultClass = FAULT_CLASSES[faultType] ?? VimFaultError;
  return new FaultClass(method, faultType, message, isVimData(detail) ? detail : {});
}
