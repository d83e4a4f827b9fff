import type { CoreFrameBody } from '@hearth/shared';

/** How often streamed text is sent: tokens come far faster than anyone reads, or frames need to. */
const PARTIAL_EVERY_MS = 100;
/** Sent at once past this size, whatever the clock says. */
const PARTIAL_MAX_CHARS = 2_048;

/**
 * Gathers a reply's text as the model produces it and sends it as `partial` frames, a few per
 * second, numbered from 0: the first piece at once, then what came in each 100 ms. `close()`
 * sends what is left: every partial leaves before the ack.
 */
export class StreamBuffer {
  private pending = '';
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly messageId: string,
    private readonly send: (frame: CoreFrameBody) => boolean,
  ) {}

  push(text: string): void {
    this.pending += text;
    // The first piece goes at once: how soon a reply starts to show is what a reader notices.
    if (this.seq === 0 || this.pending.length >= PARTIAL_MAX_CHARS) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), PARTIAL_EVERY_MS);
  }

  close(): void {
    this.flush();
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending === '') return;
    // Streaming is best effort: a frame lost with a dropped tunnel is not retried (the ack is).
    this.send({ type: 'partial', message_id: this.messageId, seq: this.seq++, text: this.pending });
    this.pending = '';
  }
}
