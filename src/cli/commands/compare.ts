import { compareRuns, type TaskComparison } from '../../ui/compare/compare-runs.js';
import { loadRun } from '../../ui/data/load-run.js';
import { describeFindError, findRun } from '../../manager/runs/find-run.js';
import type { WorkspacePaths } from '../../workspace.js';
import { EXIT, exitForFindError } from '../exit-codes.js';
import { formatCost, formatDuration, table } from '../table.js';

const delta = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? '' : b - a === 0 ? '±0' : `${b - a > 0 ? '+' : ''}${Number((b - a).toFixed(6))}`;

function row(task: TaskComparison): string[] {
  const tokens = (side: TaskComparison['a']) => (side ? side.inputTokens + side.outputTokens : undefined);
  return [
    task.name + (task.copied ? ' (copied)' : ''),
    task.output,
    task.prompt,
    `${tokens(task.a) ?? '-'} → ${tokens(task.b) ?? '-'} (${delta(tokens(task.a), tokens(task.b))})`,
    `${formatCost(task.a?.costUsd)} → ${formatCost(task.b?.costUsd)}`,
    `${formatDuration(task.a?.durationMs)} → ${formatDuration(task.b?.durationMs)}`,
    `${task.a?.refinements ?? '-'} → ${task.b?.refinements ?? '-'}`,
  ];
}

/** `pop compare <a> <b>`: per task, whether the output changed, and the costs side by side. Exit 0. */
export async function compareCommand(paths: WorkspacePaths, a: string, b: string, json: boolean): Promise<number> {
  const ids: string[] = [];
  for (const id of [a, b]) {
    const found = await findRun(paths, id);
    if (!found.ok) {
      process.stderr.write(`pop: ${describeFindError(found.error)}\n`);
      return exitForFindError(found.error);
    }
    ids.push(found.value.id);
  }
  const [runA, runB] = await Promise.all(ids.map((id) => loadRun(paths, id)));
  if (!runA || !runB) {
    process.stderr.write(`pop: cannot read tasks-status.json of ${!runA ? ids[0] : ids[1]}\n`);
    return EXIT.notFound;
  }
  const comparison = await compareRuns(runA, runB);
  if (json) {
    process.stdout.write(`${JSON.stringify(comparison, null, 2)}\n`);
    return EXIT.ok;
  }
  process.stdout.write(`a: ${runA.id} (${runA.status.state})\nb: ${runB.id} (${runB.status.state})${comparison.relation === 'rerun' ? ' · a rerun' : ''}\n\n`);
  process.stdout.write(`${table([['TASK', 'OUTPUT', 'PROMPT', 'TOKENS a → b', 'COST', 'DURATION', 'REFINEMENTS'], ...comparison.tasks.map(row)])}\n`);
  // A task answered by another model this time (a changed model, or an escalation): said under the table.
  for (const task of comparison.tasks) {
    if (task.a?.model && task.b?.model && task.a.model !== task.b.model) process.stdout.write(`\n${task.name}: model ${task.a.model} → ${task.b.model}\n`);
  }
  for (const task of comparison.tasks.filter((candidate) => candidate.valueChanges.length)) {
    process.stdout.write(`\n${task.name}: ${task.valueChanges.length} difference(s) in the output\n`);
    for (const change of task.valueChanges.slice(0, 20)) process.stdout.write(`  ${change.kind.padEnd(8)} ${change.path}\n`);
  }
  return EXIT.ok;
}
