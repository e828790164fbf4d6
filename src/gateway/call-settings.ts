import { allowedModelsOf } from '../formats/allowed-models.js';
import type { Pipeline } from '../formats/pipeline.js';
import type { ResolvedTask } from '../formats/resolve-pipeline.js';
import type { CallSettings } from './gateway.js';
import { batchPaths } from '../batch/batch-store.js';

/**
 * What the gateway needs to make a task's calls, taken from the run's own pipeline snapshot and
 * nothing else: its providers and prices, the models it may be served, its spending limits. The
 * manager and every worker build it alike, so no message can widen it.
 */
export function callSettingsOf(snapshot: Pipeline, task: ResolvedTask, cacheDir: string | undefined, where?: { root: string; runDir: string }): CallSettings {
  const maxCostUsd = snapshot.maxCostUsd === undefined && task.maxCostUsd === undefined ? undefined : { run: snapshot.maxCostUsd, task: task.maxCostUsd };
  return {
    providers: snapshot.providers,
    maxRetries: task.maxRetries,
    ...(task.cache && cacheDir ? { cacheDir } : {}),
    prices: snapshot.prices,
    allowed: allowedModelsOf(snapshot, [...task.models, ...task.escalate.flat()]),
    ...(maxCostUsd ? { maxCostUsd } : {}),
    bounds: { inFlight: task.concurrency, total: task.maxCalls },
    ...(task.batch && where
      ? {
          batch: {
            mode: task.batch,
            refine: snapshot.batch?.refine ?? 'batch',
            paths: batchPaths(where.root),
            runDir: where.runDir,
            batchPrices: snapshot.batchPrices,
            occurrences: new Map(),
          },
        }
      : {}),
  };
}
