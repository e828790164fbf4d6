import { z } from 'zod';
import { ItemFailuresSchema, MockBehaviourSchema, TaskNameSchema } from './pipeline.js';

/** letter.json: everything the runner child needs to run one attempt of one task. */
export const LetterSchema = z.object({
  runId: z.string(),
  task: TaskNameSchema,
  module: TaskNameSchema.describe('registry key of the task module'),
  attempt: z.number().int().min(1),
  model: z.array(z.string()).min(1).describe('model specs to try, in order'),
  escalate: z.array(z.array(z.string()).min(1)).optional().describe('the escalation ladder: each rung the specs to try, in order'),
  escalateAfter: z.number().int().min(0).optional().describe('refinements on a rung before the next call moves up'),
  config: z.record(z.string(), z.unknown()),
  inputs: z.record(z.string(), z.string()).describe('every task upstream (needs, transitively) → its output.json, relative to the run folder'),
  timeoutMs: z.number().int().positive(),
  maxRefinements: z.number().int().min(0),
  mock: MockBehaviourSchema.optional(),
  maxRetries: z.number().int().min(0).optional().describe("SDK retries per call, over the provider's own"),
  concurrency: z.number().int().min(1).optional().describe("a fan-out task's items in flight at once (default 4)"),
  itemFailures: ItemFailuresSchema.optional().describe('what an item that never validates does to the task (default fail)'),
  createdAt: z.string(),
});
export type Letter = z.output<typeof LetterSchema>;
