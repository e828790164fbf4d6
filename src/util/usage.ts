import type { Usage } from '../formats/usage.js';

// Usage arithmetic without the schema module, so the runner child need not load zod for it.
export const emptyUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, calls: 0 });

export function addUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens, calls: a.calls + b.calls };
  // Only usage with cached calls says so: everything else reads as it always has.
  if (a.cachedCalls || b.cachedCalls) sum.cachedCalls = (a.cachedCalls ?? 0) + (b.cachedCalls ?? 0);
  return sum;
}

/**
 * What one reply adds to a task's usage: its tokens and one call, or, answered from the call
 * cache, one cached call and nothing spent.
 */
export function usageOfReply(reply: { usage: { inputTokens: number; outputTokens: number }; cached?: boolean | undefined }): Usage {
  return reply.cached ? { inputTokens: 0, outputTokens: 0, calls: 0, cachedCalls: 1 } : { ...reply.usage, calls: 1 };
}
