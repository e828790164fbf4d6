import type { TaskFailure } from '../../formats/task-failure.js';
import type { TaskStatus } from '../../formats/tasks-status.js';

/**
 * A task the manager died under this many attempts in a row is not started again on its own: a
 * task that brings its manager down would otherwise do it again at every restart. High enough
 * that kills from outside at random moments (`npm run chaos`) do not reach it.
 */
export const MAX_ATTEMPTS_CUT_SHORT = 5;

/**
 * Before a new attempt, count the previous one if a manager crash cut it short (the task is still
 * marked running: nobody saw it end). Returns the failure to record once the bound is reached.
 */
export function countAttemptCutShort(state: TaskStatus): TaskFailure | undefined {
  const inARow = state.state === 'running' ? (state.cutShort ?? 0) + 1 : 0;
  if (inARow === 0) delete state.cutShort;
  else state.cutShort = inARow;
  if (inARow < MAX_ATTEMPTS_CUT_SHORT) return undefined;
  return {
    reason: 'manager-crashed',
    message: `the manager died during ${inARow} attempts in a row of this task, so it is not started again on its own; resume the run to try again`,
  };
}
