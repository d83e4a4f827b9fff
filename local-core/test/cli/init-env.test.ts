import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatEnvValue, generateWebhookSecret, mergeEnvText, readEnvText, writePrivateFile } from '../../src/cli/init-env.js';
import { tempDir } from '../support.js';

describe('formatEnvValue', () => {
  it.each([
    'plain',
    '{"keys":[{"kty":"EC","x":"a-b_c"}]}',
    'with # hash',
    "it's",
    '"quoted"',
    ' leading space',
    'back\\slash',
    '123456:ABC-def_ghi',
  ])('writes %j so that parseEnv reads it back unchanged', (value) => {
    expect(parseEnv(`NAME=${formatEnvValue(value)}\nNEXT=1`)).toEqual({ NAME: value, NEXT: '1' });
  });

  it('leaves JSON and tokens bare, as .dev.vars.example does', () => {
    expect(formatEnvValue('{"keys":[]}')).toBe('{"keys":[]}');
    expect(formatEnvValue('a#b')).toBe("'a#b'");
  });

  it('refuses what a dotenv line cannot hold', () => {
    expect(() => formatEnvValue('two\nlines')).toThrow(/one line/);
    expect(() => formatEnvValue(`'#"`)).toThrow(/by hand/);
  });
});

describe('mergeEnvText', () => {
  const existing = ['# my settings', 'KEEP_ME=1', 'export SECRET=old', 'EMPTY=', '# TOKEN=commented out', ''].join('\n');

  it('keeps what is set, fills what is not, and leaves every other line alone', () => {
    const merged = mergeEnvText(
      existing,
      [
        { name: 'SECRET', value: 'generated', replace: false },
        { name: 'EMPTY', value: 'filled', replace: false },
        { name: 'NEW', value: 'x y', replace: false },
      ],
      'by the test',
    );
    expect(merged.kept).toEqual(['SECRET']);
    expect(merged.written).toEqual(['EMPTY', 'NEW']);
    expect(merged.missing).toEqual([]);
    expect(merged.text).toBe(
      ['# my settings', 'KEEP_ME=1', 'export SECRET=old', 'EMPTY=filled', '# TOKEN=commented out', '', '# by the test', 'NEW=x y', ''].join('\n'),
    );
    expect(parseEnv(merged.text)).toEqual({ KEEP_ME: '1', SECRET: 'old', EMPTY: 'filled', NEW: 'x y' });
  });

  it('replaces in place when asked, but an empty value never erases one', () => {
    const merged = mergeEnvText(
      existing,
      [
        { name: 'SECRET', value: 'new', replace: true },
        { name: 'KEEP_ME', value: '', replace: true },
      ],
      'c',
    );
    expect(merged.written).toEqual(['SECRET']);
    expect(merged.kept).toEqual(['KEEP_ME']);
    expect(merged.text.split('\n').slice(0, 3)).toEqual(['# my settings', 'KEEP_ME=1', 'SECRET=new']);
    expect(merged.text).not.toContain('# c');
  });

  it('writes an empty placeholder to fill in, once, and reports it missing', () => {
    const first = mergeEnvText('', [{ name: 'TOKEN', value: '', replace: true }], 'c');
    expect(first).toMatchObject({ written: ['TOKEN'], kept: [], missing: ['TOKEN'] });
    expect(first.text).toBe('# c\nTOKEN=\n');
    const again = mergeEnvText(first.text, [{ name: 'TOKEN', value: '', replace: true }], 'c');
    expect(again).toMatchObject({ text: first.text, written: [], kept: ['TOKEN'], missing: ['TOKEN'] });
  });

  it('changes the last of repeated assignments, the one readers keep', () => {
    const merged = mergeEnvText('A=1\nA=2\n', [{ name: 'A', value: '3', replace: true }], 'c');
    expect(merged.text).toBe('A=1\nA=3\n');
  });

  it('reports an identical value as kept, not written', () => {
    expect(mergeEnvText('A=1\n', [{ name: 'A', value: '1', replace: true }], 'c')).toMatchObject({ written: [], kept: ['A'], text: 'A=1\n' });
  });
});

describe('settings files on disk', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it('writes owner-only files, also over a file that was world-readable, and reads a missing one as empty', async () => {
    const path = join(dir, 'nested', '.dev.vars');
    expect(await readEnvText(path)).toBe('');
    await writePrivateFile(path, 'A=1\n');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const loose = join(dir, '.env');
    await writeFile(loose, 'B=2\n', { mode: 0o644 });
    await writePrivateFile(loose, 'B=3\n');
    expect((await stat(loose)).mode & 0o777).toBe(0o600);
    expect(await readEnvText(loose)).toBe('B=3\n');
  });

  it('generates webhook secrets Telegram accepts, different every time', () => {
    const a = generateWebhookSecret();
    expect(a).toMatch(/^[A-Za-z0-9_-]{16,256}$/);
    expect(generateWebhookSecret()).not.toBe(a);
  });
});
