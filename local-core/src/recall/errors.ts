import { HearthError } from '@hearth/shared';

/** A note file that cannot be added: missing, a folder, too large, or not text. Says which. */
export class NoteFileError extends HearthError {
  override readonly name = 'NoteFileError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('note_unreadable', message, options);
  }
}

/** A text past what the model reads at once: the caller's to shorten, not a failure of ours. */
export class InputTooLongError extends HearthError {
  override readonly name = 'InputTooLongError';
  constructor(
    readonly index: number,
    tokens: number,
    limit: number,
  ) {
    super('input_too_long', `input[${index}] is ${tokens} tokens; this model reads at most ${limit - 1}: shorten it`);
  }
}
