import type { Message } from '@hearth/shared';
import { replyKeyFor } from '@hearth/shared';
import { LRUCache } from 'lru-cache';
import type { Engine, ReplyOptions } from '../inference/engine.js';
import type { Logger } from '../logger.js';
import { assignVariant } from './assignment.js';
import type { LearningStore } from './store.js';
import type { ExperimentsConfig, Variant } from './variants.js';

/** Loads the engine a variant runs on (its model and adapter), with `sequences` when given. */
export type EngineLoader = (variant: Variant, sequences: number | undefined) => Promise<Engine>;

export interface VariantEngineOptions {
  experiments: ExperimentsConfig;
  store: LearningStore;
  load: EngineLoader;
  log: Logger;
  /** How often the promotion row is read (the CLI writes it while the core runs); default 1 s. */
  pollMs?: number;
}

/** An engine loaded for one model + adapter, shared by the variants that use both. */
interface Slot {
  key: string;
  engine: Engine;
  /** Replies running on it now: it is disposed only once nothing runs on it. */
  running: number;
  retired: boolean;
}

/** Variants sharing a model file and adapter share one loaded engine. */
const slotKeyOf = (variant: Variant) => JSON.stringify([variant.model ?? null, variant.lora?.path ?? null, variant.lora?.scale ?? null]);

/**
 * An Engine made of variants: each message goes to its sender's variant (the experiment's
 * deterministic split, or the promoted variant for everyone), on that variant's model, adapter,
 * system prompt and sampling; each reply is recorded with the variant that wrote it.
 *
 * Promotion (`hearth experiments promote`) swaps without a restart and without dropping work:
 * the promoted variant's engine is loaded beside the running ones, then new messages go to it;
 * replies already running finish on the engine they started on, which is disposed once idle
 * and no longer used. The window the core granted (its sequences) is fixed at start, so every
 * engine loaded later gets the same number.
 *
 * @example
 * const engine = await VariantEngine.start({ experiments, store, load, log });
 * new Pipeline({ engine, ... });
 */
export class VariantEngine implements Engine {
  readonly sequences: number;
  private readonly slots = new Map<string, Slot>();
  /** The variant each conversation was last answered by: a change drops the old resident context. */
  private readonly lastVariant = new LRUCache<string, string>({ max: 10_000 });
  private promoted: string | null;
  private promotionVersion: number;
  private readonly poll: NodeJS.Timeout;
  private applying: Promise<void> = Promise.resolve();
  private disposing: Promise<void> | undefined;
  /** Retired engines being disposed: `dispose` waits for them. */
  private readonly unloading = new Set<Promise<void>>();

  private constructor(
    private readonly options: VariantEngineOptions,
    slots: Slot[],
    promotion: { variant: string | null; version: number },
  ) {
    for (const slot of slots) this.slots.set(slot.key, slot);
    this.sequences = Math.min(...slots.map((slot) => slot.engine.sequences));
    this.promoted = promotion.variant;
    this.promotionVersion = promotion.version;
    this.poll = setInterval(() => this.checkPromotion(), options.pollMs ?? 1_000);
    this.poll.unref();
  }

  /**
   * Loads the engines of every variant in the experiment (and of the promoted one), so a bad
   * model fails the start. A promotion naming a variant no longer in the file is ignored, with a warning.
   */
  static async start(options: VariantEngineOptions): Promise<VariantEngine> {
    const { experiments, store, log } = options;
    let promotion = store.promotion();
    if (promotion.variant !== null && !experiments.variants.some((v) => v.name === promotion.variant)) {
      log.warn({ variant: promotion.variant }, 'the promoted variant is not in HEARTH_EXPERIMENTS; running the experiment split');
      promotion = { ...promotion, variant: null };
    }
    const needed = VariantEngine.variantsIn(experiments, promotion.variant);
    const slots: Slot[] = [];
    try {
      let sequences: number | undefined;
      for (const variant of needed) {
        const key = slotKeyOf(variant);
        if (slots.some((slot) => slot.key === key)) continue;
        const engine = await options.load(variant, sequences);
        // The first engine picks (from memory, or HEARTH_SEQUENCES); the others take the same.
        sequences ??= engine.sequences;
        slots.push({ key, engine, running: 0, retired: false });
      }
    } catch (error) {
      for (const slot of slots) await slot.engine.dispose();
      throw error;
    }
    log.info(
      { variants: needed.map((v) => v.name), engines: slots.length, promoted: promotion.variant, experiment: experiments.experiment.name },
      promotion.variant ? `variant ${promotion.variant} answers everyone (promoted)` : 'experiment running',
    );
    return new VariantEngine(options, slots, promotion);
  }

