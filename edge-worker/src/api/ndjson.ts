import { CompletionEventSchema, type CompletionEvent } from '../relay/completions.js';

/** The completion events of the Relay's NDJSON stream, as they arrive. */
export async function* completionEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<CompletionEvent> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (value) buffered += value;
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim() !== '') yield CompletionEventSchema.parse(JSON.parse(line));
        newline = buffered.indexOf('\n');
      }
      if (done) return;
    }
  } finally {
    // A caller that stops early (its client went away) cancels the Relay's stream, which then
    // stops the generation rather than let the core write for nobody.
    await reader.cancel().catch(() => undefined);
  }
}
