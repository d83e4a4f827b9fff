import { timingSafeEqual } from 'hono/utils/buffer';
import { hmacSha256Hex } from '../hmac.js';
import { isTimestamp, prefixedBody, staleTimestampProblem } from '../signed-request.js';

const SIGNATURE_HEADER = 'X-Slack-Signature';
const TIMESTAMP_HEADER = 'X-Slack-Request-Timestamp';

const SIGNATURE = /^v0=([0-9a-f]{64})$/i;

/** The `v0=<hex>` Slack sends: HMAC-SHA256 of `v0:<timestamp>:<raw body>`, keyed with the signing secret. */
async function slackSignature(signingSecret: string, timestamp: string, rawBody: ArrayBuffer | Uint8Array): Promise<string> {
  return `v0=${await hmacSha256Hex(signingSecret, prefixedBody(`v0:${timestamp}:`, rawBody))}`;
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
  if (!isTimestamp(timestamp) || !provided) return `missing or malformed ${SIGNATURE_HEADER} or ${TIMESTAMP_HEADER}`;
  const stale = staleTimestampProblem(TIMESTAMP_HEADER, timestamp, nowSeconds);
  if (stale) return stale;
  const expected = await slackSignature(signingSecret, timestamp, rawBody);
  return (await timingSafeEqual(`v0=${provided.toLowerCase()}`, expected)) ? undefined : `wrong ${SIGNATURE_HEADER}`;
}
