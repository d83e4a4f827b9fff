import { HTTPException } from 'hono/http-exception';

/** A webhook body as JSON, or 400: malformed input is the sender's error, never a 5xx. */
export function parseJsonBody(rawBody: string): unknown {
  try {
    return JSON.parse(rawBody);
  } catch (cause) {
    throw new HTTPException(400, { message: 'body is not JSON', cause });
  }
}
