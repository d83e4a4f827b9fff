import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, runHearth, tempDir } from '../support.js';

const BUILT = resolve(import.meta.dirname, '../../dist/cli/memory.js');

let dir: string;
let cleanup: () => Promise<void>;
const hearth = (args: string[], env: Record<string, string> = {}): Promise<CliRun> => runHearth(args, { cwd: dir, env: { HEARTH_DATA_DIR: join(dir, 'data'), ...env } });
const memoryFile = () => join(dir, 'data', 'MEMORY.md');
const listed = async (scope?: string) => JSON.parse((await hearth(['memory', 'list', '--json', ...(scope ? ['--scope', scope] : [])])).stdout) as { id: number; scope: string; text: string; source: string }[];

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build first (npx tsc -b local-core)`);
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup?.());

describe('hearth memory (the real CLI, spawned)', { timeout: 60_000 }, () => {
  it('add keeps a fact for a sender, in core.db and in MEMORY.md; list shows it with its id', async () => {
    expect(await hearth(['memory', 'add', '--scope', 'telegram:42', 'I', 'am', 'vegetarian'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^remembered #\d+ for telegram:42\n$/) });
    expect(await hearth(['memory', 'add', '--scope', 'telegram:42', 'I am vegetarian'])).toMatchObject({ code: 0, stdout: expect.stringContaining('already remembered') });
    await hearth(['memory', 'add', '--scope', 'api:ada', 'My email is ada@example.com']);
    expect(readFileSync(memoryFile(), 'utf8')).toContain('## api:ada\n- My email is ada@example.com\n\n## telegram:42\n- I am vegetarian\n');
    expect(statSync(memoryFile()).mode & 0o777).toBe(0o600);
    const list = await hearth(['memory', 'list']);
    expect(list.stdout).toMatch(/#\d+ {2}telegram:42 {2}I am vegetarian {2}\(cli, /);
    expect(await listed('telegram:42')).toEqual([expect.objectContaining({ scope: 'telegram:42', text: 'I am vegetarian', source: 'cli' })]);
  });

  it('refuses a scope that is not a sender and a fact without text, saying why', async () => {
    expect(await hearth(['memory', 'add', '--scope', 'owner', 'x'])).toMatchObject({ code: 1, stderr: expect.stringContaining('a sender is platform:id') });
    expect(await hearth(['memory', 'add', '--scope', 'telegram:42', ' '])).toMatchObject({ code: 1, stderr: expect.stringContaining('a memory needs some text') });
    expect(await hearth(['memory', 'forget', 'vegetarian'])).toMatchObject({ code: 1, stderr: expect.stringContaining('give --scope to forget by text') });
  });

  it("reads the owner's edits of MEMORY.md first: they win over the table", async () => {
    writeFileSync(memoryFile(), `${readFileSync(memoryFile(), 'utf8')}- My sister is Ada\n`);
    expect((await listed('telegram:42')).map((item) => item.text)).toEqual(['I am vegetarian', 'My sister is Ada']);
  });

  it('export writes Markdown or JSON redacted by the core rules; import adds what it reads back', async () => {
    const md = await hearth(['memory', 'export']);
    expect(md).toMatchObject({ code: 0, stderr: 'exported 3 memories\n' });
    expect(md.stdout).toContain('- My email is [REDACTED:email]');
    expect(md.stdout).not.toContain('ada@example.com');
    const json = await hearth(['memory', 'export', '--format', 'json', '--out', join(dir, 'export.json')]);
    expect(json.code).toBe(0);
    const exported = JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8')) as { items: { scope: string; text: string; created_at: string }[] };
    expect(exported.items).toContainEqual(expect.objectContaining({ scope: 'telegram:42', text: 'I am vegetarian', created_at: expect.stringMatching(/^\d{4}-/) }));
    // With redaction off (HEARTH_REDACT_KINDS=none) the address goes out as it is.
    expect((await hearth(['memory', 'export'], { HEARTH_REDACT_KINDS: 'none' })).stdout).toContain('ada@example.com');
    expect(await hearth(['memory', 'import', join(dir, 'export.json'), '--scope', 'whatsapp:15550001111'])).toMatchObject({ code: 0, stdout: 'imported 3 new, 0 already kept\n' });
    expect((await listed('whatsapp:15550001111')).map((item) => item.text)).toContain('My email is [REDACTED:email]');
    writeFileSync(join(dir, 'notes.md'), '- likes jazz\n- likes tea\n');
    expect(await hearth(['memory', 'import', join(dir, 'notes.md'), '--scope', 'api:ada'])).toMatchObject({ code: 0, stdout: 'imported 2 new, 0 already kept\n' });
    expect(await hearth(['memory', 'import', join(dir, 'notes.md')])).toMatchObject({ code: 1, stderr: expect.stringContaining('no facts found') });
    writeFileSync(join(dir, 'bad.json'), '{"items":[{"scope":"nobody","text":"x"}]}');
    expect(await hearth(['memory', 'import', join(dir, 'bad.json')])).toMatchObject({ code: 1, stderr: expect.stringContaining('not a memory export: items.0.scope') });
  });

  it('forget by id (any sender) or by text with --scope; the file follows', async () => {
    const [veg] = await listed('telegram:42');
    expect(await hearth(['memory', 'forget', `#${veg?.id}`])).toMatchObject({ code: 0, stdout: `forgot #${veg?.id}\n` });
    expect(await hearth(['memory', 'forget', '--scope', 'telegram:42', 'sister'])).toMatchObject({ code: 0 });
    expect(await listed('telegram:42')).toEqual([]);
    expect(readFileSync(memoryFile(), 'utf8')).not.toContain('## telegram:42');
    expect(await hearth(['memory', 'forget', '9999'])).toMatchObject({ code: 1, stderr: expect.stringContaining('no memory #9999') });
  });
});
