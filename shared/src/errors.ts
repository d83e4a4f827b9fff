/**
 * Errors that cross a boundary carry a machine-readable `code` and keep their `cause`,
 * so a log line or a 4xx body can say what went wrong without string matching.
 *
 * @example
 * throw new HearthError('bad_frame', 'tunnel frame is not JSON', { cause: err });
 */
export class HearthError extends Error {
  override readonly name: string = 'HearthError';

  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A result for parsers at the boundary: callers branch on `ok` instead of catching. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: HearthError };
