import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { RunRecord } from '../../formats/run-record.js';
import type { RunStatus } from '../../formats/tasks-status.js';
import type { ByModel } from '../../formats/usage.js';
import { addByModel, addCost, addUsage, emptyUsage } from '../../util/usage.js';
import { runPaths } from '../../workspace.js';

/** The runs.jsonl line of a finished run, from its status and its pipeline snapshot. */
export async function buildRunRecord(runDir: string, status: RunStatus, completedAt: string): Promise<RunRecord> {
  const pipelineBytes = await readFile(runPaths(runDir).pipeline);
  const tasks = Object.entries(status.tasks).map(([name, task]) => ({
    name,
    durationMs: task.durationMs ?? 0,
    attempts: task.attempts,
    refinements: task.refinements,
    usage: task.usage,
    ...(task.costUsd === undefined ? {} : { costUsd: task.costUsd }),
    ...(task.byModel ? { byModel: task.byModel } : {}),
    ...(task.escalations ? { escalations: task.escalations } : {}),
    ...(task.copied ? { copied: true as const } : {}),
  }));
  // A rerun's totals are the calls it made: copied tasks were paid for by the run they came from.
  const made = tasks.filter((task) => !task.copied);
  let costUsd: number | undefined;
  let byModel: ByModel | undefined;
  let usage = emptyUsage();
  for (const task of made) {
    costUsd = addCost(costUsd, task.costUsd);
    byModel = addByModel(byModel, task.byModel);
    usage = addUsage(usage, task.usage);
  }
  const escalations = made.reduce((sum, task) => sum + (task.escalations ?? 0), 0);
  const startedAt = status.startedAt ?? status.createdAt;
  const wallMs = Math.max(0, Date.parse(completedAt) - Date.parse(startedAt));
  return {
    id: status.id,
    pipeline: status.pipeline,
    seed: status.source.file,
    startedAt,
    completedAt,
    durationMs: status.activeMs === undefined ? wallMs : Math.min(status.activeMs, wallMs),
    wallMs,
    tasks,
    totals: {
      calls: usage.calls,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      ...(usage.cachedCalls ? { cachedCalls: usage.cachedCalls } : {}),
      ...(usage.batchCalls ? { batchCalls: usage.batchCalls } : {}),
      ...(usage.cachedInputTokens ? { cachedInputTokens: usage.cachedInputTokens } : {}),
      ...(usage.failedCalls ? { failedCalls: usage.failedCalls } : {}),
      ...(usage.abortedCalls ? { abortedCalls: usage.abortedCalls } : {}),
      ...(costUsd === undefined ? {} : { costUsd }),
      ...(byModel && Object.keys(byModel).length ? { byModel } : {}),
      ...(escalations ? { escalations } : {}),
    },
    sha256: { seed: status.source.sha256, pipeline: createHash('sha256').update(pipelineBytes).digest('hex') },
  };
}
