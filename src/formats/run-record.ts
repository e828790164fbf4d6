import { z } from 'zod';
import { UsageSchema } from './usage.js';

/** One line of pipeline-complete/runs.jsonl. */
export const RunRecordSchema = z.object({
  id: z.string(),
  pipeline: z.string(),
  seed: z.string().describe('the seed file name as dropped'),
  startedAt: z.string(),
  completedAt: z.string(),
  durationMs: z.number().min(0),
  tasks: z.array(
    z.object({
      name: z.string(),
      durationMs: z.number().min(0),
      attempts: z.number().int().min(0),
      refinements: z.number().int().min(0),
      usage: UsageSchema,
      costUsd: z.number().min(0).optional(),
      copied: z.literal(true).optional().describe('copied from the run this one reruns: not counted in totals'),
    }),
  ),
  totals: z
    .object({
      calls: z.number().int().min(0),
      inputTokens: z.number().int().min(0),
      outputTokens: z.number().int().min(0),
      cachedCalls: z.number().int().min(0).optional().describe('calls answered from the call cache (not in calls, no cost)'),
      costUsd: z.number().min(0).optional(),
    })
    .describe('the calls this run made (a rerun: not those of the tasks it copied)'),
  sha256: z.object({ seed: z.string(), pipeline: z.string() }),
});
export type RunRecord = z.output<typeof RunRecordSchema>;
