import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { ConfigError } from '../errors.js';

export interface AskOptions {
  /** Shown in brackets, and the answer when the line is left empty. */
  default?: string;
  /** Typed without echo on a terminal (tokens, app secrets). */
  secret?: boolean;
  /** Shown in brackets instead of the default (for a secret already set, which is never shown). */
  hint?: string;
}

/** Questions on a terminal, or on piped lines (scripts, tests). */
export interface Prompter {
  /** The answer, trimmed; the default for an empty line or once the input has ended. */
  ask(question: string, options?: AskOptions): Promise<string>;
  /**
   * Asks until `parse` accepts the answer (it returns an error message to ask again).
   *
   * @throws ConfigError after five refused answers, or when the input ends on a refused one
   */
  askValid<T>(question: string, options: AskOptions, parse: (answer: string) => T | { error: string }): Promise<T>;
  close(): void;
}

const isRefusal = (value: unknown): value is { error: string } =>
  typeof value === 'object' && value !== null && 'error' in value && typeof value.error === 'string';

/**
 * A {@link Prompter} on `input`, writing questions to `output` (stderr by default, so stdout
 * keeps only the command's result, e.g. its JSON). Lines are read through one async iterator
 * started at once: piped answers that arrive together are queued, not dropped between questions.
 */
export function createPrompter(
  input: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Prompter {
  const terminal = Boolean(input.isTTY);
  let muted = false;
  // readline echoes keystrokes through its output: muting that stream hides a secret being typed.
  const echo = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      if (!muted) output.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input, output: echo, terminal });
  // After the input ends, readline is closed but its iterator still yields the lines it queued.
  let closed = false;
  let exhausted = false;
  rl.once('close', () => {
    closed = true;
  });
  const lines = rl[Symbol.asyncIterator]();

  const ask = async (question: string, options: AskOptions = {}): Promise<string> => {
    const shown = options.hint ?? options.default;
    const prompt = `${question}${shown ? ` [${shown}]` : ''}: `;
    if (closed) output.write(prompt);
    else {
      rl.setPrompt(prompt);
      rl.prompt();
    }
    muted = terminal && options.secret === true;
    const next = exhausted ? undefined : await lines.next();
    muted = false;
    if (!next || next.done) exhausted = true;
    // Keep the transcript readable where the answer was not echoed (hidden, or piped in).
    if (!terminal || options.secret) output.write('\n');
    const answer = next && !next.done ? next.value.trim() : '';
    return answer === '' ? (options.default ?? '') : answer;
  };

  return {
    ask,
    async askValid(question, options, parse) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const parsed = parse(await ask(question, options));
        if (!isRefusal(parsed)) return parsed;
        if (exhausted) throw new ConfigError(`${question}: ${parsed.error}`);
        output.write(`  ${parsed.error}\n`);
      }
      throw new ConfigError(`${question}: no valid answer after five tries`);
    },
    close: () => rl.close(),
  };
}
