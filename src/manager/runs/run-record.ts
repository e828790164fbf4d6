import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { RunRecord } from '../../formats/run-record.js';
import type { RunStatus } from '../../formats/tasks-status.js';
import { addCost } from '../../runner/cost.js';
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
    ...(task.copied ? { copied: true as const } : {}),
  }));
  // A rerun's totals are the calls it made: copied tasks were paid for by the run they came from.
  const made = tasks.filter((task) => !task.copied);
  let costUsd: number | undefined;
  for (const task of made) costUsd = addCost(costUsd, task.costUsd);
  const cachedCalls = made.reduce((sum, task) => sum + (task.usage.cachedCalls ?? 0), 0);
  const startedAt = status.startedAt ?? status.createdAt;
  return {
    id: status.id,
    pipeline: status.pipeline,
    seed: status.source.file,
    startedAt,
    completedAt,
    durationMs: Math.max(0, Date.parse(completedAt) - Date.parse(startedAt)),
    tasks,
    totals: {
      calls: made.reduce((sum, task) => sum + task.usage.calls, 0),
      inputTokens: made.reduce((sum, task) => sum + task.usage.inputTokens, 0),
      outputTokens: made.reduce((sum, task) => sum + task.usage.outputTokens, 0),
      ...(cachedCalls ? { cachedCalls } : {}),
      ...(costUsd === undefined ? {} : { costUsd }),
    },
    sha256: { seed: status.source.sha256, pipeline: createHash('sha256').update(pipelineBytes).digest('hex') },
  };
}
