import { randomBytes } from 'node:crypto';
import { COMPLETION_CONVERSATION_PREFIX, approvalOf, parseApiConversationId, type ApprovalDecision, type CoreFrameBody, type Message, type RedactionConfig } from '@hearth/shared';
import { LRUCache } from 'lru-cache';
import type { TurnTool } from '../inference/engine.js';
import type { Logger } from '../logger.js';
import type { ShownItem } from '../memory/api-history.js';
import type { ApprovalConfig } from './config.js';
import { approvalButtons, approvalQuestion } from './question.js';

/** What the pipeline asks of approvals (see pipeline.ts: `approvals`). */
export interface PipelineApprovals {
  /**
   * The tools to offer for `message`'s turn: a tool needing approval asks the owner before it runs,
   * and is left out of a turn whose sender is not the owner (or who has no buttons to press).
   * `turn` gives the running turn's stop signal and its time limit, held while the owner decides.
   */
  guard(tools: readonly TurnTool[], message: Message, turn: () => ApprovalTurn | undefined): TurnTool[];
  /**
   * Takes a press of Run/Skip: undefined when `message` is none; else what to answer it with
   * (nothing when it counted or was not the owner's; a short note when its question is over).
   */
  takePress(message: Message): { reply?: string } | undefined;
}

/** The turn a tool call runs in, as the wait sees it. */
export interface ApprovalTurn {
  /** Ends the wait: `/stop`, or the core stopping. */
  signal: AbortSignal;
  /** Stops the turn's time limit until the returned function is called. */
  hold(): () => void;
}

export interface ApprovalDeskOptions {
  config: ApprovalConfig;
  /** Sends a frame on the current tunnel; false when it is down. */
  send: (frame: CoreFrameBody) => boolean;
  log: Logger;
  /** Whether the model sees redacted text: the question then shows the arguments so too. */
  redaction?: RedactionConfig | undefined;
  /**
   * Keeps a question asked in an API conversation in that conversation's history (API clients
   * read it there after a reload; platforms keep their own copy of what was sent).
   */
  recordShown?: ((shown: ShownItem) => void) | undefined;
}

/** Said to a press whose question is over (answered, timed out, or from before a restart). */
export const EXPIRED_NOTE = 'That request expired; nothing was run.';

/** What the model is told instead of a result. */
export const NOT_RUN = {
  skip: 'the owner declined',
  timeout: 'no answer from the owner in time',
  stopped: 'the turn was stopped before the owner answered',
  unasked: 'the owner could not be asked (no connection to the edge); not run',
} as const;

/** Platforms whose messages can carry the buttons (API clients press with POST /v1/press; MQTT devices have none). */
const WITH_BUTTONS = new Set(['telegram', 'whatsapp', 'slack', 'discord', 'api']);

type Outcome = ApprovalDecision | 'timeout' | 'stopped';

interface Question {
  tool: string;
  conversationId: string;
  /** The sender of the turn that asked: the owner, the only one whose press counts. */
  owner: string;
  decide: (outcome: Outcome) => void;
}

/**
 * The owner's approval of risky tool calls. A call of a tool that needs approval (its manifest,
 * its MCP annotations, HEARTH_APPROVE_TOOLS; never with HEARTH_APPROVE_NEVER) sends the question
 * with Run / Skip buttons to the conversation as a push, and waits (HEARTH_APPROVAL_TIMEOUT_MS)
 * with the turn's time limit held. Each question has a random 128-bit id, bound to its
 * conversation and the owner who spoke, answered once: a press from anyone else, a second
 * press, or a press after the wait ended runs nothing. Only the owner's turns offer such tools.
 * Decisions are logged with the tool's name, who, and how long it took; never the arguments.
 *
 * @example
 * const approvals = new ApprovalDesk({ config: loadApprovalConfig(process.env), send, log });
 * new Pipeline({ ..., approvals });
 */
export class ApprovalDesk implements PipelineApprovals {
  private readonly open = new Map<string, Question>();
  /** Presses already taken, by message id: a redelivery is answered as it was, not "expired". */
  private readonly taken = new LRUCache<string, { reply?: string }>({ max: 1_000 });

  constructor(private readonly options: ApprovalDeskOptions) {}

  /** Questions waiting for the owner now. */
  get waiting(): number {
    return this.open.size;
  }

