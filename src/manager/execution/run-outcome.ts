import { readJsonFile } from '../../fs/read-json.js';
import { isOutputOf, OutputSchema } from '../../formats/output.js';
import type { TaskFailure } from '../../formats/task-failure.js';
import type { TaskStatus } from '../../formats/tasks-status.js';
import { basename } from 'node:path';
import { applyLedger, taskLedgerTotals } from '../../ledger/task-totals.js';
import { taskPaths } from '../../workspace.js';
import { promoteRun } from '../runs/promote-run.js';
import type { RunContext } from './run-context.js';
import { itemsOfOutput } from './task-progress.js';

export type RunOutcome = 'complete' | 'failed' | 'interrupted' | 'waiting';

/** Every task complete: the run's line in runs.jsonl, then the move to pipeline-complete/. */
export async function completeRun(context: RunContext, alreadyRecorded: ((id: string) => Promise<boolean>) | undefined): Promise<RunOutcome> {
  const { status } = context;
  status.running = [];
  const target = await promoteRun(context.paths, context.runDir, status, alreadyRecorded ? { alreadyRecorded } : {});
  context.emit({
    event: 'run-complete',
    run: status.id,
    durationMs: Date.parse(status.updatedAt) - Date.parse(status.startedAt ?? status.createdAt),
    dir: target,
  });
  return 'complete';
}

/**
 * Failed: every failed task keeps its own error in its entry; the run's `error` is the first
 * of them in pipeline order, saying how many others failed.
 */
export async function failRun(context: RunContext, failed: string[], fallback?: { task: string; error: TaskFailure }): Promise<RunOutcome> {
  const { status } = context;
  const first = failed[0];
  const firstError = first === undefined ? undefined : status.tasks[first]?.error;
  const [task, error] =
    firstError && first
      ? [first, firstError]
      : fallback
        ? [fallback.task, fallback.error]
        : ['-', { reason: 'invalid-task' as const, message: 'the run failed' }];
  const others = failed.length - 1;
  status.state = 'failed';
  status.error = { ...error, task, ...(others > 0 ? { message: `${error.message} (and ${others} other task(s) failed: ${failed.slice(1).join(', ')})` } : {}) };
  await context.save();
  context.emit({ event: 'run-failed', run: status.id, task, reason: error.reason, message: status.error.message, dir: context.runDir });
  return 'failed';
}

/** Stopped before every task ran: queued again, to continue at the next start (or with resume). */
export async function interruptRun(context: RunContext, unfinished: string[]): Promise<RunOutcome> {
  context.status.state = 'queued';
  await context.save();
  context.emit({ event: 'run-interrupted', run: context.status.id, task: unfinished[0] ?? '-' });
  return 'interrupted';
}

/** Tasks wait for the Batch API: the run holds nothing until their answers are in, then continues. */
export async function waitRun(context: RunContext, waiting: string[]): Promise<RunOutcome> {
  context.status.state = 'waiting';
  context.status.running = [];
  await context.save();
  context.emit({ event: 'run-waiting', run: context.status.id, tasks: waiting });
  return 'waiting';
}

/**
 * A task the manager saw start but not finish may have written its output just before a crash:
 * then it is complete, and not run again. Only that attempt's own output counts: one an earlier
 * attempt left behind says nothing about the last.
 */
export async function recoverFinishedTask(runDir: string, task: string, state: TaskStatus): Promise<boolean> {
  const output = await readJsonFile(taskPaths(runDir, task).output, OutputSchema);
  if (!output.ok || !isOutputOf(output.value, task, state.attempts)) return false;
  const endedAt = output.value.finishedAt;
  Object.assign(state, {
    state: 'complete',
    endedAt,
    refinements: output.value.refinements,
    ...(output.value.model ? { model: output.value.model } : {}),
    ...(output.value.escalations ? { escalations: output.value.escalations } : {}),
    ...itemsOfOutput(output.value),
    ...(state.startedAt ? { durationMs: Math.max(0, Date.parse(endedAt) - Date.parse(state.startedAt)) } : {}),
  });
  applyLedger(state, await taskLedgerTotals(runDir, task, basename(runDir)));
  return true;
}
