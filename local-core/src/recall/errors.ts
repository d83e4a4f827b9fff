import { HearthError } from '@hearth/shared';

/** A note file that cannot be added: missing, a folder, too large, or not text. Says which. */
export class NoteFileError extends HearthError {
  override readonly name = 'NoteFileError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('note_unreadable', message, options);
  }
}
