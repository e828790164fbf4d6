/**
 * Fault injection for the crash-safety tests and `npm run chaos`: with POP_CRASH_AT=<name> the
 * process kills itself with SIGKILL when it reaches that point, as a power cut or `kill -9` would.
 * Names: after-claim-rename, after-task-output, after-runs-append.
 */
export type CrashPoint = 'after-claim-rename' | 'after-task-output' | 'after-runs-append';

export function crashPoint(name: CrashPoint): void {
  if (process.env.POP_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}
