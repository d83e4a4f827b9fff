import { encodeFrame, type EdgeFrameBody } from '@hearth/shared';
import { describeError, log } from '../log.js';
import type { LiveSession } from './dispatch.js';
import { readSession } from './session.js';

/** The cores' tunnels: listed once, read again only after one opens or closes (see changed). */
export class CoreSockets {
  private cached: WebSocket[] | undefined;

  constructor(private readonly ctx: DurableObjectState) {}

  /** A tunnel opened or closed: the next listing asks the runtime again. */
  changed(): void {
    this.cached = undefined;
  }

  list(): LiveSession[] {
    this.cached ??= this.ctx.getWebSockets('core');
    return this.cached.flatMap((ws) => {
      const session = readSession(ws);
      return session ? [{ ws, session }] : [];
    });
  }

  /** The live tunnel of a session, if it is still connected. */
  holder(sessionId: string): LiveSession | undefined {
    return this.list().find(({ session }) => session.sessionId === sessionId);
  }

  /** Connected cores that answer history and completions (owner sessions of the CLI do not). */
  answering(): LiveSession[] {
    return this.list().filter(({ session }) => session.ready && session.servesHistory);
  }

  /** The answering cores whose socket is open. */
  openAnswering(): LiveSession[] {
    return this.answering().filter(({ ws }) => ws.readyState === WebSocket.OPEN);
  }

  send(ws: WebSocket, frame: EdgeFrameBody): void {
    try {
      ws.send(encodeFrame(frame));
    } catch (error) {
      // The socket is closing; its close handler returns what it held to the queue.
      log('warn', 'tunnel_send_failed', { type: frame.type, error: describeError(error) });
    }
  }
}
