import { relative } from 'node:path';
import { readJsonFile } from '../../fs/read-json.js';
import { RunStatusSchema, type RunStatus } from '../../formats/tasks-status.js';
import { describeFindError, findRun } from '../../manager/runs/find-run.js';
import { scanCurrentRuns } from '../../manager/recovery/reconcile.js';
import { runPaths, type WorkspacePaths } from '../../workspace.js';
import { EXIT, exitForFindError } from '../exit-codes.js';
import { lastRuns } from '../runs-file.js';
import { formatAge, formatCalls, formatCost, formatDuration, table } from '../table.js';
import { applyLedger, taskLedgerTotals } from '../../ledger/task-totals.js';
import { addByModel } from '../../util/usage.js';
import type { ByModel } from '../../formats/usage.js';
import { describeWaiting } from '../../batch/describe-waiting.js';

const LAST_COMPLETED = 5;

export async function statusCommand(paths: WorkspacePaths, id: string | undefined, json: boolean): Promise<number> {
  return id === undefined ? overview(paths, json) : oneRun(paths, id, json);
}

async function overview(paths: WorkspacePaths, json: boolean): Promise<number> {
  const current = (await scanCurrentRuns(paths, () => {}, { readOnly: true })).map((run) => run.status);
  const completed = await lastRuns(paths.runsJsonl, LAST_COMPLETED);
  if (json) {
    process.stdout.write(`${JSON.stringify({ current, completed }, null, 2)}\n`);
    return EXIT.ok;
  }
  if (current.length === 0) process.stdout.write('No runs in pipeline-current/.\n');
  else {
    const rows = [['RUN', 'STATE', 'TASK', 'DONE', 'AGE']];
    for (const status of current) {
      const tasks = Object.values(status.tasks);
      const done = tasks.filter((task) => task.state === 'complete').length;
      rows.push([status.id, status.state, whereAt(status).join(', ') || '-', `${done}/${tasks.length}`, formatAge(status.createdAt)]);
    }
    process.stdout.write(`${table(rows)}\n`);
  }
  if (completed.length > 0) {
    const rows = [['COMPLETED', 'PIPELINE', 'DURATION', 'CALLS', 'COST', 'AT']];
    for (const run of completed)
      rows.push([
        run.id,
        run.pipeline,
        formatDuration(run.durationMs),
        formatCalls(run.totals),
        formatCost(run.totals.costUsd),
        run.completedAt.replace('T', ' ').slice(0, 19),
      ]);
    process.stdout.write(`\n${table(rows)}\n`);
  }
  return EXIT.ok;
}

