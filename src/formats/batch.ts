import { z } from 'zod';
import { CallUsageSchema } from './ledger.js';
import { MockBehaviourSchema, PriceSchema, ProviderSchema } from './pipeline.js';
import { BatchCountsSchema } from './waiting.js';

export { BatchCountsSchema, WaitingSchema, type BatchCounts, type Waiting } from './waiting.js';

/** Whose call a batched request answers: the call a parked task will make again. */
export const BatchOwnerSchema = z.object({
  run: z.string(),
  task: z.string(),
  attempt: z.number().int().min(1),
  item: z.number().int().min(0).optional(),
  call: z.number().int().min(1),
  rung: z.number().int().min(0).optional(),
  /** The spec the task asked for first, `provider:model`. */
  modelAsked: z.string(),
});

/**
 * A call waiting for the Batch API, `.pop/batches/pending/<run>/<task>--<request>.json`: written by
 * the gateway that parked it (the manager's, or a worker's), removed once its answer is stored.
 */
export const PendingRequestSchema = z.object({
  id: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
  /** The provider's name in the spec, its settings from the run's pipeline, and the model. */
  provider: z.string(),
  config: ProviderSchema.extend({ type: z.enum(['openai', 'anthropic', 'mock']) }),
  model: z.string(),
  /** `provider:model`: the spec that answers. */
  spec: z.string(),
  messages: z.array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() })),
  schema: z.record(z.string(), z.unknown()).optional(),
  schemaName: z.string(),
  mock: MockBehaviourSchema.optional(),
  owner: BatchOwnerSchema,
  /** The price of a batched call of this model: `batchPrices`, else half of `prices`. */
  price: PriceSchema.optional(),
  queuedAt: z.string(),
});

/** A submission's state: being created, open at the provider, or done with. */
export const SubmissionStateSchema = z.enum(['submitting', 'open', 'ended', 'failed', 'unsupported', 'cancelled']);

/**
 * `.pop/batches/<key>.json`: written before the batch is created, so a manager that dies at any
 * point finds what it submitted (by the key the batch carries) before submitting anything again.
 */
export const SubmissionSchema = z.object({
  key: z.string(),
  provider: z.string(),
  model: z.string(),
  state: SubmissionStateSchema,
  batch: z.string().optional().describe("the provider's batch id, once known"),
  createdAt: z.string(),
  submittedAt: z.string().optional(),
  endedAt: z.string().optional(),
  counts: BatchCountsSchema.optional(),
  message: z.string().optional().describe("the provider's words, for a batch it failed or a server without a Batch API"),
  /** Each request's own record: what to make, and whose call it answers. */
  requests: z.array(PendingRequestSchema),
});

/**
 * A batched call's result, `tasks/<task>/batch/<request>.json` in its run: the answer a parked task
 * is given when it runs again, or why there is none.
 */
export const BatchAnswerSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    id: z.string(),
    batch: z.string(),
    model: z.string(),
    servedModel: z.string(),
    text: z.string(),
    usage: CallUsageSchema,
    costUsd: z.number().optional(),
    finishReason: z.string().optional(),
    at: z.string(),
  }),
  z.object({
    ok: z.literal(false),
    id: z.string(),
    batch: z.string().optional(),
    /** expired, errored, cancelled: made in real time instead (unless `required`); rejected, unsupported: see the message. */
    reason: z.enum(['expired', 'errored', 'cancelled', 'rejected', 'unsupported']),
    message: z.string(),
    at: z.string(),
  }),
]);

export type BatchOwner = z.output<typeof BatchOwnerSchema>;
export type PendingRequest = z.output<typeof PendingRequestSchema>;
export type Submission = z.output<typeof SubmissionSchema>;
export type SubmissionState = z.output<typeof SubmissionStateSchema>;
export type BatchAnswer = z.output<typeof BatchAnswerSchema>;
