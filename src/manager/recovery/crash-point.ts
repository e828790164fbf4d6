/**
 * Fault injection for the crash-safety tests and `npm run chaos`: with POP_CRASH_AT=<name> the
 * process kills itself with SIGKILL when it reaches that point, as a power cut or `kill -9` would.
 * Names: after-claim-rename, after-task-output, after-runs-append, and around a Batch API submission:
 * before-batch-create (its record written), after-batch-create (the batch made, its id not saved).
 */
export type CrashPoint = 'after-claim-rename' | 'after-task-output' | 'after-runs-append' | 'before-batch-create' | 'after-batch-create';

export function crashPoint(name: CrashPoint): void {
  if (process.env.POP_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}

/**
 * With POP_FAULT_AT=<name>, an uncaught error is thrown from a timer at that point: a bug of the
 * manager's own, for the test of its last-resort handler. Names: task-running.
 */
export function faultPoint(name: 'task-running'): void {
  if (process.env.POP_FAULT_AT === name) {
    setImmediate(() => {
      throw new Error(`injected fault at ${name}`);
    });
  }
}
