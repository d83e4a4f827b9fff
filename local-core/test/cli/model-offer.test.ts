import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { modelOrOffer, type ModelOffer } from '../../src/cli/model-offer.js';
import { loadCoreConfig } from '../../src/config.js';
import { ModelNotFoundError } from '../../src/errors.js';
import { pullModel } from '../../src/inference/model-pull.js';
import { DEFAULT_MODEL } from '../../src/inference/model-uri.js';
import { TEST_MODEL, tempDir } from '../support.js';
import { modelHost, type ModelHost } from '../model-host.js';

let dir: string;
let cleanup: () => Promise<void>;
let host: ModelHost;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  host = await modelHost(await readFile(TEST_MODEL));
});
afterEach(async () => {
  await host.close();
  await cleanup();
});

/** A terminal that answers `answer`, recording the questions; pulls for real from the loopback host. */
function terminal(answer: boolean, interactive = true): ModelOffer & { questions: string[] } {
  const questions: string[] = [];
  return {
    interactive,
    questions,
    ask: async (question) => {
      questions.push(question);
      return answer;
    },
    pull: (uri, directory) => pullModel(uri, directory, { progress: false }),
  };
}

const configIn = (dir: string, env: Record<string, string> = {}) =>
  loadCoreConfig({ HEARTH_MODELS_DIR: join(dir, 'models'), HEARTH_DEFAULT_MODEL: host.url, ...env });

describe('npm start without a model', () => {
  it('offers the default model at a terminal and, on yes, downloads it into the models folder and runs it', async () => {
    const answers = terminal(true);
    const path = await modelOrOffer(configIn(dir), answers);
    expect(path).toBe(join(dir, 'models', 'stories260K.gguf'));
    expect((await readFile(path)).equals(await readFile(TEST_MODEL))).toBe(true);
    expect(answers.questions).toHaveLength(1);
    expect(answers.questions[0]).toContain(host.url);
    expect(answers.questions[0]).toContain(join(dir, 'models'));
  });

  it('without a terminal, or after a no, stops with the command that fetches it, downloading nothing', async () => {
    for (const answers of [terminal(true, false), terminal(false)]) {
      const failure = modelOrOffer(configIn(dir), answers);
      await expect(failure).rejects.toBeInstanceOf(ModelNotFoundError);
      await expect(failure).rejects.toThrow(/npx hearth models pull/);
    }
    expect(host.requests.filter((r) => r.startsWith('GET'))).toEqual([]);
  });

  it('asks nothing when a model is there, or when HEARTH_MODEL names one that is missing', async () => {
    await mkdir(join(dir, 'models'));
    await copyFile(TEST_MODEL, join(dir, 'models', 'mine.gguf'));
    const answers = terminal(true);
    expect(await modelOrOffer(configIn(dir), answers)).toBe(join(dir, 'models', 'mine.gguf'));
    await expect(modelOrOffer(configIn(dir, { HEARTH_MODEL: join(dir, 'nowhere.gguf') }), answers)).rejects.toThrow(/HEARTH_MODEL points at/);
    expect(answers.questions).toEqual([]);
  });

  it('has a documented default that is a model reference', () => {
    expect(loadCoreConfig({}).defaultModel).toBe(DEFAULT_MODEL);
    expect(() => loadCoreConfig({ HEARTH_DEFAULT_MODEL: 'models/x.gguf' })).toThrow(/HEARTH_DEFAULT_MODEL/);
  });
});
