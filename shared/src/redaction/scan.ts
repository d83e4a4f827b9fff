import type { Span } from './kinds.js';

/**
 * Runs a global regex over `text` and keeps the candidates `accept` turns into spans.
 *
 * The patterns are written for linear time: bounded quantifiers or unambiguous runs, and a
 * leading lookbehind so that no candidate starts inside another token. A rejected candidate
 * is retried one character later, since a real finding may start inside it; the lookbehinds
 * keep that retry from rescanning the same run.
 */
export function scan(text: string, pattern: RegExp, accept: (match: RegExpExecArray) => Span | undefined): Span[] {
  const spans: Span[] = [];
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const span = accept(match);
    if (span !== undefined) spans.push(span);
    // After a finding shorter than its match (a card before its CVC), go on from its end.
    pattern.lastIndex = span === undefined ? match.index + 1 : Math.max(span.end, match.index + 1);
  }
  return spans;
}

/** The whole match as a span. */
export const wholeMatch = (match: RegExpExecArray): Span => ({ start: match.index, end: match.index + match[0].length });

/** The span of the first capture group that matched (patterns need the `d` flag). */
export function firstGroup(match: RegExpExecArray): Span | undefined {
  const indices = match.indices;
  if (indices === undefined) return undefined;
  for (let group = 1; group < indices.length; group++) {
    const range = indices[group];
    if (range !== undefined) return { start: range[0], end: range[1] };
  }
  return undefined;
}
