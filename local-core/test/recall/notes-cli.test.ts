import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, runHearth, tempDir } from '../support.js';
import { NOTES_MD } from './fixtures.js';

const BUILT = resolve(import.meta.dirname, '../../dist/cli/notes.js');

let dir: string;
let cleanup: () => Promise<void>;

function hearth(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runHearth(args, { cwd: dir, env: { HEARTH_DATA_DIR: join(dir, 'data'), ...env } });
}

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build first (cd local-core && npx tsc -b)`);
  ({ dir, cleanup } = await tempDir());
  await writeFile(join(dir, 'notes.md'), NOTES_MD);
});
afterAll(() => cleanup());

describe('hearth notes (the real CLI, spawned)', { timeout: 120_000 }, () => {
  it('adds a notes file for everyone and for one user, into HEARTH_DATA_DIR/core.db', async () => {
    const shared = await hearth(['notes', 'add', 'notes.md']);
    expect(shared.stderr).toBe('');
    expect(shared.code).toBe(0);
    expect(shared.stdout).toBe(`added ${join(dir, 'notes.md')} for everyone: 5 chunks (5 new, 0 changed, 0 unchanged)\n`);
    expect(existsSync(join(dir, 'data', 'core.db'))).toBe(true);

    const own = await hearth(['notes', 'add', join(dir, 'notes.md'), '--owner', 'telegram:42', '--json']);
    expect(own.code).toBe(0);
    expect(JSON.parse(own.stdout)).toMatchObject({ owner: 'telegram:42', chunks: 5, added: 5 });

    const again = await hearth(['notes', 'add', 'notes.md', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ owner: '*', chunks: 5, added: 0, unchanged: 5 });
  });

  it('lists the note files with their owners', async () => {
    const list = await hearth(['notes', 'list', '--json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ owner: '*', file: join(dir, 'notes.md'), chunks: 5 }),
      expect.objectContaining({ owner: 'telegram:42', file: join(dir, 'notes.md'), chunks: 5 }),
    ]);
    const text = await hearth(['notes', 'list']);
    expect(text.stdout).toMatch(/notes\.md {2}5 chunks, \d+ chars {2}for everyone {2}added \d{4}-/);
  });

  it('searches: the dentist note comes first for a dentist question, within the owner scope', async () => {
    const query = 'my dentist appointment on Tuesday';
    const json = await hearth(['notes', 'search', query, '--json']);
    expect(json.code).toBe(0);
    const hits = JSON.parse(json.stdout) as { owner: string; ref: string; text: string; score: number }[];
    expect(hits[0]).toMatchObject({ owner: '*', ref: `${join(dir, 'notes.md')}#0` });
    expect(hits[0]!.text).toContain('Dr. Lee on Tuesday');
    // As telegram:42, its own copy and the shared one; as someone else, only the shared one.
    const asOwner = JSON.parse((await hearth(['notes', 'search', query, '--owner', 'telegram:42', '--json'])).stdout) as { owner: string }[];
    expect(asOwner.map((h) => h.owner).sort()).toEqual(['*', 'telegram:42']);
    const asOther = JSON.parse((await hearth(['notes', 'search', query, '--owner', 'telegram:7', '--json'])).stdout) as { owner: string }[];
    expect(asOther.map((h) => h.owner)).toEqual(['*']);

    const text = await hearth(['notes', 'search', query]);
    expect(text.stdout).toMatch(/^0\.\d{3} {2}note .*notes\.md#0 {2}\(vector 0\.\d{3}, keyword [01]\.\d{3}\)\n {7}.*Dr\. Lee on Tuesday/);
    expect((await hearth(['notes', 'search', 'quantum chromodynamics'])).stdout).toBe('nothing relevant found\n');
  });

  it('fails with a message to act on: missing file, bad model setting, bad option', async () => {
    const missing = await hearth(['notes', 'add', 'nope.md']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`hearth: no note file at ${join(dir, 'nope.md')}: check the path\n`);

    const model = await hearth(['notes', 'search', 'x'], { HEARTH_EMBED_MODEL: join(dir, 'absent.onnx'), HEARTH_EMBED_TOKENIZER: join(dir, 'tok.json') });
    expect(model.code).toBe(1);
    expect(model.stderr).toMatch(/^hearth: HEARTH_EMBED_MODEL: cannot read .*absent\.onnx/);

    const limit = await hearth(['notes', 'search', 'x', '--limit', 'lots']);
    expect(limit.code).not.toBe(0);
    expect(limit.stderr).toMatch(/--limit.*a whole number from 1 to 100/);
  });
});
