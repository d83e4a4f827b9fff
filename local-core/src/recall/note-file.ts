import { readFile, stat } from 'node:fs/promises';
import { NoteFileError } from './errors.js';

/** Notes are text someone wrote; anything larger is likely not a note (and would take minutes). */
const MAX_NOTE_BYTES = 5 * 1024 * 1024;

/**
 * Reads a note file as UTF-8 text (plain text, markdown, any text format).
 *
 * @throws NoteFileError when the file is missing, a folder, unreadable, over 5 MiB, or binary
 */
export async function readNoteFile(path: string): Promise<string> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new NoteFileError(`${path} is not a file: give a text or markdown file`);
    size = info.size;
  } catch (error) {
    if (error instanceof NoteFileError) throw error;
    throw new NoteFileError(`no note file at ${path}: check the path`, { cause: error });
  }
  if (size > MAX_NOTE_BYTES) throw new NoteFileError(`${path} is ${size} bytes; notes can be at most ${MAX_NOTE_BYTES} (split it)`);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new NoteFileError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  // A NUL byte or invalid UTF-8 means a binary file (a PDF, an image): its "text" would be noise.
  if (bytes.includes(0)) throw new NoteFileError(`${path} is not a text file: give a text or markdown file`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new NoteFileError(`${path} is not UTF-8 text: save it as UTF-8 text or markdown`, { cause: error });
  }
}
