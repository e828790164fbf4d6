import type { TaskFailure } from '../../formats/task-failure.js';
import type { RunStatus } from '../../formats/tasks-status.js';
import { messageOf } from '../../result.js';
import { saveStatus } from '../runs/run-status.js';

/**
 * After an unexpected error while the manager ran a run: the run is failed on disk with that error
 * (its running tasks too), so `status`, `resume` and the view see what the CLI reports. A status
 * that cannot be saved as it is (too large to serialise) is saved again without what tasks added
 * to it while they ran (truncation notes, lists of failed items). Never throws: this is the last
 * word on the run.
 */
export async function failRunOnError(runDir: string, status: RunStatus, cause: unknown): Promise<void> {
  const error: TaskFailure = { reason: 'internal-error', message: `the manager hit an unexpected error while running this run: ${messageOf(cause)}` };
  const now = new Date().toISOString();
  const running = Object.entries(status.tasks).filter(([, task]) => task.state === 'running');
  for (const [, task] of running) Object.assign(task, { state: 'failed', error, endedAt: now });
  status.state = 'failed';
  status.error = { ...error, task: running[0]?.[0] ?? '-' };
  status.running = [];
  try {
    await saveStatus(runDir, status);
  } catch {
    for (const task of Object.values(status.tasks)) {
      delete task.truncated;
      if (task.items) delete task.items.failedItems;
    }
    await saveStatus(runDir, status).catch(() => {});
  }
}