async function oneRun(paths: WorkspacePaths, id: string, json: boolean): Promise<number> {
  const found = await findRun(paths, id);
  if (!found.ok) {
    process.stderr.write(`pop: ${describeFindError(found.error)}\n`);
    return exitForFindError(found.error);
  }
  const run = found.value;
  const read = await readJsonFile(runPaths(run.dir).status, RunStatusSchema);
  if (!read.ok) {
    process.stderr.write(`pop: ${read.error.message}\n`);
    return EXIT.runsFailed;
  }
  const status = read.value;
  const folder = relative(paths.root, run.dir) || run.dir;
  const ledgerProblems = await withLedgerFigures(run.dir, status);
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...status, folder, ...(ledgerProblems.length ? { ledgerProblems } : {}) }, null, 2)}\n`);
    return EXIT.ok;
  }
  process.stdout.write(describeRun(status, folder));
  for (const problem of ledgerProblems) process.stdout.write(`\nledger: ${problem}\n`);
  return EXIT.ok;
}

/**
 * The figures of each task the run made itself, from its calls.jsonl as it is now: a running task's
 * calls so far, every attempt's. A ledger that cannot be read is said, and its task keeps the
 * figures of its status.
 */
async function withLedgerFigures(runDir: string, status: RunStatus): Promise<string[]> {
  const problems: string[] = [];
  for (const [name, task] of Object.entries(status.tasks)) {
    if (task.copied) continue;
    const totals = await taskLedgerTotals(runDir, name, status.id);
    if (totals.problem) problems.push(`${name}: ${totals.problem}`);
    else applyLedger(task, totals);
    if (totals.skipped) problems.push(`${name}: ${totals.skipped} torn line(s) of calls.jsonl skipped`);
  }
  return problems;
}

/** `12/30`, with the failed ones when there are any; `-` for a task without items. */
function describeItems(items: RunStatus['tasks'][string]['items']): string {
  if (!items) return '-';
  return `${items.complete}/${items.total}${items.failed ? ` (${items.failed} failed)` : ''}`;
}

export function describeRun(status: RunStatus, folder: string): string {
  const lines = [
    `run       ${status.id}`,
    `state     ${status.state}${describeWhere(status)}`,
    `pipeline  ${status.pipeline}`,
    `seed      ${status.source.file}`,
    `folder    ${folder}`,
    `created   ${status.createdAt}`,
    ...(status.activeMs !== undefined
      ? [
          `duration  ${formatDuration(status.activeMs)} active${status.startedAt ? ` (${formatDuration(Date.parse(status.updatedAt) - Date.parse(status.startedAt))} from first start to ${status.state === 'complete' ? 'completion' : 'last change'})` : ''}`,
        ]
      : []),
    ...(status.rerunOf ? [`rerun of  ${status.rerunOf.run} from ${status.rerunOf.from}`] : []),
    '',
  ];
  // The ITEMS column only for a pipeline with a fan-out task.
  const withItems = Object.values(status.tasks).some((task) => task.items);
  const items = (cell: string) => (withItems ? [cell] : []);
  // The WORKER column only for runs whose tasks went through a queue.
  const withWorker = Object.values(status.tasks).some((task) => task.worker);
  const worker = (cell: string) => (withWorker ? [cell] : []);
  const rows = [['TASK', 'STATE', 'ATTEMPTS', 'REFINEMENTS', ...items('ITEMS'), 'DURATION', 'TOKENS IN/OUT', 'CALLS', 'COST', 'MODEL', ...worker('WORKER')]];
  for (const [name, task] of Object.entries(status.tasks)) {
    rows.push([
      name,
      task.copied ? `${task.state} (copied)` : task.state === 'waiting' ? 'waiting (batch)' : task.state,
      String(task.attempts),
      String(task.refinements),
      ...items(describeItems(task.items)),
      formatDuration(task.durationMs),
      `${task.usage.inputTokens}/${task.usage.outputTokens}`,
      formatCalls(task.usage),
      formatCost(task.costUsd),
      `${task.model ?? '-'}${task.escalations ? ` (escalated ×${task.escalations})` : ''}`,
      ...worker(task.worker ?? '-'),
    ]);
  }
  lines.push(table(rows));
  lines.push(...describeModels(status));
  for (const [name, task] of Object.entries(status.tasks)) {
    if (task.items?.failedItems?.length && task.state !== 'failed') {
      lines.push(
        '',
        `${name} went on without ${task.items.failedItems.length} failed item(s): ${task.items.failedItems.map((item) => `items/${item}`).join(', ')} (see ${folder}/tasks/${name}/output.json)`,
      );
    }
    for (const cut of task.truncated ?? []) {
      lines.push(
        '',
        `${name}: a text was truncated in ${cut.stage}, from about ${cut.tokens} to ${cut.keptTokens} tokens (see ${folder}/tasks/${name}/task.log)`,
      );
    }
  }
  for (const [name, task] of Object.entries(status.tasks)) {
    if (task.state === 'waiting' && task.waiting) lines.push('', `${name} waits for the Batch API: ${describeWaiting(task.waiting)}`);
  }
  for (const [name, task] of Object.entries(status.tasks)) {
    if (task.state !== 'failed' || !task.error) continue;
    const error = task.error;
    lines.push('', `${name} failed (${error.reason}${error.stage ? ` in ${error.stage}` : ''}):`, `  ${error.message}`);
    for (const issue of error.issues ?? []) lines.push(`  - ${issue}`);
    if (error.artifact) lines.push(`  open: ${folder}/${error.artifact}`);
    if (error.stack)
      lines.push(
        ...error.stack
          .split('\n')
          .slice(0, 6)
          .map((line) => `  ${line}`),
      );
    else if (error.stderrTail)
      lines.push(
        ...error.stderrTail
          .split('\n')
          .slice(-6)
          .map((line) => `  ${line}`),
      );
    lines.push(`  logs: ${folder}/tasks/${name}/task.log, ${folder}/tasks/${name}/console.log`);
  }
  return `${lines.join('\n')}\n`;
}

/** The run's calls and cost by the model that answered (its own tasks, not copied ones). */
function describeModels(status: RunStatus): string[] {
  let byModel: ByModel | undefined;
  for (const task of Object.values(status.tasks)) if (!task.copied) byModel = addByModel(byModel, task.byModel);
  const models = Object.entries(byModel ?? {});
  if (models.length === 0) return [];
  const rows = [['MODEL', 'CALLS', 'TOKENS IN/OUT', 'COST']];
  for (const [model, usage] of models.sort(([a], [b]) => a.localeCompare(b)))
    rows.push([model, formatCalls(usage), `${usage.inputTokens}/${usage.outputTokens}`, formatCost(usage.costUsd)]);
  return ['', table(rows)];
}

/** The tasks a run is at: those running, those waiting for the Batch API, or for a failed run those that failed. */
function whereAt(status: RunStatus): string[] {
  if (status.running.length > 0) return status.running;
  if (status.state === 'waiting') return Object.keys(status.tasks).filter((name) => status.tasks[name]?.state === 'waiting');
  if (status.state !== 'failed') return [];
  const failed = Object.entries(status.tasks)
    .filter(([, task]) => task.state === 'failed')
    .map(([name]) => name);
  return failed.length > 0 ? failed : status.error ? [status.error.task] : [];
}

function describeWhere(status: RunStatus): string {
  if (status.state === 'complete') return '';
  const at = whereAt(status);
  if (at.length === 0) return '';
  if (status.running.length > 0) return ` (running ${at.join(', ')})`;
  return status.state === 'waiting' ? ` (${at.join(', ')} waiting for the Batch API)` : ` (at ${at.join(', ')})`;
}
