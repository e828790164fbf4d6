import { z } from 'zod';
import { UsageSchema } from './usage.js';

/** tasks/<task>/output.json: the task's finished, validated value. */
export const OutputSchema = z.object({
  task: z.string(),
  value: z.unknown(),
  model: z.string().nullable(),
  usage: UsageSchema,
  refinements: z.number().int().min(0),
  costUsd: z.number().min(0).optional(),
  finishedAt: z.string(),
});
export type Output = z.output<typeof OutputSchema>;
