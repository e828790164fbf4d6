import { z } from 'zod';
import { UsageSchema } from './usage.js';
import { TaskFailureSchema } from './task-failure.js';

/** Messages a runner child sends the manager over IPC. */
export const RunnerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('stage'), stage: z.string(), attempt: z.number().int() }),
  z.object({
    type: z.literal('done'),
    model: z.string().nullable(),
    usage: UsageSchema,
    refinements: z.number().int(),
    costUsd: z.number().optional(),
  }),
  z.object({ type: z.literal('failed'), error: TaskFailureSchema, usage: UsageSchema, refinements: z.number().int() }),
]);
export type RunnerMessage = z.output<typeof RunnerMessageSchema>;

/** What the manager sends a standby runner: the letter of the task it is to run. */
export const ManagerMessageSchema = z.object({ type: z.literal('run'), letter: z.string() });
export type ManagerMessage = z.output<typeof ManagerMessageSchema>;
