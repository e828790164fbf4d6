import type { Output } from '../../formats/output.js';
import type { Gateway } from '../../gateway/gateway.js';
import type { Result } from '../../result.js';
import { runTaskProcess, type TaskProcessFailure, type TaskProcessOptions } from './task-process.js';

export type AttemptOptions = TaskProcessOptions & {
  /** Told which worker took the attempt, when it runs elsewhere (`start --queue`). */
  onWorker?: (worker: string) => void;
  /** Told when the attempt's job was lost or failed before it ended (the attempt is judged once its process is known to have ended). */
  onJobLost?: (message: string) => void;
  /** Told when the attempt cannot be handed on yet (`start --queue`: Redis refused its job). */
  onWaiting?: (wait: { reason: string; message: string; waitMs?: number }) => void;
  /** How often this attempt parked on the Batch API before: each run of it after parking is a job of its own. */
  round?: number | undefined;
};
/** How a task attempt runs: in a local task process, or as a job on a queue's workers (`start --queue`). */
export type RunAttempt = (options: AttemptOptions) => Promise<Result<Output, TaskProcessFailure>>;

/** Attempts run in this process's own task processes, their model calls through `gateway`. */
export function localAttempts(gateway: Gateway): RunAttempt {
  return (options) => runTaskProcess(gateway, options);
}
