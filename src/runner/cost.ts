import type { Price } from '../formats/pipeline.js';

/** USD for one call, when pipeline.json `prices` lists the model that answered; else undefined. */
export function costOf(
  usage: { inputTokens: number; outputTokens: number },
  model: string | null,
  prices: Record<string, Price> | undefined,
): number | undefined {
  const price = model ? prices?.[model] : undefined;
  if (!price) return undefined;
  return (usage.inputTokens * price.inputPerMillion + usage.outputTokens * price.outputPerMillion) / 1_000_000;
}

export function addCost(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a + b;
}
