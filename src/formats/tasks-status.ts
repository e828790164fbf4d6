import { z } from 'zod';
import { ByModelSchema, UsageSchema } from './usage.js';
import { TaskFailureSchema } from './task-failure.js';
import { ItemCountsSchema, TruncationSchema } from './items.js';
import { WaitingSchema } from './waiting.js';

export const RunStateSchema = z.enum(['queued', 'running', 'waiting', 'failed', 'complete']);
/** `waiting`: parked on the Batch API, holding no process until its answers are in. */
export const TaskStateSchema = z.enum(['pending', 'running', 'waiting', 'failed', 'complete']);

export const TaskStatusSchema = z.object({
  state: TaskStateSchema,
  attempts: z.number().int().min(0),
  refinements: z.number().int().min(0),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  durationMs: z.number().min(0).optional(),
  model: z.string().optional().describe('the model that produced the output'),
  escalations: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('moves up the escalation ladder in the attempt that completed it (of all its items, for a fan-out task)'),
  usage: UsageSchema.describe("the calls of every attempt, summed from the task's calls.jsonl"),
  costUsd: z.number().min(0).optional(),
  byModel: ByModelSchema.optional().describe('usage and cost by the model that answered'),
  error: TaskFailureSchema.optional(),
  parked: z.number().int().min(1).optional().describe('times the current attempt parked on the Batch API'),
  waiting: WaitingSchema.optional().describe('a task parked on the Batch API: its provider, batch and counts'),
  worker: z.string().optional().describe('the worker running or that ran the attempt (host:pid), with start --queue'),
  cutShort: z.number().int().min(1).optional().describe('attempts in a row that a manager crash cut short; at 5 the task fails with manager-crashed'),
  items: ItemCountsSchema.optional().describe('a fan-out task: how many items, done, failed'),
  truncated: z.array(TruncationSchema).optional().describe('texts truncateToTokens cut in the last attempt'),
  copied: z.literal(true).optional().describe('copied byte for byte from the run this one reruns; its usage was paid there'),
});

/** tasks-status.json: the manager's record of a run; only the manager writes it. */
export const RunStatusSchema = z.object({
  id: z.string(),
  pipeline: z.string(),
  state: RunStateSchema,
  source: z.object({
    file: z.string(),
    sha256: z.string(),
    mtimeMs: z.number().optional().describe('of the pending file; tells a crash-left copy from a new drop'),
  }),
  createdAt: z.string(),
  startedAt: z.string().optional().describe('when the first task started'),
  activeMs: z.number().min(0).optional().describe('time a manager spent running the run, over all its starts (a resumed run: not the time it sat stopped)'),
  updatedAt: z.string(),
  // Files written before tasks ran side by side have `current` instead; they still read (as none running).
  running: z.array(z.string()).default([]).describe('the tasks running now, in pipeline order'),
  tasks: z.record(z.string(), TaskStatusSchema),
  rerunOf: z.object({ run: z.string(), from: z.string() }).optional().describe('the run this one was copied from by rerun --from'),
  error: TaskFailureSchema.extend({ task: z.string() }).optional(),
});

export type RunState = z.output<typeof RunStateSchema>;
export type TaskState = z.output<typeof TaskStateSchema>;
export type TaskStatus = z.output<typeof TaskStatusSchema>;
export type RunStatus = z.output<typeof RunStatusSchema>;
