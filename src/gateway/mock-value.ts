import type { PhrasePicker } from './prompt-words.js';

type JsonSchema = Record<string, unknown>;
const MAX_DEPTH = 8;

/**
 * Build a value that fits a JSON Schema (as z.toJSONSchema writes them), its strings quoted from
 * the prompt. Covers what task schemas use in practice: objects, arrays, strings with bounds and
 * formats, numbers, booleans, enums, consts, unions, nullable and $ref.
 */
export function valueForSchema(schema: JsonSchema, words: PhrasePicker, root: JsonSchema = schema, depth = 0): unknown {
  if (depth > MAX_DEPTH) return null;
  const next = (inner: unknown) => valueForSchema((inner ?? {}) as JsonSchema, words, root, depth + 1);

  if (typeof schema.$ref === 'string') return valueForSchema(resolveRef(root, schema.$ref), words, root, depth + 1);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[words.integer(0, schema.enum.length - 1)];
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0) {
      const concrete = options.find((option: JsonSchema) => option.type !== 'null') ?? options[0];
      return next(concrete);
    }
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) return next(Object.assign({}, ...(schema.allOf as JsonSchema[])));

  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      return Object.fromEntries(Object.entries(properties).map(([key, inner]) => [key, next(inner)]));
    }
    case 'array': {
      if (Array.isArray(schema.prefixItems)) return schema.prefixItems.map(next);
      const min = typeof schema.minItems === 'number' ? schema.minItems : 1;
      const max = typeof schema.maxItems === 'number' ? schema.maxItems : Math.max(min, 4);
      const count = words.integer(Math.max(min, Math.min(3, max)), Math.max(min, Math.min(max, min + 3)));
      return Array.from({ length: count }, () => next(schema.items));
    }
    case 'string':
      return stringFor(schema, words);
    case 'integer':
    case 'number': {
      const min = numberBound(schema.minimum, schema.exclusiveMinimum, 1, 0);
      const max = numberBound(schema.maximum, schema.exclusiveMaximum, -1, min + 100);
      return type === 'integer' ? words.integer(Math.ceil(min), Math.floor(max)) : Math.round((min + (max - min) * (words.integer(0, 1000) / 1000)) * 100) / 100;
    }
    case 'boolean':
      return words.integer(0, 1) === 1;
    case 'null':
      return null;
    default:
      return words.phrase(3, 8);
  }
}

function numberBound(inclusive: unknown, exclusive: unknown, step: number, fallback: number): number {
  if (typeof inclusive === 'number') return inclusive;
  if (typeof exclusive === 'number') return exclusive + step;
  return fallback;
}

function stringFor(schema: JsonSchema, words: PhrasePicker): string {
  switch (schema.format) {
    case 'date-time':
      return '2026-01-01T00:00:00.000Z';
    case 'date':
      return '2026-01-01';
    case 'email':
      return 'someone@example.com';
    case 'uri':
    case 'url':
      return 'https://example.com/';
    case 'uuid':
      return '00000000-0000-4000-8000-000000000000';
  }
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  let text = words.phrase(4, 12);
  while (text.length < minLength) text += ` ${words.phrase(4, 12)}`;
  if (text.length > maxLength) text = text.slice(0, maxLength).trimEnd();
  while (text.length < minLength) text += 'x';
  return text;
}

function resolveRef(root: JsonSchema, ref: string): JsonSchema {
  if (ref === '#') return root;
  let node: unknown = root;
  for (const part of ref.replace(/^#\//, '').split('/')) node = (node as Record<string, unknown> | undefined)?.[part];
  return (node ?? {}) as JsonSchema;
}
