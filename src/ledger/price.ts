import type { CallUsage } from '../formats/ledger.js';
import type { Price } from '../formats/pipeline.js';

/**
 * USD for one call's tokens at `price`: cached input at `cachedInputPerMillion` and cache writes at
 * `cacheWritePerMillion` when given (else at the input price), the rest of the input and all the
 * output at theirs, so the figure is what the provider's bill says.
 */
export function priceOf(usage: CallUsage, price: Price): number {
  const cached = usage.cachedInputTokens ?? 0;
  const written = usage.cacheWriteTokens ?? 0;
  const plainInput = Math.max(0, usage.inputTokens - cached - written);
  const perMillion =
    plainInput * price.inputPerMillion +
    cached * (price.cachedInputPerMillion ?? price.inputPerMillion) +
    written * (price.cacheWritePerMillion ?? price.inputPerMillion) +
    usage.outputTokens * price.outputPerMillion;
  return perMillion / 1_000_000;
}

/** USD for one call, when `prices` lists the model that answered (`provider:model`); else undefined. */
export function costOf(usage: CallUsage, model: string | null, prices: Record<string, Price> | undefined): number | undefined {
  const price = model ? prices?.[model] : undefined;
  return price ? priceOf(usage, price) : undefined;
}
