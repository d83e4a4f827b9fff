import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { loadRecallConfig } from '../../src/recall/config.js';
import { createEmbedder } from '../../src/recall/create-embedder.js';
import { tempDir } from '../support.js';
import { HIDDEN, writeTinyBert } from './tiny-bert.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe('recall configuration', () => {
  it('defaults to on, the built-in embedder and one thread; empty values count as unset', () => {
    const defaults = { enabled: true, modelPath: undefined, tokenizerPath: undefined, threads: 1, keywordWeight: 0.3 };
    expect(loadRecallConfig({})).toEqual(defaults);
    expect(loadRecallConfig({ HEARTH_RECALL: '', HEARTH_EMBED_MODEL: '', HEARTH_EMBED_THREADS: '' })).toEqual(defaults);
    expect(loadRecallConfig({ HEARTH_RECALL: 'off', HEARTH_EMBED_THREADS: '4' })).toMatchObject({ enabled: false, threads: 4 });
    expect(loadRecallConfig({ HEARTH_RECALL_KEYWORD_WEIGHT: '0' })).toMatchObject({ keywordWeight: 0 });
    expect(() => loadRecallConfig({ HEARTH_RECALL_KEYWORD_WEIGHT: '1.5' })).toThrow(/HEARTH_RECALL_KEYWORD_WEIGHT must be from 0 \(vectors only\) to 1/);
  });

  it('names the variable and the fix for a bad value', () => {
    expect(() => loadRecallConfig({ HEARTH_RECALL: 'maybe' })).toThrow(ConfigError);
    expect(() => loadRecallConfig({ HEARTH_RECALL: 'maybe' })).toThrow('HEARTH_RECALL must be on (default) or off');
    expect(() => loadRecallConfig({ HEARTH_EMBED_THREADS: '0' })).toThrow('HEARTH_EMBED_THREADS must be at least 1');
    expect(() => loadRecallConfig({ HEARTH_EMBED_TOKENIZER: '/x/tokenizer.json' })).toThrow(/HEARTH_EMBED_TOKENIZER is set but HEARTH_EMBED_MODEL is not/);
  });

  it("finds the model's tokenizer.json beside it, and asks for HEARTH_EMBED_TOKENIZER when there is none", async () => {
    const { modelPath, tokenizerPath } = await writeTinyBert(dir);
    expect(loadRecallConfig({ HEARTH_EMBED_MODEL: modelPath })).toMatchObject({ modelPath, tokenizerPath });
    const elsewhere = join(dir, 'elsewhere', 'model.onnx');
    expect(() => loadRecallConfig({ HEARTH_EMBED_MODEL: elsewhere })).toThrow(/HEARTH_EMBED_TOKENIZER is not set and there is no .*elsewhere\/tokenizer\.json/);
    expect(loadRecallConfig({ HEARTH_EMBED_MODEL: elsewhere, HEARTH_EMBED_TOKENIZER: tokenizerPath }).tokenizerPath).toBe(tokenizerPath);
  });

  it('builds the embedder the configuration names', async () => {
    const builtIn = await createEmbedder(loadRecallConfig({}));
    expect(builtIn.name).toMatch(/^hearth-hash-v1\//);
    await builtIn.dispose();
    const { modelPath } = await writeTinyBert(dir);
    const model = await createEmbedder(loadRecallConfig({ HEARTH_EMBED_MODEL: modelPath }));
    expect(model.name).toMatch(/^onnx\/model\.onnx@/);
    expect(model.dimensions).toBe(HIDDEN);
    await model.dispose();
    const missing = loadRecallConfig({ HEARTH_EMBED_MODEL: join(dir, 'gone.onnx'), HEARTH_EMBED_TOKENIZER: join(dir, 'tokenizer.json') });
    await expect(createEmbedder(missing)).rejects.toThrow(/^HEARTH_EMBED_MODEL: cannot read .*gone\.onnx/);
  });
});
