import type { z } from 'zod';
import { HearthError, type Parsed } from '../errors.js';
import { CoreFrame, EdgeFrame, TUNNEL_PROTOCOL_VERSION, type CoreFrameBody, type EdgeFrameBody } from './frames.js';

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
  // The version first: a newer peer's frame may not fit this schema, and "upgrade" is the
  // useful answer, not "invalid".
  const version = typeof json === 'object' && json !== null && 'v' in json ? json.v : undefined;
  if (typeof version === 'number' && version !== TUNNEL_PROTOCOL_VERSION) {
    return { ok: false, error: new ProtocolMismatchError(version) };
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

/** A frame of another tunnel protocol version; `peerVersion` says which side must upgrade. */
export class ProtocolMismatchError extends HearthError {
  override readonly name = 'ProtocolMismatchError';
  constructor(readonly peerVersion: number) {
    const upgrade = peerVersion > TUNNEL_PROTOCOL_VERSION ? 'this side' : 'the peer';
    super(
      'protocol_mismatch',
      `tunnel protocol mismatch: this side speaks v${TUNNEL_PROTOCOL_VERSION}, the peer v${peerVersion}; upgrade ${upgrade}`,
    );
  }
}

const UPGRADE = { core: 'the core (hearth)', edge: 'the edge (wrangler deploy)' } as const;

/**
 * What to tell the operator when the peer speaks another protocol version, from `self`'s side:
 * which side runs which version, and which one to upgrade (the one that is behind).
 */
export function protocolMismatchAdvice(self: 'core' | 'edge', peerVersion: number): string {
  const peer = self === 'core' ? 'edge' : 'core';
  const behind = peerVersion > TUNNEL_PROTOCOL_VERSION ? self : peer;
  return `${self} speaks tunnel protocol v${TUNNEL_PROTOCOL_VERSION}, ${peer} v${peerVersion}: upgrade ${UPGRADE[behind]}`;
}

/** Parses a frame the core sent (run by the Relay). */
export const parseCoreFrame = (raw: string | ArrayBuffer): Parsed<CoreFrame> => parseWith(CoreFrame, raw);

/** Parses a frame the Relay sent (run by the core). */
export const parseEdgeFrame = (raw: string | ArrayBuffer): Parsed<EdgeFrame> => parseWith(EdgeFrame, raw);

/** Serializes a frame, stamping the protocol version so callers never forget it. */
export function encodeFrame(frame: CoreFrameBody | EdgeFrameBody): string {
  return JSON.stringify({ v: TUNNEL_PROTOCOL_VERSION, ...frame });
}
