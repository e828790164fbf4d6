import type { PhrasePicker } from './prompt-words.js';

type JsonSchema = Record<string, unknown>;
const MAX_DEPTH = 8;

/**
 * The most a mock reply may hold: values (objects, arrays, strings, numbers ...) and characters of
 * strings. The mock builds its reply inside the manager, in one go: a schema asking for more (a
 * huge `minItems` or `minLength`, arrays nested in arrays) gets an error reply instead of holding
 * the manager's event loop or memory. Real task schemas ask for far less.
 */
export const MOCK_MAX_VALUES = 20_000;
export const MOCK_MAX_CHARS = 1_000_000;

/** The schema asks the mock for a reply larger than it builds. */
export class MockTooLargeError extends Error {}

/** What a reply has used so far of its bounds. */
export interface MockAllowance {
  values: number;
  chars: number;
}

export const newAllowance = (): MockAllowance => ({ values: 0, chars: 0 });

function spend(allowance: MockAllowance, values: number, chars: number): void {
  allowance.values += values;
  allowance.chars += chars;
  if (allowance.values > MOCK_MAX_VALUES) throw new MockTooLargeError(`the schema asks for more than ${MOCK_MAX_VALUES} values`);
  if (allowance.chars > MOCK_MAX_CHARS) throw new MockTooLargeError(`the schema asks for more than ${MOCK_MAX_CHARS} characters of text`);
}

/**
 * Build a value that fits a JSON Schema (as z.toJSONSchema writes them), its strings quoted from
 * the prompt: whole sentences, or for a field named like a title the opening words of one. Covers what task schemas use in practice: objects, arrays, strings with bounds and
 * formats, numbers, booleans, enums, consts, unions, nullable and $ref.
 */
export function valueForSchema(
  schema: JsonSchema,
  words: PhrasePicker,
  root: JsonSchema = schema,
  depth = 0,
  key = '',
  allowance: MockAllowance = newAllowance(),
): unknown {
  if (depth > MAX_DEPTH) return null;
  spend(allowance, 1, 0);
  const next = (inner: unknown, innerKey = key) => valueForSchema((inner ?? {}) as JsonSchema, words, root, depth + 1, innerKey, allowance);

  if (typeof schema.$ref === 'string') return valueForSchema(resolveRef(root, schema.$ref), words, root, depth + 1, key, allowance);
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
      return Object.fromEntries(Object.entries(properties).map(([name, inner]) => [name, next(inner, name)]));
    }
    case 'array': {
      if (Array.isArray(schema.prefixItems)) return schema.prefixItems.map((item) => next(item));
      const min = typeof schema.minItems === 'number' ? schema.minItems : 1;
      if (min > MOCK_MAX_VALUES) throw new MockTooLargeError(`the schema asks for at least ${min} items in an array`);
      const max = typeof schema.maxItems === 'number' ? schema.maxItems : Math.max(min, 4);
      const count = words.integer(Math.max(min, Math.min(3, max)), Math.max(min, Math.min(max, min + 3)));
      return Array.from({ length: count }, () => next(schema.items));
    }
    case 'string': {
      const text = stringFor(schema, words, key);
      spend(allowance, 0, text.length);
      return text;
    }
    case 'integer':
    case 'number': {
      const min = numberBound(schema.minimum, schema.exclusiveMinimum, 1, 0);
      const max = numberBound(schema.maximum, schema.exclusiveMaximum, -1, min + 100);
      return type === 'integer'
        ? words.integer(Math.ceil(min), Math.floor(max))
        : Math.round((min + (max - min) * (words.integer(0, 1000) / 1000)) * 100) / 100;
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

/** Fields named like these hold a few words, not a sentence. */
const SHORT_FIELD = /title|heading|headline|name|topic|label|subject|tag|keyword|category/i;
const HEADING_WORDS = 8;

function stringFor(schema: JsonSchema, words: PhrasePicker, key: string): string {
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
  if (minLength > MOCK_MAX_CHARS) throw new MockTooLargeError(`the schema asks for a string of at least ${minLength} characters`);
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  // A short field gets the opening words of a sentence; anything else whole sentences.
  const short = SHORT_FIELD.test(key) || maxLength < 60;
  const more = () => (short ? words.lead(HEADING_WORDS) : words.sentence());
  let text = more();
  while (text.length < minLength) text += ` ${more()}`;
  if (text.length > maxLength) text = cutAtWord(text, maxLength);
  while (text.length < minLength) text += 'x';
  return text;
}

/** At most `max` characters, ending at a word boundary where there is one. */
function cutAtWord(text: string, max: number): string {
  const cut = text.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return (space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:]+$/, '');
}

function resolveRef(root: JsonSchema, ref: string): JsonSchema {
  if (ref === '#') return root;
  let node: unknown = root;
  for (const part of ref.replace(/^#\//, '').split('/')) node = (node as Record<string, unknown> | undefined)?.[part];
  return (node ?? {}) as JsonSchema;
}
