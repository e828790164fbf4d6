import { createHash } from 'node:crypto';
import { readFile, rename } from 'node:fs/promises';
import { basename } from 'node:path';
import { readJsonFile } from '../../fs/read-json.js';
import { isOutputOf, OutputSchema } from '../../formats/output.js';
import { LetterSchema } from '../../formats/letter.js';
import { SourceSchema } from '../../formats/source.js';
import { PipelineSchema } from '../../formats/pipeline.js';
import { resolveTasks } from '../../formats/resolve-pipeline.js';
import type { RunStatus, TaskStatus } from '../../formats/tasks-status.js';
import { emptyUsage } from '../../util/usage.js';
import { applyLedger, taskLedgerTotals } from '../../ledger/task-totals.js';
import { runPaths, taskPaths } from '../../workspace.js';
import { saveStatus } from '../runs/run-status.js';

/**
 * A tasks-status.json found torn or unparseable at start-up: keep the bad file beside it
 * (`.torn`), rebuild a status from what the folder holds (tasks with a valid output.json count as
 * complete), and mark the run failed with the reason, so it is seen and can be resumed.
 */
export async function rebuildTornStatus(runDir: string, problem: string): Promise<RunStatus> {
  const files = runPaths(runDir);
  await rename(files.status, `${files.status}.torn`).catch(() => {});
  const snapshot = await readJsonFile(files.pipeline, PipelineSchema, { comments: true });
  const tasks = snapshot.ok ? resolveTasks(snapshot.value) : [];
  const seed = await readFile(files.seed).catch(() => Buffer.alloc(0));
  const source = await readJsonFile(files.source, SourceSchema);
  const now = new Date().toISOString();
  const status: RunStatus = {
    id: basename(runDir),
    pipeline: snapshot.ok ? snapshot.value.name : 'unknown',
    state: 'failed',
    source: source.ok
      ? { file: source.value.file, sha256: source.value.sha256, mtimeMs: source.value.mtimeMs }
      : { file: 'unknown', sha256: createHash('sha256').update(seed).digest('hex') },
    createdAt: now,
    updatedAt: now,
    running: [],
    tasks: {},
  };
  for (const task of tasks) {
    const output = await readJsonFile(taskPaths(runDir, task.name).output, OutputSchema);
    // The last attempt started is the letter's: the next one gets a new number, never one an output already carries.
    const letter = await readJsonFile(taskPaths(runDir, task.name).letter, LetterSchema);
    const attempts = letter.ok ? letter.value.attempt : output.ok ? (output.value.attempt ?? 1) : 0;
    const state: TaskStatus =
      output.ok && isOutputOf(output.value, task.name, letter.ok ? letter.value.attempt : output.value.attempt)
        ? { state: 'complete', attempts, refinements: output.value.refinements, usage: emptyUsage(), endedAt: output.value.finishedAt }
        : { state: 'pending', attempts, refinements: 0, usage: emptyUsage() };
    // The calls every attempt made are in the task's ledger, whatever became of the status.
    applyLedger(state, await taskLedgerTotals(runDir, task.name, status.id));
    status.tasks[task.name] = state;
  }
  const stoppedAt = tasks.find((task) => status.tasks[task.name]?.state !== 'complete')?.name ?? '-';
  status.error = {
    task: stoppedAt,
    reason: 'state-unreadable',
    message: `${problem}; the status was rebuilt from the run folder (the bad file is kept as tasks-status.json.torn): resume the run to continue`,
  };
  await saveStatus(runDir, status);
  return status;
}
