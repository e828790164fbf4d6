import { z } from 'zod';
import { UsageSchema } from './usage.js';
import { TaskFailureSchema } from './task-failure.js';
import { ItemCountsSchema, TruncationSchema } from './items.js';

/**
 * The failures a runner reports itself. The others (timeout, killed, interrupted, ...) only the
 * manager can tell, so a runner claiming one is not believed.
 */
const RunnerFailureSchema = TaskFailureSchema.extend({
  reason: z.enum(['task-threw', 'refinements-exhausted', 'provider-failed', 'invalid-task', 'spawn-error']),
});

/**
 * Messages a runner child sends the manager over its channel (one JSON line each). A `done` is a
 * hint only: the manager completes a task on a valid output.json, never on a message.
 */
export const RunnerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('stage'), stage: z.string(), attempt: z.number().int() }),
  z.object({
    type: z.literal('done'),
    model: z.string().nullable(),
    usage: UsageSchema,
    refinements: z.number().int(),
    costUsd: z.number().optional(),
  }),
  z.object({ type: z.literal('failed'), error: RunnerFailureSchema, usage: UsageSchema, refinements: z.number().int(), costUsd: z.number().optional() }),
  // A fan-out task's progress: sent as items finish.
  ItemCountsSchema.extend({ type: z.literal('items') }),
  // A text cut by truncateToTokens.
  TruncationSchema.extend({ type: z.literal('truncated') }),
]);
export type RunnerMessage = z.output<typeof RunnerMessageSchema>;

/** Messages the manager sends a runner: to a standby, the letter of the task it is to run. */
export const ManagerMessageSchema = z.discriminatedUnion('type', [z.object({ type: z.literal('run'), letter: z.string() })]);
export type ManagerMessage = z.output<typeof ManagerMessageSchema>;
