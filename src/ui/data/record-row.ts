/** One line of the runs list, whichever folder the run is in. */
export interface RunRow {
  id: string;
  where: 'current' | 'complete';
  state: string;
  pipeline: string;
  seed: string;
  startedAt: string | undefined;
  durationMs: number | undefined;
  tasksDone: number;
  tasksTotal: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number | undefined;
  refinements: number;
  rerunOf: string | undefined;
  copiedTasks: number;
}

/**
 * A runs.jsonl line as a row of the runs list, read field by field. The list reads every line
 * of a history that may hold tens of thousands of runs, so this avoids a schema library pass per
 * line (it was most of the list's time); each field is checked and falls back to "unknown".
 */
type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

export function rowFromRecordJson(value: unknown): RunRow | undefined {
  if (!isObject(value) || typeof value.id !== 'string') return undefined;
  const tasks = Array.isArray(value.tasks) ? value.tasks.filter(isObject) : [];
  const totals = isObject(value.totals) ? value.totals : {};
  const rerunOf = isObject(value.rerunOf) ? text(value.rerunOf.run) : undefined;
  return {
    id: value.id,
    where: 'complete',
    state: 'complete',
    pipeline: text(value.pipeline) ?? '?',
    seed: text(value.seed) ?? '?',
    startedAt: text(value.startedAt),
    durationMs: typeof value.durationMs === 'number' ? value.durationMs : undefined,
    tasksDone: tasks.length,
    tasksTotal: tasks.length,
    calls: count(totals.calls),
    inputTokens: count(totals.inputTokens),
    outputTokens: count(totals.outputTokens),
    costUsd: typeof totals.costUsd === 'number' ? totals.costUsd : undefined,
    refinements: tasks.reduce((sum, task) => sum + count(task.refinements), 0),
    rerunOf,
    copiedTasks: tasks.filter((task) => task.copied === true).length,
  };
}
