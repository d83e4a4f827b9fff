import { isTimestamp, prefixedBody, staleTimestampProblem } from '../signed-request.js';

const SIGNATURE_HEADER = 'X-Signature-Ed25519';
const TIMESTAMP_HEADER = 'X-Signature-Timestamp';

const SIGNATURE = /^[0-9a-f]{128}$/i;

const bytesOfHex = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));

// Imported once per isolate and key: the key is fixed for a deployment.
const keys = new Map<string, Promise<CryptoKey>>();
function publicKeyOf(hex: string): Promise<CryptoKey> {
  let key = keys.get(hex);
  if (!key) {
    key = crypto.subtle.importKey('raw', bytesOfHex(hex), { name: 'Ed25519' }, false, ['verify']);
    keys.set(hex, key);
  }
  return key;
}

/**
 * Why a request is not Discord's, or undefined when it is: an Ed25519 signature by the
 * application's key (hex) over the timestamp and these very bytes, the timestamp within
 * 5 minutes of `nowSeconds` either way.
 */
export async function discordSignatureProblem(
  headers: Headers,
  rawBody: ArrayBuffer,
  publicKeyHex: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<string | undefined> {
  const timestamp = headers.get(TIMESTAMP_HEADER) ?? '';
  const signature = headers.get(SIGNATURE_HEADER) ?? '';
  if (!isTimestamp(timestamp) || !SIGNATURE.test(signature)) return `missing or malformed ${SIGNATURE_HEADER} or ${TIMESTAMP_HEADER}`;
  const stale = staleTimestampProblem(TIMESTAMP_HEADER, timestamp, nowSeconds);
  if (stale) return stale;
  const valid = await crypto.subtle.verify({ name: 'Ed25519' }, await publicKeyOf(publicKeyHex), bytesOfHex(signature), prefixedBody(timestamp, rawBody));
  return valid ? undefined : `wrong ${SIGNATURE_HEADER}`;
}
