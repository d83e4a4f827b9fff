import { CORE_ENV_SCHEMAS } from '@hearth/core';
import { EdgeVarsSchema } from '@hearth/shared';
import { z } from 'zod';

/**
 * docs/configuration.md, generated from the zod schemas the edge and the core read their
 * environment with: each field's `.meta({ description, shownDefault })` and its default.
 * `npm run docs:config` writes it; config-reference.test.ts fails when the committed file differs.
 */

type Side = 'edge' | 'core';

/** One variable as one schema field describes it. */
export interface Field {
  name: string;
  side: Side;
  /** The part of the core it belongs to (`Memory tiers`); the edge has one. */
  part: string;
  description: string | undefined;
  /** Markdown. */
  shown: string;
}

/** A variable read outside every schema, or a schema's variable also read elsewhere. */
interface OutsideRead {
  readBy: string;
  description: string;
  shown?: string;
}

/**
 * Variables read outside a zod schema (`process.env.X`), described here, the one place they
 * are. config-reference.test.ts fails when the source reads one missing from both.
 */
export const OUTSIDE_SCHEMAS: Record<string, OutsideRead> = {
  HEARTH_EDGE_PORT: { readBy: '`npm start`, `npm run start:edge`', description: "the local edge's port on 127.0.0.1 (`hearth dev` and `hearth edge`; `--port` overrides); read from the environment only, not from `.env`", shown: '`8787`' },
  WEATHER_API_KEY: { readBy: '`weather` plugin', description: 'the key of its weatherapi.com-compatible provider (declared in its `permissions.secrets`)', shown: 'none' },
  WEATHER_API_BASE: {
    readBy: '`weather` plugin',
    description: "its provider's base URL (a base on another host needs that host in the plugin's `permissions.network`)",
    shown: '`https://api.weatherapi.com/v1`',
  },
};

/** Edge variables the core also reads outside its schemas, and what for. */
export const ALSO_READ_BY_CORE: Record<string, string> = {
  HEARTH_CLIENT_AUDIENCE: 'the audience of the tokens `hearth token issue` and `hearth mcp serve` sign (`--audience` overrides)',
  HEARTH_ACCESS_POLICY: '`npm start` tells how to let the first sender in when it is `pairing`',
};

/**
 * The input side (what is set: strings, with their defaults), since transforms only shape the
 * output; `.meta()` at the end of each field's chain lands on its property. A type JSON Schema
 * cannot express becomes `{}` instead of throwing, so one odd field cannot hide the others.
 */
const inputSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

function shownDefault(property: Record<string, unknown>): string {
  if (typeof property.shownDefault === 'string') return property.shownDefault;
  if (!('default' in property)) return 'none';
  if (property.default === '') return 'empty';
  return `\`${String(property.default)}\``;
}

/** Every field of every schema, in schema order: the edge's, then the core's part by part. */
export function schemaFields(): Field[] {
  const parts: { side: Side; part: string; schema: z.ZodType }[] = [
    { side: 'edge', part: 'Edge', schema: EdgeVarsSchema },
    ...CORE_ENV_SCHEMAS.map(({ part, schema }) => ({ side: 'core' as const, part, schema })),
  ];
  return parts.flatMap(({ side, part, schema }) =>
    Object.entries(inputSchema(schema).properties ?? {}).map(([name, property]) => {
      const p = property as Record<string, unknown>;
      return { name, side, part, description: typeof p.description === 'string' ? p.description : undefined, shown: shownDefault(p) };
    }),
  );
}

/**
 * What is wrong with the descriptions: a variable no field on its side describes, or two
 * fields of one side describing it differently (one description per variable and side; the
 * other fields may leave it out, as the core's copies of HEARTH_DATA_DIR do).
 */
export function descriptionProblems(fields: Field[]): string[] {
  const problems: string[] = [];
  const bySide = new Map<string, Field[]>();
  for (const field of fields) bySide.set(`${field.side} ${field.name}`, [...(bySide.get(`${field.side} ${field.name}`) ?? []), field]);
  for (const [key, same] of bySide) {
    const described = new Set(same.flatMap((f) => (f.description ? [f.description] : [])));
    const [side, name] = key.split(' ');
    if (described.size === 0) problems.push(`${name} (${side}: ${same.map((f) => f.part).join(', ')}) has no .meta({ description })`);
    if (described.size > 1) problems.push(`${name} is described ${described.size} ways on the ${side}: keep one .meta({ description }) and drop the others`);
  }
  return problems;
}