  guard(tools: readonly TurnTool[], message: Message, turn: () => ApprovalTurn | undefined): TurnTool[] {
    // A completion's caller reads only its own answer: a question put there would never be seen.
    const completion = parseApiConversationId(message.conversation.id)?.conversation.startsWith(COMPLETION_CONVERSATION_PREFIX) === true;
    const askable = this.options.config.owners.has(message.sender.id) && WITH_BUTTONS.has(message.platform) && !completion;
    const left: string[] = [];
    const offered = tools.flatMap((tool) => {
      if (!this.needsApproval(tool)) return [tool];
      if (!askable) {
        left.push(tool.name);
        return [];
      }
      return [{ ...tool, needsApproval: true, call: (args: unknown) => this.ask(tool, args, message, turn()) }];
    });
    if (left.length > 0) this.options.log.debug({ messageId: message.message_id, tools: left }, 'tools needing approval not offered: the sender is not the owner');
    return offered;
  }

  takePress(message: Message): { reply?: string } | undefined {
    const press = approvalOf(message);
    if (!press) return undefined;
    const before = this.taken.get(message.message_id);
    if (before) return before;
    const answer = this.answer(message, press.id, press.decision);
    this.taken.set(message.message_id, answer);
    return answer;
  }

  private answer(message: Message, id: string, decision: ApprovalDecision): { reply?: string } {
    const log = this.options.log.child({ messageId: message.message_id, conversationId: message.conversation.id });
    const question = this.open.get(id);
    if (!question) {
      log.info('approval press for a question that is over; nothing run');
      return { reply: EXPIRED_NOTE };
    }
    if (question.conversationId !== message.conversation.id || question.owner !== message.sender.id) {
      log.warn({ tool: question.tool, sender: message.sender.id }, 'approval press by someone other than the owner, or from another chat; ignored');
      return {};
    }
    question.decide(decision);
    return {};
  }

  private needsApproval(tool: TurnTool): boolean {
    const { always, never } = this.options.config;
    if (never.has(tool.name)) return false;
    return always.has(tool.name) || tool.needsApproval === true;
  }

  /** Asks the owner, waits, and runs the call only on Run; else tells the model why not. */
  private async ask(tool: TurnTool, args: unknown, message: Message, turn: ApprovalTurn | undefined): Promise<unknown> {
    const log = this.options.log.child({ tool: tool.name, conversationId: message.conversation.id, messageId: message.message_id });
    const id = randomBytes(16).toString('base64url');
    const started = performance.now();
    const question = {
      key: `approval:${id}`,
      conversationId: message.conversation.id,
      inReplyTo: message.message_id,
      text: approvalQuestion(tool.name, args, this.options.redaction),
      buttons: approvalButtons(id),
      createdAt: Date.now(),
    };
    const sent = this.options.send({
      type: 'reply',
      key: question.key,
      conversation_id: question.conversationId,
      in_reply_to: question.inReplyTo,
      text: question.text,
      buttons: question.buttons,
      created_at: question.createdAt,
    });
    if (!sent) {
      log.warn('tool approval not asked: the tunnel is down; not run');
      return { error: NOT_RUN.unasked };
    }
    if (parseApiConversationId(question.conversationId)) this.options.recordShown?.({ ...question, buttons: question.buttons.flat() });
    const outcome = await this.wait(id, tool.name, message, turn);
    log.info({ decision: outcome, approver: message.sender.id, ms: Math.round(performance.now() - started) }, 'tool approval');
    return outcome === 'run' ? tool.call(args) : { error: NOT_RUN[outcome] };
  }

  private wait(id: string, tool: string, message: Message, turn: ApprovalTurn | undefined): Promise<Outcome> {
    const release = turn?.hold();
    return new Promise<Outcome>((resolve) => {
      const decide = (outcome: Outcome) => {
        // Once: the first of a press, the time limit or a stop wins; the question is then over.
        if (!this.open.delete(id)) return;
        clearTimeout(timer);
        turn?.signal.removeEventListener('abort', stopped);
        release?.();
        resolve(outcome);
      };
      const stopped = () => decide('stopped');
      const timer = setTimeout(() => decide('timeout'), this.options.config.timeoutMs);
      this.open.set(id, { tool, conversationId: message.conversation.id, owner: message.sender.id, decide });
      if (turn?.signal.aborted) return stopped();
      turn?.signal.addEventListener('abort', stopped, { once: true });
    });
  }
}
