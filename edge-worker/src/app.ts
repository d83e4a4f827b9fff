import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from './app-env.js';
import { withConfig } from './config.js';
import { describeError, log } from './log.js';
import { listDeadLetters } from './admin/dead-letters.js';
import { coreAuth } from './auth/core-token.js';
import { directReply } from './diagnostics/direct-reply.js';
import { platformHandshake, platformWebhook } from './platforms/webhook.js';
import { tunnelUpgrade } from './tunnel/route.js';
import { ApiError, errorTypeOf } from './api/errors.js';
import { v1 } from './api/routes.js';
import { mcp } from './mcp/route.js';

/** Webhook bodies past this are refused with 413 before they are read (Telegram's are a few KiB). */
export const MAX_WEBHOOK_BYTES = 1_048_576;

/** Stable machine-readable codes for the statuses this app answers with. */
const ERROR_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  404: 'not_found',
  403: 'forbidden',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  426: 'upgrade_required',
  429: 'rate_limited',
  502: 'upstream_failed',
  503: 'unavailable',
};

export const app = new Hono<AppEnv>();

const withSecureHeaders = secureHeaders();

app.use(requestId());
// The tunnels' 101s come from the Relay with immutable headers, and security headers mean
// nothing to a WebSocket upgrade: every other response gets them.
app.use((c, next) => (c.req.header('Upgrade')?.toLowerCase() === 'websocket' ? next() : withSecureHeaders(c, next)));

app.get('/healthz', (c) => c.json({ ok: true }));

// Everything below needs a valid configuration; a broken one answers 503 (see config.ts).
app.use('/webhooks/*', withConfig);
app.use('/tunnel', withConfig);
app.use('/admin/*', withConfig);

const webhookBodyLimit = bodyLimit({
  maxSize: MAX_WEBHOOK_BYTES,
  onError: () => {
    throw new HTTPException(413, { message: `body exceeds ${MAX_WEBHOOK_BYTES} bytes` });
  },
});

app.post('/webhooks/:platform', webhookBodyLimit, platformWebhook);
app.get('/webhooks/:platform', platformHandshake);

app.get('/tunnel', coreAuth('tunnel'), tunnelUpgrade);
app.route('/v1', v1);
app.route('/mcp', mcp);
app.get('/admin/dead-letters', coreAuth('admin'), listDeadLetters);

app.use('/diagnostics/*', withConfig, async (c, next) => {
  if (!c.get('config').diagnostics) throw new HTTPException(404, { message: 'no such route' });
  await next();
});
app.post('/diagnostics/direct/:platform', webhookBodyLimit, directReply);

app.notFound((c) => c.json({ ok: false, error: { code: 'not_found', message: 'no such route' } }, 404));

app.onError((error, c) => {
  const fields = { method: c.req.method, path: c.req.path, request_id: c.get('requestId') };
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    log(status >= 500 ? 'error' : 'warn', 'request_rejected', { ...fields, status, ...(error instanceof ApiError ? { code: error.code } : {}), reason: error.message });
    const code = error instanceof ApiError ? error.code : (ERROR_CODES[status] ?? 'error');
    const type = (error instanceof ApiError ? error.errorType : undefined) ?? errorTypeOf(status);
    const response = c.json({ ok: false, error: { code, message: error.message, type } }, status);
    // Headers an exception carries (WWW-Authenticate, Retry-After) reach the client.
    for (const [name, value] of error.res?.headers ?? []) response.headers.set(name, value);
    if (status === 503 && !response.headers.has('Retry-After')) response.headers.set('Retry-After', '30');
    return response;
  }
  log('error', 'request_failed', { ...fields, error: describeError(error) });
  return c.json({ ok: false, error: { code: 'internal', message: 'internal error', type: 'server_error' } }, 500);
});
