import type { Output } from '../../formats/output.js';
import type { Result } from '../../result.js';
import { runTaskProcess, type TaskProcessFailure, type TaskProcessOptions } from './task-process.js';

export type AttemptOptions = TaskProcessOptions & {
  attempt: number;
  /** Told which worker took the attempt, when it runs elsewhere (`start --queue`). */
  onWorker?: (worker: string) => void;
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
