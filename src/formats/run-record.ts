import { z } from 'zod';
import { ByModelSchema, UsageSchema } from './usage.js';

/** One line of pipeline-complete/runs.jsonl. */
export const RunRecordSchema = z.object({
  id: z.string(),
  pipeline: z.string(),
  seed: z.string().describe('the seed file name as dropped'),
  startedAt: z.string(),
  completedAt: z.string(),
  durationMs: z.number().min(0).describe('active time: what the run took, not counting time it sat stopped before a resume'),
  wallMs: z.number().min(0).optional().describe('from startedAt to completedAt, stops included'),
  tasks: z.array(
    z.object({
      name: z.string(),
      durationMs: z.number().min(0),
      attempts: z.number().int().min(0),
      refinements: z.number().int().min(0),
      usage: UsageSchema,
      costUsd: z.number().min(0).optional(),
      byModel: ByModelSchema.optional(),
      escalations: z.number().int().min(0).optional().describe('times a reply that failed validation moved up the escalation ladder'),
      copied: z.literal(true).optional().describe('copied from the run this one reruns: not counted in totals'),
    }),
  ),
  totals: z
    .object({
      calls: z.number().int().min(0),
      inputTokens: z.number().int().min(0),
      outputTokens: z.number().int().min(0),
      cachedCalls: z.number().int().min(0).optional().describe('calls answered from the call cache (not in calls, no cost)'),
      batchCalls: z.number().int().min(0).optional().describe("calls answered through a provider's Batch API (part of calls)"),
      cachedInputTokens: z.number().int().min(0).optional(),
      failedCalls: z.number().int().min(0).optional(),
      abortedCalls: z.number().int().min(0).optional(),
      costUsd: z.number().min(0).optional(),
      byModel: ByModelSchema.optional(),
      escalations: z.number().int().min(0).optional(),
    })
    .describe('the calls this run made (a rerun: not those of the tasks it copied)'),
  sha256: z.object({ seed: z.string(), pipeline: z.string() }),
});
export type RunRecord = z.output<typeof RunRecordSchema>;
