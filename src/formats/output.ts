import { z } from 'zod';
import { UsageSchema } from './usage.js';
import { FailedItemSchema, ItemCountsSchema, TruncationSchema } from './items.js';

/**
 * tasks/<task>/output.json: the task's finished, validated value. `usage` and `costUsd` are those of
 * the attempt that wrote it: fan-out items it reused from an earlier attempt cost it nothing.
 */
export const OutputSchema = z.object({
  task: z.string(),
  attempt: z.number().int().min(1).optional().describe('the attempt that wrote it: the manager takes only the current one'),
  value: z.unknown(),
  model: z.string().nullable(),
  usage: UsageSchema,
  refinements: z.number().int().min(0).describe('re-prompts; for a fan-out task, of all its items'),
  escalations: z.number().int().min(0).optional().describe('moves up the escalation ladder; for a fan-out task, of all its items'),
  costUsd: z.number().min(0).optional(),
  items: ItemCountsSchema.extend({ failedItems: z.array(FailedItemSchema) })
    .optional()
    .describe('a fan-out task: its items, and those that failed'),
  truncated: z.array(TruncationSchema).optional().describe('texts truncateToTokens cut while the task ran'),
  finishedAt: z.string(),
});
export type Output = z.output<typeof OutputSchema>;

/** An output.json that completes this attempt: the task's own, written by this very attempt (when known). */
export function isOutputOf(output: Output, task: string, attempt: number | undefined): boolean {
  return output.task === task && (attempt === undefined || output.attempt === attempt);
}
