import type { CallRecord } from '../formats/ledger.js';
import type { ByModel, Usage } from '../formats/usage.js';
import { addCost, addUsage, emptyUsage } from '../util/usage.js';

/** Usage, cost and the split by model of a set of ledger lines. */
export interface CallTotals {
  usage: Usage;
  costUsd: number | undefined;
  byModel: ByModel;
  /** Models that answered calls with tokens but have no price: their cost is unknown. */
  unpriced: string[];
}

/** What one line adds: an answered call its tokens; a cached one, a cached call; the others, a count. */
export function usageOfRecord(record: CallRecord): Usage {
  if (record.outcome === 'aborted') return { ...emptyUsage(), abortedCalls: 1 };
  if (record.outcome === 'failed') return { ...emptyUsage(), failedCalls: 1 };
  if (record.cached) return { ...emptyUsage(), cachedCalls: 1 };
  const { usage } = record;
  return {
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    calls: 1,
    ...(record.batch ? { batchCalls: 1 } : {}),
    ...(usage.cachedInputTokens ? { cachedInputTokens: usage.cachedInputTokens } : {}),
    ...(usage.cacheWriteTokens ? { cacheWriteTokens: usage.cacheWriteTokens } : {}),
    ...(usage.reasoningTokens ? { reasoningTokens: usage.reasoningTokens } : {}),
  };
}

/** The sum of ledger lines; only those of `run` when given (a rerun's copied lines are another run's). */
export function sumCalls(records: Iterable<CallRecord>, run?: string): CallTotals {
  let usage = emptyUsage();
  let costUsd: number | undefined;
  const byModel: ByModel = {};
  const unpriced = new Set<string>();
  for (const record of records) {
    if (run !== undefined && record.run !== run) continue;
    const added = usageOfRecord(record);
    usage = addUsage(usage, added);
    const cost = record.cached ? undefined : record.costUsd;
    costUsd = addCost(costUsd, cost);
    if (record.outcome === 'answered' && !record.cached && cost === undefined && record.usage.inputTokens + record.usage.outputTokens > 0)
      unpriced.add(record.model);
    const before = byModel[record.model];
    const modelCost = addCost(before?.costUsd, cost);
    byModel[record.model] = { ...addUsage(before ?? emptyUsage(), added), ...(modelCost === undefined ? {} : { costUsd: modelCost }) };
  }
  return { usage, costUsd, byModel, unpriced: [...unpriced].sort() };
}
