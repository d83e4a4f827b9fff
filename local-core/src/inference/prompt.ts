/**
 * The user's text with what recall found for it, kept short and clearly marked as background,
 * so a small model does not mistake it for the question. Without snippets, the text as is.
 */
export function withRecalled(text: string, context: readonly string[]): string {
  if (context.length === 0) return text;
  return `(Background you may use if relevant:\n${context.map((snippet) => `- ${snippet}`).join('\n')})\n\n${text}`;
}
