import { z } from 'zod';

/**
 * A task parked on the Batch API, as tasks-status.json says it: apart from the batch records'
 * formats so that reading a run's status loads no more than it needs.
 */
export const BatchCountsSchema = z.object({
  total: z.number().int().min(0),
  succeeded: z.number().int().min(0),
  failed: z.number().int().min(0),
  processing: z.number().int().min(0),
});

/** What tasks-status.json says of a task parked on the Batch API. */
export const WaitingSchema = z.object({
  reason: z.literal('batch'),
  provider: z.string(),
  batch: z.string().optional().describe("the provider's batch id, once submitted"),
  parkedAt: z.string(),
  submittedAt: z.string().optional(),
  requests: z.number().int().min(0),
  counts: BatchCountsSchema.optional(),
});

export type BatchCounts = z.output<typeof BatchCountsSchema>;
export type Waiting = z.output<typeof WaitingSchema>;
