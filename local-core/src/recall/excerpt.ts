import { sentences } from './chunk.js';
import { contentWords, words } from './features.js';

const ELLIPSIS = '…';

// Shared stems count as matches ("appointments" ~ "appointment") without a stemmer.
const related = (a: string, b: string) => a === b || (a.length >= 5 && b.length >= 5 && a.slice(0, 5) === b.slice(0, 5));

/** Cuts `text` to at most `max` characters at a word boundary, marking the cut. */
function cutWords(text: string, max: number): string {
  if (text.length <= max) return text;
  const room = text.slice(0, Math.max(0, max - ELLIPSIS.length));
  const space = room.lastIndexOf(' ');
  return `${(space > room.length / 2 ? room.slice(0, space) : room).trimEnd()}${ELLIPSIS}`;
}

/**
 * The part of `text` most about `query`, in at most `maxChars` characters: the sentence sharing
 * the most query words, then its neighbours while they fit. A cut is marked with "…". This keeps
 * the prompt small without guessing blindly which part of a chunk mattered.
 *
 * @example
 * excerpt('The car is blue. The dentist is on Tuesday.', 'dentist', 30) === '… The dentist is on Tuesday.'
 */
export function excerpt(text: string, query: string, maxChars: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= maxChars) return flat;
  const parts = sentences(flat);
  const wanted = new Set(contentWords(words(query)));
  const scores = parts.map((s) => {
    const present = new Set(words(s));
    let score = 0;
    for (const w of wanted) if ([...present].some((p) => related(p, w))) score++;
    return score;
  });
  const best = scores.indexOf(Math.max(...scores));
  let [from, to] = [best, best + 1];
  const length = (a: number, b: number) =>
    parts.slice(a, b).join(' ').length + (a > 0 ? ELLIPSIS.length + 1 : 0) + (b < parts.length ? ELLIPSIS.length + 1 : 0);
  if (length(from, to) > maxChars) {
    const lead = from > 0 ? `${ELLIPSIS} ` : '';
    return lead + cutWords(parts[best] ?? '', maxChars - lead.length);
  }
  // Reading on is usually more useful than what came before: extend forward first.
  while (to < parts.length && length(from, to + 1) <= maxChars) to++;
  while (from > 0 && length(from - 1, to) <= maxChars) from--;
  return `${from > 0 ? `${ELLIPSIS} ` : ''}${parts.slice(from, to).join(' ')}${to < parts.length ? ` ${ELLIPSIS}` : ''}`;
}
