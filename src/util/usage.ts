import type { ByModel, Usage } from '../formats/usage.js';

// Usage arithmetic without the schema module, so the runner child need not load zod for it.
export const emptyUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, calls: 0 });

/** The counts that only usage which has them shows: everything else reads as it always has. */
const OPTIONAL_COUNTS = ['cachedCalls', 'batchCalls', 'cachedInputTokens', 'cacheWriteTokens', 'reasoningTokens', 'failedCalls', 'abortedCalls'] as const;

export function addUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens, calls: a.calls + b.calls };
  for (const count of OPTIONAL_COUNTS) {
    if (a[count] || b[count]) sum[count] = (a[count] ?? 0) + (b[count] ?? 0);
  }
  return sum;
}

export function addCost(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a + b;
}

/** Two per-model splits added up. */
export function addByModel(a: ByModel | undefined, b: ByModel | undefined): ByModel | undefined {
  if (!a || !b) return a ?? b;
  const sum: ByModel = { ...a };
  for (const [model, usage] of Object.entries(b)) {
    const before = sum[model];
    const costUsd = addCost(before?.costUsd, usage.costUsd);
    sum[model] = {
      ...(before ? addUsage(before, usage) : addUsage(usage, { inputTokens: 0, outputTokens: 0, calls: 0 })),
      ...(costUsd === undefined ? {} : { costUsd }),
    };
  }
  return sum;
}

/**
 * What one reply adds to a task's usage: its tokens and one call, or, answered from the call
 * cache, one cached call and nothing spent.
 */
export function usageOfReply(reply: { usage: { inputTokens: number; outputTokens: number }; cached?: boolean | undefined }): Usage {
  return reply.cached
    ? { inputTokens: 0, outputTokens: 0, calls: 0, cachedCalls: 1 }
    : { inputTokens: reply.usage.inputTokens, outputTokens: reply.usage.outputTokens, calls: 1 };
}
