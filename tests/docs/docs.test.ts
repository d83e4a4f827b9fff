import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const DOCS = readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md'));
const PAGES = ['README.md', 'infra/README.md', ...DOCS.map((name) => `docs/${name}`)];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const text = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const [, heading] of text.matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = (heading as string)
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replaceAll(' ', '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  for (const [, id] of text.matchAll(/<a id="([^"]+)"><\/a>/g)) anchors.add(id as string);
  return anchors;
}

/** Every relative link of a page (code blocks and inline code left out), as [target file, anchor]. */
function linksOf(page: string): { target: string; anchor: string | undefined; raw: string }[] {
  const text = read(page).replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] as string)
    .filter((href) => !/^[a-z]+:/.test(href))
    .map((href) => {
      const [path, anchor] = href.split('#');
      return { target: path ? relative(ROOT, resolve(ROOT, dirname(page), path)) : page, anchor, raw: href };
    });
}

describe('the README', () => {
  const readme = read('README.md');

  it('is a front page: at most 150 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(150);
  });

  it('gives the two set-up commands', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm install && npm test');
  });

  it("states the Node versions package.json's engines says", () => {
    const engines = JSON.parse(read('package.json')).engines.node as string;
    expect(readme, 'update the README\'s Node line to the "engines" of package.json').toContain(`\`${engines}\``);
  });

  it('links every page of docs/', () => {
    const linked = new Set(linksOf('README.md').map((link) => link.target));
    expect(DOCS.filter((name) => !linked.has(`docs/${name}`))).toEqual([]);
  });
});

describe('links between the pages', () => {
  it.each(PAGES)('%s: every relative link reaches a file, and its anchor a heading there', (page) => {
    const broken = linksOf(page).flatMap(({ target, anchor, raw }) => {
      if (!existsSync(join(ROOT, target))) return [`${raw}: no file ${target}`];
      if (anchor === undefined || !target.endsWith('.md')) return [];
      return anchorsOf(read(target)).has(anchor) ? [] : [`${raw}: no heading #${anchor} in ${target}`];
    });
    expect(broken).toEqual([]);
  });

  it('finds headings as GitHub anchors them', () => {
    expect(anchorsOf('## What `npm start` does\n## Plugins: skills, sandboxed\n## Plugins: skills, sandboxed')).toEqual(
      new Set(['what-npm-start-does', 'plugins-skills-sandboxed', 'plugins-skills-sandboxed-1']),
    );
  });
});
