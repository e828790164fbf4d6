import { z } from 'zod';
import { UsageSchema } from './usage.js';
import { CallUsageSchema } from './ledger.js';
import { TaskFailureSchema } from './task-failure.js';
import { ItemProgressSchema, TruncationSchema } from './items.js';
import { MockBehaviourSchema } from './pipeline.js';

/** A model call a task process asks the manager's gateway to make; `id` pairs it with its reply. */
export const CallRequestSchema = z.object({
  type: z.literal('call'),
  id: z.number().int(),
  models: z.array(z.string()).min(1),
  messages: z.array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() })),
  schema: z.record(z.string(), z.unknown()).optional(),
  schemaName: z.string(),
  mock: MockBehaviourSchema.optional(),
  /** 1 for the first call of a task attempt, 2 after the first refinement, ... */
  call: z.number().int(),
  /** A fan-out item's index, from 0: its calls are numbered in its own folder. */
  item: z.number().int().min(0).optional(),
  /** The escalation rung the call is made on (0: the task's own models). */
  rung: z.number().int().min(0).max(64).optional(),
  /** The refinement the call is made for (0: the first reply): a batched task may make refinements in real time. */
  refinement: z.number().int().min(0).optional(),
});
export type CallRequest = z.output<typeof CallRequestSchema>;

/** Longest stage name a task process may report: the stages have short names. */
export const MAX_STAGE_NAME = 64;
const StageNameSchema = z.string().max(MAX_STAGE_NAME);

/** The task stopped waiting for a call (it is being stopped): the gateway aborts the request. */
export const CallAbortSchema = z.object({ type: z.literal('call-abort'), id: z.number().int() });

/**
 * What the task made of answers: `ok` ones passed validation (or belong to an output the task
 * wrote) and may be kept in the call cache; the others were rejected and never are.
 */
export const CallVerdictSchema = z.object({ type: z.literal('call-verdict'), ids: z.array(z.number().int()).max(10_000), ok: z.boolean() });

/**
 * The failures a runner reports itself. The others (timeout, killed, interrupted, ...) only the
 * manager can tell, so a runner claiming one is not believed.
 */
const RunnerFailureSchema = TaskFailureSchema.extend({
  reason: z.enum(['task-threw', 'refinements-exhausted', 'provider-failed', 'budget-exceeded', 'invalid-task', 'spawn-error']),
});

/**
 * Messages a runner child sends the manager over its channel (one JSON line each). A `done` is a
 * hint only: the manager completes a task on a valid output.json, never on a message. A `call`
 * asks the manager's gateway for a model call.
 */
export const RunnerMessageSchema = z.discriminatedUnion('type', [
  // `call`: the model call the stage belongs to (inference makes the next one; the stages after it work on the last).
  z.object({ type: z.literal('stage'), stage: StageNameSchema, call: z.number().int() }),
  z.object({
    type: z.literal('done'),
    model: z.string().nullable(),
    escalations: z.number().int().min(0).optional(),
    usage: UsageSchema,
    refinements: z.number().int(),
    costUsd: z.number().optional(),
  }),
  // Calls wait for the Batch API: the attempt ends here, its artifacts kept, and runs again once they are answered.
  z.object({ type: z.literal('parked'), usage: UsageSchema, refinements: z.number().int() }),
  z.object({ type: z.literal('failed'), error: RunnerFailureSchema, usage: UsageSchema, refinements: z.number().int(), costUsd: z.number().optional() }),
  // A fan-out task's progress: sent as items finish.
  ItemProgressSchema.extend({ type: z.literal('items') }),
  // A text cut by truncateToTokens.
  TruncationSchema.extend({ type: z.literal('truncated'), stage: StageNameSchema }),
  CallRequestSchema,
  CallAbortSchema,
  CallVerdictSchema,
]);
export type RunnerMessage = z.output<typeof RunnerMessageSchema>;

export const ProviderFailureSchema = z.object({
  reason: z.string(),
  provider: z.string(),
  model: z.string(),
  message: z.string(),
  status: z.number().int().optional(),
});

/** A line for the task's task.log about a call (model-call, model-retry, model-replied ...). */
export const CallLogSchema = z.object({
  type: z.literal('call-log'),
  id: z.number().int(),
  level: z.enum(['debug', 'info', 'warn', 'error']),
  fields: z.record(z.string(), z.unknown()),
  msg: z.string().optional(),
});

/** The answer to a call: the model that answered, its text and usage, and the models skipped before it. */
export const CallReplySchema = z.object({
  type: z.literal('call-reply'),
  id: z.number().int(),
  text: z.string(),
  model: z.string(),
  usage: CallUsageSchema,
  costUsd: z.number().optional(),
  finishReason: z.string().optional(),
  latencyMs: z.number(),
  skipped: z.array(z.object({ model: z.string(), reason: z.string(), message: z.string() })),
  /** Served from the call cache: no request was made; `usage` is the original call's. */
  cached: z.boolean().optional(),
});

/** Every model of the call failed (or the gateway could not make it): each one's failure. */
export const CallErrorSchema = z.object({ type: z.literal('call-error'), id: z.number().int(), failures: z.array(ProviderFailureSchema) });

/** The call waits for the Batch API: the task ends `parked` once its other work is done, and runs again when the answer is in. */
export const CallParkedSchema = z.object({ type: z.literal('call-parked'), id: z.number().int(), provider: z.string() });

/** What the manager sends a standby runner: the letter of the task it is to run. */
export const RunLetterSchema = z.object({ type: z.literal('run'), letter: z.string() });

/** The manager (or worker) is alive: a runner that hears none for `silenceMs` stops, subprocesses and all. */
export const HeartbeatSchema = z.object({ type: z.literal('heartbeat'), silenceMs: z.number().int().positive() });

/** Messages the manager sends a runner child. */
export const ManagerMessageSchema = z.discriminatedUnion('type', [
  RunLetterSchema,
  CallLogSchema,
  CallReplySchema,
  CallErrorSchema,
  CallParkedSchema,
  HeartbeatSchema,
]);
export type ManagerMessage = z.output<typeof ManagerMessageSchema>;
export type CallReply = z.output<typeof CallReplySchema>;
export type CallError = z.output<typeof CallErrorSchema>;
export type CallParked = z.output<typeof CallParkedSchema>;
export type CallLog = z.output<typeof CallLogSchema>;
