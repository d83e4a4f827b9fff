import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALSO_READ_BY_CORE, CONFIGURATION_MD, OUTSIDE_SCHEMAS, configurationReference, descriptionProblems, schemaFields, type Field } from './config-reference.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Names that look like settings in the source but are not the deployment's to set. */
const NOT_SETTINGS = new Set([
  'PATH', // looked up to find an MCP server's program
  'RELAY', // the Durable Object binding, declared in wrangler.jsonc
]);

/**
 * Every variable the product's source names as a setting: keys of the zod schemas (a line
 * `  NAME: ...` in a file that imports zod) and reads outside them (`env.NAME`,
 * `ctx.secrets.NAME` in plugins).
 */
function variablesInSource(): Map<string, string> {
  const found = new Map<string, string>();
  const dirs = ['shared/src', 'edge-worker/src', 'local-core/src', 'plugins'];
  for (const dir of dirs) {
    for (const entry of readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })) {
      if (!/\.(ts|mjs|js)$/.test(entry) || /\.test\.ts$/.test(entry)) continue;
      const text = readFileSync(join(ROOT, dir, entry), 'utf8');
      const patterns = [/\benv\??\.([A-Z][A-Z0-9_]+)\b/g, /\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]/g, /\bsecrets\.([A-Z][A-Z0-9_]+)\b/g];
      if (/from 'zod'/.test(text)) patterns.push(/^\s+([A-Z][A-Z0-9]*_[A-Z0-9_]+)\??:/gm);
      for (const pattern of patterns) for (const match of text.matchAll(pattern)) found.set(match[1] as string, `${dir}/${entry}`);
    }
  }
  return found;
}

describe('docs/configuration.md', () => {
  it('is what the schemas produce', () => {
    const committed = readFileSync(CONFIGURATION_MD, 'utf8');
    expect(committed, 'docs/configuration.md differs from what the schemas produce: run `npm run docs:config`').toBe(configurationReference());
  });

  it('has a description for every variable of every schema', () => {
    expect(descriptionProblems(schemaFields()), 'add .meta({ description }) to these fields, then run `npm run docs:config`').toEqual([]);
  });

  it('lists each variable once: the registries name none a schema describes', () => {
    const fields = schemaFields();
    const edge = new Set(fields.filter((f) => f.side === 'edge').map((f) => f.name));
    const core = new Set(fields.filter((f) => f.side === 'core').map((f) => f.name));
    expect(Object.keys(OUTSIDE_SCHEMAS).filter((name) => edge.has(name) || core.has(name)), 'in a schema: drop it from OUTSIDE_SCHEMAS').toEqual([]);
    expect(Object.keys(ALSO_READ_BY_CORE).filter((name) => !edge.has(name) || core.has(name)), 'ALSO_READ_BY_CORE is for edge variables no core schema reads').toEqual([]);
  });

  it('names every variable the source reads', () => {
    const documented = new Set([...schemaFields().map((f) => f.name), ...Object.keys(OUTSIDE_SCHEMAS)]);
    const found = variablesInSource();
    // The scan itself works: it sees schema keys and reads outside the schemas alike.
    expect([...found.keys()]).toEqual(expect.arrayContaining(['TELEGRAM_BOT_TOKEN', 'REDIS_URL', 'HEARTH_EDGE_PORT', 'WEATHER_API_KEY']));
    const missing = [...found].filter(([name]) => !documented.has(name) && !NOT_SETTINGS.has(name)).map(([name, file]) => `${name} (${file})`);
    expect(missing, 'read in the source but in no schema: add it to one with .meta({ description }), or to OUTSIDE_SCHEMAS').toEqual([]);
  });
});

describe('description check', () => {
  const field = (name: string, part: string, description: string | undefined): Field => ({ name, side: 'core', part, description, shown: 'none' });

  it('refuses a variable no field describes, and one described two ways', () => {
    expect(descriptionProblems([field('HEARTH_A', 'One', undefined)])).toEqual(['HEARTH_A (core: One) has no .meta({ description })']);
    expect(descriptionProblems([field('HEARTH_B', 'One', 'this'), field('HEARTH_B', 'Two', 'that')])).toHaveLength(1);
  });

  it('takes one description for copies of a variable in several parts', () => {
    expect(descriptionProblems([field('HEARTH_C', 'One', 'the folder'), field('HEARTH_C', 'Two', undefined)])).toEqual([]);
  });
});
