import { appendFile, readFile, rm } from 'node:fs/promises';
import { RunnerMessageSchema, type ManagerMessage, type RunnerMessage } from '../../formats/ipc.js';
import { killGroup, spawnRunner } from './runner-process.js';
import type { StandbyPool } from './standby-pool.js';
import type { TaskFailure } from '../../formats/task-failure.js';
import { emptyUsage } from '../../util/usage.js';
import type { Usage } from '../../formats/usage.js';
import { err, ok, type Result } from '../../result.js';
import { redactText } from '../../secrets/known-secrets.js';

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
  standbys?: StandbyPool | undefined;
}

/**
 * Run one task attempt in its own Node process (a warm standby when one is free) and say how it
 * ended. Whatever the task does — throw, exit, hang, run out of memory — it ends here as a value.
 */
export async function runTaskProcess(options: TaskProcessOptions): Promise<Result<TaskDone, TaskProcessFailure>> {
  const standby = options.standbys?.take(options.memoryMb);
  const runner = standby ?? spawnRunner({ workspace: options.workspace, memoryMb: options.memoryMb, outputPath: options.consolePath, letterPath: options.letterPath });
  const { subprocess } = runner;
  if (standby) subprocess.send({ type: 'run', letter: options.letterPath } satisfies ManagerMessage);

  let final: RunnerMessage | undefined;
  subprocess.on('message', (raw: unknown) => {
    const parsed = RunnerMessageSchema.safeParse(raw);
    if (!parsed.success) return;
    if (parsed.data.type !== 'stage') final = parsed.data;
    options.onMessage(parsed.data);
  });

  // The time limit runs from the hand-over; stopping is execa's cancelSignal in both cases.
  let ended: 'timeout' | 'interrupted' | undefined;
  const stop = (why: 'timeout' | 'interrupted') => {
    ended ??= why;
    runner.stop.abort();
  };
  const timer = setTimeout(() => stop('timeout'), options.timeoutMs);
  const onCancel = () => stop('interrupted');
  if (options.cancelSignal.aborted) onCancel();
  else options.cancelSignal.addEventListener('abort', onCancel, { once: true });
  const result = await subprocess;
  clearTimeout(timer);
  options.cancelSignal.removeEventListener('abort', onCancel);
  killGroup(subprocess.pid);
  if (standby) await moveOutput(standby.outputPath, options.consolePath);

  if (final?.type === 'done' && result.exitCode === 0) return ok(final);
  const partial = final?.type === 'failed' ? { usage: final.usage, refinements: final.refinements } : { usage: emptyUsage(), refinements: 0 };
  const stderrTail = await tail(options.consolePath);
  const withTail = stderrTail ? { stderrTail } : {};

  if (ended === 'timeout') {
    return err({ ...partial, error: { reason: 'timeout', message: `the task ran past its time limit of ${options.timeoutMs} ms and was stopped`, ...withTail } });
  }
  if (ended === 'interrupted') return err({ ...partial, error: { reason: 'interrupted', message: 'the task was stopped because the manager is shutting down', ...withTail } });
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

/** A standby wrote to its own file until it had a task: that output belongs to the task now. */
async function moveOutput(from: string, to: string): Promise<void> {
  const text = await readFile(from).catch(() => Buffer.alloc(0));
  await appendFile(to, text);
  await rm(from, { force: true });
}

/** The end of what the task printed: where a crash's stack trace is. Redacted before it is cut. */
async function tail(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return redactText(text).slice(-STDERR_TAIL_BYTES).trim();
}
