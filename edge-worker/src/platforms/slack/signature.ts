import { timingSafeEqual } from 'hono/utils/buffer';
import { hmacSha256Hex } from '../hmac.js';

const SIGNATURE_HEADER = 'X-Slack-Signature';
const TIMESTAMP_HEADER = 'X-Slack-Request-Timestamp';

/** Slack refuses to act on requests older than this itself, and so do we: a replay is a 401. */
const MAX_AGE_SECONDS = 5 * 60;

const SIGNATURE = /^v0=([0-9a-f]{64})$/i;
const TIMESTAMP = /^\d{1,12}$/;

/** The `v0=<hex>` Slack sends: HMAC-SHA256 of `v0:<timestamp>:<raw body>`, keyed with the signing secret. */
async function slackSignature(signingSecret: string, timestamp: string, rawBody: ArrayBuffer | Uint8Array): Promise<string> {
  const prefix = new TextEncoder().encode(`v0:${timestamp}:`);
  const base = new Uint8Array(prefix.byteLength + rawBody.byteLength);
  base.set(prefix, 0);
  base.set(rawBody instanceof Uint8Array ? rawBody : new Uint8Array(rawBody), prefix.byteLength);
  return `v0=${await hmacSha256Hex(signingSecret, base)}`;
}

/**
 * Why a request is not Slack's, or undefined when it is: signed with our secret over these very
 * bytes (compared in constant time), and stamped within 5 minutes of `nowSeconds` either way.
 */
export async function slackSignatureProblem(
  headers: Headers,
  rawBody: ArrayBuffer,
  signingSecret: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<string | undefined> {
  const timestamp = headers.get(TIMESTAMP_HEADER) ?? '';
  const provided = SIGNATURE.exec(headers.get(SIGNATURE_HEADER) ?? '')?.[1];
  if (!TIMESTAMP.test(timestamp) || !provided) return `missing or malformed ${SIGNATURE_HEADER} or ${TIMESTAMP_HEADER}`;
  if (Math.abs(nowSeconds - Number(timestamp)) > MAX_AGE_SECONDS) return `${TIMESTAMP_HEADER} is more than 5 minutes off`;
  const expected = await slackSignature(signingSecret, timestamp, rawBody);
  return (await timingSafeEqual(`v0=${provided.toLowerCase()}`, expected)) ? undefined : `wrong ${SIGNATURE_HEADER}`;
}
