import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const CHILD_ENTRY = fileURLToPath(new URL('../../runner/child.js', import.meta.url));

/** After SIGTERM, a task gets this long to stop on its own before SIGKILL: enough to flush its logs. */
const KILL_GRACE_MS = 2000;

/** A runner child and the controller that stops it (time limit, shutdown). */
export interface RunnerProcess {
  subprocess: ReturnType<typeof startSubprocess>;
  stop: AbortController;
  /** Where its stdout and stderr go. */
  outputPath: string;
}

/**
 * Start a runner child. With `letterPath` it runs that task at once; without, it is a standby:
 * it loads the runner and waits for a letter over IPC. Either way stopping goes through execa's
 * cancelSignal and forceKillAfterDelay, so the time limit can start when the task is handed over.
 */
export function spawnRunner(options: { workspace: string; memoryMb: number; outputPath: string; letterPath?: string }): RunnerProcess {
  const stop = new AbortController();
  const args = [`--max-old-space-size=${options.memoryMb}`, CHILD_ENTRY, options.workspace, options.letterPath ?? '--standby'];
  return { subprocess: startSubprocess(args, options.workspace, options.outputPath, stop.signal), stop, outputPath: options.outputPath };
}

function startSubprocess(args: string[], workspace: string, outputPath: string, cancelSignal: AbortSignal) {
  return execa(process.execPath, args, {
    cwd: workspace,
    ipc: true,
    serialization: 'json',
    buffer: false,
    reject: false,
    stdin: 'ignore',
    // Whatever the task prints, and a crash's stack trace, go to a file a person can open.
    stdout: { file: outputPath, append: true },
    stderr: { file: outputPath, append: true },
    cancelSignal,
    forceKillAfterDelay: KILL_GRACE_MS,
    // Its own process group, so whatever the task starts can be stopped with it.
    detached: true,
  });
}

export const isAlive = (runner: RunnerProcess) => runner.subprocess.exitCode === null && runner.subprocess.signalCode === null && runner.subprocess.connected;

/** Subprocesses a task started must not outlive it: end the whole group, whatever is left of it. */
export function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: nothing left in the group.
  }
}
