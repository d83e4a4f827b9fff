import { generateCoreKeySet, publicKeySet, seal, type CoreFrameBody, type CoreKeySet, type DeliverFrame, type Message } from '@hearth/shared';
import { join } from 'node:path';
import { EchoEngine, type Engine, type ReplyOptions } from '../../src/inference/engine.js';
import { FeedbackDesk } from '../../src/learning/feedback.js';
import { LearningStore } from '../../src/learning/store.js';
import { type EngineLoader, VariantEngine } from '../../src/learning/variant-engine.js';
import { SINGLE_VARIANT, type ExperimentsConfig } from '../../src/learning/variants.js';
import { loadMemoryConfig } from '../../src/memory/config.js';
import { openDatabase } from '../../src/memory/database.js';
import type { Memory } from '../../src/memory/memory.js';
import { openMemory } from '../../src/memory/open-memory.js';
import { Pipeline } from '../../src/pipeline.js';
import type { Logger } from '../../src/logger.js';
import { silentLogger } from '../support.js';

let keySet: CoreKeySet | undefined;
const keys = async () => (keySet ??= await generateCoreKeySet());

export const chat = (platform: 'telegram' | 'whatsapp' | 'api', conversation: string, id: string, text: string, sender = conversation): Message => ({
  message_id: id,
  platform,
  conversation: { id: conversation, type: 'private' },
  sender: { id: sender },
  content: { text, attachments: [], entities: [] },
  reply_to: null,
  timestamp: 1,
});

/** A button press as the edge normalizes a callback_query (or a WhatsApp button reply). */
export const press = (base: Message, id: string, data: string, sender = base.sender.id): Message => ({
  ...base,
  message_id: id,
  sender: { id: sender },
  content: { text: data, attachments: [], entities: [{ type: 'button', offset: 0, length: 0, value: data }] },
});

export async function delivery(m: Message, attempt = 1): Promise<DeliverFrame> {
  const sealed = await seal(JSON.stringify(m), publicKeySet(await keys()));
  return { v: 1, type: 'deliver', message_id: m.message_id, conversation_id: m.conversation.id, attempt, sealed };
}

/** Memory and the learning tables on one real SQLite file, a variant engine on `load`, a pipeline sending into `sent`. */
export async function learningCore(
  dir: string,
  { experiments = SINGLE_VARIANT, load = (async () => new EchoEngine()) as EngineLoader, pollMs, log = silentLogger() }: { experiments?: ExperimentsConfig; load?: EngineLoader; pollMs?: number; log?: Logger } = {},
) {
  const databasePath = join(dir, 'core.db');
  const memory: Memory = await openMemory({ ...loadMemoryConfig({}), databasePath }, silentLogger());
  const db = openDatabase(databasePath);
  const store = new LearningStore(db);
  const engine = await VariantEngine.start({ experiments, store, load, log, ...(pollMs ? { pollMs } : {}) });
  const sent: CoreFrameBody[] = [];
  const pipeline = new Pipeline({
    keySet: await keys(),
    engine,
    memory,
    log: silentLogger(),
    learning: new FeedbackDesk(store, silentLogger()),
    send: (frame) => {
      sent.push(frame);
      return true;
    },
  });
  const acks = () => sent.flatMap((f) => (f.type === 'ack' ? [f] : []));
  return {
    memory,
    store,
    engine,
    pipeline,
    sent,
    acks,
    ackOf: (messageId: string) => acks().find((a) => a.message_id === messageId),
    close: async () => {
      await pipeline.dispose();
      await engine.dispose();
      db.close();
      await memory.dispose();
    },
  };
}

export type LearningCore = Awaited<ReturnType<typeof learningCore>>;
export type { Engine };

/** An echo engine that says which variant it is, and remembers the options it was given. */
export class Tagged extends EchoEngine {
  readonly seen: ReplyOptions[] = [];
  constructor(
    readonly tag: string,
    delayMs = 0,
  ) {
    super(delayMs, 4);
  }
  override async reply(message: Message, options: ReplyOptions = {}): Promise<string> {
    this.seen.push(options);
    return `[${this.tag}] ${await super.reply(message, options)}`;
  }
}

