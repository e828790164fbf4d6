import { z } from 'zod';
import { PipelineSchema } from './pipeline.js';
import { SeedSchema } from './seed.js';
import { RunStatusSchema } from './tasks-status.js';
import { LetterSchema } from './letter.js';
import { OutputSchema } from './output.js';
import { RunRecordSchema } from './run-record.js';
import { SeedRejectionSchema } from './seed-rejection.js';
import { ItemOutputSchema, ItemsFileSchema } from './items.js';
import { CallRecordSchema } from './ledger.js';

/** Every file format, by the file name its JSON Schema is written to. */
export const FILE_FORMATS = {
  'pipeline.schema.json': PipelineSchema,
  'seed.schema.json': SeedSchema,
  'tasks-status.schema.json': RunStatusSchema,
  'letter.schema.json': LetterSchema,
  'output.schema.json': OutputSchema,
  'run-record.schema.json': RunRecordSchema,
  'seed-rejection.schema.json': SeedRejectionSchema,
  'items.schema.json': ItemsFileSchema,
  'item-output.schema.json': ItemOutputSchema,
  'call-record.schema.json': CallRecordSchema,
} as const;

export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  // `input`: describes what a person may write, with defaults optional.
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
