import { z } from 'zod';

/** The tokens of one call, as its provider reported them. */
export const CallUsageSchema = z.strictObject({
  inputTokens: z.number().int().min(0).describe('every input token, cached ones included'),
  outputTokens: z.number().int().min(0).describe('every output token, reasoning ones included'),
  cachedInputTokens: z.number().int().min(0).optional().describe("input tokens read from the provider's prompt cache"),
  cacheWriteTokens: z.number().int().min(0).optional().describe("input tokens written to the provider's prompt cache (Anthropic)"),
  reasoningTokens: z.number().int().min(0).optional().describe('output tokens spent reasoning, where the provider reports them'),
});
export type CallUsage = z.output<typeof CallUsageSchema>;

export const CallOutcomeSchema = z.enum(['answered', 'failed', 'aborted']);

/**
 * One line of tasks/<task>/calls.jsonl: one provider call (or one refused or skipped model of a
 * call), appended by the gateway that made it before the reply reached the task.
 */
export const CallRecordSchema = z.object({
  run: z.string().describe('the run that made the call (a rerun copies lines of another run: they are not its own)'),
  task: z.string(),
  attempt: z.number().int().min(1),
  item: z.number().int().min(0).optional().describe("a fan-out item's index, from 0"),
  call: z.number().int().min(1).describe("the call's number in its folder (the task's, or the item's)"),
  modelAsked: z.string().describe('the first model of the call as the task asked for it, `provider:model`'),
  rung: z.number().int().min(0).optional().describe("the escalation rung the call was made on: 0 for the task's own models"),
  model: z.string().describe('the model this line is about, `provider:model`'),
  servedModel: z.string().optional().describe("the model name in the provider's reply"),
  usage: CallUsageSchema,
  costUsd: z.number().min(0).optional().describe('absent when pipeline.json has no price for the model, or no tokens were spent'),
  latencyMs: z.number().min(0),
  finishReason: z.string().optional(),
  cached: z.literal(true).optional().describe('answered from the call cache: no request, no cost'),
  batch: z.literal(true).optional().describe("made through the provider's Batch API, at its batch price"),
  request: z.string().optional().describe('a batched call: its request id in the batch (applied once)'),
  outcome: CallOutcomeSchema.describe('answered; failed (see reason); aborted: the task stopped mid-call, no usage known (the provider may still bill it)'),
  reason: z.string().optional().describe('why a call failed or was aborted'),
  message: z.string().optional(),
  at: z.string().describe('when the line was written'),
});
export type CallRecord = z.output<typeof CallRecordSchema>;
export type CallOutcome = z.output<typeof CallOutcomeSchema>;
