import type { Price } from '../formats/pipeline.js';

/** Providers bill batched calls at half their real-time price. */
const BATCH_DISCOUNT = 0.5;

/** The price of a batched call of `model`: `batchPrices`, else half of `prices`; undefined when neither lists it. */
export function batchPriceOf(model: string, prices: Record<string, Price> | undefined, batchPrices: Record<string, Price> | undefined): Price | undefined {
  const own = batchPrices?.[model];
  if (own) return own;
  const price = prices?.[model];
  if (!price) return undefined;
  const half = (perMillion: number | undefined) => (perMillion === undefined ? undefined : perMillion * BATCH_DISCOUNT);
  return {
    inputPerMillion: price.inputPerMillion * BATCH_DISCOUNT,
    outputPerMillion: price.outputPerMillion * BATCH_DISCOUNT,
    ...(price.cachedInputPerMillion === undefined ? {} : { cachedInputPerMillion: half(price.cachedInputPerMillion) }),
    ...(price.cacheWritePerMillion === undefined ? {} : { cacheWritePerMillion: half(price.cacheWritePerMillion) }),
  };
}
