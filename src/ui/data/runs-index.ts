import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { runPaths, type WorkspacePaths } from '../../workspace.js';
import { LooseRunStatusSchema, type LooseRunStatus } from './loose-formats.js';
import { rowFromRecordJson, type RunRow } from './record-row.js';
import { readLoose } from './read-file.js';

export type { RunRow } from './record-row.js';

export interface RunFilter {
  state?: string | undefined;
  pipeline?: string | undefined;
  /** Started on or after this day (YYYY-MM-DD), and on or before `until`'s day. */
  since?: string | undefined;
  until?: string | undefined;
}

export interface RunTotals {
  runs: number;
  /** Runs with a known cost: a total of 0 over none of them shows as unknown. */
  costed?: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  refinements: number;
}

export interface RunList {
  rows: RunRow[];
  totals: RunTotals;
  pipelines: string[];
}

export function rowFromStatus(status: LooseRunStatus): RunRow {
  const tasks = Object.values(status.tasks);
  const sum = (pick: (task: (typeof tasks)[number]) => number) => tasks.reduce((total, task) => total + pick(task), 0);
  const costs = tasks.map((task) => task.costUsd).filter((cost): cost is number => cost !== undefined);
  const start = status.startedAt ?? status.createdAt;
  const end = status.state === 'running' || status.state === 'queued' ? Date.now() : Date.parse(status.updatedAt);
  return {
    id: status.id,
    where: 'current',
    state: status.state,
    pipeline: status.pipeline,
    seed: status.source.file,
    startedAt: start || undefined,
    durationMs: start ? Math.max(0, end - Date.parse(start)) : undefined,
    tasksDone: tasks.filter((task) => task.state === 'complete').length,
    tasksTotal: tasks.length,
    calls: sum((task) => task.usage?.calls ?? 0),
    inputTokens: sum((task) => task.usage?.inputTokens ?? 0),
    outputTokens: sum((task) => task.usage?.outputTokens ?? 0),
    costUsd: costs.length ? costs.reduce((a, b) => a + b, 0) : undefined,
    refinements: sum((task) => task.refinements),
    rerunOf: status.rerunOf?.run,
    copiedTasks: tasks.filter((task) => task.copied === true).length,
  };
}

function matches(row: RunRow, filter: RunFilter): boolean {
  if (filter.state && row.state !== filter.state) return false;
  if (filter.pipeline && row.pipeline !== filter.pipeline) return false;
  const day = row.startedAt?.slice(0, 10) ?? '';
  if (filter.since && day < filter.since) return false;
  if (filter.until && day > filter.until) return false;
  return true;
}

/** The runs in pipeline-current/ (in progress and failed), newest first. */
export async function currentRuns(paths: WorkspacePaths): Promise<LooseRunStatus[]> {
  const entries = await readdir(paths.current, { withFileTypes: true }).catch(() => []);
  const ids = entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name);
  const statuses = await Promise.all(ids.map((id) => readLoose(runPaths(join(paths.current, id)).status, LooseRunStatusSchema)));
  return statuses.filter((status): status is LooseRunStatus => status !== undefined).sort((a, b) => b.id.localeCompare(a.id));
}

/**
 * Every completed run of runs.jsonl as a row, streamed line by line: memory holds only what the
 * caller keeps, however long the file is. Torn lines are skipped.
 */
export async function* completedRows(path: string): AsyncGenerator<RunRow> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (!line) continue;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        continue;
      }
      const row = rowFromRecordJson(json);
      if (row) yield row;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** The runs list: current runs, then completed ones newest first; totals over every run that matches. */
export async function listRuns(paths: WorkspacePaths, filter: RunFilter, limit: number): Promise<RunList> {
  const totals: RunTotals = { runs: 0, calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, refinements: 0 };
  const pipelines = new Set<string>();
  const count = (row: RunRow) => {
    totals.runs++;
    totals.calls += row.calls;
    totals.inputTokens += row.inputTokens;
    totals.outputTokens += row.outputTokens;
    totals.costUsd += row.costUsd ?? 0;
    if (row.costUsd !== undefined) totals.costed = (totals.costed ?? 0) + 1;
    totals.refinements += row.refinements;
  };
  const current: RunRow[] = [];
  for (const status of await currentRuns(paths)) {
    const row = rowFromStatus(status);
    pipelines.add(row.pipeline);
    if (!matches(row, filter)) continue;
    count(row);
    current.push(row);
  }
  const completed: RunRow[] = [];
  for await (const row of completedRows(paths.runsJsonl)) {
    if (pipelines.size < 1000) pipelines.add(row.pipeline);
    if (!matches(row, filter)) continue;
    count(row);
    completed.push(row);
    if (completed.length > limit) completed.shift();
  }
  const rows = [...current, ...completed.reverse()].slice(0, limit);
  await Promise.all(
    rows.slice(0, RERUN_FACTS_ROWS).map((row) => (row.where === 'complete' && row.rerunOf === undefined ? addRerunFacts(paths, row) : undefined)),
  );
  return { rows, totals, pipelines: [...pipelines].sort() };
}

/** Rows looked up in their run folder for rerun facts: the first page's worth. */
const RERUN_FACTS_ROWS = 200;

/**
 * runs.jsonl lines written before reruns were recorded there say nothing of them: for the rows
 * shown (never the whole history), the run's own tasks-status.json does.
 */
async function addRerunFacts(paths: WorkspacePaths, row: RunRow): Promise<void> {
  const status = await readLoose(runPaths(join(paths.complete, row.id)).status, LooseRunStatusSchema);
  if (!status?.rerunOf) return;
  row.rerunOf = status.rerunOf.run;
  row.copiedTasks = Math.max(row.copiedTasks, Object.values(status.tasks).filter((task) => task.copied === true).length);
}
