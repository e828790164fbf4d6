import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { RunnerMessageSchema, type RunnerMessage } from '../formats/ipc.js';
import type { TaskFailure } from '../formats/task-failure.js';
import { emptyUsage } from '../util/usage.js';
import type { Usage } from '../formats/usage.js';
import { err, ok, type Result } from '../result.js';

const CHILD_ENTRY = fileURLToPath(new URL('../runner/child.js', import.meta.url));

/** After SIGTERM, a task gets this long to stop on its own before SIGKILL: enough to flush its logs. */
const KILL_GRACE_MS = 2000;
const STDERR_TAIL_BYTES = 2000;

export type TaskDone = Extract<RunnerMessage, { type: 'done' }>;
export type TaskProcessFailure = { error: TaskFailure; usage: Usage; refinements: number; costUsd?: number | undefined };

export interface TaskProcessOptions {
  workspace: string;
  letterPath: string;
  consolePath: string;
  timeoutMs: number;
  memoryMb: number;
  cancelSignal: AbortSignal;
  onMessage: (message: RunnerMessage) => void;
}

/**
 * Run one task attempt in its own Node process and say how it ended. Whatever the task does —
 * throw, exit, hang, run out of memory — it ends here as a value; nothing reaches the manager.
 */
export async function runTaskProcess(options: TaskProcessOptions): Promise<Result<TaskDone, TaskProcessFailure>> {
  let final: RunnerMessage | undefined;
  const subprocess = execa(process.execPath, [`--max-old-space-size=${options.memoryMb}`, CHILD_ENTRY, options.workspace, options.letterPath], {
    cwd: options.workspace,
    ipc: true,
    serialization: 'json',
    buffer: false,
    stdin: 'ignore',
    // Whatever the task prints goes to its console.log, where a crash's stack trace can be read.
    stdout: { file: options.consolePath, append: true },
    stderr: { file: options.consolePath, append: true },
    timeout: options.timeoutMs,
    forceKillAfterDelay: KILL_GRACE_MS,
    cancelSignal: options.cancelSignal,
    reject: false,
    // Its own process group, so whatever the task starts can be stopped with it (below).
    detached: true,
  });
  subprocess.on('message', (raw: unknown) => {
    const parsed = RunnerMessageSchema.safeParse(raw);
    if (!parsed.success) return;
    if (parsed.data.type !== 'stage') final = parsed.data;
    options.onMessage(parsed.data);
  });
  const result = await subprocess;
  killGroup(subprocess.pid);

  if (final?.type === 'done' && result.exitCode === 0) return ok(final);
  const partial = final?.type === 'failed' ? { usage: final.usage, refinements: final.refinements } : { usage: emptyUsage(), refinements: 0 };
  const stderrTail = await tail(options.consolePath);
  const withTail = stderrTail ? { stderrTail } : {};

  if (result.timedOut) {
    return err({ ...partial, error: { reason: 'timeout', message: `the task ran past its time limit of ${options.timeoutMs} ms and was stopped`, ...withTail } });
  }
  if (result.isCanceled) return err({ ...partial, error: { reason: 'interrupted', message: 'the task was stopped because the manager is shutting down', ...withTail } });
  if (final?.type === 'failed') return err({ ...partial, error: final.error });
  if (/heap out of memory|Allocation failed/i.test(stderrTail)) {
    return err({ ...partial, error: { reason: 'out-of-memory', message: `the task ran out of memory (heap limit ${options.memoryMb} MB)`, ...withTail } });
  }
  if (result.signal) {
    return err({ ...partial, error: { reason: 'killed', message: `the task process was killed by ${result.signal}`, signal: result.signal, ...withTail } });
  }
  if (result.exitCode !== undefined && result.exitCode !== 0) {
    return err({ ...partial, error: { reason: 'exit-non-zero', message: `the task process exited with code ${result.exitCode} before finishing`, exitCode: result.exitCode, ...withTail } });
  }
  if (result.exitCode === 0) {
    return err({ ...partial, error: { reason: 'exited-without-output', message: 'the task process exited with code 0 before writing output.json (did the task call process.exit?)', exitCode: 0, ...withTail } });
  }
  return err({ ...partial, error: { reason: 'spawn-error', message: `the task process could not run: ${result.message}`, ...withTail } });
}

/** Subprocesses a task started must not outlive it: end the whole group, whatever is left of it. */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: nothing left in the group.
  }
}

/** The end of what the task printed: where a crash's stack trace is. */
async function tail(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.slice(-STDERR_TAIL_BYTES).trim();
}
