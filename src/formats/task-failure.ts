import { z } from 'zod';

/** Why a task attempt failed; stored verbatim in tasks-status.json. */
export const TaskFailureReasonSchema = z.enum([
  'task-threw', // a stage function threw
  'refinements-exhausted', // the reply never passed validation
  'exit-non-zero', // the process exited (process.exit, crash) before finishing
  'exited-without-output', // exit 0 but no output.json was reported
  'killed', // ended by a signal we did not send for a timeout
  'timeout', // ran past timeoutMs
  'out-of-memory', // the heap limit was reached
  'spawn-error', // the process could not start
  'invalid-task', // the registry entry is missing or not a task
  'bad-input', // an earlier task's output.json is missing or invalid
  'state-unreadable', // tasks-status.json was torn or unparseable at start-up
  'provider-failed', // every model of the task failed
  'budget-exceeded', // the run or the task spent its maxCostUsd: its calls are refused
  'interrupted', // the manager stopped it while shutting down
  'protocol-violation', // the task process wrote something on its channel that is not a message it may send
  'internal-error', // the manager hit a bug of its own while the task ran
  'manager-crashed', // the manager died during too many attempts in a row to start it again on its own
  'job-refused', // a queue worker refused the job (its data, or the run's state, did not check out)
  'parked', // not a failure: its calls wait for the Batch API (the task is left waiting)
  'cancelled', // `pop cancel` cancelled its calls waiting for the Batch API
]);
export type TaskFailureReason = z.output<typeof TaskFailureReasonSchema>;

export const TaskFailureSchema = z.object({
  reason: TaskFailureReasonSchema,
  message: z.string(),
  stage: z.string().optional(),
  stack: z.string().optional(),
  exitCode: z.number().int().optional(),
  signal: z.string().optional(),
  issues: z.array(z.string()).optional(),
  artifact: z.string().optional().describe('the file to open first, relative to the run folder'),
  stderrTail: z.string().optional(),
});
export type TaskFailure = z.output<typeof TaskFailureSchema>;
