import type { RunStatus } from '../../formats/tasks-status.js';
import { saveStatus } from '../runs/run-status.js';

/**
 * Saves of one run's status, one after another: with several tasks of a run in flight, two
 * concurrent atomic writes could land in either order and leave the older state on disk. Each
 * save writes the status as it is when its turn comes, with `running` taken from the tasks.
 */
export function serialStatusSaver(runDir: string, status: RunStatus): () => Promise<void> {
  let last: Promise<void> = Promise.resolve();
  return () => {
    const next = last.then(() => {
      status.running = Object.entries(status.tasks)
        .filter(([, task]) => task.state === 'running')
        .map(([name]) => name);
      return saveStatus(runDir, status);
    });
    // A failed write is reported to its caller; the next save still runs.
    last = next.catch(() => {});
    return next;
  };
}
