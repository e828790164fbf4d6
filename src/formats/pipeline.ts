import { z } from 'zod';
import { graphProblems } from './task-graph.js';

/** Task names become folder names, so they are restricted to a safe, portable alphabet. */
export const TaskNameSchema = z
  .string()
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, {
    message: 'a task name is lowercase letters, digits, "-" and "_", starting with a letter or digit (it becomes a folder name)',
  });

/** `provider:model`, or an alias from `models`. */
export const ModelSpecSchema = z.string().min(1);
export const ModelRefSchema = z.union([ModelSpecSchema, z.array(ModelSpecSchema).min(1)]);

/**
 * Makes the offline mock answer badly: the first N calls of a task (the refinement loop), or a
 * share of prompts on one model (an escalation to a stronger one).
 */
export const MockBehaviourSchema = z.strictObject({
  failFirst: z.number().int().min(0).default(0).describe('how many calls answer badly before a good answer'),
  failShare: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('the share of prompts (picked by their content, the same every time) that failModel always answers badly'),
  failModel: z
    .string()
    .optional()
    .describe('the model that fails failShare of the prompts (`provider:model`, or the model name); every other model answers them well'),
  failure: z
    .enum(['broken-json', 'invalid-value'])
    .default('broken-json')
    .describe('broken-json: a reply cut off mid-JSON; invalid-value: JSON that breaks the output schema'),
});

/** A task's calls wait for the Batch API (`true`), and never fall back to real time (`required`). */
export const BatchModeSchema = z.union([z.boolean(), z.literal('required')]);

/** How the manager gathers, submits and polls batched calls. */
export const BatchSettingsSchema = z.strictObject({
  windowMs: z.number().int().min(0).default(60_000).describe('how long pending calls are gathered before a submission'),
  maxRequests: z.number().int().min(1).max(50_000).default(50_000).describe('requests in one submission at most'),
  pollMs: z.number().int().min(100).default(30_000).describe('how often open batches are asked for their state'),
  refine: z
    .enum(['batch', 'realtime'])
    .default('batch')
    .describe('batch: a refinement waits for the next batch round; realtime: refinements are made at once, at the real-time price'),
});

/** What a fan-out task does with an item that never validates. */
export const ItemFailuresSchema = z.enum(['fail', 'skip']);

const taskSettings = {
  model: ModelRefSchema.optional().describe('model spec, alias, or fallback list'),
  timeoutMs: z.number().int().positive().optional().describe('kill the task process after this long'),
  maxRefinements: z.number().int().min(0).optional().describe('re-prompts allowed after a failed validation'),
  memoryMb: z.number().int().min(32).optional().describe('heap limit of the task process'),
  maxRetries: z.number().int().min(0).optional().describe("SDK retries per model call, over the provider's own setting"),
  mock: MockBehaviourSchema.optional(),
  concurrency: z.number().int().min(1).max(256).optional().describe("a fan-out task's items in flight at once (default 4)"),
  itemFailures: ItemFailuresSchema.optional().describe('fail: an item that never validates fails the task (default); skip: the task goes on without it'),
  cache: z.boolean().optional().describe('answer identical calls from the call cache (.pop/cache/) instead of the provider'),
  escalate: z.array(ModelSpecSchema).optional().describe('stronger models (aliases or provider:model), in order, tried when a reply still fails validation'),
  escalateAfter: z.number().int().min(0).optional().describe('refinements on a rung before the next call moves up the ladder (default 1)'),
  maxCalls: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('model calls one attempt of the task may make at most (default 10000); more are refused with max-calls'),
  maxCostUsd: z
    .number()
    .positive()
    .optional()
    .describe('USD the task may spend over all its attempts, by its ledger; a call past it is refused with budget-exceeded'),
  batch: BatchModeSchema.optional().describe(
    'true: the task\'s calls wait for the provider\'s Batch API at its lower price; "required": never fall back to real-time calls',
  ),
};

export const TaskEntryObjectSchema = z.strictObject({
  name: TaskNameSchema.describe('the step name; also its folder under tasks/'),
  task: TaskNameSchema.optional().describe('registry key of the module to run (defaults to name)'),
  config: z.record(z.string(), z.unknown()).optional().describe('free-form settings handed to the task'),
  needs: z
    .array(TaskNameSchema)
    .optional()
    .describe('tasks that must be complete before this one starts; absent: the task listed before it; []: starts with the run'),
  ...taskSettings,
});

