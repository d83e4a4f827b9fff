import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

// One strict instance: unknown keywords, ambiguous types and similar slips in a manifest's
// schema are errors at load time, not silent gaps in what is checked.
const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });
const compiled = new WeakMap<object, ValidateFunction>();

/**
 * Compiles a tool's JSON Schema (strict ajv), once per schema object.
 *
 * @returns the validator, or the reason the schema is refused
 * @example
 * const { validate } = compileToolSchema({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] });
 */
export function compileToolSchema(schema: Record<string, unknown>): { validate?: ValidateFunction; problem?: string } {
  const known = compiled.get(schema);
  if (known) return { validate: known };
  try {
    const validate = ajv.compile(schema);
    // Compiled once: ajv keeps schemas by id, and a second compile of one with `$id` would throw.
    ajv.removeSchema(schema);
    compiled.set(schema, validate);
    return { validate };
  } catch (error) {
    return { problem: error instanceof Error ? error.message : String(error) };
  }
}

/** ajv's errors as one line the model (or a person) can act on: `/city must be string`. */
export function describeErrors(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((error) => `${error.instancePath || '(arguments)'} ${error.message ?? 'is invalid'}`).join('; ');
}
