import { type ChatSessionModelFunction, type ChatSessionModelFunctions, defineChatSessionFunction, type GbnfJsonObjectSchema, type GbnfJsonSchema } from 'node-llama-cpp';
import type { TurnTool } from './engine.js';

// The JSON Schema keywords node-llama-cpp turns into a grammar; the rest (pattern, minimum, ...)
// is still enforced, by ajv on the host, after the model wrote its arguments.
const KEPT = new Set(['type', 'description', 'enum', 'const', 'properties', 'required', 'additionalProperties', 'minProperties', 'maxProperties', 'items', 'prefixItems', 'minItems', 'maxItems', 'minLength', 'maxLength', 'format', 'oneOf']);
const FORMATS = new Set(['date-time', 'time', 'date']);

/**
 * A tool's JSON Schema cut down to what node-llama-cpp can turn into a grammar for the model's
 * arguments (`anyOf` read as `oneOf`, unknown formats dropped).
 *
 * @example
 * toGrammarSchema({ type: 'object', properties: { city: { type: 'string', pattern: '^[A-Z]' } } })
 * // { type: 'object', properties: { city: { type: 'string' } } }
 */
export function toGrammarSchema(schema: unknown): GbnfJsonSchema {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return { type: ['string', 'number', 'boolean', 'null'] };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    const name = key === 'anyOf' ? 'oneOf' : key;
    if (!KEPT.has(name)) continue;
    if (name === 'format' && !FORMATS.has(String(value))) continue;
    if (name === 'properties' && typeof value === 'object' && value !== null) {
      out.properties = Object.fromEntries(Object.entries(value).map(([property, sub]) => [property, toGrammarSchema(sub)]));
    } else if (name === 'items' || (name === 'additionalProperties' && typeof value === 'object')) {
      out[name] = toGrammarSchema(value);
    } else if ((name === 'oneOf' || name === 'prefixItems') && Array.isArray(value)) {
      out[name] = value.map(toGrammarSchema);
    } else {
      out[name] = value;
    }
  }
  // The grammar needs a shape: a schema with none of the kept keywords is any JSON value.
  if (!('type' in out) && !('enum' in out) && !('const' in out) && !('oneOf' in out)) return { type: ['string', 'number', 'boolean', 'null'] };
  return out as GbnfJsonSchema;
}

/**
 * The turn's tools as node-llama-cpp chat functions (for `LlamaChatSession.prompt`'s
 * `functions`): each handler is the tool's own `call`, which checks policy and arguments before
 * a plugin sees them and answers the model with the result or `{ error }`.
 *
 * @example
 * const functions = chatFunctionsFor(options.tools ?? []);
 * await session.prompt(text, { functions });
 */
export function chatFunctionsFor(tools: readonly TurnTool[]): ChatSessionModelFunctions {
  const functions: Record<string, ChatSessionModelFunction<GbnfJsonObjectSchema>> = {};
  for (const tool of tools) {
    // Manifests only take object schemas for parameters (see plugins/manifest.ts).
    const params = toGrammarSchema(tool.parameters) as GbnfJsonObjectSchema;
    functions[tool.name] = defineChatSessionFunction<GbnfJsonObjectSchema, Record<string, never>>({
      description: tool.description,
      params,
      handler: (args: unknown) => tool.call(args),
    });
  }
  return functions;
}
