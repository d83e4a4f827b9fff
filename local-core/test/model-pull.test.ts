import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelNotFoundError } from '../src/errors.js';
import { resolveModelPath } from '../src/inference/model-path.js';
import { pullModel } from '../src/inference/model-pull.js';
import { isModelUri } from '../src/inference/model-uri.js';
import { type ModelHost, modelHost } from './model-host.js';
import { TEST_MODEL, tempDir } from './support.js';

let dir: string;
let cleanup: () => Promise<void>;
let host: ModelHost | undefined;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => {
  await host?.close();
  host = undefined;
  await cleanup();
});

describe('pulling a model', () => {
  it('tells model URIs from paths', () => {
    expect(isModelUri('hf:ggml-org/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M')).toBe(true);
    expect(isModelUri('https://example.com/m.gguf')).toBe(true);
    expect(isModelUri('models/m.gguf')).toBe(false);
    expect(isModelUri('/srv/hf:odd.gguf')).toBe(false);
  });

  it('downloads into the models folder, byte for byte, and reuses the file after', async () => {
    const model = await readFile(TEST_MODEL);
    const served = await modelHost(model);
    host = served;
    const path = await pullModel(served.url, join(dir, 'models'), { progress: false });
    expect(path).toBe(join(dir, 'models', 'stories260K.gguf'));
    expect((await readFile(path)).equals(model)).toBe(true);
    // HEARTH_MODEL may be the URI itself: the file now there is used, not downloaded again.
    const downloads = () => served.requests.filter((r) => r.startsWith('GET')).length;
    const before = downloads();
    expect(await resolveModelPath(served.url, [join(dir, 'models')])).toBe(path);
    expect(downloads()).toBeLessThanOrEqual(before + 1);
  });

  it('fails offline with a message that says so and what to do', async () => {
    // A port nothing listens on: the same refusal as a machine without network.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const failure = pullModel(`http://127.0.0.1:${port}/m.gguf`, join(dir, 'models'), { progress: false });
    await expect(failure).rejects.toBeInstanceOf(ModelNotFoundError);
    await expect(failure).rejects.toThrow(/network is unreachable.*hearth models pull/);
  });
});
