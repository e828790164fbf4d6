import { z } from 'zod';
import { TaskNameSchema } from '../formats/pipeline.js';
import type { TaskProcessOptions } from '../manager/execution/task-process.js';

/** A run id as the manager makes them: a plain folder name, never a path. */
const RunIdSchema = z
  .string()
  .max(200)
  .regex(/^[a-z0-9][a-z0-9-]*$/, { message: 'a run id (a-z, 0-9 and -)' });

/**
 * A task attempt as a queue job: which attempt of which task of which run, and nothing else. A
 * worker finds every file, provider, model, limit and price itself, from the run's folder in
 * pipeline-current/ and its own pipeline.json snapshot, so whoever can write to Redis cannot point a
 * call (or a key) anywhere. Unknown keys are refused.
 */
export const TaskJobSchema = z.strictObject({
  run: RunIdSchema,
  task: TaskNameSchema,
  attempt: z.number().int().min(1),
  /** Times the attempt parked on the Batch API before this run of it. */
  round: z.number().int().min(1).optional(),
});
export type TaskJob = z.output<typeof TaskJobSchema>;

/** What a worker hands back: the attempt's outcome. The manager still reads output.json itself. */
export const TaskJobResultSchema = z.union([
  z.object({ ok: z.literal(true), worker: z.string().optional() }),
  z.object({
    ok: z.literal(false),
    worker: z.string().optional(),
    failure: z.object({
      error: z.object({ reason: z.string(), message: z.string() }).passthrough(),
      usage: z.unknown(),
      refinements: z.number(),
      costUsd: z.number().optional(),
    }),
  }),
]);
export type TaskJobResult = z.output<typeof TaskJobResultSchema>;

/**
 * One job per attempt, never two: the id says which (an attempt that runs again after parking on
 * the Batch API, one per run of it: `.r2`, ...). No `:` (BullMQ keeps it for its own keys); `.`
 * appears in neither a run id nor a task name, so the id names one attempt only.
 */
export const jobIdOf = (run: string, task: string, attempt: number, round?: number): string => `${run}.${task}.${attempt}${round ? `.r${round + 1}` : ''}`;

/** How a worker fails a job it will not run; the manager fails the task with this reason. */
export const JOB_REFUSED = 'job-refused';

export function taskJobOf(options: TaskProcessOptions & { round?: number | undefined }, attempt: number): TaskJob {
  return { run: options.run, task: options.task, attempt, ...(options.round ? { round: options.round } : {}) };
}
