import type { z } from 'zod';
import { HearthError, type Parsed } from '../errors.js';
import { CoreFrame, EdgeFrame, TUNNEL_PROTOCOL_VERSION } from './frames.js';

/** Frames larger than this are refused before JSON parsing (a message body is far smaller). */
export const MAX_FRAME_BYTES = 1_048_576;

function parseWith<S extends z.ZodType>(schema: S, raw: string | ArrayBuffer): Parsed<z.infer<S>> {
  const text = typeof raw === 'string' ? raw : new TextDecoder().decode(raw);
  if (text.length > MAX_FRAME_BYTES) {
    return { ok: false, error: new HearthError('frame_too_large', `frame exceeds ${MAX_FRAME_BYTES} bytes`) };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    return { ok: false, error: new HearthError('bad_frame', 'tunnel frame is not JSON', { cause }) };
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    return {
      ok: false,
      error: new HearthError('bad_frame', `tunnel frame is invalid: ${result.error.message}`, { cause: result.error }),
    };
  }
  return { ok: true, value: result.data };
}

/** Parses a frame the core sent (run by the Relay). */
export const parseCoreFrame = (raw: string | ArrayBuffer): Parsed<CoreFrame> => parseWith(CoreFrame, raw);

/** Parses a frame the Relay sent (run by the core). */
export const parseEdgeFrame = (raw: string | ArrayBuffer): Parsed<EdgeFrame> => parseWith(EdgeFrame, raw);

/** Serializes a frame, stamping the protocol version so callers never forget it. */
export function encodeFrame(frame: DistributiveOmit<CoreFrame | EdgeFrame, 'v'>): string {
  return JSON.stringify({ v: TUNNEL_PROTOCOL_VERSION, ...frame });
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
