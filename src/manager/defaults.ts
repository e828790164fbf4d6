/** Task processes at once, across all runs, unless `--concurrency` says otherwise. */
export const DEFAULT_CONCURRENCY = 2;
