/**
 * Cuts notes into chunks for recall: small enough that one chunk is about one thing and fits a
 * prompt excerpt, large enough to carry its context.
 */
export interface ChunkOptions {
  /** Longest chunk, in characters (default 800). */
  maxChars?: number;
  /** Characters of the previous chunk's end repeated at the start of the next (default 120). */
  overlapChars?: number;
  /** A markdown heading starts a new chunk once the current one has this many characters (default 300). */
  sectionMinChars?: number;
}

const HEADING = /^#{1,6}\s/;

const SENTENCE_END = /(?<=[.!?…。！？])\s+/u;

/** Sentences of a paragraph (a simple punctuation split: good enough to choose cut points). */
export function sentences(text: string): string[] {
  return text.split(SENTENCE_END).filter((s) => s.trim() !== '');
}

/** Pieces no longer than `max`: by sentence, then by word, then (for one huge word) by character. */
function pieces(paragraph: string, max: number): string[] {
  if (paragraph.length <= max) return [paragraph];
  const out: string[] = [];
  for (const sentence of sentences(paragraph)) {
    if (sentence.length <= max) {
      out.push(sentence);
      continue;
    }
    let current = '';
    for (const word of sentence.split(/\s+/)) {
      for (let i = 0; i < word.length; i += max) {
        const part = word.slice(i, i + max);
        if (current === '') current = part;
        else if (current.length + 1 + part.length <= max) current += ` ${part}`;
        else {
          out.push(current);
          current = part;
        }
      }
    }
    if (current !== '') out.push(current);
  }
  return out;
}

/** The end of `chunk` to repeat: whole sentences if they fit in `max`, else whole words. */
function tail(chunk: string, max: number): string {
  if (max <= 0) return '';
  const window = chunk.slice(-max);
  const sentenceStart = window.search(/(?<=[.!?…。！？])\s+\S/u);
  if (sentenceStart !== -1) return window.slice(sentenceStart).trim();
  const wordStart = window.indexOf(' ');
  return wordStart === -1 ? '' : window.slice(wordStart + 1).trim();
}

/**
 * Splits text (plain or markdown) into chunks of at most `maxChars`: paragraphs (blank-line
 * separated) are packed together while they fit, and a markdown heading starts a new chunk
 * once the current one is `sectionMinChars` long; a paragraph too long for one chunk is cut
 * at sentences, then words. Each chunk after the first starts with the last sentence (or
 * words) of the one before, up to `overlapChars`, so a fact cut in two is whole in one.
 *
 * @example
 * chunkText(readFileSync('notes.md', 'utf8')); // ['# Health\n\nDentist: ...', ...]
 */
export function chunkText(text: string, options: ChunkOptions = {}): string[] {
  const maxChars = options.maxChars ?? 800;
  const overlapChars = Math.min(options.overlapChars ?? 120, Math.floor(maxChars / 4));
  const sectionMinChars = options.sectionMinChars ?? 300;
  const paragraphs = text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((p) => p.replace(/[ \t]+$/gm, '').trim())
    .filter((p) => p !== '');
  const chunks: string[] = [];
  let current = '';
  for (const paragraph of paragraphs) {
    for (const [i, piece] of pieces(paragraph, maxChars).entries()) {
      // Pieces of one paragraph rejoin with a space, paragraphs with a blank line.
      const separator = i === 0 ? '\n\n' : ' ';
      if (current === '') current = piece;
      else if (i === 0 && HEADING.test(piece) && current.length >= sectionMinChars) {
        // A new section is a new topic: cut here, and carry nothing over from the last one.
        chunks.push(current);
        current = piece;
      } else if (current.length + separator.length + piece.length <= maxChars) current += separator + piece;
      else {
        chunks.push(current);
        const overlap = tail(current, overlapChars);
        current = overlap !== '' && overlap.length + separator.length + piece.length <= maxChars ? overlap + separator + piece : piece;
      }
    }
  }
  if (current !== '') chunks.push(current);
  return chunks;
}
