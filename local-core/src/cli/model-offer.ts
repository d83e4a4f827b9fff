import { createInterface } from 'node:readline/promises';
import { resolve } from 'node:path';
import { ModelNotFoundError } from '../errors.js';
import { resolveModelPath } from '../inference/model-path.js';
import { pullModel } from '../inference/model-pull.js';
import { DEFAULT_MODEL_SIZE } from '../inference/model-uri.js';

export interface ModelOffer {
  /** Whether someone can answer a question (a terminal on both ends). */
  interactive: boolean;
  /** Asks a yes/no question; true for yes. */
  ask: (question: string) => Promise<boolean>;
  /** Downloads `uri` into `directory`, returning the file's path. */
  pull: (uri: string, directory: string) => Promise<string>;
}

/** A terminal question: Enter or y is yes. */
async function askYesNo(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^(y(es)?)?$/i.test((await prompt.question(`${question} [Y/n] `)).trim());
  } finally {
    prompt.close();
  }
}

export const terminalOffer = (): ModelOffer => ({
  interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
  ask: askYesNo,
  pull: (uri, directory) => pullModel(uri, directory, { progress: true }),
});

/**
 * The model `npm start` runs: the one found as the core finds it; when there is none and none
 * was named, the default chat model, downloaded after the owner says yes at a terminal. Without
 * a terminal (or after a no) the start stops with the message that names the command fetching it.
 *
 * @throws ModelNotFoundError
 */
export async function modelOrOffer(
  config: { modelPath: string | undefined; modelsDirs: readonly string[]; defaultModel: string },
  offer: ModelOffer,
): Promise<string> {
  try {
    return await resolveModelPath(config.modelPath, config.modelsDirs);
  } catch (error) {
    if (!(error instanceof ModelNotFoundError) || config.modelPath) throw error;
    const directory = config.modelsDirs[0] ?? 'models';
    const question = `No chat model found. Download the default one (${config.defaultModel}, ${DEFAULT_MODEL_SIZE}) into ${resolve(directory)}?`;
    if (offer.interactive && (await offer.ask(question))) return offer.pull(config.defaultModel, directory);
    // Its message names the one command that fetches the default model.
    throw error;
  }
}
