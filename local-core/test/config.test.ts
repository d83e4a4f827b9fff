import { describe, expect, it } from 'vitest';
import { loadCoreConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

describe('loadCoreConfig', () => {
  it('runs on defaults alone', () => {
    const config = loadCoreConfig({});
    expect(config).toMatchObject({
      edgeUrl: 'http://127.0.0.1:8787',
      keyFile: '.hearth/core-key.json',
      engine: 'llama',
      modelPath: undefined,
      modelsDirs: ['models'],
      // Picked by the engine from free memory.
      sequences: undefined,
      generationTimeoutMs: 60_000,
    });
    expect(config.threads).toBeGreaterThanOrEqual(1);
  });

  it('reads every variable, treating empty as unset', () => {
    const config = loadCoreConfig({
      HEARTH_EDGE_URL: 'https://edge.example.com/',
      HEARTH_CORE_ID: 'attic',
      HEARTH_MODEL: '/models/qwen.gguf',
      HEARTH_MODELS_DIR: 'models:/srv/models',
      HEARTH_THREADS: '3',
      HEARTH_SEQUENCES: '8',
      HEARTH_GENERATION_TIMEOUT_MS: '5000',
      HEARTH_ENGINE: 'echo',
      HEARTH_SYSTEM_PROMPT: '',
    });
    expect(config).toMatchObject({
      edgeUrl: 'https://edge.example.com',
      coreId: 'attic',
      modelPath: '/models/qwen.gguf',
      modelsDirs: ['models', '/srv/models'],
      threads: 3,
      sequences: 8,
      generationTimeoutMs: 5_000,
      engine: 'echo',
    });
    expect(config.systemPrompt).toContain('Hearth');
  });

  it('names each bad variable in one error', () => {
    const error = (() => {
      try {
        loadCoreConfig({ HEARTH_EDGE_URL: 'not a url', HEARTH_SEQUENCES: '0', HEARTH_ENGINE: 'gpt' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('HEARTH_EDGE_URL');
    expect(message).toContain('HEARTH_SEQUENCES must be at least 1');
    expect(message).toContain('HEARTH_ENGINE');
  });

  it('refuses a plain-text edge URL off this machine unless the owner allows it', () => {
    expect(() => loadCoreConfig({ HEARTH_EDGE_URL: 'http://edge.example.com:8787' })).toThrow(/plain text off this machine/);
    expect(() => loadCoreConfig({ HEARTH_EDGE_URL: 'edge.example.com' })).toThrow(ConfigError);
    expect(() => loadCoreConfig({ HEARTH_EDGE_URL: 'ws://192.168.1.20:8787' })).toThrow(/HEARTH_ALLOW_INSECURE_EDGE=on/);
    expect(loadCoreConfig({ HEARTH_EDGE_URL: 'http://edge.example.com:8787', HEARTH_ALLOW_INSECURE_EDGE: 'on' }).edgeUrl).toBe('http://edge.example.com:8787');
    for (const local of ['http://127.0.0.1:8787', 'http://localhost:8787', 'http://[::1]:8787', 'https://edge.example.com']) {
      expect(loadCoreConfig({ HEARTH_EDGE_URL: local }).edgeUrl).toBe(local);
    }
  });
});