export const TaskEntrySchema = z.union([TaskNameSchema, TaskEntryObjectSchema]);

export const ProviderLimitsSchema = z.strictObject({
  concurrency: z.number().int().positive().optional().describe('calls in flight at once, across every task'),
  requestsPerMinute: z.number().positive().optional().describe('requests sent per minute, evenly spaced'),
  tokensPerMinute: z.number().int().positive().optional().describe('input + output tokens per minute (estimated before a call, corrected after)'),
});

export const ProviderSchema = z.strictObject({
  type: z.enum(['openai', 'anthropic', 'mock']).optional().describe('required, except to set limits of a built-in provider (openai, anthropic, mock)'),
  baseURL: z.string().url().optional(),
  apiKeyEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .optional()
    .describe('environment variable holding the key'),
  maxRetries: z.number().int().min(0).optional(),
  timeoutMs: z.number().int().positive().optional().describe('per-request time limit'),
  limits: ProviderLimitsSchema.optional().describe("the provider's budget, shared by every task of the manager"),
  batchDelayMs: z.number().int().min(0).optional().describe('mock providers: how long their simulated Batch API takes to answer (default 5000)'),
});

export const PriceSchema = z.strictObject({
  inputPerMillion: z.number().min(0).describe('USD per million input tokens'),
  outputPerMillion: z.number().min(0).describe('USD per million output tokens'),
  cachedInputPerMillion: z.number().min(0).optional().describe("USD per million input tokens read from the provider's prompt cache (default: inputPerMillion)"),
  cacheWritePerMillion: z
    .number()
    .min(0)
    .optional()
    .describe("USD per million input tokens written to the provider's prompt cache (Anthropic; default: inputPerMillion)"),
});

export const PipelineSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().min(1),
    description: z.string().optional(),
    tasks: z.array(TaskEntrySchema).min(1),
    models: z.record(z.string(), ModelRefSchema).optional(),
    providers: z.record(z.string(), ProviderSchema).optional(),
    defaults: z.strictObject(taskSettings).optional(),
    prices: z.record(z.string(), PriceSchema).optional(),
    batchPrices: z.record(z.string(), PriceSchema).optional().describe('prices of batched calls by model (default: half of prices)'),
    batch: BatchSettingsSchema.optional().describe('how batched calls are gathered, submitted and polled'),
    maxCostUsd: z.number().positive().optional().describe('USD one run may spend, by its ledger; its calls past it are refused with budget-exceeded'),
  })
  .superRefine((pipeline, ctx) => {
    for (const [name, provider] of Object.entries(pipeline.providers ?? {})) {
      if (provider.type === undefined && !['openai', 'anthropic', 'mock'].includes(name)) {
        ctx.addIssue({ code: 'custom', path: ['providers', name, 'type'], message: `provider "${name}" needs a "type" (openai, anthropic or mock)` });
      }
    }
    const seen = new Set<string>();
    pipeline.tasks.forEach((entry, index) => {
      const name = typeof entry === 'string' ? entry : entry.name;
      if (seen.has(name)) {
        ctx.addIssue({ code: 'custom', path: ['tasks', index], message: `task "${name}" appears twice; give the second a different name` });
      }
      seen.add(name);
    });
    if (seen.size !== pipeline.tasks.length) return;
    const entries = pipeline.tasks.map((entry) => (typeof entry === 'string' ? { name: entry } : entry));
    for (const problem of graphProblems(entries)) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
  });

export type Pipeline = z.output<typeof PipelineSchema>;
export type TaskEntryObject = z.output<typeof TaskEntryObjectSchema>;
export type MockBehaviour = z.output<typeof MockBehaviourSchema>;
export type ProviderConfig = z.output<typeof ProviderSchema>;
export type ProviderLimits = z.output<typeof ProviderLimitsSchema>;
export type Price = z.output<typeof PriceSchema>;
export type ItemFailures = z.output<typeof ItemFailuresSchema>;
export type BatchMode = z.output<typeof BatchModeSchema>;
export type BatchSettings = z.output<typeof BatchSettingsSchema>;
