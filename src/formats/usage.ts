import { z } from 'zod';

/** Calls and tokens added up (a task's, a run's, one model's share of them). */
export const UsageSchema = z.strictObject({
  inputTokens: z.number().int().min(0),
  outputTokens: z.number().int().min(0),
  calls: z.number().int().min(0).describe('calls a provider answered (not those served from the call cache)'),
  cachedCalls: z.number().int().min(0).optional().describe('calls answered from the call cache: no tokens spent, no cost'),
  batchCalls: z.number().int().min(0).optional().describe("calls answered through a provider's Batch API (part of calls), at its batch price"),
  cachedInputTokens: z.number().int().min(0).optional().describe("input tokens read from the provider's prompt cache (part of inputTokens)"),
  cacheWriteTokens: z.number().int().min(0).optional().describe("input tokens written to the provider's prompt cache (part of inputTokens)"),
  reasoningTokens: z.number().int().min(0).optional().describe('reasoning tokens (part of outputTokens)'),
  failedCalls: z.number().int().min(0).optional().describe('calls that failed or were refused'),
  abortedCalls: z.number().int().min(0).optional().describe('calls cut off when their task stopped: no usage known, the provider may still bill them'),
});
export type Usage = z.output<typeof UsageSchema>;

/** One model's share of a task's or a run's usage and cost. */
export const ModelUsageSchema = UsageSchema.extend({ costUsd: z.number().min(0).optional() });
export type ModelUsage = z.output<typeof ModelUsageSchema>;

/** Usage and cost by the model that answered, `provider:model`. */
export const ByModelSchema = z.record(z.string(), ModelUsageSchema);
export type ByModel = z.output<typeof ByModelSchema>;
