import type { TaskStatus } from '../formats/tasks-status.js';
import { taskPaths } from '../workspace.js';
import { ledgerPathOf } from './ledger-file.js';
import { readLedger } from './read-ledger.js';
import { sumCalls, type CallTotals } from './sum-calls.js';

export interface TaskLedger extends CallTotals {
  /** Torn or invalid lines skipped. */
  skipped: number;
  problem?: string | undefined;
}

/** A task's usage and cost over all its attempts, from its calls.jsonl: the lines of `run` only. */
export async function taskLedgerTotals(runDir: string, task: string, run: string): Promise<TaskLedger> {
  const read = await readLedger(ledgerPathOf(taskPaths(runDir, task).dir));
  return { ...sumCalls(read.records, run), skipped: read.skipped, ...(read.problem ? { problem: read.problem } : {}) };
}

/** Set a task's figures in its status to what its ledger says. */
export function applyLedger(state: TaskStatus, totals: CallTotals): void {
  state.usage = totals.usage;
  if (totals.costUsd === undefined) delete state.costUsd;
  else state.costUsd = totals.costUsd;
  if (Object.keys(totals.byModel).length) state.byModel = totals.byModel;
  else delete state.byModel;
}