  /** The variants that may answer: the promoted one, else those with a weight. */
  private static variantsIn(experiments: ExperimentsConfig, promoted: string | null): Variant[] {
    const names = promoted ? [promoted] : experiments.experiment.weights.map((w) => w.variant);
    return experiments.variants.filter((v) => names.includes(v.name));
  }

  /** The variant a user gets now. */
  variantFor(userId: string): Variant {
    const { experiments } = this.options;
    const name = this.promoted ?? assignVariant(experiments, userId);
    const variant = experiments.variants.find((v) => v.name === name);
    if (!variant) throw new Error(`variant ${name} is not configured`);
    return variant;
  }

  /** The promoted variant (null: the experiment's split) and the promotion's version as applied here. */
  get promotion(): { variant: string | null; version: number } {
    return { variant: this.promoted, version: this.promotionVersion };
  }

  /** The kind of engine the variants run on (`llama`, or `echo` for diagnostics). */
  get name(): string {
    return this.firstSlot().engine.name;
  }

  get modelId(): string {
    return this.firstSlot().engine.modelId;
  }

  async reply(message: Message, options: ReplyOptions = {}): Promise<string> {
    const variant = this.variantFor(message.sender.id);
    const slot = this.slots.get(slotKeyOf(variant));
    if (!slot) throw new Error(`variant ${variant.name} has no engine loaded`);
    // Counted before the first await: a promotion from now on cannot dispose it under us.
    slot.running++;
    try {
      const conversationId = message.conversation.id;
      if (!options.ephemeral) {
        const before = this.lastVariant.get(conversationId);
        if (before !== undefined && before !== variant.name) {
          // Both contexts may be stale (other turns were written by the other variant): each
          // starts again from the history in memory when it next answers.
          await this.forgetIn(before, conversationId);
          await this.forgetIn(variant.name, conversationId);
        }
        this.lastVariant.set(conversationId, variant.name);
      }
      let tokens = 0;
      const started = performance.now();
      const text = await slot.engine.reply(message, {
        ...options,
        // A completion's own system turns and sampling win; the variant's are the defaults.
        ...pick('systemPrompt', options.systemPrompt ?? variant.systemPrompt),
        ...pick('temperature', options.temperature ?? variant.temperature),
        ...pick('topP', options.topP ?? variant.topP),
        ...pick('maxTokens', options.maxTokens ?? variant.maxTokens),
        onTokens: (count) => {
          tokens += count;
          options.onTokens?.(count);
        },
      });
      this.options.store.recordReply({
        replyKey: replyKeyFor(message.message_id),
        messageId: message.message_id,
        conversationId,
        senderId: message.sender.id,
        platform: message.platform,
        variant: variant.name,
        model: slot.engine.modelId,
        kind: options.ephemeral ? 'completion' : 'chat',
        createdAt: Date.now(),
        generationMs: performance.now() - started,
        tokens,
      });
      return text;
    } finally {
      slot.running--;
      if (slot.retired && slot.running === 0) void this.disposeSlot(slot);
    }
  }

  async reset(conversationId: string): Promise<void> {
    this.lastVariant.delete(conversationId);
    for (const slot of this.slots.values()) await slot.engine.reset(conversationId);
  }

  describe(): string {
    const { experiments } = this.options;
    if (this.promoted) return `variant ${this.promoted}: ${this.slots.get(slotKeyOf(this.variantFor('')))?.engine.describe() ?? ''}`;
    if (experiments.file === undefined) return this.firstSlot().engine.describe();
    const total = experiments.experiment.weights.reduce((sum, w) => sum + w.weight, 0);
    const split = experiments.experiment.weights.map((w) => `${w.variant} ${Math.round((100 * w.weight) / total)}%`).join(', ');
    return `experiment ${experiments.experiment.name} (${split}): ${this.firstSlot().engine.describe()}`;
  }

