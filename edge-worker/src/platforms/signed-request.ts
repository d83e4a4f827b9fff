/**
 * What Slack and Discord sign alike: a timestamp header (refused when more than 5 minutes off
 * either way: a replay is a 401) and the raw body after a prefix made of it.
 */

/** Both refuse to act on requests older than this themselves, and so do we. */
const MAX_AGE_SECONDS = 5 * 60;
const TIMESTAMP = /^\d{1,12}$/;

/** Whether a timestamp header's value is a number of seconds at all. */
export const isTimestamp = (value: string): boolean => TIMESTAMP.test(value);

/** Why a well-formed `timestamp` (seconds) is refused at `nowSeconds`, or undefined when it is fresh. */
export function staleTimestampProblem(header: string, timestamp: string, nowSeconds: number): string | undefined {
  return Math.abs(nowSeconds - Number(timestamp)) > MAX_AGE_SECONDS ? `${header} is more than 5 minutes off` : undefined;
}

/** `prefix ‖ rawBody`: the bytes a platform signed. */
export function prefixedBody(prefix: string, rawBody: ArrayBuffer | Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(prefix);
  const signed = new Uint8Array(head.byteLength + rawBody.byteLength);
  signed.set(head, 0);
  signed.set(rawBody instanceof Uint8Array ? rawBody : new Uint8Array(rawBody), head.byteLength);
  return signed;
}
