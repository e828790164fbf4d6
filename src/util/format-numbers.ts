/**
 * Durations and costs as people read them, for the terminal and the web pages alike. `missing` is
 * what a value that is not known prints as (the terminal uses '-', the pages an en dash).
 */
export function formatDuration(ms: number | undefined, missing = '–'): string {
  if (ms === undefined) return missing;
  // Round once, at the unit shown, so that 119,999 ms is "2 m 0 s", never "1 m 60 s".
  const wholeMs = Math.round(ms);
  if (wholeMs < 1000) return `${wholeMs} ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} m ${seconds % 60} s`;
  const minutes = Math.round(ms / 60_000);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} m`;
}

/** Dollars: four decimals under a cent, so that small calls do not all read $0.00. */
export function formatCost(usd: number | undefined, missing = '–'): string {
  if (usd === undefined) return missing;
  return `$${usd.toFixed(usd < 0.01 && usd > 0 ? 4 : 2)}`;
}