interface Row {
  name: string;
  shown: string;
  readBy: string;
  description: string;
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function table(rows: Row[]): string {
  return [
    '| variable | default | read by | what it is |',
    '|---|---|---|---|',
    ...rows.map((r) => `| \`${r.name}\` | ${cell(r.shown)} | ${cell(r.readBy)} | ${cell(r.description)} |`),
  ].join('\n');
}

/** A variable as the reference lists it: the field each side describes it with (the first described one). */
interface Variable {
  name: string;
  edge: Field | undefined;
  core: Field | undefined;
}

function variablesOf(fields: Field[]): Variable[] {
  const byName = new Map<string, Variable>();
  for (const field of fields) {
    const variable = byName.get(field.name) ?? { name: field.name, edge: undefined, core: undefined };
    const current = variable[field.side];
    if (!current || (!current.description && field.description)) variable[field.side] = field;
    byName.set(field.name, variable);
  }
  return [...byName.values()];
}

const HEADER = `# Configuration reference

<!-- Generated by \`npm run docs:config\` from the zod schemas (each field's .meta({ description })):
     shared/src/config/edge-config.ts and api-config.ts for the edge, CORE_ENV_SCHEMAS in
     local-core/src/config.ts for the core. Edit the schema, not this file. -->

Every environment variable the edge and the core read, with its default. Edge settings live in
\`edge-worker/.dev.vars\` locally (see \`.dev.vars.example\`; \`npm start\` and \`npm run start:edge\`
also pass on any edge setting found in the environment or \`.env\`) and in \`wrangler secret put\`
(secrets) or \`wrangler.jsonc\` \`vars\` when deployed; core settings in the environment or \`.env\`
(the environment wins). An empty value (\`NAME=\`) counts as unset. A bad value stops the core, and
\`hearth edge\`, with the variable's name and how to fix it; a deployed edge answers 503 until it is
fixed.

- [Edge](#edge)
- [Core](#core)${CORE_ENV_SCHEMAS.map(({ part }) => `\n  - [${part}](#${part.toLowerCase().replaceAll(/[^a-z0-9 -]/g, '').replaceAll(' ', '-')})`).join('')}
- [Read by both](#read-by-both)
- [Read outside the schemas](#read-outside-the-schemas)`;

/** docs/configuration.md as the schemas describe it. */
export function configurationReference(fields: Field[] = schemaFields()): string {
  const variables = variablesOf(fields);
  const isBoth = (v: Variable) => v.edge !== undefined && (v.core !== undefined || v.name in ALSO_READ_BY_CORE);
  const row = (name: string, field: Field, readBy: string): Row => ({ name, shown: field.shown, readBy, description: field.description ?? '' });

  const edgeRows = variables.flatMap((v) => (v.edge && !isBoth(v) ? [row(v.name, v.edge, 'edge')] : []));
  const coreSections = CORE_ENV_SCHEMAS.map(({ part }) => {
    const rows = variables.flatMap((v) => (v.core && !v.edge && v.core.part === part ? [row(v.name, v.core, 'core')] : []));
    return `### ${part}\n\n${table(rows)}`;
  });
  const bothRows = variables.filter(isBoth).map(({ name, edge, core }) => {
    const e = edge as Field;
    const shown = core && core.shown !== e.shown ? `edge: ${e.shown}<br>core: ${core.shown}` : e.shown;
    const coreDescription = core?.description ?? ALSO_READ_BY_CORE[name] ?? '';
    return { name, shown, readBy: 'edge, core', description: `**edge:** ${e.description ?? ''}<br>**core:** ${coreDescription}` };
  });
  const outsideRows = Object.entries(OUTSIDE_SCHEMAS).map(([name, read]) => ({ name, shown: read.shown ?? 'none', readBy: read.readBy, description: read.description }));

  return [
    HEADER,
    `## Edge\n\n${table(edgeRows)}`,
    `## Core\n\n${coreSections.join('\n\n')}`,
    `## Read by both\n\n${table(bothRows)}`,
    `## Read outside the schemas\n\n${table(outsideRows)}`,
  ]
    .join('\n\n')
    .concat('\n');
}

/** The committed reference. */
export const CONFIGURATION_MD = new URL('../../docs/configuration.md', import.meta.url);
