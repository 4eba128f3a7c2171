/** Errors the API answers with: one class, a fixed set of codes from API-CONVENTIONS.md. */
export const ERROR_STATUS = {
  validation_error: 400,
  invalid_cursor: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  too_many_requests: 429,
  internal_error: 500,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
}

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
  }
}

export const validationError = (message: string, details: readonly ErrorDetail[] = []) =>
  new ApiError('validation_error', message, details);
export const notFound = (what = 'object') => new ApiError('not_found', `No such ${what}.`);
export const conflict = (message: string, details: readonly ErrorDetail[] = []) => new ApiError('conflict', message, details);
export const forbidden = (message = 'Your role or key scope does not allow this action.') => new ApiError('forbidden', message);
export const preconditionFailed = () => new ApiError('precondition_failed', 'The object has changed since the version given in If-Match.');

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: ErrorDetail[] };
}

export function errorBody(error: ApiError): ErrorBody {
  return { error: { code: error.code, message: error.message, details: [...error.details] } };
}

/** The one body every bad credential gets, so callers cannot tell a missing key from a revoked one. */
export const UNAUTHORIZED_MESSAGE = 'Missing or invalid credentials.';