  countTokens(text: string): number {
    return this.firstSlot().engine.countTokens(text);
  }

  historyTokens(): number {
    return this.firstSlot().engine.historyTokens?.() ?? 0;
  }

  /** On the first loaded engine, as `countTokens`: a summary is not a variant's reply, nor recorded as one. */
  async summarize(text: string, options: { systemPrompt: string; maxTokens: number }): Promise<string> {
    const slot = this.firstSlot();
    slot.running++;
    try {
      return (await slot.engine.summarize?.(text, options)) ?? '';
    } finally {
      slot.running--;
      if (slot.retired && slot.running === 0) void this.disposeSlot(slot);
    }
  }

  /** Applies the promotion row now (the poll does it every second); resolves once applied. */
  checkPromotion(): Promise<void> {
    this.applying = this.applying.then(async () => {
      const promotion = this.options.store.promotion();
      if (promotion.version === this.promotionVersion) return;
      await this.apply(promotion.variant, promotion.version);
    });
    return this.applying.catch((error: unknown) => {
      this.options.log.error({ err: error instanceof Error ? error.message : String(error) }, 'promotion not applied; the current variants keep answering');
    });
  }

  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      clearInterval(this.poll);
      await this.applying.catch(() => undefined);
      for (const slot of this.slots.values()) await slot.engine.dispose();
      this.slots.clear();
      await Promise.all(this.unloading);
    })();
    return this.disposing;
  }

  /** Loads what the new routing needs, switches to it, then retires engines nothing routes to. */
  private async apply(variant: string | null, version: number): Promise<void> {
    const { experiments, log } = this.options;
    if (variant !== null && !experiments.variants.some((v) => v.name === variant)) {
      log.warn({ variant }, 'promoted variant is not in HEARTH_EXPERIMENTS; ignored');
      this.promotionVersion = version;
      return;
    }
    const needed = VariantEngine.variantsIn(experiments, variant);
    for (const v of needed) {
      const key = slotKeyOf(v);
      const existing = this.slots.get(key);
      if (existing) {
        // Still loaded (retired engines leave the map only when disposed): used again as is.
        existing.retired = false;
        continue;
      }
      const started = performance.now();
      // Loaded beside the running engines: nothing waits for it.
      const engine = await this.options.load(v, this.sequences);
      this.slots.set(key, { key, engine, running: 0, retired: false });
      log.info({ variant: v.name, model: engine.modelId, loadMs: Math.round(performance.now() - started) }, 'variant engine loaded');
    }
    // The switch itself: synchronous, so each message sees the old routing or the new one.
    this.promoted = variant;
    this.promotionVersion = version;
    const keep = new Set(needed.map(slotKeyOf));
    for (const slot of this.slots.values()) {
      if (keep.has(slot.key)) continue;
      slot.retired = true;
      if (slot.running === 0) void this.disposeSlot(slot);
    }
    log.info({ variant, version }, variant ? `variant ${variant} promoted: it answers everyone` : 'promotion cleared: the experiment split answers');
  }

  /** Disposes a retired engine (once: it leaves the map first). */
  private disposeSlot(slot: Slot): Promise<void> {
    if (this.slots.get(slot.key) !== slot) return Promise.resolve();
    this.slots.delete(slot.key);
    const unloading = slot.engine
      .dispose()
      .then(() => this.options.log.info({ model: slot.engine.modelId }, 'variant engine unloaded (no longer used)'))
      .catch((error: unknown) => this.options.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'variant engine did not unload cleanly'))
      .finally(() => this.unloading.delete(unloading));
    this.unloading.add(unloading);
    return unloading;
  }

  /** Drops a conversation's resident context in a variant's engine, if that engine is loaded. */
  private async forgetIn(variantName: string, conversationId: string): Promise<void> {
    const variant = this.options.experiments.variants.find((v) => v.name === variantName);
    const slot = variant && this.slots.get(slotKeyOf(variant));
    if (slot) await slot.engine.reset(conversationId);
  }

  private firstSlot(): Slot {
    const slot = this.slots.values().next().value;
    if (!slot) throw new Error('no engine loaded');
    return slot;
  }
}

/** `{ [key]: value }` when the value is defined, else `{}` (exactOptionalPropertyTypes). */
function pick<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}
