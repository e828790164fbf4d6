import { acquireLock } from '../../fs/lock-file.js';
import { readJsonFile } from '../../fs/read-json.js';
import type { Submission } from '../../formats/batch.js';
import { RunStatusSchema } from '../../formats/tasks-status.js';
import { runLockPath, runPaths, type WorkspacePaths } from '../../workspace.js';
import { saveStatus } from '../runs/run-status.js';

/**
 * Write a submission's batch id, time and counts into the `waiting` of the run's tasks it holds
 * calls of, under the run's lock; a run someone holds is left alone (its executor writes it).
 */
export async function noteBatchProgress(paths: WorkspacePaths, run: string, submission: Submission): Promise<void> {
  const lock = await acquireLock(runLockPath(paths, run), 'batch progress');
  if (!lock.ok) return;
  try {
    const runDir = `${paths.current}/${run}`;
    const read = await readJsonFile(runPaths(runDir).status, RunStatusSchema);
    if (!read.ok) return;
    const status = read.value;
    const tasks = new Set(submission.requests.filter((request) => request.owner.run === run).map((request) => request.owner.task));
    let changed = false;
    for (const name of tasks) {
      const task = status.tasks[name];
      if (task?.state !== 'waiting' || !task.waiting) continue;
      task.waiting = {
        ...task.waiting,
        ...(submission.batch ? { batch: submission.batch } : {}),
        ...(submission.submittedAt ? { submittedAt: submission.submittedAt } : {}),
        ...(submission.counts ? { counts: submission.counts } : {}),
      };
      changed = true;
    }
    if (!changed) return;
    status.updatedAt = new Date().toISOString();
    await saveStatus(runDir, status);
  } finally {
    await lock.value.release();
  }
}
