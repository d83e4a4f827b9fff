import { z } from 'zod';

/**
 * A position in a user's history, as clients hold it (`after=`, SSE `Last-Event-ID`). It is the
 * ordering key itself, (created_at, message_id), not a row number: the same turn has the same
 * cursor on every core, so a device can catch up from whichever core answers. Opaque to
 * clients: base64url of `<ms>.<message_id>`.
 */
export interface CursorPosition {
  /** Milliseconds since the epoch. */
  at: number;
  id: string;
}

const toBase64Url = (text: string) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

/** The cursor of a turn. */
export function encodeCursor({ at, id }: CursorPosition): string {
  return toBase64Url(`${at}.${id}`);
}

/** A cursor back into its position; undefined when it is not one of ours. */
export function decodeCursor(cursor: string): CursorPosition | undefined {
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) return undefined;
  let text: string;
  try {
    const binary = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
    text = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
  const match = /^(\d{1,16})\.(.+)$/s.exec(text);
  if (!match?.[1] || !match[2]) return undefined;
  return { at: Number(match[1]), id: match[2] };
}

/** Whether `a` comes strictly after `b` in history order. */
export function isAfter(a: CursorPosition, b: CursorPosition): boolean {
  return a.at > b.at || (a.at === b.at && a.id > b.id);
}

/** A cursor in a query string or header: validated, still encoded. */
export const CursorSchema = z.string().refine((c) => decodeCursor(c) !== undefined, 'not a Hearth history cursor');
