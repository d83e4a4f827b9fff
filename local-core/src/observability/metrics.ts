import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PROMPT_PARTS, type PromptParts, totalOf } from '../inference/prompt-accounting.js';

/** What the metrics read from the running core when scraped (they keep no copy of it). */
export interface MetricSources {
  queue: () => Promise<{ waiting: number; active: number; running: number }>;
  tiers: () => { l1: { hits: number; misses: number }; l2: { hits: number; misses: number } | null; l3: { hits: number; misses: number } };
  tunnelReady: () => boolean;
  sequences: () => number;
}

/**
 * The core's Prometheus metrics (prom-client), served at `/metrics` on the admin port. Events
 * are counted as they happen (deliveries, acks, tokens); states are read at scrape time
 * (queue depth, cache hits per tier, tunnel).
 */
export class CoreMetrics {
  readonly registry = new Registry();
  private readonly deliveries: Counter;
  private readonly redeliveries: Counter;
  private readonly acks: Counter<'outcome'>;
  private readonly replySeconds: Histogram;
  private readonly tokens: Counter;
  private readonly generationSeconds: Counter;
  private readonly promptTokens: Counter<'part'>;
  private readonly promptSize: Histogram;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'hearth_core_' });
    this.deliveries = new Counter({ name: 'hearth_deliveries_total', help: 'Deliveries received from the Relay (first attempts)', registers });
    this.redeliveries = new Counter({ name: 'hearth_redeliveries_total', help: 'Deliveries received again (attempt > 1)', registers });
    this.acks = new Counter({ name: 'hearth_acks_total', help: 'Deliveries acked, by outcome', labelNames: ['outcome'], registers });
    this.replySeconds = new Histogram({
      name: 'hearth_reply_seconds',
      help: 'Delivery received to reply acked',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers,
    });
    this.tokens = new Counter({ name: 'hearth_generated_tokens_total', help: 'Tokens the model generated', registers });
    this.generationSeconds = new Counter({
      name: 'hearth_generation_seconds_total',
      help: 'Time spent generating; tokens/s = rate(hearth_generated_tokens_total) / rate(hearth_generation_seconds_total)',
      registers,
    });
    this.promptTokens = new Counter({ name: 'hearth_prompt_tokens_total', help: 'Tokens of conversation prompts, by part (system, tools, summary, recall, history, message)', labelNames: ['part'], registers });
    this.promptSize = new Histogram({ name: 'hearth_prompt_tokens', help: 'Tokens of a conversation turn\'s whole prompt', buckets: [64, 256, 512, 1_024, 2_048, 4_096, 8_192, 16_384, 32_768], registers });
    new Gauge({
      name: 'hearth_queue_jobs',
      help: 'Jobs in the delivery queue (BullMQ: the queue shared by every core on its Redis)',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await sources.queue();
        this.set({ state: 'waiting' }, counts.waiting);
        this.set({ state: 'active' }, counts.active);
      },
    });
    new Gauge({
      name: 'hearth_active_sequences',
      help: 'Conversations this core is generating for now',
      registers,
      async collect() {
        this.set((await sources.queue()).running);
      },
    });
    new Gauge({ name: 'hearth_sequences', help: 'Conversations this core can generate for at once', registers, collect() { this.set(sources.sequences()); } });
    new Gauge({ name: 'hearth_tunnel_connected', help: '1 while the tunnel to the edge is up', registers, collect() { this.set(sources.tunnelReady() ? 1 : 0); } });
    // Cumulative counts kept by the memory tiers, exposed as counters set at scrape time.
    const lookups = (name: string, help: string, pick: (t: { hits: number; misses: number }) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['tier'],
        registers,
        collect() {
          this.reset();
          const tiers = sources.tiers();
          for (const [tier, stats] of Object.entries(tiers)) if (stats) this.inc({ tier }, pick(stats));
        },
      });
    lookups('hearth_cache_hits_total', 'Memory lookups answered by each tier', (t) => t.hits);
    lookups('hearth_cache_misses_total', 'Memory lookups each tier could not answer', (t) => t.misses);
  }

  delivered(attempt: number): void {
    (attempt > 1 ? this.redeliveries : this.deliveries).inc();
  }

  acked(outcome: 'replied' | 'dropped', seconds: number): void {
    this.acks.inc({ outcome });
    if (outcome === 'replied') this.replySeconds.observe(seconds);
  }

  generated(tokens: number, seconds: number): void {
    this.tokens.inc(tokens);
    this.generationSeconds.inc(seconds);
  }

  prompted(parts: PromptParts): void {
    for (const part of PROMPT_PARTS) this.promptTokens.inc({ part }, parts[part]);
    this.promptSize.observe(totalOf(parts));
  }
}
