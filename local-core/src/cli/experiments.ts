import type { Command } from 'commander';
import { formatReport, experimentReport } from '../learning/report.js';
import { loadExperiments, variantNamed } from '../learning/variants.js';
import { parseSince, withLearningStore } from './learning-db.js';
import { runCommand } from './run.js';

/**
 * `hearth experiments report|promote` and `hearth feedback list`: what the variants did, making
 * one the default for everyone (the running core notices within a second or two), the ratings.
 */
export function registerExperimentsCommands(program: Command): void {
  const experiments = program.command('experiments').description('variants of the assistant (HEARTH_EXPERIMENTS): how each does, and promoting one');
  experiments
    .command('report')
    .description('per variant: replies, feedback rate, 👍 share with a 95% confidence interval (Wilson), latency p50/p95, tokens/s; plots on the admin port at /experiments')
    .option('--since <when>', 'replies since: 7d, 24h, 30m, or a date (2026-11-01)', (v) => parseSince(v))
    .option('--json', 'print JSON for programs', false)
    .action((flags: { since?: number; json: boolean }) =>
      runCommand(async () => {
        const config = loadExperiments(process.env.HEARTH_EXPERIMENTS);
        const report = await withLearningStore((store) =>
          experimentReport(store, { ...(flags.since !== undefined ? { since: flags.since } : {}), variants: config.variants.map((v) => v.name) }),
        );
        process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      }),
    );
  experiments
    .command('promote [variant]')
    .description('make VARIANT the default for everyone, without a restart (running replies finish on the variant they started on); --clear goes back to the split')
    .option('--clear', 'no promoted variant: users are split by the experiment’s weights again', false)
    .option('--json', 'print JSON for programs', false)
    .action((variant: string | undefined, flags: { clear: boolean; json: boolean }) =>
      runCommand(async () => {
        if ((variant === undefined) === !flags.clear) program.error('hearth: give a VARIANT to promote, or --clear');
        const config = loadExperiments(process.env.HEARTH_EXPERIMENTS);
        const name = variant === undefined ? null : variantNamed(config, variant).name;
        const promotion = await withLearningStore((store) => store.promote(name));
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(promotion)}\n`
            : name
              ? `variant ${name} promoted: a running core switches within 2 seconds\n`
              : 'promotion cleared: users are split by the experiment’s weights again\n',
        );
      }),
    );

  program
    .command('feedback')
    .description('the 👍/👎 users gave replies')
    .command('list')
    .description('ratings, oldest first: the reply rated, its variant, who rated (platform id: this is home data), when')
    .option('--since <when>', 'ratings since: 7d, 24h, 30m, or a date', (v) => parseSince(v))
    .option('--json', 'print JSON for programs', false)
    .action((flags: { since?: number; json: boolean }) =>
      runCommand(async () => {
        const ratings = await withLearningStore((store) => store.feedback(flags.since ?? 0));
        if (flags.json) {
          const rows = ratings.map((r) => ({ reply: r.replyKey, variant: r.variant, user: r.userId, rating: r.rating, created_at: r.createdAt }));
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        if (ratings.length === 0) return void process.stdout.write('no feedback yet\n');
        for (const r of ratings) {
          process.stdout.write(`${new Date(r.createdAt).toISOString()}  ${r.rating === 'up' ? '👍' : '👎'}  ${r.variant ?? '?'}  ${r.userId}  ${r.replyKey}\n`);
        }
      }),
    );
}
