import type { Output } from '../../formats/output.js';
import type { Result } from '../../result.js';
import { runTaskProcess, type TaskProcessFailure, type TaskProcessOptions } from './task-process.js';

export type AttemptOptions = TaskProcessOptions & {
  /** Told which worker took the attempt, when it runs elsewhere (`start --queue`). */
  onWorker?: (worker: string) => void;
  /** Told when the attempt's job was lost or failed before it ended (the attempt is judged once its process is known to have ended). */
  onJobLost?: (message: string) => void;
  /** Told when the attempt cannot be handed on yet (`start --queue`: Redis refused its job). */
  onWaiting?: (wait: { reason: string; message: string; waitMs?: number }) => void;
};
export type RunAttempt = (options: AttemptOptions) => Promise<Result<Output, TaskProcessFailure>>;

let current: RunAttempt = runTaskProcess;

/** How this manager runs a task attempt: a local task process, or a job on a queue. */
export function useAttemptRunner(runner: RunAttempt): void {
  current = runner;
}

/** Whether task attempts run in this process's own task processes (not on a queue's workers). */
export function attemptsRunHere(): boolean {
  return current === runTaskProcess;
}

export function runAttempt(options: AttemptOptions): Promise<Result<Output, TaskProcessFailure>> {
  return current(options);
}
