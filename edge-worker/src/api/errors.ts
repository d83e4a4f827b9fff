import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * A refusal of the client API with a stable machine-readable `code` (clients branch on it, not
 * on the message), answered as `{ ok: false, error: { code, message, type } }`. `type` is the
 * OpenAI error family of the status, so OpenAI clients and SDKs classify our errors as theirs.
 *
 * @example
 * throw new ApiError(403, 'insufficient_scope', 'this route needs the chat:write scope');
 */
export class ApiError extends HTTPException {
  override readonly name = 'ApiError';
  /** The OpenAI error `type` when it is not the status's (OpenAI's 404 `model_not_found` is an `invalid_request_error`). */
  readonly errorType: string | undefined;

  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    options: { headers?: Record<string, string>; cause?: unknown; errorType?: string } = {},
  ) {
    super(status, {
      message,
      cause: options.cause,
      ...(options.headers ? { res: new Response(null, { status, headers: options.headers }) } : {}),
    });
    this.errorType = options.errorType;
  }
}

/** The OpenAI error `type` of a status. */
export function errorTypeOf(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** What a Relay answer that is not a success says, as the client API's refusal. */
export interface Refusal {
  ok: false;
  code: 'core_offline' | 'core_timeout' | 'core_error' | 'queue_full' | 'rate_limited' | 'revoked' | 'too_many_streams';
  message: string;
  retryAfterMs?: number;
}

const REFUSAL_STATUS: Record<Refusal['code'], ContentfulStatusCode> = {
  core_offline: 503,
  core_timeout: 504,
  core_error: 502,
  queue_full: 503,
  rate_limited: 429,
  revoked: 401,
  too_many_streams: 429,
};

/** The ApiError for a Relay's refusal: offline cores and a full queue say when to retry. */
export function refusalError(refusal: Refusal): ApiError {
  const status = REFUSAL_STATUS[refusal.code];
  const headers: Record<string, string> = {};
  if (refusal.retryAfterMs !== undefined) headers['Retry-After'] = String(Math.max(1, Math.ceil(refusal.retryAfterMs / 1000)));
  else if (status === 503) headers['Retry-After'] = '30';
  if (refusal.code === 'revoked') headers['WWW-Authenticate'] = 'Bearer realm="hearth", error="invalid_token", error_description="token revoked"';
  return new ApiError(status, refusal.code, refusal.message, { headers });
}

/** The same refusal as a response, for the Relay, which answers without the app's error handler. */
export function refusalResponse(refusal: Refusal): Response {
  const error = refusalError(refusal);
  const body = { ok: false, error: { code: refusal.code, message: refusal.message, type: errorTypeOf(error.status) } };
  const headers = new Headers(error.res?.headers);
  headers.set('Content-Type', 'application/json');
  return new Response(JSON.stringify(body), { status: error.status, headers });
}
