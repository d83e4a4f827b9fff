/**
 * Where a long text may be cut, best first. Each pattern matches a separator; the cut goes
 * after it, so the separator ends the earlier part rather than opening the next one.
 */
const BOUNDARIES: readonly RegExp[] = [
  // A blank line: between paragraphs.
  /\n[ \t]*\n\s*/g,
  // A line break.
  /\n\s*/g,
  // The end of a sentence (closing quotes and brackets stay with it), or a CJK full stop.
  /[.!?…][)\]"'»”’]*\s+|[。！？]/g,
  // Any whitespace.
  /\s+/g,
];

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/**
 * Splits a text into parts of at most `max` UTF-16 code units (JavaScript string length: never
 * less than the characters a platform counts), for platforms that cap a message's length
 * (WhatsApp 4096, Telegram 4096). Cuts on the best boundary in the second half of the window
 * (paragraph, then line, then sentence, then space), else on the last boundary of any kind,
 * else hard at `max`; never between the two halves of a surrogate pair.
 *
 * Lossless: `splitText(t, n).join('') === t`, separators ending the part before the cut, so a
 * caller can map offsets (Telegram entities) onto the parts. A text within `max`, the empty
 * one included, is returned as its only part.
 *
 * @example
 * splitText('one.\n\ntwo.', 8); // ['one.\n\n', 'two.']
 */
export function splitText(text: string, max: number): string[] {
  if (!Number.isInteger(max) || max < 2) throw new RangeError(`splitText: max must be an integer of at least 2, got ${max}`);
  const parts: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const cut = cutPoint(rest.slice(0, max + 1), max);
    parts.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  parts.push(rest);
  return parts;
}

/**
 * Where to end the first part of `window` (the next `max + 1` code units: one past the limit,
 * so a separator right at the limit is seen). Always within 1..max.
 */
function cutPoint(window: string, max: number): number {
  let fallback = 0;
  for (const boundary of BOUNDARIES) {
    const last = lastCut(window, boundary, max);
    if (last > max / 2) return last;
    fallback = Math.max(fallback, last);
  }
  if (fallback > 0) return fallback;
  // No boundary at all: hard cut, one short when it would split a surrogate pair.
  return isHighSurrogate(window.charCodeAt(max - 1)) && isLowSurrogate(window.charCodeAt(max)) ? max - 1 : max;
}

/** The end of the last separator that is not at the window's start and ends within `max`; 0 if none. */
function lastCut(window: string, boundary: RegExp, max: number): number {
  let last = 0;
  for (const match of window.matchAll(boundary)) {
    // The separator's whitespace may run past the limit: cut at the limit then, still on it.
    const end = Math.min(match.index + match[0].length, max);
    if (match.index > 0 && end > match.index && end > last) last = end;
  }
  return last;
}

/**
 * A reply as the messages to send: the text itself when it fits, else its {@link splitText}
 * parts without the separator each cut leaves at its end (a trailing blank line is noise in a
 * chat), and without parts that were only whitespace.
 */
export function messageParts(text: string, max: number): string[] {
  const parts = splitText(text, max);
  return parts.length === 1 ? parts : parts.map((part) => part.trimEnd()).filter((part) => part !== '');
}
