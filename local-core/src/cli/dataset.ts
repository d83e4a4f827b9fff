import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { exportDataset } from '../learning/dataset-export.js';
import { parseSince, withLearningStore } from './learning-db.js';
import { runCommand } from './run.js';

interface ExportFlags {
  since?: number;
  until?: number;
  format: 'jsonl';
  shape: 'messages' | 'kto';
  out?: string;
  all: boolean;
  context: number;
}

const turns = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 200) throw new InvalidArgumentError('a whole number from 0 to 200');
  return n;
};

/** `hearth dataset export`: the rated replies as a redacted, pseudonymized JSONL training set. */
export function registerDatasetCommand(program: Command): void {
  program
    .command('dataset')
    .description('training data from your conversations, for external fine-tuning')
    .command('export')
    .description(
      'write the rated model replies as JSONL in the chat fine-tuning format (messages, label true for 👍, false for 👎): redacted, users as stable pseudonyms, no platform ids',
    )
    .option('--since <when>', 'replies since: 7d, 24h, 30m, or a date (2026-11-01)', (v) => parseSince(v))
    .option('--until <when>', 'replies before: the same forms', (v) => parseSince(v))
    .addOption(new Option('--format <format>', 'the file format').choices(['jsonl']).default('jsonl'))
    .addOption(new Option('--shape <shape>', 'messages (OpenAI-style chat) or kto (TRL prompt/completion/label)').choices(['messages', 'kto']).default('messages'))
    .option('--context <turns>', 'earlier turns given with each reply', turns, 12)
    .option('--all', 'also replies nobody rated (label null)', false)
    .option('--out <file>', 'write here instead of to stdout')
    .action((flags: ExportFlags) =>
      runCommand(async () => {
        const out: Writable = flags.out ? createWriteStream(flags.out, { mode: 0o600 }) : process.stdout;
        const written = await withLearningStore(async (store) => {
          let lines = 0;
          for (const line of exportDataset(store, {
            ...(flags.since !== undefined ? { since: flags.since } : {}),
            ...(flags.until !== undefined ? { until: flags.until } : {}),
            contextTurns: flags.context,
            includeUnrated: flags.all,
            shape: flags.shape,
          })) {
            if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
            lines++;
          }
          return lines;
        });
        if (flags.out) {
          out.end();
          await once(out, 'finish');
        }
        process.stderr.write(`exported ${written} example${written === 1 ? '' : 's'}${flags.out ? ` to ${flags.out}` : ''}\n`);
      }),
    );
}
